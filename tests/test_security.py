"""Security defaults of the app: loopback bind, no share link, no files outside the app, inert text.

The app runs as a real process (`python app.py`, its default host) on a free port; all traffic
goes to 127.0.0.1.
"""

from __future__ import annotations

import html
import http.client
import re
import sys
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qa.render import escape, render_answer, render_notice, render_question
from qa.types import Answer, Chunk, Citation, Passage

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

SECRET_MARKERS = (b"root:x:0:0", b"root:*:0:0", b"PATH=", b'"format": "qa-index"')
PAYLOADS = [
    "<script>alert(1)</script>",
    '<img src=x onerror="alert(1)">',
    "<svg onload=alert(1)>",
    '"><a href="javascript:alert(1)">x</a>',
    "<style>body{display:none}</style>",
    "<iframe src=//example.invalid></iframe>",
    "[点我](javascript:alert(1))",
    "![x](https://example.invalid/x.png)",
    "<details open ontoggle=alert(1)>",
    "&lt;script&gt;alert(1)&lt;/script&gt;",
]


@pytest.fixture(scope="module")
def app(fake_index_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The app with its default bind address (no --host)."""
    from bench.server import app_available, running_app

    if not app_available():
        pytest.skip("app.py has no /ask endpoint yet")
    log = tmp_path_factory.mktemp("security-app") / "app.log"
    with running_app(fake_index_dir, log, host=None) as running:
        yield running


# --- network exposure ---------------------------------------------------------------------------------


def _listening(port: int) -> list[str]:
    """Local addresses (hex, as in /proc/net/tcp*) of sockets listening on ``port``."""
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            address, hex_port = fields[1].rsplit(":", 1)
            if int(hex_port, 16) == port and fields[3] == "0A":  # 0A = LISTEN
                found.append(address)
    return found


def test_binds_to_loopback_only_by_default(app: Any) -> None:
    addresses = _listening(app.port)
    assert addresses, "the app's listening socket was not found"
    loopback = {"0100007F", "00000000000000000000000001000000"}  # 127.0.0.1, ::1
    assert set(addresses) <= loopback, f"listening on {addresses}, not only on loopback"


def test_defaults_are_local_and_without_share_link(app: Any) -> None:
    sys.path.insert(0, str(ROOT))
    import app as app_module  # app.py's own argument defaults

    args = app_module.parse_args([])
    assert args.host == "127.0.0.1"
    assert args.share is False
    log = app.log_text()
    assert "gradio.live" not in log and "public URL" not in log.lower()


# --- files ----------------------------------------------------------------------------------------


def _raw_get(port: int, path: str) -> tuple[int, bytes]:
    """GET with the path sent exactly as written (no client-side normalisation of ../ or %2F)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.putrequest("GET", path, skip_accept_encoding=True)
        conn.endheaders()
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def _probe_paths(index_dir: Path) -> list[str]:
    targets = ["/etc/passwd", "/proc/self/environ", str(index_dir / "manifest.json")]
    paths = []
    for target in targets:
        encoded = target.replace("/", "%2F")
        for prefix in (
            "/file=",
            "/gradio_api/file=",
            "/gradio_api/file=../../../../../../..",
            "/gradio_api/file=%2E%2E",
        ):
            paths.append(prefix + target)
        paths.append("/gradio_api/file=" + encoded)
    paths += [
        "/../../../../etc/passwd",
        "/static/../../../../../../etc/passwd",
        "/assets/../../../../../../etc/passwd",
        "/gradio_api/static/../../../../../../etc/passwd",
        "/static/%2E%2E/%2E%2E/%2E%2E/%2E%2E/%2E%2E/etc/passwd",
        "/gradio_api/file=..%2F..%2F..%2F..%2F..%2F..%2Fetc%2Fpasswd",
        "/gradio_api/proxy=http://127.0.0.1:1/etc/passwd",
        "/gradio_api/file=file:///etc/passwd",
        "/favicon.ico/..%2F..%2F..%2Fetc%2Fpasswd",
    ]
    return paths


def test_serves_no_files_outside_the_app(app: Any, fake_index_dir: Path) -> None:
    served = []
    for path in _probe_paths(fake_index_dir):
        status, body = _raw_get(app.port, path)
        if status == 200 and any(marker in body for marker in SECRET_MARKERS):
            served.append(path)
        assert status != 200 or not body.strip() or b"<html" in body.lower()[:200] or b"{" in body[:1], (
            f"{path} answered 200 with {body[:80]!r}"
        )
    assert served == [], f"files outside the app were served: {served}"


def test_the_page_itself_is_served(app: Any) -> None:
    status, body = _raw_get(app.port, "/")
    assert status == 200 and b"<html" in body.lower()


# --- rendered text is inert --------------------------------------------------------------------------


class Markup(HTMLParser):
    """The tags, attributes and text of an HTML fragment."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


SAFE_TAGS = {"div", "span", "strong", "code", "mark", "details", "summary", "br", "b", "p", "em"}


def assert_inert(fragment: str) -> Markup:
    """Only harmless formatting tags, no event handlers, links, sources or styles."""
    markup = Markup()
    markup.feed(fragment)
    markup.close()
    for tag, attrs in markup.tags:
        assert tag in SAFE_TAGS, f"unexpected <{tag}> in {fragment[:200]!r}"
        for name, value in attrs:
            assert name == "class", f"unexpected attribute {name}={value!r} on <{tag}>"
            assert value is None or re.fullmatch(r"[\w\- ]*", value), value
    return markup


def _answer_with(payload: str) -> Answer:
    chunk = Chunk(f"doc{payload}:1:p1", f"{payload}.txt", (payload, f"二、{payload}"), f"前文{payload}后文", 10, 20)
    other = Chunk("d:1:p2", "d.txt", ("一、回顾",), f"另一段 {payload} 与 {payload}", 0, 9)
    citation = Citation(chunk.doc, chunk.section_path, 12, 12 + len(payload))
    return Answer(payload, True, payload, 0.9, citation, (Passage(chunk, 1.0), Passage(other, 0.5)), 0, payload)


@pytest.mark.parametrize("payload", PAYLOADS)
def test_payloads_render_as_text(payload: str) -> None:
    for show_all in (False, True):
        markup = assert_inert(render_answer(_answer_with(payload), show_all=show_all, doc_titles={}))
        assert payload in "".join(markup.text)  # shown to the reader as the characters typed
    question = assert_inert(render_question(payload))
    assert "".join(question.text) == re.sub(r"\s+", " ", payload).strip()
    assert_inert(render_notice(payload, payload))


@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
@given(text=st.text(max_size=300))
def test_any_text_renders_inert_and_round_trips(text: str) -> None:
    assert "<" not in escape(text).replace("<br>", "")
    assert html.unescape(escape(text).replace("<br>", "\n")) == re.sub(r"\r\n|\r", "\n", text)
    markup = assert_inert(render_question(text))
    assert "".join(markup.text) == re.sub(r"\s+", " ", text).strip()
    assert_inert(render_answer(_answer_with(text), show_all=True))


def test_payload_through_the_chat_endpoint_comes_back_inert(app: Any) -> None:
    """What the page itself receives from the server for a hostile question (before Gradio's own sanitiser)."""
    from bench.server import client

    c = client(app.url)
    for payload in PAYLOADS[:5]:
        box, messages = c.predict(payload, [], 3, True, api_name="/chat")
        contents = [m["content"] if isinstance(m, dict) else m for m in messages]
        texts = []
        for content in contents:
            parts = content if isinstance(content, list) else [content]
            for part in parts:
                value = part.get("text", "") if isinstance(part, dict) else str(part)
                texts.append(value)
                assert_inert(value)
        assert any(payload in "".join(assert_inert(t).text) for t in texts), texts
