"""Each image through the VLM's image processor once: a concept's picture is in every prompt.

A RAP prompt shows the model each retrieved concept's image next to the new photo, so the
same concept images go through the processor (resize, normalise, cut into patches) on
every query: 1.7 ms per 320 px image with the tiny Qwen2-VL here, more at full size.
:class:`CachedImageProcessor` stands in for the processor's image processor, processes the
images of a call one by one, keeps each one's features, and joins them.

Joining per-image features is what the processor itself does for Qwen2-VL (patches of
every image in one row block) and LLaVA (one image per row). The first call with two or
more images is also run as one batch and compared: if the features do not line up (a
processor that pads a batch to its largest image, like LLaVA-NeXT's) or differ in any value,
the cache turns itself off for that processor.
"""

from __future__ import annotations

import logging
import threading
import weakref
from collections import OrderedDict
from typing import Any

from llama_index_rap.images import CONTENT_KEY

logger = logging.getLogger(__name__)


class CachedImageProcessor:
    """A transformers image processor that remembers the features of recent images.

    Everything but calling it goes to the wrapped processor (``merge_size``, ``patch_size``,
    ``save_pretrained``...). Images are recognised by content: the SHA-256 of the bytes they
    were decoded from (``image.info["rap_sha256"]``, set by :mod:`llama_index_rap.images`);
    a picture without it (drawn in memory) is recognised only as the same object.

    Args:
        inner: The processor's own image processor.
        max_bytes: Most bytes of features kept (least recently used dropped first).
    """

    def __init__(self, inner: Any, max_bytes: int = 256 * 2**20) -> None:
        self.inner = inner
        self.max_bytes = max_bytes
        self.exact: bool | None = None  # None until checked against one batch call
        self._cache: OrderedDict[tuple[object, str], tuple[Any, Any, int]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    @property
    def cached_images(self) -> int:
        """How many pictures' features are kept."""
        return len(self._cache)

    @property
    def cached_bytes(self) -> int:
        """Bytes of the features kept."""
        return self._bytes

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def __call__(self, images: Any, **kwargs: Any) -> Any:
        """Features of ``images``, as the wrapped processor would give them."""
        if self.exact is False or kwargs.get("return_tensors") != "pt" or not _pictures(images):
            return self.inner(images, **kwargs)
        options = repr(sorted(kwargs.items()))
        joined = _join([self._features(image, options, kwargs) for image in images])
        if joined is not None and (self.exact or len(images) < 2):
            return joined
        batch = self.inner(images, **kwargs)
        self.exact = joined is not None and _equal(batch, joined)
        if not self.exact:
            logger.info("%s: per-image features differ; not cached", type(self.inner).__name__)
        return batch

    def _features(self, image: Any, options: str, kwargs: dict[str, Any]) -> Any:
        digest = image.info.get(CONTENT_KEY)
        # by content (with the size: PIL copies info into a crop or a resized copy); else by
        # identity, the weak reference guarding against a reused id
        key: tuple[object, str] = ((digest, image.size) if digest else id(image), options)
        with self._lock:
            found = self._cache.get(key)
            if found is not None and (digest or found[0]() is image):
                self._cache.move_to_end(key)
                return found[1]
        features = self.inner([image], **kwargs)
        size = sum(v.numel() * v.element_size() for v in features.values() if _tensor(v))
        if size <= self.max_bytes // 4:
            with self._lock:
                self._put(key, (None if digest else weakref.ref(image), features, size))
        return features

    def _put(self, key: tuple[object, str], entry: tuple[Any, Any, int]) -> None:
        old = self._cache.pop(key, None)
        self._bytes += entry[2] - (old[2] if old else 0)
        self._cache[key] = entry
        while self._bytes > self.max_bytes:
            self._bytes -= self._cache.popitem(last=False)[1][2]


def _pictures(images: Any) -> bool:
    from PIL import Image

    return isinstance(images, list) and all(isinstance(i, Image.Image) for i in images)


def _tensor(value: Any) -> bool:
    import torch

    return isinstance(value, torch.Tensor)


def _join(parts: list[Any]) -> Any:
    """One image's features after another (rows joined), or ``None`` if they do not line up."""
    import torch
    from transformers import BatchFeature

    keys = parts[0].keys() if parts else None
    if keys is None or any(p.keys() != keys for p in parts):
        return None
    joined: dict[str, Any] = {}
    for key in keys:
        values = [p[key] for p in parts]
        if not all(_tensor(v) and v.dim() > 0 for v in values):
            return None
        if len({tuple(v.shape[1:]) for v in values}) != 1:
            return None
        joined[key] = torch.cat(values)
    return BatchFeature(joined, tensor_type="pt")


def _equal(a: Any, b: Any) -> bool:
    import torch

    return a.keys() == b.keys() and all(
        _tensor(a[k]) and a[k].shape == b[k].shape and torch.equal(a[k], b[k]) for k in a
    )
