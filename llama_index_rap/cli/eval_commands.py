"""``rap eval caption | recognition | qa | retrieval``: the paper's metrics on a test set."""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

import click

from llama_index_rap.cli.context import CliState, RapGroup
from llama_index_rap.cli.store_commands import pass_state

T = TypeVar("T")


def register(group: click.Group) -> None:
    """Add ``rap eval`` to ``group``."""
    group.add_command(eval_group)


@click.group(name="eval", cls=RapGroup)
def eval_group() -> None:
    """Score captioning, recognition, QA or the retriever on a test set (see README)."""


def common(f: Callable[..., Any]) -> Callable[..., Any]:
    """Options shared by the eval commands."""
    options = [
        click.argument("data", type=click.Path(dir_okay=False, exists=True, path_type=Path)),
        click.option(
            "--database",
            type=click.Path(exists=True, path_type=Path),
            help="Concepts to evaluate with: a RAP database.json or a 'rap export' folder "
            "(default: the --db store's concepts for --user).",
        ),
        click.option(
            "--root",
            type=click.Path(file_okay=False, exists=True, path_type=Path),
            help="Folder the image paths are relative to (default: the data file's folder).",
        ),
        click.option(
            "--out",
            type=click.Path(file_okay=False, path_type=Path),
            default=Path("rap-out/eval"),
            show_default=True,
            help="Where the JSON report, the Markdown table (and the plot) go.",
        ),
        click.option(
            "--limit",
            type=click.IntRange(min=1),
            default=None,
            help="Score only the first N items.",
        ),
        click.option(
            "--skip-missing",
            is_flag=True,
            help="Leave out items whose image is missing (counted); without it they stop the run.",
        ),
        click.option("--no-detector", is_flag=True, help="Search whole images (and boxes) only."),
        click.option("--max-distance", type=float, default=None, help="Retriever cut-off."),
    ]
    for option in reversed(options):
        f = option(f)
    return f


def _present(items: list[T], data: Path, root: Path | None, skip_missing: bool) -> list[T]:
    """The items whose images exist, checked before any model loads.

    Raises:
        click.ClickException: Some images are missing and ``skip_missing`` is not set.
    """
    missing = [i for i in items if (image := getattr(i, "image", None)) and not image.is_file()]
    if not missing:
        return items
    first = getattr(missing[0], "image", "")
    where = f"--root {root}" if root else f"the data file's folder {data.parent}"
    if not skip_missing:
        raise click.ClickException(
            f"{len(missing)} of {len(items)} items name an image that is not there (first: "
            f"{first}); image paths are read relative to {where}: give --root FOLDER (the "
            "folder they are relative to), or --skip-missing to score the rest"
        )
    click.echo(f"left out {len(missing)} of {len(items)} items: image missing", err=True)
    return [i for i in items if i not in missing]


def _progress(label: str) -> Callable[[Iterable[T]], Iterable[T]]:
    from tqdm import tqdm

    def wrap(items: Iterable[T]) -> Iterable[T]:
        bar: Iterable[T] = tqdm(items, desc=label, unit="item", disable=None)
        return bar

    return wrap


def _store(state: CliState, database: Path | None, root: Path | None, folder: str) -> Any:
    """The --db store, or a temporary one filled from --database."""
    from llama_index_rap.store import ConceptStore

    if database is None:
        return state.store
    store = ConceptStore(folder, models=state.profile, user="eval")
    if database.is_dir():
        store.import_(database, on_conflict="replace")
    else:
        store.import_rap(database, root=root, on_conflict="replace")
    return store


def _retriever(
    state: CliState, store: Any, no_detector: bool, max_distance: float | None, top_k: int = 2
) -> Any:
    from llama_index_rap.retrieve import RAPRetriever

    return RAPRetriever(
        store,
        detector=None if no_detector else "auto",
        top_k=top_k,
        per_crop_k=max(2, top_k),
        max_distance="profile" if max_distance is None else max_distance,
    )


def _finish(
    state: CliState,
    out: Path,
    task: str,
    report: Any,
    rows: Any,
    table: str,
    extra: dict[str, Any] | None = None,
) -> None:
    from llama_index_rap.evaluation.report import write_json

    meta = {"models": state.profile.name, "random_weights": state.profile.random_weights}
    meta.update(extra or {})
    path = write_json(out, task, report, rows, meta)
    md = out / f"{task}.md"
    md.write_text(table + "\n")
    click.echo(table)
    click.echo(f"\nwrote {path} and {md}")
    state.random_weights_note()


