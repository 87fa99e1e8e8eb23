"""What every ``rap`` command shares: the global options and error handling."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import click

from llama_index_rap.errors import RapError

if TYPE_CHECKING:
    from llama_index_rap.models.specs import ModelProfile
    from llama_index_rap.store import ConceptStore


class RapGroup(click.Group):
    """A click group that prints :class:`RapError` as one line and exits with status 1."""

    def invoke(self, ctx: click.Context) -> Any:
        """Run the command, turning user errors into ``ClickException``."""
        try:
            return super().invoke(ctx)
        except RapError as e:
            raise click.ClickException(str(e)) from e


@dataclass
class CliState:
    """The global options, and the store built from them on first use.

    Args:
        db: Store location, or ``None`` for the default.
        user: Whose concepts.
        models: Profile name.
        clip: Image encoder override (open_clip's names; kept for ``--clip``).
        encoder: Image encoder override, any kind (``--encoder``).
        vlm: VLM override.
    """

    db: str | None
    user: str
    models: str
    clip: str | None = None
    vlm: str | None = None
    encoder: str | None = None
    _store: ConceptStore | None = field(default=None, repr=False)

    @property
    def profile(self) -> ModelProfile:
        """The model profile with any overrides."""
        from llama_index_rap.models.specs import get_profile

        return get_profile(self.models).with_models(encoder=self.encoder or self.clip, vlm=self.vlm)

    @property
    def store(self) -> ConceptStore:
        """The concept store (opened once)."""
        if self._store is None:
            from llama_index_rap.store import ConceptStore

            self._store = ConceptStore(self.db, models=self.profile, user=self.user)
        return self._store

    def random_weights_note(self) -> None:
        """Tell the person when the models have random weights."""
        profile = self.profile
        if profile.random_retrieval:
            click.echo(
                f"note: models have random weights (--models {profile.name}); retrieval "
                "and answers are meaningless, use --models offline or default for real ones",
                err=True,
            )
        elif profile.vlm.is_random:
            click.echo(
                f"note: the VLM has random weights (--models {profile.name}); retrieval is "
                "real, answers are meaningless (give --vlm DIR or use --models default)",
                err=True,
            )
