"""``rap retrieve``: which of the user's concepts are in an image."""

from __future__ import annotations

import json
from pathlib import Path

import click

from llama_index_rap.cli.context import CliState
from llama_index_rap.cli.store_commands import pass_state


def register(group: click.Group) -> None:
    """Add the retrieval commands to ``group``."""
    group.add_command(retrieve)


def _parse_box(text: str) -> tuple[float, float, float, float]:
    parts = text.replace(" ", "").split(",")
    if len(parts) != 4:
        raise click.BadParameter(f"{text!r} is not x0,y0,x1,y1")
    try:
        x0, y0, x1, y1 = (float(p) for p in parts)
    except ValueError as e:
        raise click.BadParameter(f"{text!r} is not four numbers x0,y0,x1,y1") from e
    return (x0, y0, x1, y1)


HOW_FOUND = {
    "name": "by name in the question",
    "box": "in a box you gave",
    "detection": "by detection",
    "whole-image": "in the whole image",
    "text": "by text",
}
"""How ``rap retrieve`` says why each concept was found."""


@click.command()
@click.argument("image", type=click.Path(dir_okay=False, path_type=Path))
@click.option("-q", "--question", default="", help="A question; concepts it names come first.")
@click.option("--box", "boxes", multiple=True, help="A region to search, x0,y0,x1,y1 (repeatable).")
@click.option("--no-detector", is_flag=True, help="Search the whole image (and --box) only.")
@click.option(
    "-k",
    "--top-k",
    type=click.IntRange(min=1),
    default=2,
    show_default=True,
    help="Concepts from the image (at least 1).",
)
@click.option(
    "--max-distance",
    type=float,
    default=None,
    help="Farthest match kept (squared L2 of unit vectors); default: the retriever's.",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option(
    "--show",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the image with every box labelled (concept, distance, the match distance, "
    "the nearest 'not this one' photo) to this PNG.",
)
@pass_state
def retrieve(
    state: CliState,
    image: Path,
    question: str,
    boxes: tuple[str, ...],
    no_detector: bool,
    top_k: int,
    max_distance: float | None,
    as_json: bool,
    show: Path | None,
) -> None:
    """Find the user's concepts in IMAGE."""
    from llama_index_rap.retrieve import RAPQuery, RAPRetriever
    from llama_index_rap.retrieve.picture import annotate

    retriever = RAPRetriever(
        state.store,
        detector=None if no_detector else "auto",
        top_k=top_k,
        max_distance="profile" if max_distance is None else max_distance,
    )
    query = RAPQuery(question, image_path=str(image), boxes=[_parse_box(b) for b in boxes])
    report = retriever.report(query)
    found = [
        {
            "name": n.node.metadata["name"],
            "score": round(n.get_score(), 4),
            "distance": round(n.node.metadata["distance"], 4),
            "reason": n.node.metadata["reason"],
            "box": n.node.metadata["box"],
            "category": n.node.metadata["category"],
            "max_distance": n.node.metadata["max_distance"],
            "negative_distance": n.node.metadata["negative_distance"],
            "evidence": n.node.metadata["evidence"],
        }
        for n in report.nodes
    ]
    if show is not None:
        from llama_index_rap.images import load_image

        note = (
            "random weights (--models tiny): matches are meaningless"
            if (state.profile.random_weights)
            else None
        )
        annotate(load_image(image).image, report, note).save(show, format="PNG")
    if as_json:
        payload = {"concepts": found, "timings": report.timings}
        if show is not None:
            payload["picture"] = str(show)
        click.echo(json.dumps(payload, indent=2))
    else:
        if not found:
            click.echo("no known concept in this image")
        for f in found:
            where = f" at {f['box']}" if f["box"] else ""
            how = HOW_FOUND.get(f["reason"], f"by {f['reason']}")
            click.echo(f"{f['name']}: found {how}{where}: {f['evidence']}")
        if show is not None:
            click.echo(f"wrote {show}")
    state.random_weights_note()