def _run_engine_task(
    state: CliState,
    task: str,
    data: Path,
    database: Path | None,
    root: Path | None,
    out: Path,
    limit: int | None,
    skip_missing: bool,
    no_detector: bool,
    max_distance: float | None,
) -> None:
    from llama_index_rap.engine import RAPQueryEngine
    from llama_index_rap.evaluation import datasets, report, runner
    from llama_index_rap.generate import HuggingFaceVLM

    readers: dict[str, Callable[[Path, Path | None], list[Any]]] = {
        "caption": datasets.read_image_concepts,
        "recognition": datasets.read_recognition,
        "qa": datasets.read_qa,
    }
    read = readers[task]
    items: list[Any] = _present(read(data, root)[:limit], data, root, skip_missing)
    if task == "recognition":
        positives = sum(i.truth for i in items)
        click.echo(
            f"{len(items)} questions: {positives} yes, {len(items) - positives} no", err=True
        )
    with tempfile.TemporaryDirectory(prefix="rap-eval-") as folder:
        store = _store(state, database, root, folder)
        engine = RAPQueryEngine(
            _retriever(state, store, no_detector, max_distance),
            HuggingFaceVLM.from_spec(state.profile.vlm),
        )
        label = f"llama-index-rap ({state.profile.name})"
        if task == "caption":
            result, rows = runner.run_caption(engine, items, _progress(task))
            table = report.caption_table(result, label)
        elif task == "recognition":
            rec, rows = runner.run_recognition(engine, items, _progress(task))
            result, table = rec, report.recognition_table(rec, label)  # type: ignore[assignment]
        else:
            qa, rows = runner.run_qa(engine, items, _progress(task))
            result, table = qa, report.qa_table(qa, label)  # type: ignore[assignment]
    _finish(state, out, task, result, rows, table)


@eval_group.command()
@common
@pass_state
def caption(state: CliState, /, **options: Any) -> None:
    """Personalized captioning recall, precision and F1 (the paper's Table 3)."""
    _run_engine_task(state, "caption", **options)


@eval_group.command()
@common
@pass_state
def recognition(state: CliState, /, **options: Any) -> None:
    """Recognition accuracy on positives, negatives and their mean."""
    _run_engine_task(state, "recognition", **options)


@eval_group.command()
@common
@pass_state
def qa(state: CliState, /, **options: Any) -> None:
    """Multiple-choice QA accuracy (visual or text-only)."""
    _run_engine_task(state, "qa", **options)


@eval_group.command()
@common
@click.option(
    "--sizes",
    default="10,50,150,300,500",
    show_default=True,
    help="Database sizes (concepts), comma-separated.",
)
@pass_state
def retrieval(state: CliState, /, sizes: str, **options: Any) -> None:
    """The retriever alone: recall@K and precision@K (K = 1..5) as the database grows."""
    from llama_index_rap.evaluation import datasets, report, runner
    from llama_index_rap.store import ConceptInput, ConceptStore, StoreLimits
    from llama_index_rap.store.transfer import read_export, read_rap_database

    database, root = options["database"], options["root"]
    if database is None:
        raise click.UsageError("--database is required: the concepts and the distractors")
    try:
        wanted = [int(s) for s in sizes.split(",") if s.strip()]
    except ValueError as e:
        raise click.BadParameter(f"--sizes {sizes!r} is not a list of numbers") from e
    limits = StoreLimits()
    batch = (
        read_export(database, limits)
        if database.is_dir()
        else read_rap_database(database, limits, root)
    )
    concepts = [
        ConceptInput(c.name, [i.data for i in c.images], c.description, c.category, c.aliases)
        for c in batch.concepts
    ]
    data: Path = options["data"]
    items = _present(
        datasets.read_image_concepts(data, root)[: options["limit"]],
        data,
        root,
        options["skip_missing"],
    )
    reports = runner.run_retrieval(
        concepts,
        items,
        wanted,
        lambda store: _retriever(state, store, options["no_detector"], options["max_distance"], 5),
        lambda folder: ConceptStore(folder, models=state.profile, user="eval"),
        progress=_progress("retrieval"),
    )
    out: Path = options["out"]
    plot = report.retrieval_plot(reports, out / "retrieval.png")
    _finish(
        state,
        out,
        "retrieval",
        reports,
        [],
        report.retrieval_table(reports),
        {"plot": str(plot), "sizes": wanted},
    )
