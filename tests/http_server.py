"""A local HTTP file server with injectable faults, for testing downloads offline.

The server binds to 127.0.0.1 on a free port, serves the files of one folder, honours single
``Range: bytes=START-[END]`` requests (206 + ``Content-Range``) and can be told to misbehave on a
path a given number of times before serving it properly. Every request is recorded (path, Range
header, status, fault) so a test can assert that a retry resumed where it stopped.

Use it from a test module (the fixture is registered under the name ``http_server``; importing it
under its function name keeps linters from mistaking the test argument for a redefinition)::

    from http_server import http_server_fixture  # noqa: F401

    def test_something(http_server):
        http_server.add_file("data/sst.nc", b"CDF\\x01...")
        http_server.add_fault("data/sst.nc", "drop", times=2)
        url = http_server.url("data/sst.nc")
"""

from __future__ import annotations

import shutil
import socket
import struct
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Self
from urllib.parse import unquote, urlsplit

import pytest

#: What the server can do wrong, by name:
#: ``error_500``    answer 500 Internal Server Error;
#: ``drop``         send the headers with the full Content-Length and half the body, then reset
#:                  the connection (TCP RST);
#: ``truncate``     send the headers with the full Content-Length and half the body, then close
#:                  the connection cleanly (the body simply ends early);
#: ``stall``        send the headers and half the body, then go silent for ``stall_seconds``;
#: ``html_200``     answer 200 with an HTML error page instead of the file;
#: ``not_found``    answer 404 even though the file exists;
#: ``ignore_range`` answer 200 with the whole file even when a Range was asked for.
FAULT_KINDS = (
    "error_500", "drop", "truncate", "stall", "html_200", "not_found", "ignore_range",
)

HTML_ERROR_PAGE = (
    b"<!DOCTYPE html>\n<html><head><title>Service Unavailable</title></head>\n"
    b"<body><h1>Sorry</h1><p>The data server is down for maintenance.</p></body></html>\n"
)


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    range: str | None
    status: int
    fault: str | None


class FaultyFileServer:
    """Serve ``root`` over HTTP on 127.0.0.1 with per-path injectable faults."""

    def __init__(self, root: str | Path, stall_seconds: float = 2.0) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.stall_seconds = stall_seconds
        self.requests: list[RecordedRequest] = []
        self._faults: dict[str, list[str]] = {}
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- life cycle -------------------------------------------------------------------------
    def start(self) -> Self:
        handler = type("Handler", (_Handler,), {"server_state": self})
        self._httpd = _QuietServer(("127.0.0.1", 0), handler)
        # A short poll keeps shutdown (and so each test's teardown) fast.
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._httpd is not None, "server not started"
        return self._httpd.server_address[1]

    # -- what tests call --------------------------------------------------------------------
    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.port}/{name.lstrip('/')}"

    def add_file(self, name: str, content: bytes | str | Path) -> Path:
        """Serve ``content`` (bytes, or the file at a path) under ``name``; returns the copy."""
        target = self.root / name.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            shutil.copyfile(content, target)
        return target

    def add_fault(self, name: str, kind: str, times: int = 1) -> None:
        """Misbehave as ``kind`` on the next ``times`` requests for ``name`` (queued in order)."""
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault {kind!r}; choose one of {FAULT_KINDS}")
        with self._lock:
            self._faults.setdefault("/" + name.lstrip("/"), []).extend([kind] * times)

    def requests_for(self, name: str) -> list[RecordedRequest]:
        path = "/" + name.lstrip("/")
        with self._lock:
            return [r for r in self.requests if r.path == path]

    # -- used by the handler ----------------------------------------------------------------
    def _next_fault(self, path: str) -> str | None:
        with self._lock:
            queue = self._faults.get(path)
            return queue.pop(0) if queue else None

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self.requests.append(request)


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a client that hangs up (as download tests make it do) is not a server error


def _parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """(start, end inclusive) of a single ``bytes=`` range, or None when absent or unusable."""
    if not header or not header.startswith("bytes=") or "," in header:
        return None
    first, _, last = header[len("bytes="):].partition("-")
    if not first.isdigit():
        return None
    start = int(first)
    end = int(last) if last.isdigit() else size - 1
    return start, min(end, size - 1)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_state: FaultyFileServer

    def log_message(self, format: str, *args: object) -> None:
        pass  # requests are recorded in server_state instead of printed

    def do_HEAD(self) -> None:
        self._serve(send_body=False)

    def do_GET(self) -> None:
        self._serve(send_body=True)

    def _serve(self, send_body: bool) -> None:
        state = self.server_state
        path = unquote(urlsplit(self.path).path)
        range_header = self.headers.get("Range")
        fault = state._next_fault(path)
        file = (state.root / path.lstrip("/")).resolve()
        inside = state.root.resolve() in file.parents
        self.close_connection = True

        def record(status: int) -> None:
            state._record(RecordedRequest(self.command, path, range_header, status, fault))

        if fault == "error_500":
            record(500)
            return self._simple(500, b"internal server error\n", "text/plain", send_body)
        if fault == "html_200":
            record(200)
            return self._simple(200, HTML_ERROR_PAGE, "text/html; charset=utf-8", send_body)
        if fault == "not_found" or not inside or not file.is_file():
            record(404)
            return self._simple(404, b"not found\n", "text/plain", send_body)

        data = file.read_bytes()
        wanted = None if fault == "ignore_range" else _parse_range(range_header, len(data))
        if wanted is not None and wanted[0] >= len(data):
            record(416)
            return self._simple(416, b"", "text/plain", send_body,
                                extra={"Content-Range": f"bytes */{len(data)}"})
        if wanted is None:
            status, body, extra = 200, data, {}
        else:
            start, end = wanted
            status, body = 206, data[start:end + 1]
            extra = {"Content-Range": f"bytes {start}-{end}/{len(data)}"}
        record(status)
        self.send_response(status)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Connection", "close")
        for key, value in extra.items():
            self.send_header(key, value)
        self.end_headers()
        if not send_body:
            return
        if fault in ("drop", "truncate", "stall"):
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            if fault == "stall":
                time.sleep(state.stall_seconds)
            if fault == "drop":
                # Linger 0 makes close() send a reset instead of an orderly shutdown.
                self.connection.setsockopt(
                    socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                )
            self.connection.close()
            return
        self.wfile.write(body)

    def _simple(self, status: int, body: bytes, content_type: str, send_body: bool,
                extra: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        for key, value in (extra or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if send_body:
            self.wfile.write(body)


@pytest.fixture(name="http_server")
def http_server_fixture(tmp_path: Path):
    """A started :class:`FaultyFileServer` serving ``tmp_path / "http_root"``, then stopped."""
    server = FaultyFileServer(tmp_path / "http_root", stall_seconds=1.0)
    server.start()
    try:
        yield server
    finally:
        server.stop()
