"""Resumable download against a local HTTP server on 127.0.0.1 (no other network)."""

from __future__ import annotations

import hashlib
import http.server
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import pytest

from lartpc_seg.cli import main
from lartpc_seg.errors import InputError
from lartpc_seg.io.download import PLACEHOLDER_SHA256, download, part_path

PAYLOAD = np.random.default_rng(7).integers(0, 256, size=300_000, dtype=np.uint8).tobytes()
DIGEST = hashlib.sha256(PAYLOAD).hexdigest()


@dataclass
class ServerState:
    """How the test server behaves, and what it saw."""

    honour_range: bool = True
    cut_after: int | None = None  # send only this many bytes of the body, then close
    ranges: list[str | None] = field(default_factory=list)


def _handler(state: ServerState) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            if self.path != "/data.root":
                self.send_error(404)
                return
            header = self.headers.get("Range")
            state.ranges.append(header)
            start = 0
            if header and state.honour_range:
                start = int(header.removeprefix("bytes=").split("-")[0])
                if start >= len(PAYLOAD):
                    self.send_response(416)
                    self.send_header("Content-Range", f"bytes */{len(PAYLOAD)}")
                    self.end_headers()
                    return
                self.send_response(206)
                self.send_header(
                    "Content-Range", f"bytes {start}-{len(PAYLOAD) - 1}/{len(PAYLOAD)}"
                )
            else:
                self.send_response(200)
            body = PAYLOAD[start:]
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if state.cut_after is not None:
                self.wfile.write(body[: state.cut_after])
                self.wfile.flush()
                self.close_connection = True
                return
            self.wfile.write(body)

    return Handler


@pytest.fixture
def server() -> Iterator[tuple[str, ServerState]]:
    state = ServerState()
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/data.root", state
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


def test_complete_download(server, tmp_path):
    url, state = server
    dest = tmp_path / "sub" / "data.root"
    assert download(url, dest, DIGEST, chunk=4096) == dest
    assert dest.read_bytes() == PAYLOAD
    assert not part_path(dest).exists()
    assert state.ranges == [None]
    # A second call finds the verified file and does not download again.
    download(url, dest, DIGEST)
    assert len(state.ranges) == 1


def test_resume_from_a_part_file(server, tmp_path):
    url, state = server
    dest = tmp_path / "data.root"
    half = len(PAYLOAD) // 2
    part_path(dest).write_bytes(PAYLOAD[:half])
    download(url, dest, DIGEST, chunk=10_000)
    assert dest.read_bytes() == PAYLOAD
    assert state.ranges == [f"bytes={half}-"]


def test_cut_connection_keeps_the_part_and_a_rerun_resumes(server, tmp_path):
    url, state = server
    dest = tmp_path / "data.root"
    state.cut_after = 100_000
    with pytest.raises(InputError, match="cut after 100000 of 300000 bytes"):
        download(url, dest, DIGEST, chunk=8192)
    assert not dest.exists()
    assert part_path(dest).stat().st_size == 100_000
    state.cut_after = None
    download(url, dest, DIGEST)
    assert dest.read_bytes() == PAYLOAD
    assert state.ranges == [None, "bytes=100000-"]


def test_server_ignoring_range_restarts_cleanly(server, tmp_path):
    url, state = server
    state.honour_range = False
    dest = tmp_path / "data.root"
    part_path(dest).write_bytes(b"x" * 1234)  # stale bytes that must not survive
    download(url, dest, DIGEST)
    assert dest.read_bytes() == PAYLOAD
    assert state.ranges == ["bytes=1234-"]


def test_part_longer_than_the_file_restarts(server, tmp_path):
    url, state = server
    dest = tmp_path / "data.root"
    part_path(dest).write_bytes(b"y" * (len(PAYLOAD) + 10))
    download(url, dest, DIGEST)
    assert dest.read_bytes() == PAYLOAD
    assert state.ranges == [f"bytes={len(PAYLOAD) + 10}-", None]


def test_wrong_checksum_is_refused_and_leaves_no_file(server, tmp_path):
    url, _ = server
    dest = tmp_path / "data.root"
    wrong = "1" * 64
    with pytest.raises(InputError) as err:
        download(url, dest, wrong)
    message = str(err.value)
    assert url in message and wrong in message and DIGEST in message
    assert not dest.exists()
    assert not part_path(dest).exists()


def test_malformed_checksum_and_http_error(server, tmp_path):
    url, _ = server
    with pytest.raises(InputError, match="64 hex digits"):
        download(url, tmp_path / "a.root", "abc")
    missing = url.replace("data.root", "nothing.root")
    with pytest.raises(InputError, match="HTTP 404") as err:
        download(missing, tmp_path / "b.root", DIGEST)
    assert missing in str(err.value)


def test_command_line(server, tmp_path, capsys):
    url, _ = server
    dest = tmp_path / "cli.root"
    assert main(["download", url, "--sha256", DIGEST, "--out", str(dest)]) == 0
    assert f"sha256 OK ({len(PAYLOAD)} bytes)" in capsys.readouterr().out
    assert main(["download", url, "--sha256", "f" * 64, "--out", str(tmp_path / "x")]) == 1
    assert "checksum mismatch" in capsys.readouterr().err


def test_placeholder_digest_is_refused_before_any_request(server, tmp_path):
    url, state = server
    dest = tmp_path / "data.root"
    with pytest.raises(InputError, match="all-zero placeholder") as err:
        download(url, dest, PLACEHOLDER_SHA256)
    assert "dataset.osf.verify: false" in str(err.value)
    assert state.ranges == []
    assert not dest.exists() and not part_path(dest).exists()


def test_command_line_refuses_a_placeholder_in_one_line(server, tmp_path, capsys):
    url, _ = server
    dest = tmp_path / "cli.root"
    assert main(["download", url, "--sha256", PLACEHOLDER_SHA256, "--out", str(dest)]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "placeholder" in err and str(dest) in err
    assert not dest.exists()


def test_unverified_download_takes_no_verify_and_is_recorded(server, tmp_path, capsys):
    url, _ = server
    dest = tmp_path / "raw.root"
    record = tmp_path / "raw.json"
    args = ["download", url, "--no-verify", "--out", str(dest), "--record", str(record)]
    assert main(args) == 0
    assert "NOT VERIFIED" in capsys.readouterr().out
    assert dest.read_bytes() == PAYLOAD
    assert json.loads(record.read_text()) == {
        "url": url,
        "sha256": DIGEST,
        "expected_sha256": "",
        "verified": "false",
    }
    # --sha256 and --no-verify exclude each other: verification is never implied off
    with pytest.raises(SystemExit):
        main(["download", url, "--no-verify", "--sha256", DIGEST, "--out", str(dest)])


def test_verified_download_record(server, tmp_path):
    url, _ = server
    record = tmp_path / "raw.json"
    args = ["download", url, "--sha256", DIGEST, "--out", str(tmp_path / "raw.root")]
    assert main([*args, "--record", str(record)]) == 0
    assert json.loads(record.read_text())["verified"] == "true"
    assert json.loads(record.read_text())["expected_sha256"] == DIGEST
