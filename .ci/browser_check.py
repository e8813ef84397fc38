#!/usr/bin/env python3
"""Opens an `eeops report` page in headless Chromium with the network cut off
and checks what a reader would get: no console messages (the page has no
script, so any message is an error, a blocked load or a failed request), no
request made by the page, a screenshot that is not blank, and a PDF print.

Usage: browser_check.py PAGE.html OUT_DIR

A server of this script's own on loopback is the browser's proxy for every
request: it serves the page and refuses anything else, noting it. A request
that names the page as its referrer or origin, or that goes anywhere but
the browser's own update, clock and sign-in services, fails the check; the
browser's own background requests (which the flags below do not all stop)
are refused and counted. Uses only Python's standard library.
"""

import http.server
import os
import re
import shutil
import socketserver
import struct
import subprocess
import sys
import tempfile
import threading
import time
import zlib

CHROMIUM_TIMEOUT_S = 90
WIDTH, HEIGHT = 1280, 2000
MIN_COLOURS = 8
MIN_INKED_FRACTION = 0.03


def fail(message):
    print(f"browser check FAILED: {message}", file=sys.stderr)
    sys.exit(1)


PAGE_PATH = "/report.html"
# Where Chromium goes by itself, with no page open, whatever its flags.
BROWSER_SERVICE_HOSTS = ("update.googleapis.com", "clients2.google.com", "accounts.google.com")


def host_of(target):
    """The host of a proxy request's target: `host:port` or an absolute URL."""
    rest = target.split("://", 1)[-1]
    return rest.split("/", 1)[0].rsplit(":", 1)[0].lower()


class Proxy(http.server.BaseHTTPRequestHandler):
    """Serves the page at PAGE_PATH and refuses everything else, noting it."""

    page = b""
    from_page = []
    background = []

    def do_GET(self):
        if self.path.startswith("http://127.0.0.1:") and self.path.endswith(PAGE_PATH):
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(Proxy.page)))
            self.end_headers()
            self.wfile.write(Proxy.page)
            return
        self.refuse()

    def refuse(self):
        referrer = self.headers.get("Referer") or self.headers.get("Origin")
        note = f"{self.command} {self.path}"
        if referrer or host_of(self.path) not in BROWSER_SERVICE_HOSTS:
            Proxy.from_page.append(f"{note} (referrer: {referrer})")
        else:
            Proxy.background.append(note)
        self.send_error(403, "network access is disabled for this check")

    do_POST = do_HEAD = do_PUT = do_OPTIONS = do_CONNECT = refuse

    def log_message(self, *args):
        pass


def start_proxy():
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Proxy)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def chromium(args, profile, proxy_port, log):
    command = [
        shutil.which("chromium") or "/usr/bin/chromium",
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-extensions",
        "--hide-scrollbars",
        f"--user-data-dir={profile}",
        f"--proxy-server=http://127.0.0.1:{proxy_port}",
        "--proxy-bypass-list=<-loopback>",
        "--enable-logging=stderr",
        "--v=0",
        *args,
    ]
    started = time.monotonic()
    try:
        result = subprocess.run(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            timeout=CHROMIUM_TIMEOUT_S,
            text=True,
            errors="replace",
        )
    except subprocess.TimeoutExpired:
        fail(f"Chromium did not finish within {CHROMIUM_TIMEOUT_S} s: {' '.join(command)}")
    elapsed = time.monotonic() - started
    with open(log, "a", encoding="utf-8") as out:
        out.write(result.stdout + result.stderr)
    if result.returncode != 0:
        fail(f"Chromium exited with {result.returncode}; its output is in {log}")
    return result.stderr, elapsed


