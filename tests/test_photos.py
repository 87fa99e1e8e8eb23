"""Photos as cameras make them: MPO JPEGs, the file's own bytes kept, other formats once as PNG."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from llama_index_rap.demo.photos import skimage_photo
from llama_index_rap.errors import AnimatedImageError
from llama_index_rap.images import load_image
from llama_index_rap.store import ConceptStore
from tests.imagegen import photo


def mpo_bytes() -> bytes:
    """A camera-style MPO: a main picture and a smaller preview frame."""
    main = Image.open(skimage_photo("chelsea")).convert("RGB")
    preview = main.resize((main.width // 4, main.height // 4))
    buf = io.BytesIO()
    main.save(buf, format="MPO", save_all=True, append_images=[preview], quality=90)
    return buf.getvalue()


def test_an_mpo_jpeg_is_a_still_photo_kept_as_it_is(store: ConceptStore, tmp_path: Path) -> None:
    data = mpo_bytes()
    opened = Image.open(io.BytesIO(data))
    assert opened.format == "MPO" and getattr(opened, "n_frames", 1) == 2
    loaded = load_image(data)
    assert loaded.format == "jpeg" and loaded.data == data and loaded.image.size == opened.size
    path = tmp_path / "camera.jpg"
    path.write_bytes(data)
    concept = store.remember("Chelsea", str(path), "My cat.")
    assert concept.images[0].format == "jpeg"
    assert store.get("Chelsea").images[0].data == data  # the camera's bytes, not re-encoded
    gif = io.BytesIO()
    photo(1).save(gif, format="GIF", save_all=True, append_images=[photo(2)])
    with pytest.raises(AnimatedImageError):  # a real animation is still refused
        load_image(gif.getvalue())


def test_a_pil_image_opened_from_a_file_keeps_the_file(store: ConceptStore) -> None:
    path = skimage_photo("rocket")  # a JPEG
    untouched = Image.open(path)
    assert load_image(untouched).data == path.read_bytes()
    changed = Image.open(path)
    changed.load()
    changed.paste((255, 0, 0), (0, 0, 40, 40))  # drawn on: its file no longer says what it is
    stored = load_image(changed)
    assert stored.format == "png" and stored.data != path.read_bytes()
    assert Image.open(io.BytesIO(stored.data)).getpixel((5, 5)) == (255, 0, 0)


def test_other_formats_are_stored_once_as_png(store: ConceptStore) -> None:
    buf = io.BytesIO()
    photo(3).save(buf, format="BMP")
    loaded = load_image(buf.getvalue())
    assert loaded.format == "png" and loaded.data.startswith(b"\x89PNG")
    concept = store.remember("Toy", buf.getvalue(), "A toy.")
    assert concept.images[0].format == "png"
    assert store.remember("Toy", buf.getvalue(), "A toy.").concept_id == concept.concept_id
