"""What the engines ask for, and how a yes-or-no answer is read."""

from __future__ import annotations

import re

CAPTION_INSTRUCTION = (
    "Write a short caption of this image. Call the people, pets and objects listed above by "
    "their names when they appear."
)

RECOGNIZE_QUESTION = "Is <{name}> in this image? Answer yes or no."

_YES = re.compile(r"^\W*(yes|yeah|yep|true|correct)\b", re.IGNORECASE)
_NO = re.compile(r"^\W*(no|nope|not|false|incorrect)\b", re.IGNORECASE)


def parse_yes_no(answer: str) -> bool | None:
    """``True`` for an answer that starts with yes, ``False`` for no, ``None`` otherwise."""
    if _YES.search(answer):
        return True
    if _NO.search(answer):
        return False
    return None
