"""What every ``rap`` command shares: the global options and error handling."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

import click

from llama_index_rap.errors import RapError

if TYPE_CHECKING:
    from llama_index_rap.models.specs import ModelProfile
    from llama_index_rap.store import ConceptStore

F = TypeVar("F", bound=Callable[..., Any])
PROFILES = ["default", "default-random", "offline", "tiny"]
MODELS_HELP = (
    "Model profile: 'default' (ViT-L-14-336 openai, YOLO-World v2-X, Qwen2-VL-2B), "
    "'offline' (a trained MobileNetV2 that ships with the package, no detector, the tiny "
    "VLM: real retrieval offline), 'default-random' (the default architectures with random "
    "weights, for timing) or 'tiny' (small random-weight models). Random weights give "
    "meaningless output."
)
ENCODER_HELP = (
    "Override the image encoder: torchvision:ARCH[:WEIGHTS|:/path/weights.pt], "
    "hf:ORG/NAME or hf:/path/folder (DINOv2, SigLIP...), open_clip:ARCH[:TAG], "
    "py:module:name (your own MultiModalEmbedding), or anything --clip takes."
)
CLIP_HELP = (
    "Override the image encoder with an open_clip model: ARCH:TAG, ARCH:/path/checkpoint "
    "or hf-hub:org/repo."
)
DB_HELP = (
    "Concept store: a folder or LanceDB URI (s3://...). Default: $RAP_DB or a per-user data folder."
)


class RapGroup(click.Group):
    """A click group that prints :class:`RapError` as one line and exits with status 1."""

    def add_command(self, cmd: click.Command, name: str | None = None) -> None:
        """Add ``cmd``, accepting the global options after it too (:func:`global_options`)."""
        super().add_command(global_options(cmd), name)

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

    def override(self, name: str, value: str) -> None:
        """Set a global option given after the command (before the store is opened)."""
        if self._store is not None:
            raise click.UsageError(f"--{name} came too late: the store is already open")
        setattr(self, name, value)
        if name in ("encoder", "clip") and self.encoder and self.clip:
            raise click.UsageError("give --encoder or --clip, not both")

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


def global_options(command: F) -> F:
    """Accept the global options after the command too (``rap list --user bob``).

    Given in both places, the one after the command wins.
    """

    def setter(name: str) -> Callable[[click.Context, click.Parameter, Any], None]:
        def set_it(ctx: click.Context, _param: click.Parameter, value: Any) -> None:
            state = ctx.find_object(CliState)
            if value is not None and state is not None:
                state.override(name, value)

        return set_it

    options = [
        ("--db", "db", DB_HELP, None),
        ("--user", "user", "Whose concepts to act on.", None),
        ("--models", "models", MODELS_HELP, click.Choice(PROFILES)),
        ("--encoder", "encoder", ENCODER_HELP, None),
        ("--clip", "clip", CLIP_HELP, None),
        ("--vlm", "vlm", "Override the VLM: a hub name or a local folder.", None),
    ]
    for flag, name, text, kind in reversed(options):
        command = click.option(
            flag,
            type=kind,
            default=None,
            expose_value=False,
            is_eager=True,
            callback=setter(name),
            help=text,
        )(command)
    return command
