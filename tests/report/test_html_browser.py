"""The HTML report in headless Chromium (Debian's `chromium`): every chart is an SVG with marks,
the screenshot is not blank, and the page makes no request of its own - every host name is
resolved to a local server that logs what reaches it."""
from __future__ import annotations

import re
import shutil
import struct
import subprocess
import threading
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.report.conftest import NOW
from tests.report.history import history, seed_gitlab, seed_jenkins

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium (scripts/test.sh installs it)")


class Logger(BaseHTTPRequestHandler):
    seen: list[tuple[str, str | None]] = []
    page = b""

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        self.seen.append((f"{self.headers.get('Host')}{self.path}", self.headers.get("Referer")))
        body = self.page if self.path == "/report.html" else b""
        self.send_response(200 if body else 404)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def png_pixels(data: bytes) -> tuple[int, int, list[bytes]]:
    """(width, height, rows of raw RGB(A) bytes) of an 8-bit PNG, filters undone."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, chunks, header = 8, [], b""
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            chunks.append(body)
        pos += 12 + length
    width, height, depth, color = struct.unpack(">IIBB", header[:10])
    assert depth == 8 and color in (2, 6)
    bpp = 3 if color == 2 else 4
    raw = zlib.decompress(b"".join(chunks))
    stride, rows, prev = width * bpp, [], bytearray(width * bpp)
    for y in range(height):
        kind, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b, c = prev[i], prev[i - bpp] if i >= bpp else 0
            if kind == 1:
                line[i] = (line[i] + a) & 255
            elif kind == 2:
                line[i] = (line[i] + b) & 255
            elif kind == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(bytes(line))
        prev = line
    return width, height, rows


def test_the_page_renders_every_chart_and_requests_nothing(servers, checkout: Path, tmp_path: Path, report) -> None:
    gitlab, jenkins = servers
    items = history(60, NOW - 3600)
    gitlab.add_project("ml/fraud")
    jenkins.create_folder("ml")
    jenkins.create_job("ml/fraud", script="pipeline {}")
    seed_gitlab(gitlab, "ml/fraud", items)
    seed_jenkins(jenkins, "ml/fraud", items[:20])
    page = tmp_path / "report.html"
    code, _, err = report("-C", str(checkout), "--since", "30d", "--html", str(page))
    assert code == 0, err
    text = page.read_text(encoding="utf-8")
    svgs = re.findall(r"<svg.*?</svg>", text, re.DOTALL)
    assert len(svgs) == 5
    for svg in svgs:  # Vega's SVG renderer draws each mark group with its items as paths
        marks = re.findall(r'<g class="mark-(?:symbol|rect|line)[^"]*"[^>]*>(.*?)</g>', svg, re.DOTALL)
        assert marks and any("<path" in m for m in marks), svg[:300]

    Logger.page, Logger.seen = page.read_bytes(), []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Logger)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    shot = tmp_path / "shot.png"
    try:
        done = subprocess.run(
            [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--disable-default-apps", "--disable-features=NetworkTimeServiceQuerying", "--user-data-dir=" + str(tmp_path / "profile"),
             f"--host-resolver-rules=MAP * 127.0.0.1:{port}", "--window-size=1300,2600",
             f"--screenshot={shot}", f"http://report.test:{port}/report.html"],
            capture_output=True, text=True, timeout=120)
    finally:
        server.shutdown()
        server.server_close()
    assert shot.is_file(), done.stderr[-2000:]
    page_url = f"report.test:{port}/report.html"
    assert (page_url, None) in Logger.seen
    # The browser's own housekeeping (a time query) carries no Referer; anything the page asked
    # for would carry the page's origin.
    assert [url for url, referer in Logger.seen if referer and "report.test" in referer] == []
    width, height, rows = png_pixels(shot.read_bytes())
    bpp = len(rows[0]) // width
    inked = sum(1 for row in rows for i in range(0, len(row), bpp) if row[i:i + 3] != b"\xff\xff\xff")
    assert inked > 0.02 * width * height  # text, tables and charts, not a blank page
