"""Re-export of the scripted function-calling LLM used by examples/agent.py."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "examples"))

from scripted_llm import ScriptedAgentLLM, call, say

__all__ = ["ScriptedAgentLLM", "call", "say"]
