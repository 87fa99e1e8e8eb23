"""``rap ask | caption | recognize | chat | demo``: personalized answers about images."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from llama_index_rap.cli.context import CliState
from llama_index_rap.cli.store_commands import pass_state

image_argument = click.argument("image", type=click.Path(dir_okay=False, path_type=Path))


def register(group: click.Group) -> None:
    """Add the generation commands to ``group``."""
    for command in (ask, caption, recognize, chat, demo):
        group.add_command(command)


def engine_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """Options shared by the commands that run the engine."""
    f = click.option("--json", "as_json", is_flag=True, help="Print JSON.")(f)
    f = click.option("--no-detector", is_flag=True, help="Search the whole image only.")(f)
    f = click.option(
        "--max-distance", type=float, default=None, help="Farthest concept match kept."
    )(f)
    return f


def _engine(
    state: CliState,
    no_detector: bool,
    max_distance: float | None,
    streaming: bool = False,
) -> Any:
    from llama_index_rap.engine import RAPQueryEngine
    from llama_index_rap.generate import HuggingFaceVLM
    from llama_index_rap.retrieve import RAPRetriever

    retriever = RAPRetriever(
        state.store,
        detector=None if no_detector else "auto",
        max_distance="profile" if max_distance is None else max_distance,
    )
    llm = HuggingFaceVLM.from_spec(state.profile.vlm)
    return RAPQueryEngine(retriever, llm, streaming=streaming)


def _report(state: CliState, response: Any, as_json: bool, extra: dict[str, Any]) -> None:
    meta = response.metadata or {}
    if as_json:
        payload = {
            "answer": str(response),
            "concepts": meta.get("concepts", []),
            "prompt": meta.get("prompt"),
            "timings": meta.get("timings", {}),
            "random_weights": state.profile.random_weights,
            **extra,
        }
        click.echo(json.dumps(payload, indent=2, default=str))  # "retrieval" is not included
    else:
        click.echo(str(response))
        for key, value in extra.items():
            click.echo(f"{key}: {value}")
        if meta.get("concepts"):
            click.echo(f"concepts: {', '.join(meta['concepts'])}", err=True)
    state.random_weights_note()


@click.command()
@image_argument
@click.argument("question")
@click.option("--stream", is_flag=True, help="Print the answer as it is generated.")
@engine_options
@pass_state
def ask(state: CliState, /, image: Path, question: str, stream: bool, **options: Any) -> None:
    """Answer QUESTION about IMAGE, knowing the user's concepts."""
    as_json = options.pop("as_json")
    engine = _engine(state, streaming=stream and not as_json, **options)
    response = engine.ask(str(image), question)
    if stream and not as_json:
        for token in response.response_gen:
            click.echo(token, nl=False)
        click.echo()
        state.random_weights_note()
        return
    _report(state, response, as_json, {})


@click.command()
@image_argument
@engine_options
@pass_state
def caption(state: CliState, /, image: Path, **options: Any) -> None:
    """A personalized caption of IMAGE."""
    as_json = options.pop("as_json")
    _report(state, _engine(state, **options).caption(str(image)), as_json, {})


@click.command()
@image_argument
@click.argument("name")
@engine_options
@pass_state
def recognize(state: CliState, /, image: Path, name: str, **options: Any) -> None:
    """Is the concept NAME in IMAGE? Yes or no, with the retrieval evidence."""
    as_json = options.pop("as_json")
    response = _engine(state, **options).recognize(str(image), name)
    meta = response.metadata or {}
    verdict = {True: "yes", False: "no", None: "unclear"}[meta.get("recognized")]
    _report(state, response, as_json, {"recognized": verdict, "evidence": meta.get("evidence")})


@click.command()
@image_argument
@engine_options
@pass_state
def chat(state: CliState, /, image: Path, **options: Any) -> None:
    """Talk about IMAGE; each line you type is a turn (empty line or Ctrl-D ends)."""
    from llama_index_rap.engine import RAPChatEngine

    as_json = options.pop("as_json")
    engine = _engine(state, **options)
    session = RAPChatEngine(engine.retriever, engine.llm, image=str(image))
    state.random_weights_note()
    interactive = sys.stdin.isatty()
    while True:
        if interactive:
            click.echo("you> ", nl=False)
        line = sys.stdin.readline()
        if not line.strip():
            break
        response = session.stream_chat(line.strip())
        if as_json:
            text = "".join(response.response_gen)
            turn = {
                "you": line.strip(),
                "answer": text,
                "concepts": [n for _, n in session.shown()],
            }
            click.echo(json.dumps(turn))
        else:
            click.echo("rap> ", nl=False)
            for token in response.response_gen:
                click.echo(token, nl=False)
            click.echo()


@click.command()
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("rap-out/demo"),
    show_default=True,
    help="Folder for the annotated pictures.",
)
@click.option("--json", "as_json", is_flag=True, help="Also print a JSON summary.")
@pass_state
def demo(state: CliState, out: Path, as_json: bool) -> None:
    """Remember a cat and a motorbike from real photos, find them again, caption a scene.

    With --json, stdout carries only the JSON summary (the running commentary goes to stderr).
    """
    from llama_index_rap.demo.run import run_demo

    db = state.db or str(out / "demo-db")

    def echo(line: str) -> None:
        click.echo(line, err=as_json)

    result = run_demo(state.profile, db, out, echo)
    if as_json:
        click.echo(json.dumps(result, indent=2))
