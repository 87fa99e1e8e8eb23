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
from typing import Any

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
    store = ConceptStore(tmp_path / "db", models="tiny")
    return create_app(store, get_profile("tiny"), max_distance=0.1)


def test_api_keeps_each_persons_concepts_apart(app) -> None:
    client = TestClient(app)
    page = client.get("/")
    assert page.status_code == 200 and "random weights" in page.text

    def remember(user: str, name: str, photo: bytes, **extra: str) -> Any:
        form = {"user": user, "name": name, "description": "My dog.", "category": "dog"}
        files = {"photo": ("bo.png", photo, "image/png")}
        return client.post("/api/remember", files=files, data={**form, **extra})

    def ask(user: str) -> Any:
        files = {"photo": ("park.png", png(pictures.park()), "image/png")}
        return client.post("/api/ask", files=files, data={"user": user, "question": "Who?"})

    def names(user: str) -> list[str]:
        return [
            c["name"] for c in client.get("/api/concepts", params={"user": user}).json()["concepts"]
        ]

    assert remember("alice", "Bo", png(pictures.bo())).json() == {"message": "Remembered Bo."}
    assert names("alice") == ["Bo"] and names("bob") == []
    again = remember("alice", "Bo", png(pictures.mam()))
    assert again.status_code == 409 and "replace" in again.json()["error"]  # asked, not replaced
    assert remember("alice", "Bo", png(pictures.bo()), replace="true").status_code == 200
    bad = client.post(
        "/api/remember",
        files={"photo": ("holiday.png", b"not an image", "image/png")},
        data={"user": "alice", "name": "X", "description": "x"},
    )
    assert bad.status_code == 400 and "'holiday.png'" in bad.json()["error"]  # the file's name
    assert "bytes>" not in bad.json()["error"]
    assert ask("bob").json()["concepts"] == []  # bob knows nobody
    asked = ask("alice").json()
    assert asked["concepts"] == ["Bo"] and asked["picture"].startswith("data:image/png;base64,")
    answer = client.get(f"/api/answer/{asked['id']}")
    assert answer.status_code == 200 and answer.text
    park = {"photo": ("park.png", png(pictures.park()), "image/png")}
    noted = client.post("/api/not", files=park, data={"user": "alice", "name": "Bo"})
    assert noted.json() == {"message": "Noted: that photo is not Bo."}
    assert ask("alice").json()["concepts"] == []  # that photo is no longer taken for Bo
    missing = client.post("/api/not", files=park, data={"user": "bob", "name": "Bo"})
    assert missing.status_code == 404
    no_user = client.post("/api/forget", data={"user": "", "name": "Bo"})
    assert no_user.status_code == 422  # refused by the form's own validation
    assert client.post("/api/forget", data={"user": "bob", "name": "Bo"}).status_code == 404
    assert names("alice") == ["Bo"]  # bob cannot forget alice's Bo
    gone = client.post("/api/forget", data={"user": "alice", "name": "Bo"})
    assert gone.json() == {"message": "Forgot Bo."} and names("alice") == []


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
            page.fill("#user", "alice")
            page.dispatch_event("#user", "change")
            page.wait_for_selector("#concepts-status:has-text('Nobody yet.')", timeout=30_000)
            page.set_input_files("#remember-photo", str(bo))
            page.fill("#remember-name", "Bo")
            page.fill("#remember-description", "Bo is my Shiba Inu with a red collar.")
            page.fill("#remember-category", "dog")
            page.click("#remember-button")
            page.wait_for_selector("#remember-status:has-text('Remembered Bo.')", timeout=60_000)
            page.wait_for_selector("#concepts li:has-text('Bo')", timeout=30_000)
            page.set_input_files("#remember-photo", str(park))  # another photo, the same name:
            page.click("#remember-button")  # asked before replacing
            page.wait_for_selector("#remember-status:has-text('tick')", timeout=60_000)
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
            page.click("button[data-not='Bo']")  # "that is not Bo": the photo is noted
            page.wait_for_selector("#ask-status:has-text('Noted: that photo is not Bo.')")
            page.fill("#ask-question", "Who is this?")  # no name: only the photo can find Bo
            page.click("#ask-button")
            page.wait_for_selector("#ask-status:has-text('anyone I know')", timeout=120_000)
            # a failed question leaves no earlier picture behind
            bad = tmp_path / "holiday.png"
            bad.write_bytes(b"not an image")
            page.set_input_files("#ask-photo", str(bad))
            page.click("#ask-button")
            page.wait_for_selector("#ask-status:has-text('holiday.png')", timeout=60_000)
            assert page.get_attribute("#picture", "src") is None
            # another person sees none of alice's concepts; alice forgets Bo
            page.fill("#user", "bob")
            page.dispatch_event("#user", "change")
            page.wait_for_selector("#concepts-status:has-text('Nobody yet.')", timeout=30_000)
            page.fill("#user", "alice")
            page.dispatch_event("#user", "change")
            page.click("button[data-forget='Bo']")
            page.wait_for_selector("#concepts-status:has-text('Forgot Bo.')", timeout=30_000)
            assert page.locator("#concepts li").count() == 0
        finally:
            browser.close()
