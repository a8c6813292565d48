"""Fetch the workflow's input files: resumable, verified, atomic downloads with provenance.

Why not pooch (installed, and the usual choice)? Pooch retries and hashes, but it cannot resume:
an interrupted 500 MB COBE-SST2 download starts again from byte zero, and it does not check what
kind of file arrived (PSL answers maintenance pages as HTML with status 200). This module uses
``requests`` (pooch's own HTTP layer, so no new dependency) for ``Range`` resumption, and checks
size, checksum and content kind before the file is renamed into place.
"""

from __future__ import annotations

import datetime as _dt
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests
import urllib3

from geoxai.core.errors import GeoxaiError
from geoxai.core.progress import Throttle, human_bytes, human_seconds, report
from geoxai.core.provenance import sha256_file, write_json_atomic

#: First bytes of the formats accepted as ``expected="netcdf"``: classic / 64-bit offset
#: NetCDF, and NetCDF-4 (an HDF5 file).
NETCDF_MAGIC = (b"CDF\x01", b"CDF\x02", b"\x89HDF")
CONTENT_KINDS = ("netcdf", "text")
#: Below this size a progress bar (or intermediate progress lines) is noise.
PROGRESS_MIN_BYTES = 1 << 20
#: Plain progress lines (stderr not a terminal): every tenth of a known size, else every
#: PROGRESS_EVERY_BYTES, and at least every PROGRESS_SECONDS while bytes arrive.
PROGRESS_PARTS = 10
PROGRESS_EVERY_BYTES = 50 << 20
PROGRESS_SECONDS = 10.0
CHUNK_BYTES = 1 << 16
MAX_BACKOFF_SECONDS = 60.0


class _TransientError(Exception):
    """A failure worth another attempt (the partial file may be kept for resuming)."""


def provenance_path(destination: str | os.PathLike) -> Path:
    return Path(f"{destination}.provenance.json")


def partial_path(destination: str | os.PathLike) -> Path:
    return Path(f"{destination}.part")


def download(
    url: str,
    destination: str | os.PathLike,
    sha256: str | None = None,
    expected: str | None = None,
    retries: int = 5,
    backoff: float = 1.0,
    timeout: float = 60,
    progress: bool = True,
) -> dict[str, Any]:
    """Download ``url`` to ``destination``; return the provenance record written beside it.

    Up to ``1 + retries`` attempts are made; connection errors, timeouts, 5xx answers and bodies
    shorter than their Content-Length are retried after ``backoff * 2**(attempt - 1)`` seconds
    (capped at a minute), resuming from ``<destination>.part`` with an HTTP Range request. A 4xx
    answer stops at once. The file is renamed to ``destination`` only once its size, its
    ``sha256`` (if given) and its content kind (``expected``: ``"netcdf"``, ``"text"`` or None)
    have been checked, so a failed download never leaves a file there. The provenance record
    (url, size, sha256, UTC time, HTTP status, attempts) goes to
    ``<destination>.provenance.json``.

    ``progress``: a progress bar on a terminal (stderr); otherwise, as in a job log, plain
    ``[geoxai] download <name>: ...`` lines on stdout (bytes, total, rate), a line per failed
    attempt, and a final line with the size and sha256.
    """
    _check_kind_name(expected)
    destination = Path(destination)
    destination.parent.mkdir(parents=True, exist_ok=True)
    part = partial_path(destination)
    attempts = 1 + max(0, int(retries))
    last_problem = "no attempt was made"
    lines = progress and not sys.stderr.isatty()  # a log, not a terminal: plain lines
    with requests.Session() as session:
        for attempt in range(1, attempts + 1):
            try:
                status = _fetch_into(session, url, part, timeout, progress, destination.name)
            except _TransientError as problem:
                last_problem = str(problem)
            except (requests.ConnectionError, requests.Timeout,
                    requests.exceptions.ChunkedEncodingError) as problem:
                last_problem = f"{type(problem).__name__}: {problem}"
            else:
                record = _finish(url, part, destination, sha256, expected, status, attempt)
                if lines:
                    report(f"download {destination.name}",
                           f"done, {record['size']} bytes ({human_bytes(record['size'])}), "
                           f"sha256 {record['sha256']}, {attempt} attempt(s)")
                return record
            if attempt < attempts:
                pause = min(backoff * 2 ** (attempt - 1), MAX_BACKOFF_SECONDS)
                if lines:
                    report(f"download {destination.name}",
                           f"attempt {attempt}/{attempts} failed ({last_problem}); retrying "
                           f"in {pause:g} s")
                time.sleep(pause)
    kept = (
        f" The partial file {part} is kept: run again to resume."
        if part.exists() and part.stat().st_size else ""
    )
    raise GeoxaiError(
        f"Downloading {url} failed after {attempts} attempts; last problem: {last_problem}.{kept} "
        f"If the server stays unreachable, download the file by hand and set the config's url "
        f"to its local path."
    )


