"""YOLODetector: regions of a query image that may hold a concept (ultralytics).

For YOLO-World (open vocabulary) the classes are the categories of the user's stored
concepts, the paper's predefined setting P. ultralytics' own ``set_classes`` fetches a CLIP
package from GitHub, so the class embeddings are computed here with an open_clip text tower
(:class:`~llama_index_rap.models.specs.DetectorSpec` ``text_encoder``) and set on the model,
cached per class list. A fixed-class YOLO detects its own classes. Nothing is written to
disk per call.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from llama_index_rap.detect.boxes import Box
from llama_index_rap.errors import ModelConfigError
from llama_index_rap.models.loaders import load_detector
from llama_index_rap.models.specs import DEFAULT_DETECTOR, DetectorSpec

if TYPE_CHECKING:
    from PIL import Image

    from llama_index_rap.encode.openclip import OpenCLIPEmbedding

logger = logging.getLogger(__name__)
_predict_lock = threading.Lock()  # models are shared per process; classes are set per call


class YOLODetector:
    """Find boxes with an ultralytics YOLO or YOLO-World model.

    Args:
        spec: The model (a :class:`DetectorSpec`, a weights name or path); the default
            profile's YOLO-World v2-X when ``None``.
        confidence: Keep detections at least this confident (the paper used 0.1).
        max_detections: Keep at most this many boxes, most confident first.
        min_box_size: Drop boxes narrower or shorter than this many pixels.
        padding: Grow each box by this fraction of its size on every side (context helps
            the encoder), clipped to the image.
        device: Torch device; automatic when ``None``.
    """

    def __init__(
        self,
        spec: DetectorSpec | str | None = None,
        *,
        confidence: float = 0.1,
        max_detections: int = 10,
        min_box_size: int = 16,
        padding: float = 0.1,
        device: str | None = None,
    ) -> None:
        if spec is None:
            spec = DEFAULT_DETECTOR
        self.spec = spec if isinstance(spec, DetectorSpec) else DetectorSpec(spec)
        if not 0.0 <= confidence <= 1.0:
            raise ModelConfigError(f"confidence must be in [0, 1], got {confidence}")
        self.confidence = confidence
        self.max_detections = max_detections
        self.min_box_size = min_box_size
        self.padding = padding
        self.device = device
        self._text: OpenCLIPEmbedding | None = None
        self._class_features: dict[tuple[str, ...], Any] = {}

    def __repr__(self) -> str:
        return f"YOLODetector({self.spec.weights!r}, confidence={self.confidence})"

    @property
    def model(self) -> Any:
        """The ultralytics model (loaded on first use, once per process)."""
        return load_detector(self.spec, self.device)

    @property
    def open_vocabulary(self) -> bool:
        """Whether classes are chosen per call (YOLO-World)."""
        return self.spec.is_world

    def class_features(self, classes: Sequence[str]) -> Any:
        """YOLO-World text features of ``classes``: a ``(1, n, d)`` tensor, cached per list."""
        import torch

        key = tuple(classes)
        if key not in self._class_features:
            if self._text is None:
                from llama_index_rap.encode.openclip import OpenCLIPEmbedding

                self._text = OpenCLIPEmbedding.from_spec(self.spec.text_encoder, device=self.device)
            feats = torch.from_numpy(self._text.embed_texts(list(key)))
            expected = int(self.model.model.txt_feats.shape[-1])
            if feats.shape[-1] != expected:
                raise ModelConfigError(
                    f"YOLO-World {self.spec.weights!r} expects {expected}-d class embeddings "
                    f"but the text encoder {self.spec.text_encoder.label!r} gives "
                    f"{feats.shape[-1]}-d; use the CLIP it was trained with (ViT-B-32:openai)"
                )
            self._class_features[key] = feats.reshape(1, len(key), -1)
            logger.info("embedded %d YOLO-World classes: %s", len(key), ", ".join(key))
        return self._class_features[key]

    def _set_classes(self, classes: Sequence[str]) -> None:
        model = self.model
        key = tuple(classes)
        if getattr(model, "_rap_classes", None) == key:
            return
        feats = self.class_features(key)
        device = next(model.model.parameters()).device
        model.model.txt_feats = feats.to(device)
        model.model.model[-1].nc = len(key)
        model.model.names = list(key)
        model.predictor = None  # ultralytics rebuilds it with the new names
        model._rap_classes = key

    def detect(self, image: Image.Image, classes: Sequence[str] | None = None) -> list[Box]:
        """Boxes in ``image``, most confident first.

        Args:
            image: An RGB image.
            classes: For YOLO-World, the categories to look for (none: no detection).
                Ignored by fixed-class YOLO models.

        Returns:
            Padded boxes labelled with their class.
        """
        wanted = sorted({c for c in classes or () if c})
        if self.open_vocabulary and not wanted:
            return []
        with _predict_lock:
            if self.open_vocabulary:
                self._set_classes(wanted)
            result = self.model.predict(
                image,
                conf=self.confidence,
                max_det=self.max_detections,
                verbose=False,
                save=False,
                device=self.device,
            )[0]
        names = result.names
        xyxy = result.boxes.xyxy.cpu().numpy()
        scores = result.boxes.conf.cpu().numpy()
        labels = result.boxes.cls.cpu().numpy().astype(int)
        boxes = []
        for i in np.argsort(-scores):
            x0, y0, x1, y1 = (float(v) for v in xyxy[i])
            box = Box(x0, y0, x1, y1, label=str(names[labels[i]]), score=float(scores[i]))
            if min(box.width, box.height) < self.min_box_size:
                continue
            boxes.append(box.padded(self.padding, image.width, image.height))
        return boxes[: self.max_detections]
