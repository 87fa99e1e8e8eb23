from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from llama_index_rap import errors
from llama_index_rap.images import ImageLimits, load_image
from llama_index_rap.store import ConceptStore, StoreLimits
from tests.badinputs import bad_cases
from tests.imagegen import photo, save

CASE_IDS = [c.id for c in bad_cases(Path(os.environ.get("TMPDIR", "/tmp")))]


def files_under(folder: Path) -> dict[str, bytes]:
    return {
        str(p): p.read_bytes() for p in folder.rglob("*") if p.is_file() and ".lock" not in p.name
    }


@pytest.mark.parametrize("case_id", CASE_IDS)
def test_bad_input_is_refused_and_nothing_is_written(
    case_id: str, store: ConceptStore, db_dir: Path, tmp_path: Path
) -> None:
    store.remember("Mam", photo(2), "My mother.")
    version, before = store.version, files_under(db_dir)
    case = next(c for c in bad_cases(tmp_path) if c.id == case_id)
    with pytest.raises(case.error) as info:
        store.remember(**case.kwargs)  # type: ignore[arg-type]
    assert isinstance(info.value, errors.RapError)
    assert case.mentions in str(info.value)
    assert store.version == version
    assert files_under(db_dir) == before
    assert [c.name for c in store.list()] == ["Mam"]


def test_there_are_at_least_fifteen_kinds(tmp_path: Path) -> None:
    assert len({c.error for c in bad_cases(tmp_path)}) >= 8
    assert len(bad_cases(tmp_path)) >= 15


def test_cmyk_16bit_and_palette_images_are_normalised(store: ConceptStore) -> None:
    rgb = photo(3)
    cmyk = io.BytesIO()
    rgb.convert("CMYK").save(cmyk, format="JPEG", quality=95)
    gray16 = Image.fromarray(np.asarray(rgb.convert("L"), dtype=np.uint16) * 257)
    buf16 = io.BytesIO()
    gray16.save(buf16, format="PNG")
    palette = rgb.convert("P", palette=Image.Palette.ADAPTIVE, colors=16)
    palette.info["transparency"] = 0
    buf_p = io.BytesIO()
    palette.save(buf_p, format="PNG", transparency=0)
    for name, data in [
        ("Cmyk", cmyk.getvalue()),
        ("Gray", buf16.getvalue()),
        ("Pal", buf_p.getvalue()),
    ]:
        loaded = load_image(data)
        assert loaded.image.mode == "RGB" and loaded.image.size == rgb.size
        store.remember(name, data, f"{name} image.")
    gray = load_image(buf16.getvalue()).image
    # 16-bit values are scaled, not clipped: the picture keeps its contrast
    assert np.asarray(gray).std() > 20
    assert np.abs(np.asarray(gray, dtype=int)[..., 0] - np.asarray(rgb.convert("L"))).max() <= 1
    assert [c.name for c in store.list()] == ["Cmyk", "Gray", "Pal"]


def test_exif_rotation_is_applied(store: ConceptStore, tmp_path: Path) -> None:
    upright = photo(4, size=(90, 160))  # portrait
    sideways = upright.rotate(90, expand=True)  # stored landscape, EXIF says rotate back
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90 CW to display
    path = tmp_path / "phone.jpg"
    sideways.save(path, format="JPEG", exif=exif.tobytes(), quality=95)
    loaded = load_image(path)
    assert loaded.image.size == (90, 160)
    concept = store.remember("Phone", path, "A photo from a phone.")
    assert (concept.images[0].width, concept.images[0].height) == (90, 160)
    hits = store.search(store.embedding.embed_images([upright]), k=1)[0]
    assert hits[0].name == "Phone" and hits[0].distance < 0.05


def test_limits_are_configurable(tmp_path: Path, tiny_embedding) -> None:
    limits = StoreLimits(
        images=ImageLimits(max_pixels=100 * 100),
        max_images_per_concept=2,
        max_description_length=10,
        max_concepts_per_user=1,
    )
    store = ConceptStore(tmp_path / "db", embedding=tiny_embedding, limits=limits)
    with pytest.raises(errors.ImageTooLargeError, match="10000"):
        store.remember("A", photo(1, (160, 120)), "short")
    with pytest.raises(errors.LimitExceededError, match="3 images"):
        store.remember("A", [photo(1, (50, 50)), photo(2, (50, 50)), photo(3, (50, 50))], "x")
    with pytest.raises(errors.InvalidDescriptionError, match="limit of 10"):
        store.remember("A", photo(1, (50, 50)), "a description that is too long")
    store.remember("A", photo(1, (50, 50)), "short")
    with pytest.raises(errors.LimitExceededError, match="more than 1 concepts"):
        store.remember("B", photo(2, (50, 50)), "short")
    assert store.count() == 1