def png_pixels(path):
    """Width, height and rows of RGB(A) bytes of an 8-bit PNG."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        fail(f"{path} is not a PNG")
    at, chunks, header = 8, [], None
    while at < len(data):
        (length,) = struct.unpack(">I", data[at : at + 4])
        kind = data[at + 4 : at + 8]
        body = data[at + 8 : at + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            chunks.append(body)
        at += 12 + length
    width, height, depth, colour_type, _, _, interlace = header
    if depth != 8 or colour_type not in (2, 6) or interlace:
        fail(f"{path}: unexpected PNG format (depth {depth}, colour type {colour_type})")
    channels = 3 if colour_type == 2 else 4
    raw = zlib.decompress(b"".join(chunks))
    stride = width * channels
    rows, previous = [], bytearray(stride)
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        for x in range(stride):
            left = line[x - channels] if x >= channels else 0
            up = previous[x]
            corner = previous[x - channels] if x >= channels else 0
            if kind == 1:
                line[x] = (line[x] + left) & 0xFF
            elif kind == 2:
                line[x] = (line[x] + up) & 0xFF
            elif kind == 3:
                line[x] = (line[x] + (left + up) // 2) & 0xFF
            elif kind == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                pred = left if pa <= pb and pa <= pc else up if pb <= pc else corner
                line[x] = (line[x] + pred) & 0xFF
        rows.append(bytes(line))
        previous = line
    return width, height, channels, rows


def check_screenshot(path):
    width, height, channels, rows = png_pixels(path)
    colours, inked = set(), 0
    for row in rows:
        for x in range(0, width * channels, channels * 2):
            pixel = row[x : x + 3]
            colours.add(pixel)
            if pixel != b"\xff\xff\xff":
                inked += 1
    fraction = inked / (height * ((width + 1) // 2))
    print(f"screenshot {width}x{height}: {len(colours)} colours, {fraction:.1%} not white")
    if len(colours) < MIN_COLOURS or fraction < MIN_INKED_FRACTION:
        fail(f"the screenshot {path} looks blank ({len(colours)} colours, {fraction:.1%} not white)")


def main():
    if len(sys.argv) != 3:
        fail("usage: browser_check.py PAGE.html OUT_DIR")
    page, out_dir = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    if not os.path.isfile(page):
        fail(f"no page at {page}")
    os.makedirs(out_dir, exist_ok=True)
    log = os.path.join(out_dir, "chromium.log")
    screenshot = os.path.join(out_dir, "report.png")
    pdf = os.path.join(out_dir, "report.pdf")
    with open(page, "rb") as f:
        Proxy.page = f.read()
    proxy = start_proxy()
    port = proxy.server_address[1]
    url = f"http://127.0.0.1:{port}{PAGE_PATH}"

    with tempfile.TemporaryDirectory() as profile:
        stderr, elapsed = chromium(
            [f"--window-size={WIDTH},{HEIGHT}", f"--screenshot={screenshot}", url], profile, port, log
        )
    print(f"page opened, rendered and captured in {elapsed:.2f} s (browser start included)")
    with tempfile.TemporaryDirectory() as profile:
        stderr += chromium(["--no-pdf-header-footer", f"--print-to-pdf={pdf}", url], profile, port, log)[0]

    console = [line for line in stderr.splitlines() if ":CONSOLE" in line]
    if console:
        fail("the page logged to the console:\n  " + "\n  ".join(console))
    if Proxy.from_page:
        fail("the page made requests:\n  " + "\n  ".join(Proxy.from_page))
    print(f"the page made no request; Chromium's own background requests, refused: {len(Proxy.background)}")
    if not os.path.isfile(screenshot):
        fail(f"no screenshot was written; see {log}")
    check_screenshot(screenshot)
    with open(pdf, "rb") as f:
        document = f.read()
    pages = len(re.findall(rb"/Type\s*/Page\b", document))
    print(f"printed to PDF: {pages} pages, {len(document)} bytes")
    if not document.startswith(b"%PDF") or pages < 1:
        fail(f"printing produced no PDF pages ({pdf})")
    proxy.shutdown()
    print("browser check passed: no console messages, no requests, a screenshot with content, a PDF")


if __name__ == "__main__":
    main()
