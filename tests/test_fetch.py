"""Downloads resume and are checked against recorded checksums; archives cannot write outside
their target. A local HTTP server (with Range support) stands in for the dataset hosts."""

from __future__ import annotations

import hashlib
import http.server
import io
import tarfile
import threading
import zipfile
from pathlib import Path

import pytest

from avdf.data import fetch

PAYLOAD = bytes(range(256)) * 4096  # 1 MiB


class _Handler(http.server.BaseHTTPRequestHandler):
    body = PAYLOAD
    cut_after: int | None = None  # drop the connection after this many bytes (once)
    requests: list = []

    def do_GET(self):  # noqa: N802
        start = 0
        if "Range" in self.headers:
            start = int(self.headers["Range"].split("=")[1].split("-")[0])
        type(self).requests.append(start)
        if start >= len(self.body):
            self.send_response(416)
            self.end_headers()
            return
        self.send_response(206 if start else 200)
        self.send_header("Content-Length", str(len(self.body) - start))
        self.end_headers()
        chunk = self.body[start:]
        if type(self).cut_after is not None:
            chunk, type(self).cut_after = chunk[: type(self).cut_after], None
        self.wfile.write(chunk)

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    _Handler.requests, _Handler.cut_after, _Handler.body = [], None, PAYLOAD
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_port}/data.zip"
    httpd.shutdown()


def test_an_interrupted_download_resumes_and_records_its_checksum(server, tmp_path):
    _Handler.cut_after = 300_000
    sums = tmp_path / "sums.sha256"
    out = fetch.download(server, tmp_path / "data.zip", sums)
    assert out.read_bytes() == PAYLOAD
    assert _Handler.requests[0] == 0 and 200_000 < _Handler.requests[1] <= 300_000  # asked for the rest
    assert fetch.read_checksums(sums) == {"data.zip": hashlib.sha256(PAYLOAD).hexdigest()}


def test_a_corrupted_download_is_refused_and_removed(server, tmp_path):
    sums = tmp_path / "sums.sha256"
    fetch.record_checksum(sums, "data.zip", hashlib.sha256(b"what it should be").hexdigest())
    with pytest.raises(fetch.IntegrityError, match=r"data.zip: sha256 \w+ does not match .*sums.sha256"):
        fetch.download(server, tmp_path / "data.zip", sums)
    assert not (tmp_path / "data.zip").exists() and not (tmp_path / "data.zip.part").exists()


def _zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
    return buf.getvalue()


def _tar(tmp_path: Path, add) -> Path:
    path = tmp_path / "a.tar"
    with tarfile.open(path, "w") as t:
        add(t)
    return path


def _file(t: tarfile.TarFile, name: str, data: bytes = b"x") -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    t.addfile(info, io.BytesIO(data))


def _link(t: tarfile.TarFile, name: str, target: str, kind=tarfile.SYMTYPE) -> None:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, target
    t.addfile(info)


@pytest.mark.parametrize(
    "members, reason",
    [
        ({"ok.txt": b"x", "../escape.txt": b"x"}, "absolute path or '..'"),
        ({"ok.txt": b"x", "/tmp/avdf_abs_escape.txt": b"x"}, "absolute path or '..'"),
        ({"a/../../escape.txt": b"x"}, "absolute path or '..'"),
    ],
)
def test_hostile_zip_is_refused_before_anything_is_written(tmp_path, members, reason):
    archive = tmp_path / "in" / "hostile.zip"
    archive.parent.mkdir()
    archive.write_bytes(_zip(members))
    target = tmp_path / "box" / "target"
    with pytest.raises(fetch.IntegrityError, match=reason):
        fetch.safe_extract(archive, target)
    assert not target.exists() and not (tmp_path / "box" / "escape.txt").exists()
    assert not Path("/tmp/avdf_abs_escape.txt").exists()
    assert sorted(p.name for p in (tmp_path / "box").iterdir()) == [] if (tmp_path / "box").exists() else True


@pytest.mark.parametrize(
    "add, reason",
    [
        (lambda t: (_file(t, "ok"), _link(t, "evil", "/etc/passwd")), "refusing link 'evil'"),
        (lambda t: _link(t, "up", "../../outside"), "refusing link 'up'"),
        (lambda t: (_link(t, "d", ".."), _file(t, "d/x")), "refusing link 'd'"),
        (lambda t: _link(t, "hard", "/etc/passwd", tarfile.LNKTYPE), "refusing link 'hard'"),
        (lambda t: _file(t, "../../x"), "absolute path or '..'"),
    ],
)
def test_hostile_tar_is_refused_before_anything_is_written(tmp_path, add, reason):
    archive = _tar(tmp_path, add)
    target = tmp_path / "box" / "target"
    with pytest.raises(fetch.IntegrityError, match=reason):
        fetch.safe_extract(archive, target)
    assert not target.exists() and not (tmp_path / "outside").exists()
    assert not any((tmp_path / "box").glob("*")) if (tmp_path / "box").exists() else True


def test_a_good_archive_unpacks_with_links_inside(tmp_path):
    archive = _tar(
        tmp_path, lambda t: (_file(t, "dir (1)/clip é.mp4", b"v"), _link(t, "dir (1)/same", "clip é.mp4"))
    )
    target = fetch.safe_extract(archive, tmp_path / "out")
    assert (target / "dir (1)" / "same").read_bytes() == b"v"


def test_not_an_archive_is_named(tmp_path):
    bad = tmp_path / "part.zip"
    bad.write_bytes(b"\x00" * 100)
    with pytest.raises(fetch.IntegrityError, match="part.zip: neither a zip nor a tar archive"):
        fetch.safe_extract(bad, tmp_path / "out")
