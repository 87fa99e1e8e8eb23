"""Recording LlamaIndex's instrumentation events (the dispatcher's handlers)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from llama_index.core.bridge.pydantic import Field
from llama_index.core.instrumentation import get_dispatcher  # type: ignore[attr-defined]
from llama_index.core.instrumentation.event_handlers import BaseEventHandler
from llama_index.core.instrumentation.events import BaseEvent


class Recorder(BaseEventHandler):
    """Keeps the class name of every event it is handed."""

    events: list[str] = Field(default_factory=list)

    @classmethod
    def class_name(cls) -> str:
        return "RAPTestRecorder"

    def handle(self, event: BaseEvent, **kwargs: object) -> None:
        self.events.append(event.class_name())


@contextlib.contextmanager
def recorded() -> Iterator[list[str]]:
    """The names of the events fired inside the ``with`` block, in order."""
    recorder = Recorder()
    dispatcher = get_dispatcher()
    dispatcher.add_event_handler(recorder)
    try:
        yield recorder.events
    finally:
        dispatcher.event_handlers.remove(recorder)
