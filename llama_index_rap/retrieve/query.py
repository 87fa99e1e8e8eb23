"""RAPQuery: a LlamaIndex QueryBundle that can also carry an image, boxes and a user."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from llama_index.core.schema import QueryBundle

from llama_index_rap.detect.boxes import Box
from llama_index_rap.images import ImageLimits, LoadedImage, decode_base64, load_image

BASE64_MIN = 1024
"""A string image this long (or a ``data:`` URL) is base64, not a path."""


@dataclass
class RAPQuery(QueryBundle):
    """A question about an image.

    ``image_path`` (from ``QueryBundle``) or ``image`` gives the picture; ``image`` may be a
    PIL image, encoded bytes, a path, or a base64 string (a ``data:image/...;base64,`` URL
    too; any string over 1,024 characters is read as base64).

    Args:
        query_str: The question (may be empty).
        image: The picture, when not given as ``image_path``: a path, bytes, base64, a PIL
            image or an already decoded :class:`~llama_index_rap.images.LoadedImage`.
        boxes: Regions the caller says to look at, ``(x0, y0, x1, y1)`` in pixels.
        user: Whose concepts to search (the retriever's user when ``None``).
        task: For :class:`~llama_index_rap.engine.RAPQueryEngine`: ``"ask"``, ``"caption"``
            or ``"recognize"``.
        name: The concept to recognise (``task="recognize"``).
        report: Set by :class:`~llama_index_rap.retrieve.RAPRetriever` when it retrieves
            for this query: every region searched, its hits and the stage timings (a
            :class:`~llama_index_rap.retrieve.retriever.RetrievalReport`), for pictures,
            evidence and the engines' metadata.
    """

    image: Any = None
    boxes: Sequence[Box | Sequence[float]] = field(default_factory=tuple)
    user: str | None = None
    task: str = "ask"
    name: str | None = None
    report: Any = None


def query_image(bundle: QueryBundle, limits: ImageLimits | None = None) -> LoadedImage | None:
    """Decode the image of a query, if it has one.

    Raises:
        ImageError: The image cannot be read (a subclass says why).
    """
    limits = limits or ImageLimits()
    source = getattr(bundle, "image", None)
    if source is None and bundle.image_path:
        source = bundle.image_path
    if source is None or isinstance(source, LoadedImage):
        return source
    if isinstance(source, str) and (source.startswith("data:") or len(source) > BASE64_MIN):
        source = decode_base64(source, "the query's base64 image")
    return load_image(source, limits)