def test_encoder_mismatch_is_refused(db_dir: Path, tiny_embedding) -> None:
    from llama_index_rap.encode.openclip import OpenCLIPEmbedding

    ConceptStore(db_dir, embedding=tiny_embedding).remember("Bo", photo(1), "My dog.")
    other = OpenCLIPEmbedding(model_name="rap-tiny-ViT", pretrained="random", seed=1)
    store = ConceptStore(db_dir, embedding=other)
    version = store.version
    with pytest.raises(errors.EncoderMismatchError, match="seed=0"):
        store.remember("Mam", photo(2), "My mother.")
    assert store.version == version
    with pytest.raises(errors.EncoderMismatchError, match="dimensions"):
        store.search(np.ones((1, 7)))


def test_refusals_stay_specific_after_ultralytics_patches_pil() -> None:
    # ultralytics replaces PIL.Image.open on import with a version that tries to install
    # pi-heif on the first unreadable file; a non-image must still be UnreadableImageError.
    from llama_index_rap.models.loaders import import_ultralytics

    import_ultralytics()
    import ultralytics.utils.patches  # noqa: F401

    with pytest.raises(errors.UnreadableImageError):
        load_image(b"definitely not an image")


def test_replaced_photos_are_erased_with_purge(db_dir: Path, store: ConceptStore) -> None:
    first = store.remember("Bo", photo(1), "My dog.")
    data = first.images[0].data or store.get("Bo").images[0].data
    assert data is not None
    marker = data[100:164]

    def holders() -> list[Path]:
        return [p for p in db_dir.rglob("*") if p.is_file() and marker in p.read_bytes()]

    store.update("Bo", add_images=[photo(2)], remove_images=[first.images[0].sha256])
    assert holders()  # without purge an older version keeps the replaced photo
    store.update("Bo", description="Still my dog.", purge=True)
    assert holders() == []
    store.remember("Mam", photo(3), "My mother.")
    mam = (store.get("Mam").images[0].data or b"")[100:164]
    store.remember("Mam", photo(4), "My mother, new photo.", replace=True, purge=True)
    assert not [p for p in db_dir.rglob("*") if p.is_file() and mam in p.read_bytes()]


def test_bulk_folders_with_bad_text_and_an_empty_user_are_one_line_errors(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from llama_index_rap.cli import main
    from llama_index_rap.errors import InvalidUserError

    with pytest.raises(InvalidUserError):
        ConceptStore(tmp_path / "db", user="")
    runner = CliRunner()
    base = ["--db", str(tmp_path / "db"), "--models", "tiny"]
    empty = runner.invoke(main, [*base, "--user", "", "list"])
    assert empty.exit_code != 0 and "user is empty" in empty.output
    for case, (file, data) in {
        "latin1": ("description.txt", "Bo, mon chien fid\xe8le.".encode("latin-1")),
        "nested": ("concept.json", ("[" * 100_000 + "]" * 100_000).encode()),
        "json-latin1": ("concept.json", '{"description": "caf\xe9"}'.encode("latin-1")),
    }.items():
        folder = tmp_path / case / "Bo"
        folder.mkdir(parents=True)
        save(photo(1), folder / "bo.png")
        (folder / file).write_bytes(data)
        result = runner.invoke(main, [*base, "remember", "--from-dir", str(tmp_path / case)])
        assert result.exit_code != 0 and "Traceback" not in result.output, (case, result.output)
        assert file in result.output and len(result.output.strip().splitlines()) == 1


def test_strips_and_oversized_png_chunks_are_refused_before_decoding() -> None:
    from PIL import PngImagePlugin

    strip = io.BytesIO()
    Image.new("L", (8, 200_000)).save(strip, format="PNG")
    with pytest.raises(errors.ImageTooLargeError, match="strip"):
        load_image(strip.getvalue())
    info = PngImagePlugin.PngInfo()
    info.add_text("comment", "x" * (PngImagePlugin.MAX_TEXT_CHUNK + 10), zip=True)
    chunky = io.BytesIO()
    Image.new("RGB", (32, 32)).save(chunky, format="PNG", pnginfo=info)
    with pytest.raises(errors.UnreadableImageError, match="cannot be read"):
        load_image(chunky.getvalue())
