"""The store's upkeep, beside its concepts.

``rap purge``, ``check``, ``calibrate``, ``versions``, ``restore``, ``optimize``.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from llama_index_rap.cli.context import CliState
from llama_index_rap.cli.store_commands import pass_state


def register(group: click.Group) -> None:
    """Add the upkeep commands to ``group``."""
    for command in (purge, check, calibrate, versions, restore, optimize):
        group.add_command(command)


@click.command()
@pass_state
def purge(state: CliState) -> None:
    """Erase the bytes of every forgotten concept from disk (finishes an interrupted purge)."""
    state.store.purge()
    click.echo(f"purged: no forgotten concept's bytes remain under {state.store.uri}")


@click.command()
@pass_state
def check(state: CliState) -> None:
    """Verify every row of the store: image bytes against their SHA-256, vectors sound."""
    problems = state.store.check()
    for line in problems:
        click.echo(line)
    if problems:
        raise click.ClickException(
            f"{len(problems)} problem(s) in {state.store.uri}: restore the folder from a backup, "
            "go back to an earlier version, or remember the concepts named again"
        )
    click.echo(f"checked every row of {state.store.uri}: no damage found")


@click.command()
@click.option(
    "--impostor",
    "impostors",
    multiple=True,
    type=click.Path(path_type=Path),
    help="A photo of something that is none of your concepts (repeatable).",
)
@click.option(
    "--target",
    type=click.FloatRange(min=0.0, max=1.0, max_open=True),
    default=0.01,
    show_default=True,
    help="Share of strangers' matches allowed through.",
)
@click.option(
    "--plot",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the trade-off (true matches kept against strangers let through) to this PNG.",
)
@click.option("--dry-run", is_flag=True, help="Report the distance without recording it.")
@pass_state
def calibrate(
    state: CliState,
    impostors: tuple[Path, ...],
    target: float,
    plot: Path | None,
    dry_run: bool,
) -> None:
    """Choose the match distance from your own photos and record it in the store."""
    result = state.store.calibrate(impostors=list(impostors), target=target, save=not dry_run)
    click.echo(result.summary())
    click.echo("distance  true matches kept  strangers let through")
    for distance, kept, through in result.tradeoff():
        mark = "  <- chosen" if abs(distance - result.max_distance) < 5e-4 else ""
        click.echo(f"{distance:8.3f}  {kept:17.0%}  {through:21.1%}{mark}")
    if plot is not None:
        from llama_index_rap.retrieve.calibration import plot as draw

        click.echo(f"wrote {draw(result, plot)}")
    if dry_run:
        click.echo("not recorded (--dry-run)")
    else:
        click.echo(f"recorded in {state.store.uri}: retrieval uses it unless told otherwise")
    state.random_weights_note()


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_state
def versions(state: CliState, as_json: bool) -> None:
    """List the store's committed versions (every user's changes), oldest first."""
    found = state.store.versions()
    if as_json:
        rows = [{"version": v.version, "timestamp": v.timestamp.isoformat()} for v in found]
        click.echo(json.dumps(rows, indent=2))
        return
    if not found:
        click.echo(f"{state.store.uri} has no versions yet")
    for v in found:
        click.echo(f"{v.version}  {v.timestamp.isoformat(timespec='seconds')}")


@click.command()
@click.argument("version", type=click.IntRange(min=1))
@pass_state
def restore(state: CliState, version: int) -> None:
    """Make VERSION current again, as a new version (the whole store, every user)."""
    state.store.restore(version)
    click.echo(f"restored version {version} (now version {state.store.version})")


@click.command()
@pass_state
def optimize(state: CliState) -> None:
    """Compact the store's files and rebuild its search index once it is large."""
    state.store.optimize()
    click.echo(f"optimized {state.store.uri} (history kept)")
