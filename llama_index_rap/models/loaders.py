"""The one place that turns a model specification into a loaded model.

Each loader runs at most once per specification and device in a process (a lock makes
concurrent first calls wait for one load), puts the model on cuda when present else cpu,
switches it to eval mode and turns gradients off. A weight that is not on disk fails at once
with :class:`~llama_index_rap.errors.ModelNotFoundError`.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from llama_index_rap.errors import ModelConfigError, ModelNotFoundError
from llama_index_rap.models.hub import (
    cache_dir,
    fetch_hf_file,
    fetch_hf_snapshot,
    hf_offline,
    quiet_transformers,
    reachable,
)
from llama_index_rap.models.specs import RANDOM_VLMS, ClipSpec, DetectorSpec, VLMSpec

logger = logging.getLogger(__name__)

T = TypeVar("T")
_cache: dict[tuple[object, str], object] = {}
_lock = threading.Lock()


def pick_device(device: str | None = None) -> str:
    """Return ``device`` if given, else ``RAP_DEVICE``, else ``cuda`` when present, else ``cpu``."""
    if device:
        return device
    if os.environ.get("RAP_DEVICE"):
        return os.environ["RAP_DEVICE"]
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def once(key: object, device: str, build: Callable[[], T]) -> T:
    """``build()`` the first time ``(key, device)`` is asked for; the same object after."""
    with _lock:
        if (key, device) not in _cache:
            _cache[(key, device)] = build()
        return _cache[(key, device)]  # type: ignore[return-value]


@dataclass(frozen=True)
class LoadedClip:
    """An open_clip model with its preprocessing and tokenizer.

    Args:
        spec: What was loaded.
        model: The open_clip model, in eval mode on ``device``.
        preprocess: open_clip's image transform for inference (PIL image to tensor).
        tokenizer: open_clip's tokenizer for the text tower.
        device: Where the model lives.
        dim: The embedding dimension.
    """

    spec: ClipSpec
    model: Any
    preprocess: Callable[[Any], Any]
    tokenizer: Callable[..., Any]
    device: str
    dim: int

    @property
    def encoder_id(self) -> str:
        """Identifies the embedding space: architecture, weights and dimension."""
        return f"{self.spec.label}/{self.dim}"


def load_clip(spec: ClipSpec, device: str | None = None) -> LoadedClip:
    """Load an open_clip encoder once per process.

    Raises:
        ModelNotFoundError: The weights are neither on disk nor downloadable.
        ModelConfigError: The architecture or tag is unknown to open_clip.
    """
    dev = pick_device(device)
    return once(spec, dev, lambda: _build_clip(spec, dev))


def _build_clip(spec: ClipSpec, device: str) -> LoadedClip:
    import open_clip
    import torch

    from llama_index_rap.models.tiny import register_tiny_clip

    register_tiny_clip()
    arch, kwargs = _clip_arguments(spec)
    torch.manual_seed(spec.seed)
    try:
        with _random_weights_said_once(spec.is_random):
            model, _, preprocess = open_clip.create_model_and_transforms(
                arch, device=device, **kwargs
            )
    except RuntimeError as e:
        raise ModelConfigError(f"open_clip cannot build {spec.label!r}: {e}") from e
    model.eval().requires_grad_(False)
    tokenizer = open_clip.get_tokenizer(arch)
    dim = int(model.text_projection.shape[-1]) if hasattr(model, "text_projection") else 0
    if not dim:
        with torch.no_grad():
            dim = int(model.encode_text(tokenizer(["x"]).to(device)).shape[-1])
    logger.info("loaded image encoder %s on %s (dim %d)", spec.label, device, dim)
    return LoadedClip(spec, model, preprocess, tokenizer, device, dim)


def _clip_arguments(spec: ClipSpec) -> tuple[str, dict[str, Any]]:
    """Resolve a ClipSpec to open_clip's (model name, keyword arguments), weights on disk."""
    import open_clip

    fix = (
        "download it where there is network, or give a local checkpoint, e.g. "
        f"--clip {spec.architecture}:/path/to/open_clip_pytorch_model.bin"
    )
    if spec.architecture.startswith("hf-hub:"):
        repo = spec.architecture.removeprefix("hf-hub:")
        folder = fetch_hf_snapshot(
            repo,
            f"image encoder {spec.architecture!r}",
            "download the repository and pass --clip local-dir:/path/to/it",
            allow=["open_clip_config.json", "*.bin", "*.safetensors", "*.txt", "*.json"],
        )
        return f"local-dir:{folder}", {}
    if spec.architecture.startswith("local-dir:"):
        folder = Path(spec.architecture.removeprefix("local-dir:")).expanduser()
        if not (folder / "open_clip_config.json").is_file():
            raise ModelNotFoundError(
                f"image encoder folder {folder} has no open_clip_config.json; give a folder "
                "saved by open_clip (open_clip_config.json and the weights)"
            )
        return spec.architecture, {}
    if spec.architecture not in open_clip.list_models():
        raise ModelConfigError(
            f"unknown open_clip architecture {spec.architecture!r}; see "
            "open_clip.list_models() (e.g. ViT-L-14-336, ViT-B-32)"
        )
    if spec.is_random:
        return spec.architecture, {"pretrained": None}
    path = Path(spec.pretrained).expanduser()
    if path.is_file():
        return spec.architecture, {"pretrained": str(path)}
    cfg = open_clip.get_pretrained_cfg(spec.architecture, spec.pretrained)
    if not cfg:
        if os.sep in spec.pretrained or path.suffix:
            raise ModelNotFoundError(
                f"image encoder checkpoint {spec.pretrained!r} does not exist; {fix}"
            )
        tags = ", ".join(open_clip.list_pretrained_tags_by_model(spec.architecture)) or "none"
        raise ModelConfigError(
            f"{spec.architecture!r} has no pretrained tag {spec.pretrained!r} "
            f"(known tags: {tags}); or give a local checkpoint path"
        )
    what = f"image encoder {spec.label!r}"
    if not cfg.get("hf_hub"):
        raise ModelNotFoundError(f"{what} has no HuggingFace hub source; {fix}")
    repo, filename = os.path.split(cfg["hf_hub"])
    names = (
        [filename] if filename else ["open_clip_model.safetensors", "open_clip_pytorch_model.bin"]
    )
    local = fetch_hf_file(repo, names, what, fix)
    kwargs: dict[str, Any] = {
        "pretrained": str(local),
        "force_quick_gelu": bool(cfg.get("quick_gelu", False)),
        "image_mean": cfg.get("mean"),
        "image_std": cfg.get("std"),
        "image_interpolation": cfg.get("interpolation"),
        "image_resize_mode": cfg.get("resize_mode"),
    }
    return spec.architecture, {k: v for k, v in kwargs.items() if v is not None}


