"""RAPToolSpec: the concept store and the engine as tools for a LlamaIndex agent.

The tool descriptions come from the method docstrings, so they are written for the model
that calls them. Problems (a missing photo, a name already taken) come back to the agent as
a sentence starting with "Error:" instead of an exception, so it can tell the user.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from llama_index.core.tools.tool_spec.base import BaseToolSpec

from llama_index_rap.errors import ImageError, RapError
from llama_index_rap.images import load_image

if TYPE_CHECKING:
    from llama_index_rap.engine.query_engine import RAPQueryEngine
    from llama_index_rap.retrieve.retriever import RAPRetriever
    from llama_index_rap.store.concepts import ConceptStore


class RAPToolSpec(BaseToolSpec):
    """Agent tools over a user's concepts and photos.

    Remember, forget, list and find the user's concepts; caption photos and answer
    questions about them.

    Args:
        store: The concept store.
        user: The user the agent acts for (the store's user by default).
        retriever: Finds concepts; built from the store's profile when not given.
        engine: Captions and answers; built around ``retriever`` when not given.
        allowed_roots: Folders image paths must lie in (any path when ``None``).
    """

    spec_functions = [  # noqa: RUF012 - the name and shape BaseToolSpec defines
        "remember_concept",
        "forget_concept",
        "not_this_concept",
        "list_concepts",
        "find_concepts_in_image",
        "caption_image",
        "ask_about_image",
    ]

    def __init__(
        self,
        store: ConceptStore,
        *,
        user: str | None = None,
        retriever: RAPRetriever | None = None,
        engine: RAPQueryEngine | None = None,
        allowed_roots: Sequence[str | Path] | None = None,
    ) -> None:
        self.store = store
        self.user = user or store.user
        self._retriever = retriever
        self._engine = engine
        self.allowed_roots = (
            None
            if allowed_roots is None
            else [Path(r).expanduser().resolve() for r in allowed_roots]
        )

    @property
    def retriever(self) -> RAPRetriever:
        """The retriever (built on first use)."""
        if self._retriever is None:
            from llama_index_rap.retrieve.retriever import RAPRetriever

            self._retriever = RAPRetriever(self.store, user=self.user)
        return self._retriever

    @property
    def engine(self) -> RAPQueryEngine:
        """The query engine (built on first use)."""
        if self._engine is None:
            from llama_index_rap.engine.query_engine import RAPQueryEngine

            self._engine = RAPQueryEngine(self.retriever)
        return self._engine

    def check_image(self, image_path: str) -> Path:
        """The path, if it is an existing image file under the allowed folders.

        Raises:
            ImageError: With a message meant for the agent.
        """
        path = Path(image_path).expanduser()
        try:
            resolved = path.resolve(strict=True)
        except (OSError, RuntimeError) as e:
            raise ImageError(f"there is no file at {image_path!r}") from e
        if self.allowed_roots is not None and not any(
            resolved.is_relative_to(root) for root in self.allowed_roots
        ):
            roots = ", ".join(str(r) for r in self.allowed_roots)
            raise ImageError(
                f"{image_path!r} is outside the folders photos may come from ({roots})"
            )
        load_image(resolved, self.store.limits.images)  # is it an image at all?
        return resolved

    def remember_concept(
        self, image_path: str, name: str, description: str, category: str = ""
    ) -> str:
        """Remember one of the user's own people, pets or objects from a photo.

        Use this when the user shows a photo and says who or what is in it, e.g. "this is my
        dog Bo". Afterwards the concept is recognised in new photos by its name.

        Args:
            image_path: Path of the photo that shows the concept.
            name: The concept's name, e.g. "Bo".
            description: One sentence about it, e.g. "Bo is the user's Shiba Inu with a red
                collar".
            category: What kind of thing it is, e.g. "dog", "person", "mug" (helps detection).
        """
        try:
            concept = self.store.remember(
                name, self.check_image(image_path), description, category or None, user=self.user
            )
        except RapError as e:
            return f"Error: {e}"
        return f"Remembered {concept.name}: {concept.description}"

    def forget_concept(self, name: str) -> str:
        """Forget one of the user's concepts by its name (it is no longer recognised).

        Args:
            name: The concept's name.
        """
        try:
            concept = self.store.forget(name, user=self.user)
        except RapError as e:
            return f"Error: {e}"
        return f"Forgot {concept.name}."

    def not_this_concept(self, image_path: str, name: str) -> str:
        """Note that a photo shows something else, not the user's concept called ``name``.

        Use this when the user says a photo was wrongly taken for one of their concepts,
        e.g. "that is not Bo, it is the neighbour's dog". Lookalikes of that photo are then
        no longer taken for the concept.

        Args:
            image_path: Path of the photo that does not show the concept.
            name: The concept it was taken for, e.g. "Bo".
        """
        try:
            concept = self.store.add_negative(name, self.check_image(image_path), user=self.user)
        except RapError as e:
            return f"Error: {e}"
        return f"Noted: that photo is not {concept.name}."

    def list_concepts(self) -> str:
        """List the user's remembered concepts: name, category and description, as JSON."""
        concepts = self.store.list(user=self.user)
        return json.dumps(
            [
                {"name": c.name, "category": c.category, "description": c.description}
                for c in concepts
            ]
        )

    def find_concepts_in_image(self, image_path: str) -> str:
        """Find which of the user's concepts appear in a photo, with where and how sure.

        Args:
            image_path: Path of the photo.
        """
        from llama_index_rap.retrieve.query import RAPQuery

        try:
            nodes = self.retriever.retrieve(
                RAPQuery("", image=str(self.check_image(image_path)), user=self.user)
            )
        except RapError as e:
            return f"Error: {e}"
        found: list[dict[str, Any]] = [
            {
                "name": n.node.metadata["name"],
                "score": round(n.get_score(), 3),
                "box": n.node.metadata["box"],
                "why": n.node.metadata["evidence"],
            }
            for n in nodes
        ]
        return json.dumps(found) if found else "None of the user's concepts is in this photo."

    def caption_image(self, image_path: str) -> str:
        """Write a caption of a photo that calls the user's people, pets and objects by name.

        Args:
            image_path: Path of the photo.
        """
        try:
            return str(self.engine.caption(str(self.check_image(image_path)), user=self.user))
        except RapError as e:
            return f"Error: {e}"

    def ask_about_image(self, image_path: str, question: str) -> str:
        """Answer a question about a photo, knowing the user's people, pets and objects.

        Args:
            image_path: Path of the photo.
            question: The question, e.g. "What is Bo doing?".
        """
        try:
            image = str(self.check_image(image_path))
            return str(self.engine.ask(image, question, user=self.user))
        except RapError as e:
            return f"Error: {e}"
