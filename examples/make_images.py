"""Write the demo pictures (drawn by llama_index_rap.demo.pictures) to examples/images/.

Run: .venv/bin/python examples/make_images.py
"""

from __future__ import annotations

from pathlib import Path

from llama_index_rap.demo import pictures

OUT = Path(__file__).parent / "images"

if __name__ == "__main__":
    OUT.mkdir(exist_ok=True)
    for name in ("bo", "mam", "park", "family"):
        path = OUT / f"{name}.png"
        getattr(pictures, name)().save(path, optimize=True)
        print(f"wrote {path}")
