"""``rap remember | forget | list | export | import | import-rap``: the concept store."""

from __future__ import annotations

import json
from pathlib import Path

import click

from llama_index_rap.cli.context import CliState
from llama_index_rap.errors import ImportFormatError

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif", ".tif", ".tiff"}

pass_state = click.make_pass_decorator(CliState)


def register(group: click.Group) -> None:
    """Add the store commands to ``group``."""
    commands = (remember, forget, purge, check, list_concepts, export, import_folder, import_rap)
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
    with tqdm(total=len(items), unit="concept", disable=None) as bar:
        done = state.store.remember_many(
            [ConceptInput(**item) for item in items],  # type: ignore[arg-type]
            on_conflict="replace" if replace else "error",
            progress=lambda n: bar.update(n - bar.n),
            batch_size=batch_size,
            purge=purge,
        )
    click.echo(f"remembered {len(done)} concepts from {root} for user {state.store.user}")
    state.random_weights_note()


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
@click.option("--purge", is_flag=True, help="Also erase the bytes from disk (loses history).")
@pass_state
def forget(state: CliState, name: str, purge: bool) -> None:
    """Forget the concept NAME."""
    concept = state.store.forget(name, purge=purge)
    click.echo(f"forgot {concept.name}" + (" and purged it from disk" if purge else ""))


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
        click.echo(f"{c.name}{extra}{aka}: {c.description} ({len(c.images)} image(s))")


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
    done = state.store.import_(folder, on_conflict="replace" if replace else "error")
    click.echo(f"imported {len(done)} concepts from {folder}")


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
    done = state.store.import_rap(
        database, root=root, on_conflict="replace" if replace else "error"
    )
    click.echo(f"imported {len(done)} concepts from {database}")
    state.random_weights_note()
