"""The ``rap`` command line: remember, list and forget concepts, move them in and out.

Heavy libraries are imported inside the commands, so ``rap --help`` stays fast. Errors a
user can fix are printed as one line with a non-zero exit, never as a traceback.
"""

from __future__ import annotations

from typing import Any

import click

from llama_index_rap.cli import (
    eval_commands,
    generate_commands,
    retrieve_commands,
    store_commands,
    upkeep_commands,
)
from llama_index_rap.cli.context import (
    CLIP_HELP,
    DB_HELP,
    ENCODER_HELP,
    MODELS_HELP,
    PROFILES,
    CliState,
    RapGroup,
)


@click.group(cls=RapGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--db", envvar="RAP_DB", default=None, help=DB_HELP)
@click.option(
    "--user",
    envvar="RAP_USER",
    default="default",
    show_default=True,
    help="Whose concepts to act on ($RAP_USER).",
)
@click.option(
    "--models",
    envvar="RAP_MODELS",
    type=click.Choice(PROFILES),
    default="default",
    show_default=True,
    help=MODELS_HELP,
)
@click.option("--encoder", default=None, help=ENCODER_HELP)
@click.option("--clip", default=None, help=CLIP_HELP)
@click.option("--vlm", default=None, help="Override the VLM: a hub name or a local folder.")
@click.option("-v", "--verbose", is_flag=True, help="Log what happens.")
@click.pass_context
def main(
    ctx: click.Context,
    db: str | None,
    user: str,
    models: str,
    encoder: str | None,
    clip: str | None,
    vlm: str | None,
    verbose: bool,
) -> None:
    """Retrieval-augmented personalization: teach your LlamaIndex pipelines who Bo is.

    The options above can also be given after the command (rap list --user bob).
    """
    import logging

    if verbose:
        logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    if encoder and clip:
        raise click.UsageError("give --encoder or --clip, not both")
    ctx.obj = CliState(db=db, user=user, models=models, clip=clip, vlm=vlm, encoder=encoder)


store_commands.register(main)
upkeep_commands.register(main)
retrieve_commands.register(main)
generate_commands.register(main)
eval_commands.register(main)


def run(args: list[str] | None = None) -> Any:
    """Run the CLI (for ``python -m llama_index_rap``)."""
    return main.main(args=args)
