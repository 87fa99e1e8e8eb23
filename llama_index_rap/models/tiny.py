"""The ``tiny`` profile: the default model families, built small with random weights, offline.

Nothing here downloads anything. The tiny open_clip ViT is a config shipped in
``configs/``; the tiny detector is an ultralytics YAML; the tiny Qwen2-VL is assembled from
a byte-level BPE tokenizer trained here, the default ``Qwen2VLImageProcessor`` and a small
``Qwen2VLConfig``, and saved to a cache folder so that it then loads through the same
``from_pretrained`` path as a real checkpoint. Same seed, same weights. Outputs of these
models mean nothing; whoever shows them to a person must say they come from random weights.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import tempfile
from pathlib import Path

CONFIG_DIR = Path(__file__).parent / "configs"
TINY_VLM_VERSION = 2
RANDOM_WEIGHTS_NOTE = "random weights: the output is meaningless"

SPECIAL_TOKENS = [
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "<|vision_start|>",
    "<|vision_end|>",
    "<|image_pad|>",
    "<|video_pad|>",
]

# Qwen2-VL's conversation layout: a default system turn, images as
# <|vision_start|><|image_pad|><|vision_end|> in the order they appear among the text.
CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{% if loop.first and message['role'] != 'system' %}"
    "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n{% endif %}"
    "<|im_start|>{{ message['role'] }}\n"
    "{% if message['content'] is string %}{{ message['content'] }}"
    "{% else %}{% for part in message['content'] %}"
    "{% if part['type'] == 'image' or 'image' in part or 'image_url' in part %}"
    "<|vision_start|><|image_pad|><|vision_end|>"
    "{% elif part['type'] == 'text' %}{{ part['text'] }}{% endif %}"
    "{% endfor %}{% endif %}<|im_end|>\n"
    "{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)

_CORPUS = (
    "the a an is are was in on of to and with my your this that what who where how yes no "
    "dog cat person man woman child toy plush mug bag car bike house tree park beach sofa "
    "name info image picture photo caption describe answer question left right front behind "
    "red blue green brown black white small big happy sitting standing running playing "
    "bo mam sks friend family my own user assistant system listed people objects"
)


def register_tiny_clip() -> None:
    """Make the tiny open_clip ViT config (``rap-tiny-ViT``) known to open_clip."""
    import open_clip

    if "rap-tiny-ViT" not in open_clip.list_models():
        open_clip.add_model_config(CONFIG_DIR)


# Text and vision sizes of the random Qwen2-VL models: ``tiny`` for tests and the offline
# demo, ``2b`` with Qwen2-VL-2B-Instruct's published sizes (same cost as the real model).
VLM_SIZES: dict[str, dict[str, dict[str, object]]] = {
    "tiny": {
        "text": {
            "hidden_size": 64,
            "intermediate_size": 128,
            "num_hidden_layers": 2,
            "num_attention_heads": 4,
            "num_key_value_heads": 2,
            "max_position_embeddings": 4096,
            "rope_parameters": {"rope_type": "default", "mrope_section": [2, 3, 3]},
            # wide random weights, so greedy decoding says varied (meaningless) words
            # instead of repeating one token
            "initializer_range": 1.0,
        },
        "vision": {"depth": 2, "embed_dim": 32, "hidden_size": 64, "num_heads": 2, "mlp_ratio": 2},
        "pixels": {"min_pixels": 56 * 56, "max_pixels": 112 * 112},
    },
    "2b": {
        "text": {
            "vocab_size": 151936,
            "hidden_size": 1536,
            "intermediate_size": 8960,
            "num_hidden_layers": 28,
            "num_attention_heads": 12,
            "num_key_value_heads": 2,
            "max_position_embeddings": 32768,
            "rope_parameters": {
                "rope_type": "default",
                "rope_theta": 1000000.0,
                "mrope_section": [16, 24, 24],
            },
        },
        "vision": {
            "depth": 32,
            "embed_dim": 1280,
            "hidden_size": 1536,
            "num_heads": 16,
            "mlp_ratio": 4,
        },
        "pixels": {"min_pixels": 56 * 56, "max_pixels": 28 * 28 * 16384},
    },
}


def tiny_vlm_dir(seed: int = 0, size: str = "tiny") -> Path:
    """Return a folder holding a random Qwen2-VL for ``seed``, building it on first use.

    The ``tiny`` folder holds weights; the ``2b`` folder holds only the configuration and
    processor (its weights, 9 GB in float32, are drawn in memory when loaded). The folder
    lives under ``RAP_CACHE`` (or the user cache dir) and is written atomically, so
    concurrent processes never see half a model.
    """
    from llama_index_rap.models.hub import cache_dir, quiet_transformers

    root = cache_dir()
    label = "tiny-qwen2-vl" if size == "tiny" else f"random-qwen2-vl-{size}"
    target = root / f"{label}-v{TINY_VLM_VERSION}-seed{seed}"
    if (target / "config.json").is_file():
        return target
    root.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".random-vlm-", dir=root))
    try:
        with quiet_transformers():
            build_tiny_vlm(staging, seed, size)
        with contextlib.suppress(OSError):  # another process won the race; same weights
            staging.rename(target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def build_tiny_vlm(out: Path, seed: int = 0, size: str = "tiny") -> None:
    """Build a random-weight Qwen2-VL of ``size`` with its processor and save it to ``out``.

    Weights are saved for ``tiny`` only; for bigger sizes only the configuration.
    """
    import torch
    from tokenizers import ByteLevelBPETokenizer
    from transformers import (
        Qwen2Tokenizer,
        Qwen2VLConfig,
        Qwen2VLForConditionalGeneration,
        Qwen2VLImageProcessor,
        Qwen2VLProcessor,
        Qwen2VLVideoProcessor,
    )

    sizes = VLM_SIZES[size]
    bpe = ByteLevelBPETokenizer()
    words = _CORPUS.split(" ")
    corpus = [" ".join(words[i:] + words[:i]) for i in range(len(words))]
    bpe.train_from_iterator(corpus, vocab_size=600, min_frequency=1, show_progress=False)
    with tempfile.TemporaryDirectory() as tmp:
        bpe.save_model(tmp)
        vocab = json.loads((Path(tmp) / "vocab.json").read_text())
        merges = [
            tuple(line.split(" "))
            for line in (Path(tmp) / "merges.txt").read_text().splitlines()
            if line and not line.startswith("#")
        ]
    tokenizer = Qwen2Tokenizer(vocab=vocab, merges=merges)  # type: ignore[arg-type]
    tokenizer.add_special_tokens({"additional_special_tokens": SPECIAL_TOKENS[1:]})
    tokenizer.chat_template = CHAT_TEMPLATE
    ids = {tok: int(tokenizer.convert_tokens_to_ids(tok)) for tok in SPECIAL_TOKENS}  # type: ignore[arg-type]

    image_processor = Qwen2VLImageProcessor(**sizes["pixels"])
    processor = Qwen2VLProcessor(
        image_processor=image_processor,
        tokenizer=tokenizer,
        video_processor=Qwen2VLVideoProcessor(),
        chat_template=CHAT_TEMPLATE,
    )
    config = Qwen2VLConfig(
        text_config={
            "vocab_size": len(tokenizer),
            **sizes["text"],
            "bos_token_id": ids["<|endoftext|>"],
            "eos_token_id": ids["<|im_end|>"],
            "pad_token_id": ids["<|endoftext|>"],
            "tie_word_embeddings": True,
        },
        vision_config={
            **sizes["vision"],
            "patch_size": 14,
            "spatial_merge_size": 2,
            "temporal_patch_size": 2,
        },
        image_token_id=ids["<|image_pad|>"],
        video_token_id=ids["<|video_pad|>"],
        vision_start_token_id=ids["<|vision_start|>"],
        vision_end_token_id=ids["<|vision_end|>"],
    )
    processor.save_pretrained(out)
    (out / "RANDOM_WEIGHTS.txt").write_text(RANDOM_WEIGHTS_NOTE + "\n")
    if size != "tiny":
        config.save_pretrained(out)
        return
    torch.manual_seed(seed)
    model = Qwen2VLForConditionalGeneration(config).eval()
    model.generation_config.eos_token_id = ids["<|im_end|>"]
    model.generation_config.pad_token_id = ids["<|endoftext|>"]
    model.save_pretrained(out)
