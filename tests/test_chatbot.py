"""The chat page: its API with an HTTP client, and the page itself in headless Chromium."""

from __future__ import annotations

import io
import shutil
import socket
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from llama_index_rap.demo import pictures
from llama_index_rap.models.specs import get_profile
from llama_index_rap.store import ConceptStore

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "examples" / "chatbot"))
from app import create_app

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def png(image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue()


@pytest.fixture
def app(tmp_path: Path):
    store = ConceptStore(tmp_path / "db", models="tiny", user="chat")
    return create_app(store, get_profile("tiny"), max_distance=0.1)


def test_api_remember_ask_and_stream(app) -> None:
    client = TestClient(app)
    page = client.get("/")
    assert page.status_code == 200 and "random weights" in page.text
    ok = client.post(
        "/api/remember",
        files={"photo": ("bo.png", png(pictures.bo()), "image/png")},
        data={"name": "Bo", "description": "My dog.", "category": "dog"},
    )
    assert ok.json() == {"message": "Remembered Bo."}
    bad = client.post(
        "/api/remember",
        files={"photo": ("x.png", b"not an image", "image/png")},
        data={"name": "X", "description": "x"},
    )
    assert bad.status_code == 400 and "not an image" in bad.json()["error"]
    asked = client.post(
        "/api/ask",
        files={"photo": ("park.png", png(pictures.park()), "image/png")},
        data={"question": "Who is this?"},
    ).json()
    assert asked["concepts"] == ["Bo"] and asked["picture"].startswith("data:image/png;base64,")
    answer = client.get(f"/api/answer/{asked['id']}")
    assert answer.status_code == 200 and answer.text


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def server(app) -> Iterator[str]:
    import uvicorn

    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not srv.started and time.monotonic() < deadline:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(timeout=10)


@pytest.mark.slow
def test_chat_page_in_a_real_browser(server: str, tmp_path: Path) -> None:
    if CHROMIUM is None:
        pytest.skip("Debian's chromium is not installed (scripts/test.sh installs it as root)")
    from playwright.sync_api import sync_playwright

    bo, park = tmp_path / "bo.png", tmp_path / "park.png"
    bo.write_bytes(png(pictures.bo()))
    park.write_bytes(png(pictures.park()))
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        try:
            page = browser.new_page()
            page.goto(server)
            page.set_input_files("#remember-photo", str(bo))
            page.fill("#remember-name", "Bo")
            page.fill("#remember-description", "Bo is my Shiba Inu with a red collar.")
            page.fill("#remember-category", "dog")
            page.click("#remember-button")
            page.wait_for_selector("#remember-status:has-text('Remembered Bo.')", timeout=60_000)
            page.set_input_files("#ask-photo", str(park))
            page.fill("#ask-question", "What is Bo doing?")
            page.click("#ask-button")
            page.wait_for_selector("#answer[data-done='true']", timeout=120_000)
            assert page.inner_text("#ask-status") == "I see: Bo"
            assert page.inner_text("#answer").strip()  # streamed in (random weights)
            src = page.get_attribute("#picture", "src") or ""
            assert src.startswith("data:image/png;base64,")
            width = page.evaluate("document.getElementById('picture').naturalWidth")
            assert width == 640
            page.screenshot(path=str(tmp_path / "chat.png"))
        finally:
            browser.close()
