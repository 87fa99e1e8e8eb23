"""Real photos the project may use: the ones scikit-image's wheel ships in ``skimage/data``.

``chelsea`` (a cat), ``coffee``, ``astronaut``, ``rocket``, and ``motorcycle_left`` /
``motorcycle_right`` (one motorbike seen from two places). Found without importing
scikit-image (its import is slow) and never copied anywhere.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from llama_index_rap.errors import ImageNotFoundError

SKIMAGE_PHOTOS = ("chelsea", "coffee", "astronaut", "rocket", "motorcycle_left", "motorcycle_right")


def skimage_photo(name: str) -> Path:
    """The path of one of scikit-image's photos (``name`` without its extension).

    Raises:
        ImageNotFoundError: scikit-image is not installed or has no such photo.
    """
    found = importlib.util.find_spec("skimage")
    for folder in list(found.submodule_search_locations or []) if found else []:
        for ext in (".png", ".jpg"):
            path = Path(folder) / "data" / f"{name}{ext}"
            if path.is_file():
                return path
    raise ImageNotFoundError(
        f"scikit-image's photo {name!r} is not installed; pip install scikit-image "
        f"(a dependency of llama-index-rap); known: {', '.join(SKIMAGE_PHOTOS)}"
    )
