"""Real-browser fixtures: Debian's headless Chromium driven by Playwright (launched with the
system executable), a static server for test pages, analytics-next and the reference session
plugin (@segment/browser-destinations, a test-only oracle) from the npm registry
(tests/browser/node_modules, installed by .ci/run)."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path

import pytest

from tests.requirements import require

HERE = Path(__file__).parent
UMD = HERE / "node_modules" / "@segment" / "analytics-next" / "dist" / "umd"
# the files Segment's CDN serves for action destinations (next-integrations/actions/...)
SESSION_PLUGIN = resources.files("amprelay.server").joinpath("static/amplitude-session.js")
REFERENCE_WEB = HERE / "node_modules" / "@segment" / "browser-destinations" / "dist" / "web"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


class PageServer:
    """Serves registered HTML pages, analytics-next's UMD bundles (/umd/) and the reference
    plugins (/ref/) on 127.0.0.1; answers POSTs (a stand-in for api.segment.io) with 200 and
    keeps their bodies in ``posts``."""

    def __init__(self) -> None:
        pages: dict[str, str] = {}
        self.pages = pages
        posts: list[bytes] = []
        self.posts = posts

        class Handler(SimpleHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def do_GET(self):  # noqa: N802
                path = self.path.split("?", 1)[0]
                if path in pages:
                    return self._send(pages[path].encode(), "text/html")
                name = path.rsplit("/", 1)[-1]
                if (path.startswith("/umd/") or path.startswith("/analytics-next/bundles/")) and (UMD / name).is_file():
                    return self._send((UMD / name).read_bytes(), "application/javascript")
                if path == "/amprelay/amplitude-session.js":
                    return self._send(SESSION_PLUGIN.read_bytes(), "application/javascript")
                if path.startswith("/ref/") and ".." not in path and (REFERENCE_WEB / path[5:]).is_file():
                    return self._send((REFERENCE_WEB / path[5:]).read_bytes(), "application/javascript")
                self.send_response(404)
                self.end_headers()

            def do_POST(self):  # noqa: N802
                posts.append(self.rfile.read(int(self.headers.get("content-length") or 0)))
                self._send(b"{}", "application/json")

            def _send(self, data: bytes, ctype: str) -> None:
                self.send_response(200)
                self.send_header("content-type", ctype)
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def stop(self) -> None:
        self._server.shutdown()


@pytest.fixture
def page_server() -> Iterator[PageServer]:
    require(UMD.joinpath("index.js").is_file(),
            "analytics-next is not installed (run: cd tests/browser && npm install)")
    server = PageServer()
    yield server
    server.stop()


@pytest.fixture
def browser():
    require(CHROMIUM, "Chromium is not installed (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        require(False, "playwright is not installed (pip install playwright)")
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()
