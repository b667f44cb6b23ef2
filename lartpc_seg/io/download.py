"""Resumable, checksummed download of open-data files.

The file grows as ``<dest>.part``; a rerun asks the server for the missing bytes with an HTTP
``Range`` request (a server that ignores it sends the whole file, and the part restarts from
zero). Only a part whose SHA-256 matches is renamed to ``dest``; a wrong digest removes it.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import re
import urllib.error
import urllib.request
from pathlib import Path

from lartpc_seg.errors import InputError
from lartpc_seg.io.digest import file_sha256, update_from_file

_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_CONTENT_RANGE = re.compile(r"^bytes (\d+)-(\d+)/(\d+|\*)$")


def part_path(dest: str | Path) -> Path:
    """The partial file of a download to ``dest``: ``<dest>.part``."""
    dest = Path(dest)
    return dest.with_name(dest.name + ".part")


def _open(url: str, offset: int, dest: Path) -> http.client.HTTPResponse:
    request = urllib.request.Request(url)
    if offset:
        request.add_header("Range", f"bytes={offset}-")
    try:
        return urllib.request.urlopen(request, timeout=60)
    except urllib.error.HTTPError as err:
        if err.code == 416 and offset:
            # The part is at least as long as the file: start again from zero.
            err.close()
            return _open(url, 0, dest)
        raise InputError(dest, f"download of {url} failed: HTTP {err.code} {err.reason}") from err
    except (urllib.error.URLError, OSError) as err:
        raise InputError(dest, f"download of {url} failed: {err}") from err


def _resume_offset(response: http.client.HTTPResponse, offset: int, url: str, dest: Path) -> int:
    """Where the response's bytes start: ``offset`` for a matching 206, 0 for a full 200."""
    if response.status != 206:
        return 0
    match = _CONTENT_RANGE.match(response.headers.get("Content-Range", ""))
    if match is None or int(match.group(1)) != offset:
        raise InputError(
            dest,
            f"download of {url}: asked for bytes {offset}- but the server sent "
            f"Content-Range '{response.headers.get('Content-Range')}'",
        )
    return offset


def download(url: str, dest: str | Path, sha256: str, *, chunk: int = 1 << 20) -> Path:
    """Download ``url`` to ``dest``, resuming a previous partial download, and verify it.

    Parameters
    ----------
    url : str
        ``http(s)://`` address of the file.
    dest : str or Path
        Final path; the file appears there only once its digest matches.
    sha256 : str
        Expected SHA-256, 64 hex digits.
    chunk : int
        Bytes read and written at a time.

    Returns
    -------
    Path
        ``dest``.

    Raises
    ------
    InputError
        Malformed checksum, HTTP or network failure (the ``.part`` file is kept for a rerun), or
        a digest mismatch (the ``.part`` file is removed; the message names the URL, the
        expected and the actual digests).
    """
    dest = Path(dest)
    expected = sha256.strip().lower()
    if not _HEX64.match(expected):
        raise InputError(dest, f"sha256 of {url} must be 64 hex digits, got '{sha256}'")
    if dest.exists() and file_sha256(dest, chunk=chunk) == expected:
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = part_path(dest)
    offset = part.stat().st_size if part.exists() else 0
    response = _open(url, offset, dest)
    with response:
        start = _resume_offset(response, offset, url, dest)
        digest = hashlib.sha256()
        if start:
            update_from_file(digest, part, chunk=chunk)
        length = response.headers.get("Content-Length")
        expected_size = start + int(length) if length is not None else None
        with open(part, "ab" if start else "wb") as out:
            error: Exception | None = None
            try:
                while block := response.read(chunk):
                    out.write(block)
                    digest.update(block)
            except (http.client.IncompleteRead, OSError) as err:
                error = err
            size = out.tell()
        # http.client may end a short body with an empty read instead of an exception.
        if error is not None or (expected_size is not None and size < expected_size):
            raise InputError(
                dest,
                f"download of {url} was cut after {size} of {expected_size} bytes"
                f"{f' ({error})' if error else ''}; run again to resume",
            ) from error
    actual = digest.hexdigest()
    if actual != expected:
        part.unlink(missing_ok=True)
        raise InputError(
            dest, f"checksum mismatch for {url}: expected sha256 {expected}, got {actual}"
        )
    os.replace(part, dest)
    return dest