def _fetch_into(
    session: requests.Session, url: str, part: Path, timeout: float, progress: bool, label: str,
) -> int:
    """One HTTP attempt: append to (status 206) or rewrite (200) ``part``; return the status."""
    offset = part.stat().st_size if part.exists() else 0
    # identity: a compressed transfer would make Content-Length disagree with the bytes written.
    headers = {"Accept-Encoding": "identity"}
    if offset:
        headers["Range"] = f"bytes={offset}-"
    try:
        response = session.get(url, headers=headers, stream=True, timeout=timeout)
    except (requests.exceptions.InvalidURL, requests.exceptions.MissingSchema,
            requests.exceptions.InvalidSchema) as problem:
        raise GeoxaiError(
            f"Cannot download {url!r}: {problem}. Fix the url in the config."
        ) from None
    with response:
        status = response.status_code
        if status == 416 and offset:
            if response.headers.get("Content-Range", "") == f"bytes */{offset}":
                return status  # the partial file is already whole (a run died before renaming)
            # The partial file does not fit the remote one (it changed upstream).
            part.unlink()
            raise _TransientError(f"HTTP 416 for a resume at byte {offset}; restarting from zero")
        if status >= 500:
            raise _TransientError(f"HTTP {status} {response.reason}")
        if status >= 400 or status not in (200, 206):
            part.unlink(missing_ok=True)
            raise GeoxaiError(
                f"Downloading {url} failed: the server answered HTTP {status} {response.reason}. "
                f"Check the url in the config (open it in a browser); if the file moved, point the "
                f"config at its new address or at a local copy."
            )
        start, total = _body_span(response, offset)
        if status == 206 and start != offset:
            part.unlink(missing_ok=True)
            raise _TransientError(f"the server resumed at byte {start}, not {offset}; restarting")
        _stream_body(response, part, start, total, progress, label)
        size = part.stat().st_size
        if total is not None and size != total:
            if size > total:
                part.unlink()
            raise _TransientError(f"received {size} of {total} bytes (truncated body)")
        return status


def _body_span(response: requests.Response, offset: int) -> tuple[int, int | None]:
    """Where this body starts in the file, and the file's full size (None when unknown)."""
    length = response.headers.get("Content-Length")
    length = int(length) if length and length.isdigit() else None
    if response.status_code == 200:
        return 0, length
    content_range = response.headers.get("Content-Range", "")
    # "bytes START-END/TOTAL", TOTAL may be "*"
    try:
        span, _, total = content_range.split(" ", 1)[1].partition("/")
        start = int(span.split("-")[0])
    except (IndexError, ValueError):
        raise _TransientError(f"unusable Content-Range {content_range!r} on a 206") from None
    if total.isdigit():
        return start, int(total)
    return start, (start + length) if length is not None else None


