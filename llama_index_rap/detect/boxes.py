"""Boxes: where in a query image to look for a concept."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from llama_index_rap.errors import InvalidInputError

CALLER = "caller"
"""The label of boxes given by the caller rather than found by a detector."""


@dataclass(frozen=True)
class Box:
    """An axis-aligned box in pixels, ``(x0, y0)`` top left, ``(x1, y1)`` bottom right.

    Args:
        x0: Left edge.
        y0: Top edge.
        x1: Right edge.
        y1: Bottom edge.
        label: The detector's class, or ``"caller"`` for a box given by the caller.
        score: The detector's confidence (1.0 for caller boxes).
    """

    x0: float
    y0: float
    x1: float
    y1: float
    label: str = CALLER
    score: float = 1.0

    @classmethod
    def of(cls, value: Box | Sequence[float]) -> Box:
        """Accept a Box or an ``(x0, y0, x1, y1)`` sequence.

        Raises:
            InvalidInputError: Not four numbers, or an empty box.
        """
        if isinstance(value, Box):
            box = value
        else:
            try:
                x0, y0, x1, y1 = (float(v) for v in value)
            except (TypeError, ValueError) as e:
                raise InvalidInputError(
                    f"a box must be four numbers (x0, y0, x1, y1), got {value!r}"
                ) from e
            box = cls(x0, y0, x1, y1)
        if box.x1 <= box.x0 or box.y1 <= box.y0:
            raise InvalidInputError(f"box {box.as_tuple()} is empty; need x0 < x1 and y0 < y1")
        return box

    @property
    def width(self) -> float:
        """Width in pixels."""
        return self.x1 - self.x0

    @property
    def height(self) -> float:
        """Height in pixels."""
        return self.y1 - self.y0

    def as_tuple(self) -> tuple[int, int, int, int]:
        """Integer pixel coordinates."""
        return (round(self.x0), round(self.y0), round(self.x1), round(self.y1))

    def padded(self, fraction: float, width: int, height: int) -> Box:
        """Grow by ``fraction`` of its size on every side, then clip to the image."""
        dx, dy = self.width * fraction, self.height * fraction
        return self.clipped_to(
            replace(self, x0=self.x0 - dx, y0=self.y0 - dy, x1=self.x1 + dx, y1=self.y1 + dy),
            width,
            height,
        )

    @staticmethod
    def clipped_to(box: Box, width: int, height: int) -> Box:
        """``box`` clipped to a ``width`` x ``height`` image."""
        return replace(
            box,
            x0=min(max(box.x0, 0.0), width),
            y0=min(max(box.y0, 0.0), height),
            x1=min(max(box.x1, 0.0), width),
            y1=min(max(box.y1, 0.0), height),
        )
