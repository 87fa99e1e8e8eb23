"""The concept store's commands: what ``rap`` remembers, changes, forgets and moves.

``remember``, ``update``, ``not``, ``forget``, ``list``, ``export``, ``import``,
``import-rap``; the store's upkeep is in :mod:`~llama_index_rap.cli.upkeep_commands`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import click

from llama_index_rap.cli.context import CliState
from llama_index_rap.errors import ImportFormatError

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif", ".tif", ".tiff"}

if TYPE_CHECKING:
    from llama_index_rap.store import Concept

pass_state = click.make_pass_decorator(CliState)


def register(group: click.Group) -> None:
    """Add the store commands to ``group``."""
    commands = (
        remember,
        update,
        not_this,
        forget,
        list_concepts,
        export,
        import_folder,
        import_rap,
    )
    for command in commands:
        group.add_command(command)


@click.command()
@click.argument("name", required=False)
@click.argument("images", nargs=-1, type=click.Path(path_type=Path))
@click.option("-d", "--description", help="A line about the concept (required for NAME).")
@click.option("-c", "--category", help="Detector class, e.g. 'dog' or 'person'.")
@click.option("-a", "--alias", "aliases", multiple=True, help="Another name (repeatable).")
@click.option("--replace", is_flag=True, help="Overwrite a concept of the same name.")
@click.option(
    "--purge", is_flag=True, help="With --replace: erase the replaced photos from disk too."
)
@click.option(
    "--batch-size",
    type=int,
    default=256,
    show_default=True,
    help="With --from-dir: concepts encoded and committed together.",
)
@click.option(
    "--from-dir",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    help="Remember every sub-folder of DIR as a concept (see README: bulk format).",
)
@pass_state
def remember(
    state: CliState,
    name: str | None,
    images: tuple[Path, ...],
    description: str | None,
    category: str | None,
    aliases: tuple[str, ...],
    replace: bool,
    purge: bool,
    batch_size: int,
    from_dir: Path | None,
) -> None:
    """Remember NAME from one or more IMAGES, or many concepts with --from-dir."""
    if from_dir is not None:
        if name or images:
            raise click.UsageError("give either NAME IMAGE... or --from-dir, not both")
        _remember_dir(state, from_dir, replace, batch_size, purge)
        return
    if not name or not images:
        raise click.UsageError("give NAME and at least one IMAGE (or --from-dir DIR)")
    if description is None:
        raise click.UsageError("--description is required: say in a line who or what it is")
    concept = state.store.remember(
        name, list(images), description, category, aliases, replace=replace, purge=purge
    )
    count = len(concept.images)
    click.echo(
        f"remembered {concept.name} ({count} image{'s' * (count != 1)}) for user {concept.user}"
    )
    state.random_weights_note()


def _remember_dir(state: CliState, root: Path, replace: bool, batch_size: int, purge: bool) -> None:
    from tqdm import tqdm

    from llama_index_rap.store import ConceptInput

    items = [_read_concept_folder(folder) for folder in sorted(root.iterdir()) if folder.is_dir()]
    if not items:
        raise click.ClickException(f"{root} has no sub-folders; put one folder per concept in it")
    before = state.store.list()
    with tqdm(total=len(items), unit="concept", disable=None) as bar:
        done = state.store.remember_many(
            [ConceptInput(**item) for item in items],  # type: ignore[arg-type]
            on_conflict="replace" if replace else "error",
            progress=lambda n: bar.update(n - bar.n),
            batch_size=batch_size,
            purge=purge,
        )
    click.echo(f"{tally(before, done)} from {root} for user {state.store.user}")
    state.random_weights_note()


def tally(before: Sequence[Concept], after: Sequence[Concept], verb: str = "remembered") -> str:
    """What a bulk write did: concepts added, replaced, and already there unchanged."""
    old = {c.concept_id: c.updated_at for c in before}
    added = sum(c.concept_id not in old for c in after)
    same = sum(old.get(c.concept_id) == c.updated_at for c in after)
    parts = [f"{verb} {added} new concept{'s' * (added != 1)}"]
    if replaced := len(after) - added - same:
        parts.append(f"replaced {replaced}")
    if same:
        parts.append(f"{same} already there")
    return ", ".join(parts)


def _read_concept_folder(folder: Path) -> dict[str, object]:
    """One bulk folder: images, plus concept.json or description.txt."""
    images = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    meta: dict[str, object] = {}
    if (folder / "concept.json").is_file():
        try:
            meta = json.loads((folder / "concept.json").read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as e:
            raise ImportFormatError(
                f"{folder / 'concept.json'} is not valid UTF-8 JSON of reasonable depth ({e})"
            ) from e
        if not isinstance(meta, dict):
            raise ImportFormatError(f"{folder / 'concept.json'} must hold a JSON object")
    elif (folder / "description.txt").is_file():
        try:
            meta = {"description": (folder / "description.txt").read_text(encoding="utf-8")}
        except UnicodeDecodeError as e:
            raise ImportFormatError(
                f"{folder / 'description.txt'} is not UTF-8 text ({e}); save it as UTF-8"
            ) from e
    else:
        raise ImportFormatError(
            f"{folder} has no concept.json or description.txt; add one saying who or what "
            f"{folder.name} is"
        )
    return {
        "name": meta.get("name", folder.name),
        "images": images,
        "description": meta.get("description", ""),
        "category": meta.get("category"),
        "aliases": meta.get("aliases", ()),
    }


@click.command()
@click.argument("name")
@click.option("--rename", "new_name", help="A new name (must not be taken).")
@click.option("-d", "--description", help="A new description.")
@click.option("-c", "--category", help="A new category ('' clears it).")
@click.option("-a", "--alias", "aliases", multiple=True, help="Replace the aliases (repeatable).")
@click.option("--no-aliases", is_flag=True, help="Drop every alias.")
@click.option(
    "--add",
    "add_images",
    multiple=True,
    type=click.Path(path_type=Path),
    help="An image to add (repeatable).",
)
@click.option(
    "--remove",
    "remove_images",
    multiple=True,
    help="An image to drop, by its SHA-256 or a unique prefix ('rap list --json' shows them).",
)
@click.option("--purge", is_flag=True, help="Also erase what was replaced or dropped from disk.")
@pass_state
def update(
    state: CliState,
    name: str,
    new_name: str | None,
    description: str | None,
    category: str | None,
    aliases: tuple[str, ...],
    no_aliases: bool,
    add_images: tuple[Path, ...],
    remove_images: tuple[str, ...],
    purge: bool,
) -> None:
    """Change the concept NAME: only what is given changes, in one commit."""
    if aliases and no_aliases:
        raise click.UsageError("give --alias or --no-aliases, not both")
    changes = (new_name, description, category, aliases, no_aliases, add_images, remove_images)
    if all(c is None or c == () or c is False for c in changes):
        raise click.ClickException(
            "nothing to change: give --rename, -d, -c, -a, --no-aliases, --add or --remove"
        )
    concept = state.store.update(
        name,
        new_name=new_name,
        description=description,
        category=category,
        aliases=() if no_aliases else (aliases or None),
        add_images=list(add_images),
        remove_images=list(remove_images),
        purge=purge,
    )
    count = len(concept.images)
    click.echo(f"updated {concept.name} ({count} image{'s' * (count != 1)})")


@click.command()
@click.argument("name")
@click.option("--purge", is_flag=True, help="Also erase the bytes from disk (loses history).")
@pass_state
def forget(state: CliState, name: str, purge: bool) -> None:
    """Forget the concept NAME."""
    concept = state.store.forget(name, purge=purge)
    click.echo(f"forgot {concept.name}" + (" and purged it from disk" if purge else ""))


@click.command(name="list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_state
def list_concepts(state: CliState, as_json: bool) -> None:
    """List the user's concepts."""
    concepts = state.store.list()
    if as_json:
        click.echo(json.dumps([c.to_dict() for c in concepts], indent=2, ensure_ascii=False))
        return
    if not concepts:
        click.echo(f"user {state.store.user} has no concepts yet; add one with 'rap remember'")
        return
    for c in concepts:
        extra = f" [{c.category}]" if c.category else ""
        aka = f" (also {', '.join(c.aliases)})" if c.aliases else ""
        nots = f", {len(c.negatives)} 'not this one'" if c.negatives else ""
        click.echo(f"{c.name}{extra}{aka}: {c.description} ({len(c.images)} image(s){nots})")