def _stream_body(
    response: requests.Response, part: Path, start: int, total: int | None, progress: bool,
    label: str,
) -> None:
    from tqdm.auto import tqdm

    terminal = sys.stderr.isatty()
    big = total is None or total >= PROGRESS_MIN_BYTES
    show = progress and terminal and big
    lines = (
        _ProgressLines(label, start, total, intermediate=big) if progress and not terminal else None
    )
    mode = "ab" if start else "wb"
    with open(part, mode) as sink, tqdm(
        total=total, initial=start, unit="B", unit_scale=True, unit_divisor=1024,
        desc=label, disable=not show, leave=False,
    ) as bar:
        try:
            for chunk in _raw_chunks(response):
                sink.write(chunk)
                bar.update(len(chunk))
                if lines is not None:
                    lines.update(len(chunk))
        except (urllib3.exceptions.HTTPError, OSError, requests.RequestException) as problem:
            sink.flush()
            of_total = f" of {total}" if total is not None else ""
            raise _TransientError(
                f"the connection broke or stalled after {sink.tell()}{of_total} bytes ({problem})"
            ) from None
        if lines is not None:
            lines.close()


class _ProgressLines:
    """Plain progress lines for a log: ``[geoxai] download <name>: <bytes>/<total> bytes ...``.

    ``intermediate=False`` (a small file) writes only the line at the end of the body.
    """

    def __init__(self, label: str, start: int, total: int | None, intermediate: bool = True):
        self.what = f"download {label}"
        self.start = self.done = start
        self.total = total
        self.intermediate = intermediate
        self.reported: int | None = None
        self.throttle = Throttle(total, PROGRESS_PARTS, PROGRESS_SECONDS,
                                 every=PROGRESS_EVERY_BYTES, start=start)
        if intermediate:
            resumed = f", resuming at byte {start}" if start else ""
            size = f"{total} bytes ({human_bytes(total)})" if total is not None else "unknown size"
            report(self.what, f"started, {size}{resumed}")

    def update(self, received: int) -> None:
        self.done += received
        if self.intermediate and self.throttle.due(self.done) and (
            self.total is None or self.done < self.total
        ):
            self._line()

    def close(self) -> None:
        if self.reported != self.done:
            self._line()

    def _line(self) -> None:
        self.reported = self.done
        elapsed = self.throttle.elapsed()
        rate = (self.done - self.start) / elapsed if elapsed > 0 else 0.0
        if self.total is not None:
            share = 100.0 * self.done / self.total if self.total else 100.0
            amount = (f"{self.done}/{self.total} bytes ({share:.0f}%, {human_bytes(self.done)} "
                      f"of {human_bytes(self.total)})")
        else:
            amount = f"{self.done} bytes ({human_bytes(self.done)}, total unknown)"
        report(self.what, f"{amount}, {human_bytes(rate)}/s, {human_seconds(elapsed)}")


def _raw_chunks(response: requests.Response) -> Iterator[bytes]:
    """The body's bytes exactly as sent, each as soon as it arrives.

    ``read1`` hands over whatever the socket delivered, so a connection that breaks mid-body
    still leaves every received byte in the partial file (``iter_content`` would drop the last
    incomplete chunk). Content-Encoding is not undone: the file is what the server serves.
    """
    while chunk := response.raw.read1(CHUNK_BYTES, decode_content=False):
        yield chunk


def _finish(
    url: str, part: Path, destination: Path, sha256: str | None, expected: str | None,
    status: int, attempts: int,
) -> dict[str, Any]:
    try:
        digest = verify_file(part, sha256=sha256, expected=expected, source=url)
    except GeoxaiError:
        part.unlink(missing_ok=True)
        raise
    record = _provenance_record(url, part.stat().st_size, digest, status, attempts)
    os.replace(part, destination)
    write_json_atomic(provenance_path(destination), record)
    return record


def verify_file(
    path: str | os.PathLike, sha256: str | None = None, expected: str | None = None,
    source: str | None = None,
) -> str:
    """Check ``path`` against ``sha256`` and the content kind ``expected``; return its sha256."""
    _check_kind_name(expected)
    origin = source or str(path)
    digest = sha256_file(path)
    if sha256 and digest.lower() != sha256.strip().lower():
        raise GeoxaiError(
            f"Checksum mismatch for {origin}: expected sha256 {sha256.strip().lower()}, got "
            f"{digest}. The file is corrupt or has changed upstream; if the new file is right, "
            f"update the sha256 in the config."
        )
    if expected is not None:
        _check_content_kind(Path(path), expected, origin)
    return digest