def load_detector(spec: DetectorSpec, device: str | None = None) -> Any:
    """Load an ultralytics YOLO or YOLO-World model once per process.

    ``.yaml`` definitions are built with random weights from ``spec.seed``; a weights name
    must be a local file, in ultralytics' weights folder, or downloadable right now.

    Raises:
        ModelNotFoundError: The weights are nowhere to be found.
    """
    dev = pick_device(device)
    return once(spec, dev, lambda: _build_detector(spec, dev))


def _build_detector(spec: DetectorSpec, device: str) -> Any:
    import torch

    ultralytics = import_ultralytics()
    from ultralytics.utils import SETTINGS

    cls = ultralytics.YOLOWorld if spec.is_world else ultralytics.YOLO
    source = spec.weights
    if spec.from_yaml:
        torch.manual_seed(spec.seed)
    else:
        source = str(_find_detector_weights(spec.weights, Path(SETTINGS["weights_dir"])))
    try:
        model = cls(source, verbose=False)
    except (FileNotFoundError, ConnectionError) as e:
        raise ModelNotFoundError(f"detector {spec.weights!r} could not be loaded ({e})") from e
    model.to(device)
    model.model.eval().requires_grad_(False)
    logger.info("loaded detector %s on %s", spec.weights, device)
    return model


@contextlib.contextmanager
def _random_weights_said_once(random: bool) -> Iterator[None]:
    """Drop open_clip's root-logger warning about random weights when they were asked for.

    The CLI and the profiles already say which models have random weights; open_clip's
    ``WARNING:root:No pretrained weights loaded...`` would only interrupt the output.
    """
    if not random:
        yield
        return
    root = logging.getLogger()
    quiet = _NoPretrainedWarning()
    root.addFilter(quiet)
    try:
        yield
    finally:
        root.removeFilter(quiet)