@click.command(name="not")
@click.argument("name")
@click.argument("images", nargs=-1, required=True, type=click.Path(path_type=Path))
@pass_state
def not_this(state: CliState, name: str, images: tuple[Path, ...]) -> None:
    """Say IMAGES show something else, not NAME: retrieval then leaves NAME out for lookalikes."""
    concept = state.store.add_negative(name, list(images))
    count = len(concept.negatives)
    click.echo(
        f"noted: {len(images)} photo{'s' * (len(images) != 1)} not {concept.name} "
        f"({count} 'not this one' photo{'s' * (count != 1)} in all)"
    )
    state.random_weights_note()


@click.command()
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
@pass_state
def export(state: CliState, folder: Path) -> None:
    """Export the user's concepts to FOLDER."""
    count = state.store.export(folder)
    click.echo(f"exported {count} concepts to {folder}")


@click.command(name="import")
@click.argument("folder", type=click.Path(file_okay=False, exists=True, path_type=Path))
@click.option("--replace", is_flag=True, help="Overwrite concepts of the same name.")
@pass_state
def import_folder(state: CliState, folder: Path, replace: bool) -> None:
    """Import concepts from an export FOLDER."""
    before = state.store.list()
    done = state.store.import_(folder, on_conflict="replace" if replace else "error")
    click.echo(f"{tally(before, done, 'imported')} from {folder}")


@click.command(name="import-rap")
@click.argument("database", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option(
    "--root",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    help="Folder the image paths are relative to (the RAP repository root).",
)
@click.option("--replace", is_flag=True, help="Overwrite concepts of the same name.")
@pass_state
def import_rap(state: CliState, database: Path, root: Path | None, replace: bool) -> None:
    """Import a RAP reference DATABASE (database.json with concept_dict)."""
    before = state.store.list()
    done = state.store.import_rap(
        database, root=root, on_conflict="replace" if replace else "error"
    )
    click.echo(f"{tally(before, done, 'imported')} from {database}")
    state.random_weights_note()
