"""Detect: where in a query image to look (ultralytics YOLO and YOLO-World, or given boxes)."""

from llama_index_rap.detect.boxes import CALLER, Box
from llama_index_rap.detect.yolo import YOLODetector

__all__ = ["CALLER", "Box", "YOLODetector"]
