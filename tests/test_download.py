"""Downloads from a local faulty server: each fault ends in the exact file or one clear error."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np
import pytest
from http_server import http_server_fixture  # noqa: F401 - registers the `http_server` fixture

from geoxai.core.download import download, fetch_or_link, partial_path, provenance_path
from geoxai.core.errors import GeoxaiError

FAST = {"retries": 3, "backoff": 0.001, "timeout": 5, "progress": False}


def netcdf_like_bytes(size: int = 200_003, seed: int = 0) -> bytes:
    body = np.random.default_rng(seed).integers(0, 256, size - 4, dtype=np.uint8).tobytes()
    return b"CDF\x01" + body


def assert_clean_result(destination: Path, payload: bytes, url: str, record: dict) -> None:
    assert destination.read_bytes() == payload
    assert not partial_path(destination).exists()
    on_disk = json.loads(provenance_path(destination).read_text())
    assert on_disk == record
    assert record["url"] == url
    assert record["size"] == len(payload)
    assert record["sha256"] == hashlib.sha256(payload).hexdigest()
    assert record["retrieved_utc"].endswith("Z")


def assert_nothing_left(destination: Path) -> None:
    assert not destination.exists()
    assert not provenance_path(destination).exists()


def test_clean_download_writes_file_and_provenance(http_server, tmp_path):
    payload = netcdf_like_bytes()
    http_server.add_file("cobe/sst.mon.mean.nc", payload)
    url = http_server.url("cobe/sst.mon.mean.nc")
    destination = tmp_path / "out" / "sst.nc"
    record = download(url, destination, expected="netcdf", **FAST)
    assert_clean_result(destination, payload, url, record)
    assert record["http_status"] == 200
    assert record["attempts"] == 1


@pytest.mark.parametrize(("fault", "times"), [("error_500", 2), ("drop", 2), ("truncate", 1)])
def test_transient_faults_are_retried_until_the_exact_file_arrives(
    http_server, tmp_path, fault, times
):
    payload = netcdf_like_bytes()
    http_server.add_file("sst.nc", payload)
    http_server.add_fault("sst.nc", fault, times=times)
    url = http_server.url("sst.nc")
    destination = tmp_path / "sst.nc"
    record = download(url, destination, sha256=hashlib.sha256(payload).hexdigest(),
                      expected="netcdf", **FAST)
    assert_clean_result(destination, payload, url, record)
    assert record["attempts"] == times + 1
    assert len(http_server.requests_for("sst.nc")) == times + 1


def test_truncated_body_resumes_with_a_range_request(http_server, tmp_path):
    payload = netcdf_like_bytes()
    http_server.add_file("sst.nc", payload)
    http_server.add_fault("sst.nc", "truncate")
    destination = tmp_path / "sst.nc"
    record = download(http_server.url("sst.nc"), destination, **FAST)
    first, second = http_server.requests_for("sst.nc")
    assert first.range is None
    # The server sent exactly half before ending the body: the retry asks for the rest only.
    assert second.range == f"bytes={len(payload) // 2}-"
    assert second.status == 206
    assert record["http_status"] == 206
    assert destination.read_bytes() == payload


def test_server_ignoring_range_restarts_from_zero(http_server, tmp_path):
    payload = netcdf_like_bytes()
    http_server.add_file("sst.nc", payload)
    http_server.add_fault("sst.nc", "truncate")
    http_server.add_fault("sst.nc", "ignore_range")
    destination = tmp_path / "sst.nc"
    record = download(http_server.url("sst.nc"), destination, **FAST)
    requests = http_server.requests_for("sst.nc")
    assert len(requests) == 2  # the 200 answer to the resume is used, not thrown away
    assert requests[1].range is not None and requests[1].status == 200
    assert record["http_status"] == 200
    assert destination.read_bytes() == payload  # not the first half twice


def test_whole_partial_file_is_not_fetched_again(http_server, tmp_path):
    payload = netcdf_like_bytes()
    http_server.add_file("sst.nc", payload)
    destination = tmp_path / "sst.nc"
    partial_path(destination).write_bytes(payload)  # a run that died just before renaming
    record = download(http_server.url("sst.nc"), destination, expected="netcdf", **FAST)
    (only,) = http_server.requests_for("sst.nc")
    assert only.range == f"bytes={len(payload)}-" and only.status == 416
    assert_clean_result(destination, payload, http_server.url("sst.nc"), record)


def test_stale_partial_file_is_discarded(http_server, tmp_path):
    payload = netcdf_like_bytes()
    http_server.add_file("sst.nc", payload)
    destination = tmp_path / "sst.nc"
    partial_path(destination).write_bytes(payload + b"from an older, longer version")
    record = download(http_server.url("sst.nc"), destination, **FAST)
    assert [r.status for r in http_server.requests_for("sst.nc")] == [416, 200]
    assert_clean_result(destination, payload, http_server.url("sst.nc"), record)


def test_stalled_transfer_times_out_and_resumes(http_server, tmp_path):
    payload = netcdf_like_bytes()
    http_server.add_file("sst.nc", payload)
    http_server.add_fault("sst.nc", "stall")
    destination = tmp_path / "sst.nc"
    record = download(http_server.url("sst.nc"), destination,
                      **{**FAST, "timeout": 0.3})
    assert record["attempts"] == 2
    assert destination.read_bytes() == payload


def test_exhausted_retries_give_one_clear_error_and_no_file(http_server, tmp_path):
    http_server.add_file("sst.nc", netcdf_like_bytes())
    http_server.add_fault("sst.nc", "error_500", times=3)
    url = http_server.url("sst.nc")
    destination = tmp_path / "sst.nc"
    with pytest.raises(GeoxaiError, match="after 3 attempts") as error:
        download(url, destination, **{**FAST, "retries": 2})
    assert url in str(error.value) and "HTTP 500" in str(error.value)
    assert len(http_server.requests_for("sst.nc")) == 3
    assert_nothing_left(destination)


def test_partial_file_from_a_failed_run_is_resumed_by_the_next_run(http_server, tmp_path):
    payload = netcdf_like_bytes()
    http_server.add_file("sst.nc", payload)
    http_server.add_fault("sst.nc", "truncate", times=2)
    url = http_server.url("sst.nc")
    destination = tmp_path / "sst.nc"
    with pytest.raises(GeoxaiError, match="run again to resume"):
        download(url, destination, **{**FAST, "retries": 1})
    assert_nothing_left(destination)
    kept = partial_path(destination).stat().st_size
    assert 0 < kept < len(payload)
    record = download(url, destination, **FAST)
    assert http_server.requests_for("sst.nc")[-1].range == f"bytes={kept}-"
    assert_clean_result(destination, payload, url, record)


@pytest.mark.parametrize("fault", ["not_found", None])
def test_client_error_stops_at_once(http_server, tmp_path, fault):
    if fault:
        http_server.add_file("sst.nc", netcdf_like_bytes())
        http_server.add_fault("sst.nc", fault)
    url = http_server.url("sst.nc")
    destination = tmp_path / "sst.nc"
    with pytest.raises(GeoxaiError, match="HTTP 404") as error:
        download(url, destination, **FAST)
    assert url in str(error.value) and "config" in str(error.value)
    assert len(http_server.requests_for("sst.nc")) == 1
    assert_nothing_left(destination)
    assert not partial_path(destination).exists()


def test_html_page_instead_of_netcdf_is_named_as_such(http_server, tmp_path):
    http_server.add_file("sst.nc", netcdf_like_bytes())
    http_server.add_fault("sst.nc", "html_200")
    destination = tmp_path / "sst.nc"
    with pytest.raises(GeoxaiError, match="server returned HTML, not NetCDF"):
        download(http_server.url("sst.nc"), destination, expected="netcdf", **FAST)
    assert_nothing_left(destination)
    assert not partial_path(destination).exists()


def test_html_page_instead_of_a_text_index_is_rejected(http_server, tmp_path):
    http_server.add_file("nino34.data", b"  1870  1870\n 1870" + b"  0.10" * 12 + b"\n -99.99\n")
    http_server.add_fault("nino34.data", "html_200")
    destination = tmp_path / "nino34.data"
    with pytest.raises(GeoxaiError, match="server returned HTML"):
        download(http_server.url("nino34.data"), destination, expected="text", **FAST)
    assert_nothing_left(destination)


def test_content_kinds_accept_the_right_files_and_reject_others(http_server, tmp_path):
    text = b"  1870  1870\n 1870" + b"  0.10" * 12 + b"\n -99.99\nnotes\n"
    http_server.add_file("index.data", text)
    http_server.add_file("hdf5.nc", b"\x89HDF\r\n\x1a\n" + bytes(100))
    http_server.add_file("binary.bin", bytes(range(256)) * 4)
    assert download(http_server.url("index.data"), tmp_path / "i", expected="text", **FAST)
    assert download(http_server.url("hdf5.nc"), tmp_path / "h", expected="netcdf", **FAST)
    with pytest.raises(GeoxaiError, match="not a NetCDF file"):
        download(http_server.url("index.data"), tmp_path / "n", expected="netcdf", **FAST)
    with pytest.raises(GeoxaiError, match="not a text file"):
        download(http_server.url("binary.bin"), tmp_path / "t", expected="text", **FAST)
    assert not (tmp_path / "n").exists() and not (tmp_path / "t").exists()


def test_sha256_mismatch_names_both_checksums_and_leaves_nothing(http_server, tmp_path):
    payload = netcdf_like_bytes()
    http_server.add_file("sst.nc", payload)
    wrong = hashlib.sha256(b"something else").hexdigest()
    destination = tmp_path / "sst.nc"
    with pytest.raises(GeoxaiError, match="Checksum mismatch") as error:
        download(http_server.url("sst.nc"), destination, sha256=wrong, **FAST)
    assert wrong in str(error.value)
    assert hashlib.sha256(payload).hexdigest() in str(error.value)
    assert_nothing_left(destination)
    assert not partial_path(destination).exists()


def test_failed_download_keeps_an_existing_destination_untouched(http_server, tmp_path):
    destination = tmp_path / "sst.nc"
    destination.write_bytes(b"CDF\x01 previous good file")
    with pytest.raises(GeoxaiError):
        download(http_server.url("missing.nc"), destination, **FAST)
    assert destination.read_bytes() == b"CDF\x01 previous good file"


def test_fetch_or_link_links_a_local_file_with_an_absolute_target(tmp_path, monkeypatch):
    payload = netcdf_like_bytes(5_000)
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "mine.nc").write_bytes(payload)
    monkeypatch.chdir(tmp_path)
    destination = tmp_path / "resources" / "sst.nc"
    record = fetch_or_link("data/mine.nc", destination, expected="netcdf",
                           sha256=hashlib.sha256(payload).hexdigest())
    assert destination.is_symlink()
    target = Path(os.readlink(destination))
    assert target.is_absolute() and target == tmp_path / "data" / "mine.nc"
    assert destination.read_bytes() == payload
    assert record["url"] == str(tmp_path / "data" / "mine.nc")
    assert record["sha256"] == hashlib.sha256(payload).hexdigest()
    assert record["size"] == len(payload)
    assert json.loads(provenance_path(destination).read_text()) == record
    # Linking again (e.g. after the user swapped the file) replaces the link in place.
    assert fetch_or_link(str(tmp_path / "data" / "mine.nc"), destination)["size"] == len(payload)
    assert fetch_or_link(f"file://{tmp_path}/data/mine.nc", destination)["url"] == record["url"]
    assert destination.is_symlink() and destination.read_bytes() == payload


def test_fetch_or_link_checks_the_local_file(tmp_path):
    (tmp_path / "page.nc").write_bytes(b"<html><body>login</body></html>")
    with pytest.raises(GeoxaiError, match="returned HTML"):
        fetch_or_link(str(tmp_path / "page.nc"), tmp_path / "out.nc", expected="netcdf")
    with pytest.raises(GeoxaiError, match="Checksum mismatch"):
        fetch_or_link(str(tmp_path / "page.nc"), tmp_path / "out.nc", sha256="0" * 64)
    assert not (tmp_path / "out.nc").exists()


def test_fetch_or_link_missing_local_path_is_a_clear_error(tmp_path):
    missing = tmp_path / "nowhere" / "sst.nc"
    with pytest.raises(GeoxaiError, match="does not exist") as error:
        fetch_or_link(str(missing), tmp_path / "sst.nc")
    assert str(missing) in str(error.value)
    assert_nothing_left(tmp_path / "sst.nc")


def test_fetch_or_link_downloads_urls_and_rejects_other_schemes(http_server, tmp_path):
    payload = netcdf_like_bytes(10_000)
    http_server.add_file("sst.nc", payload)
    url = http_server.url("sst.nc")
    record = fetch_or_link(url, tmp_path / "sst.nc", expected="netcdf")
    assert not (tmp_path / "sst.nc").is_symlink()
    assert_clean_result(tmp_path / "sst.nc", payload, url, record)
    with pytest.raises(GeoxaiError, match="only http"):
        fetch_or_link("ftp://example.invalid/sst.nc", tmp_path / "other.nc")


def test_progress_lines_in_a_log_count_up_to_the_file_size(http_server, tmp_path, capsys):
    """Not a terminal (as in a job log): plain lines whose byte counts grow to the size."""
    import re

    payload = netcdf_like_bytes(3 * 1024 * 1024 + 17)
    http_server.add_file("sst.nc", payload)
    record = download(http_server.url("sst.nc"), tmp_path / "sst.nc",
                      **{**FAST, "progress": True})
    lines = [line for line in capsys.readouterr().out.splitlines() if line.strip()]
    assert all(line.startswith("[geoxai] download sst.nc: ") for line in lines), lines
    counts = [
        (int(m[1]), int(m[2])) for m in map(re.compile(r": (\d+)/(\d+) bytes").search, lines) if m
    ]
    assert len(counts) >= 5  # about every tenth of the size, not once per chunk
    assert len(counts) <= 12
    done = [count for count, _ in counts]
    assert done == sorted(done) and len(set(done)) == len(done)
    assert done[-1] == len(payload) and {total for _, total in counts} == {len(payload)}
    assert "/s" in lines[-2]  # the rate
    assert lines[-1] == (
        f"[geoxai] download sst.nc: done, {len(payload)} bytes (3.0 MiB), "
        f"sha256 {hashlib.sha256(payload).hexdigest()}, 1 attempt(s)"
    )
    assert record["size"] == len(payload)


def test_progress_lines_report_a_retry_and_a_small_file_briefly(http_server, tmp_path, capsys):
    payload = netcdf_like_bytes(10_000)
    http_server.add_file("small.nc", payload)
    http_server.add_fault("small.nc", "error_500")
    download(http_server.url("small.nc"), tmp_path / "small.nc", **{**FAST, "progress": True})
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("[geoxai] download small.nc: attempt 1/4 failed (HTTP 500")
    assert lines[1].startswith("[geoxai] download small.nc: 10000/10000 bytes (100%")
    assert lines[2].startswith("[geoxai] download small.nc: done, 10000 bytes")
    assert len(lines) == 3


def test_progress_lines_without_a_known_size(tmp_path, capsys, monkeypatch):
    from geoxai.core import download as module

    class Response:
        def __init__(self, chunks):
            self.raw = self
            self._chunks = list(chunks)

        def read1(self, size, decode_content=False):
            return self._chunks.pop(0) if self._chunks else b""

    monkeypatch.setattr(module, "PROGRESS_EVERY_BYTES", 1000)
    module._stream_body(Response([b"x" * 600] * 5), tmp_path / "part", 0, None, True, "f.nc")
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "[geoxai] download f.nc: started, unknown size"
    assert [line.split(": ")[1].split(" ")[0] for line in lines[1:]] == ["1200", "2400", "3000"]
    assert "total unknown" in lines[-1]