def _check_kind_name(expected: str | None) -> None:
    if expected is not None and expected not in CONTENT_KINDS:
        raise GeoxaiError(
            f"Unknown expected content kind {expected!r}; use one of {CONTENT_KINDS}."
        )


def _looks_like_html(head: bytes) -> bool:
    text = head.lstrip().lower()
    return text.startswith((b"<!doctype html", b"<html", b"<head")) or (
        b"<html" in text[:1024]
    )


def _check_content_kind(path: Path, expected: str, origin: str) -> None:
    with open(path, "rb") as stream:
        head = stream.read(4096)
    if _looks_like_html(head):
        what = "NetCDF" if expected == "netcdf" else "a text data file"
        raise GeoxaiError(
            f"{origin}: the server returned HTML, not {what} (an error or maintenance page?). "
            f"Open the url in a browser; retry later or download the file by hand and set the "
            f"config's url to its local path."
        )
    if expected == "netcdf" and not head.startswith(NETCDF_MAGIC):
        raise GeoxaiError(
            f"{origin} is not a NetCDF file: it starts with {head[:8]!r}, expected the NetCDF or "
            f"HDF5 signature. Check that the url names the .nc file itself."
        )
    if expected == "text":
        raw = path.read_bytes()
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError as problem:
            raise GeoxaiError(
                f"{origin} is not a text file (byte {problem.start} is not UTF-8). Check that the "
                f"url names the index text file."
            ) from None
        if b"\x00" in raw:
            raise GeoxaiError(f"{origin} is not a text file (it contains NUL bytes).")


def _provenance_record(
    url: str, size: int, digest: str, status: int | None, attempts: int,
) -> dict[str, Any]:
    return {
        "url": url,
        "size": size,
        "sha256": digest,
        "retrieved_utc": _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "http_status": status,
        "attempts": attempts,
    }


def is_url(source: str) -> bool:
    return urlsplit(str(source)).scheme.lower() in ("http", "https")


def fetch_or_link(
    source: str | os.PathLike,
    destination: str | os.PathLike,
    sha256: str | None = None,
    expected: str | None = None,
) -> dict[str, Any]:
    """Put ``source`` at ``destination``: download an http(s) URL, symlink a local file.

    A local path (or ``file://`` URL) must exist; it is verified like a download (``sha256``,
    ``expected``) and linked with an absolute target, so the workflow reads it in place. Either
    way the provenance record ``<destination>.provenance.json`` is written and returned (for a
    local file, ``url`` is its absolute path, ``http_status`` None and ``attempts`` 0).
    """
    text = str(source)
    if is_url(text):
        return download(text, destination, sha256=sha256, expected=expected)
    scheme = urlsplit(text).scheme.lower()
    if scheme == "file":
        text = urlsplit(text).path
    elif len(scheme) > 1:  # one letter would be a Windows drive, not a scheme
        raise GeoxaiError(
            f"Cannot fetch {text!r}: only http(s) URLs and local paths are supported. Download it "
            f"by hand and set the config's url to the local path."
        )
    local = Path(os.path.abspath(os.path.expanduser(text)))
    if not local.is_file():
        raise GeoxaiError(
            f"The input file {local} does not exist (or is not a file). Fix the path in the "
            f"config, or give an http(s) URL to download it."
        )
    digest = verify_file(local, sha256=sha256, expected=expected)
    destination = Path(destination)
    destination.parent.mkdir(parents=True, exist_ok=True)
    if Path(os.path.abspath(destination)) != local:
        _symlink_atomic(local, destination)
    record = _provenance_record(str(local), local.stat().st_size, digest, None, 0)
    write_json_atomic(provenance_path(destination), record)
    return record


def _symlink_atomic(target: Path, link: Path) -> None:
    temporary = link.with_name(f".{link.name}.{os.getpid()}.link")
    temporary.unlink(missing_ok=True)
    os.symlink(target, temporary)
    try:
        os.replace(temporary, link)
    finally:
        temporary.unlink(missing_ok=True)
