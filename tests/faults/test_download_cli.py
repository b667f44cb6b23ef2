"""``python -m lartpc_seg download`` as a user runs it, against a local server (127.0.0.1)."""

from __future__ import annotations

import hashlib
import http.server
import threading
from pathlib import Path

import pytest

PAYLOAD = bytes(range(256)) * 2000
DIGEST = hashlib.sha256(PAYLOAD).hexdigest()


class _Server:
    """Serves PAYLOAD at /data.root, honouring ``Range``; ``cut_after`` drops the connection."""

    def __init__(self) -> None:
        self.cut_after: int | None = None
        self.ranges: list[str | None] = []
        state = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                header = self.headers.get("Range")
                state.ranges.append(header)
                start = int(header.removeprefix("bytes=").split("-")[0]) if header else 0
                self.send_response(206 if header else 200)
                if header:
                    self.send_header(
                        "Content-Range", f"bytes {start}-{len(PAYLOAD) - 1}/{len(PAYLOAD)}"
                    )
                body = PAYLOAD[start:]
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body if state.cut_after is None else body[: state.cut_after])

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/data.root"


@pytest.fixture
def server():
    s = _Server()
    thread = threading.Thread(target=s.httpd.serve_forever, daemon=True)
    thread.start()
    yield s
    s.httpd.shutdown()
    s.httpd.server_close()


def _download(faults, url: str, digest: str, out: Path):
    return faults.run_subprocess(
        ["lartpc_seg", "download", url, "--sha256", digest, "--out", str(out), "--chunk", "4096"]
    )


def test_wrong_checksum_is_refused_and_the_file_removed(server, tmp_path, faults):
    out = tmp_path / "data.root"
    wrong = "1" * 64
    outcome = _download(faults, server.url, wrong, out)
    faults.assert_user_error(
        outcome, out, words=f"checksum mismatch.*expected sha256 {wrong}.*got {DIGEST}"
    )
    assert list(tmp_path.iterdir()) == [], "a refused download left a file"


def test_cut_download_is_resumed_by_a_rerun(server, tmp_path, faults):
    out = tmp_path / "data.root"
    half = len(PAYLOAD) // 2
    server.cut_after = half
    outcome = _download(faults, server.url, DIGEST, out)
    faults.assert_user_error(
        outcome,
        out,
        words=rf"cut after {half} of {len(PAYLOAD)} bytes"
        r".*run again to resume",
    )
    assert not out.exists()
    server.cut_after = None
    outcome = _download(faults, server.url, DIGEST, out)
    assert outcome.status == 0, outcome
    assert server.ranges == [None, f"bytes={half}-"], "the rerun did not resume"
    assert out.read_bytes() == PAYLOAD
    assert list(tmp_path.iterdir()) == [out]
