"""Workflow: RAP's steps as a LlamaIndex workflow."""

from llama_index_rap.workflow.rap_workflow import (
    PromptEvent,
    RAPWorkflow,
    RetrievedEvent,
    TokenEvent,
)

__all__ = ["PromptEvent", "RAPWorkflow", "RetrievedEvent", "TokenEvent"]
