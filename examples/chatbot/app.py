"""A small web chat for several people: show it your dog, name it, ask about new photos.

FastAPI serves one plain page (static/index.html). Each person types their name at the top
(kept in the browser); every request carries it, and the store keeps each person's concepts
apart (one embedded LanceDB store, one user each). Remembering a name you already have asks
before it replaces; your concepts are listed with a button to forget each. Each answer
streams in token by token beside the photo with every box labelled, with a "not X" button for
each concept found: that photo is then remembered as one that is not X.

    .venv/bin/python examples/chatbot/app.py --models tiny      # then open http://127.0.0.1:8000
"""

from __future__ import annotations

import argparse
import base64
import io
import itertools
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import FastAPI, File, Form, UploadFile
from fastapi.responses import HTMLResponse, JSONResponse, StreamingResponse

from llama_index_rap.engine import RAPQueryEngine
from llama_index_rap.errors import ConceptExistsError, ConceptNotFoundError, RapError
from llama_index_rap.generate import HuggingFaceVLM
from llama_index_rap.images import load_image
from llama_index_rap.models.specs import ModelProfile, get_profile
from llama_index_rap.retrieve import RAPRetriever
from llama_index_rap.retrieve.picture import annotate
from llama_index_rap.store import ConceptStore

PAGE = Path(__file__).parent / "static" / "index.html"
RANDOM_NOTE = "random weights (--models tiny): the answers are meaningless"


def create_app(
    store: ConceptStore, profile: ModelProfile, max_distance: float | Literal["profile"] = "profile"
) -> FastAPI:
    """The chat application over ``store`` with the profile's models and match distance."""
    app = FastAPI(title="llama-index-rap chat")
    retriever = RAPRetriever(store, max_distance=max_distance)
    engine = RAPQueryEngine(
        retriever, HuggingFaceVLM.from_spec(profile.vlm, max_new_tokens=48), streaming=True
    )
    pending: dict[str, Iterator[str]] = {}
    ids = itertools.count(1)
    lock = threading.Lock()
    note = RANDOM_NOTE if profile.random_weights else ""

    @app.get("/", response_class=HTMLResponse)
    def page() -> str:
        return PAGE.read_text(encoding="utf-8").replace("{{NOTE}}", note)

    @app.post("/api/remember")
    async def remember(
        user: Annotated[str, Form()],
        photo: Annotated[UploadFile, File()],
        name: Annotated[str, Form()],
        description: Annotated[str, Form()],
        category: Annotated[str, Form()] = "",
        replace: Annotated[bool, Form()] = False,
    ) -> JSONResponse:
        data = await photo.read()
        try:
            concept = store.remember(
                name, data, description, category or None, user=user, replace=replace
            )
        except ConceptExistsError:
            return error(
                f"You already have {name}: tick 'replace' to remember this one instead.", 409
            )
        except RapError as e:
            return error(named(e, photo, data))
        return JSONResponse({"message": f"Remembered {concept.name}."})

    @app.get("/api/concepts")
    def concepts(user: str) -> JSONResponse:
        try:
            found = store.list(user=user)
        except RapError as e:
            return error(str(e))
        return JSONResponse(
            {
                "concepts": [
                    {"name": c.name, "description": c.description, "category": c.category}
                    for c in found
                ]
            }
        )

    @app.post("/api/forget")
    def forget(user: Annotated[str, Form()], name: Annotated[str, Form()]) -> JSONResponse:
        try:
            concept = store.forget(name, user=user, purge=True)
        except RapError as e:
            return error(str(e), 404 if isinstance(e, ConceptNotFoundError) else 400)
        return JSONResponse({"message": f"Forgot {concept.name}."})

    @app.post("/api/not")
    async def not_this(
        user: Annotated[str, Form()],
        name: Annotated[str, Form()],
        photo: Annotated[UploadFile, File()],
    ) -> JSONResponse:
        data = await photo.read()
        try:
            concept = store.add_negative(name, data, user=user)
        except RapError as e:
            return error(named(e, photo, data), 404 if isinstance(e, ConceptNotFoundError) else 400)
        return JSONResponse({"message": f"Noted: that photo is not {concept.name}."})

    @app.post("/api/ask")
    async def ask(
        user: Annotated[str, Form()],
        photo: Annotated[UploadFile, File()],
        question: Annotated[str, Form()],
    ) -> JSONResponse:
        data = await photo.read()
        try:
            image = load_image(data, store.limits.images)
            response: Any = engine.ask(data, question, user=user)
        except RapError as e:
            return error(named(e, photo, data))
        buffer = io.BytesIO()
        annotate(image.image, response.metadata["retrieval"], note or None).save(buffer, "PNG")
        with lock:
            answer_id = str(next(ids))
            pending[answer_id] = response.response_gen
        return JSONResponse(
            {
                "id": answer_id,
                "concepts": response.metadata["concepts"],
                "picture": "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode(),
            }
        )

    @app.get("/api/answer/{answer_id}")
    def answer(answer_id: str) -> StreamingResponse:
        with lock:
            tokens = pending.pop(answer_id, iter(()))
        return StreamingResponse(tokens, media_type="text/plain; charset=utf-8")

    return app


def error(message: str, status: int = 400) -> JSONResponse:
    """An error the page shows as it is."""
    return JSONResponse({"error": message}, status_code=status)


def named(e: RapError, upload: UploadFile, data: bytes) -> str:
    """The error's message, naming the uploaded file instead of ``<N bytes>``."""
    return str(e).replace(f"<{len(data)} bytes>", repr(upload.filename or "the photo"))


def main() -> None:
    import uvicorn

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--models", choices=["tiny", "default"], default="tiny")
    parser.add_argument("--db", default="rap-out/chatbot-db", help="Embedded LanceDB folder.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args()
    profile = get_profile(args.models)
    store = ConceptStore(args.db, models=profile)  # each request names its user
    # the tiny random encoder puts a whole photo with Bo in it ~0.06 from his picture: 0.1
    # lets the page find him there (its profile's 0.02 keeps only near-copies)
    app = create_app(store, profile, max_distance=0.1 if profile.random_retrieval else "profile")
    uvicorn.run(app, host=args.host, port=args.port)


if __name__ == "__main__":
    main()