class _NoPretrainedWarning(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return "No pretrained weights loaded" not in record.getMessage()


def import_ultralytics() -> Any:
    """Import ultralytics without its network side effects, chatter or files elsewhere.

    ultralytics resolves DNS names at import to decide whether it is online, and when online
    sends usage events and pip-installs missing requirements. A library should do none of
    that, so ``YOLO_OFFLINE`` defaults to ``1`` here (set ``YOLO_OFFLINE=0`` to opt out).
    Downloads of named weights are not affected. Its settings live in the project's cache
    folder (``YOLO_CONFIG_DIR`` defaults to ``<cache>/ultralytics``, where ``<cache>`` is
    ``RAP_CACHE`` or the user cache folder), with ``sync`` off and its weights, runs and
    datasets folders there too, not under the working directory; a ``YOLO_CONFIG_DIR`` you
    set is used as it is. Its log (the first run's settings banner included) goes to stderr,
    so a command's stdout carries only its own output.
    """
    if "ultralytics" in sys.modules:
        return sys.modules["ultralytics"]
    os.environ.setdefault("YOLO_OFFLINE", "1")
    ours = "YOLO_CONFIG_DIR" not in os.environ
    home = cache_dir() / "ultralytics"
    if ours:
        os.environ["YOLO_CONFIG_DIR"] = str(home)
    with contextlib.redirect_stdout(sys.stderr):  # its logger's stream is bound at import
        import ultralytics
        from ultralytics.utils import SETTINGS

        wanted = {
            "sync": False,
            "weights_dir": str(home / "weights"),
            "runs_dir": str(home / "runs"),
            "datasets_dir": str(home / "datasets"),
        }
        if ours and any(SETTINGS.get(k) != v for k, v in wanted.items()):
            SETTINGS.update(wanted)
    return ultralytics


def _find_detector_weights(weights: str, weights_dir: Path) -> Path | str:
    path = Path(weights).expanduser()
    for candidate in (path, weights_dir / path.name):
        if candidate.is_file():
            return candidate
    fix = (
        f"put {path.name} in {weights_dir}, or name the file: "
        f"get_profile(...).with_models(detector='/path/to/{path.name}')"
    )
    if os.sep in weights:
        raise ModelNotFoundError(f"detector weights {weights!r} do not exist; {fix}")
    if hf_offline():
        raise ModelNotFoundError(
            f"detector weights {weights!r} are not in {Path.cwd()} or {weights_dir}, and "
            f"HF_HUB_OFFLINE is set, so they were not downloaded; {fix}"
        )
    problem = reachable("https://github.com")
    if problem:
        raise ModelNotFoundError(
            f"detector weights {weights!r} are not in {Path.cwd()} or {weights_dir} and "
            f"cannot be downloaded: {problem}; {fix}"
        )
    return weights  # ultralytics downloads its own release assets by name


@dataclass(frozen=True)
class LoadedVLM:
    """A transformers image-text-to-text model with its processor.

    Args:
        spec: What was loaded.
        model: The model, in eval mode on ``device``.
        processor: Its processor (tokenizer, image processor, chat template).
        device: Where the model lives.
        path: The local folder it was loaded from.
    """

    spec: VLMSpec
    model: Any
    processor: Any
    device: str
    path: Path


def load_vlm(spec: VLMSpec, device: str | None = None, dtype: Any = None) -> LoadedVLM:
    """Load a vision-language model once per process (bf16 on cuda, fp32 on cpu by default).

    Raises:
        ModelNotFoundError: Neither a local folder nor in the HuggingFace cache, and the hub
            cannot be reached.
    """
    dev = pick_device(device)
    return once((spec, str(dtype)), dev, lambda: _build_vlm(spec, dev, dtype))


def _build_vlm(spec: VLMSpec, device: str, dtype: Any) -> LoadedVLM:
    import torch
    from transformers import AutoConfig, AutoModelForImageTextToText, AutoProcessor

    from llama_index_rap.models.tiny import tiny_vlm_dir

    if spec.is_random:
        folder = tiny_vlm_dir(spec.seed, RANDOM_VLMS[spec.name_or_path])
    elif Path(spec.name_or_path).expanduser().is_dir():
        folder = Path(spec.name_or_path).expanduser()
    elif os.sep in spec.name_or_path.strip("/").split("/", 1)[-1] or spec.name_or_path.startswith(
        (".", "/", "~")
    ):
        raise ModelNotFoundError(
            f"VLM folder {spec.name_or_path!r} does not exist; give a folder saved with "
            "save_pretrained, or a HuggingFace hub name"
        )
    else:
        folder = fetch_hf_snapshot(
            spec.name_or_path,
            f"VLM {spec.name_or_path!r}",
            "download it where there is network (huggingface-cli download NAME --local-dir "
            "DIR) and pass --vlm DIR",
        )
    if dtype is None:
        dtype = torch.bfloat16 if device.startswith("cuda") else torch.float32
    with quiet_transformers():
        processor = AutoProcessor.from_pretrained(folder)
        if spec.is_random and RANDOM_VLMS[spec.name_or_path] != "tiny":
            torch.manual_seed(spec.seed)  # weights drawn here, never saved
            config = AutoConfig.from_pretrained(folder)
            model = AutoModelForImageTextToText.from_config(config, dtype=dtype)
        else:
            model = AutoModelForImageTextToText.from_pretrained(folder, dtype=dtype)
    model = model.to(device)
    model.eval().requires_grad_(False)
    logger.info("loaded VLM %s on %s (%s)", spec.name_or_path, device, dtype)
    return LoadedVLM(spec, model, processor, device, folder)
