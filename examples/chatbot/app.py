"""A small web chat: show it your dog, name it, then ask about new photos.

FastAPI serves one plain page (static/index.html). Remembering goes to the embedded LanceDB
store; each answer streams in token by token beside the photo with every box labelled.

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
from llama_index_rap.errors import RapError
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
        photo: Annotated[UploadFile, File()],
        name: Annotated[str, Form()],
        description: Annotated[str, Form()],
        category: Annotated[str, Form()] = "",
    ) -> JSONResponse:
        try:
            concept = store.remember(
                name, await photo.read(), description, category or None, replace=True
            )
        except RapError as e:
            return JSONResponse({"error": str(e)}, status_code=400)
        return JSONResponse({"message": f"Remembered {concept.name}."})

    @app.post("/api/ask")
    async def ask(
        photo: Annotated[UploadFile, File()], question: Annotated[str, Form()]
    ) -> JSONResponse:
        data = await photo.read()
        try:
            image = load_image(data, store.limits.images)
            response: Any = engine.ask(data, question)
        except RapError as e:
            return JSONResponse({"error": str(e)}, status_code=400)
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


def main() -> None:
    import uvicorn

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--models", choices=["tiny", "default"], default="tiny")
    parser.add_argument("--db", default="rap-out/chatbot-db", help="Embedded LanceDB folder.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args()
    profile = get_profile(args.models)
    store = ConceptStore(args.db, models=profile, user="chat")
    # the tiny random encoder puts a whole photo with Bo in it ~0.06 from his picture: 0.1
    # lets the page find him there (its profile's 0.02 keeps only near-copies)
    app = create_app(store, profile, max_distance=0.1 if profile.random_retrieval else "profile")
    uvicorn.run(app, host=args.host, port=args.port)


if __name__ == "__main__":
    main()
