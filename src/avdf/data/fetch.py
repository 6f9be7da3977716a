"""Getting a dataset onto disk: resumable, checksummed downloads and archive extraction that cannot
write outside its target.

- :func:`download` fetches a URL into ``dest`` through ``dest.part``: an interrupted download
  resumes where it stopped (HTTP ``Range``), and the file only takes its final name once its
  sha256 matches the one recorded in the repository (``data/checksums/<dataset>.sha256``, in
  ``sha256sum`` format). A file with no recorded checksum has its checksum recorded on first
  download: commit that file, and every later download (another machine, a colleague) is checked
  against it.
- :func:`safe_extract` unpacks zip and tar archives, refusing absolute paths, ``..`` and links
  that point outside the target, before anything is written.
- :class:`MissingData` is the error a user sees when a dataset is neither on disk nor fetchable:
  it names the parameter or environment variable to set and where to request the data.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import tarfile
import time
import zipfile
from pathlib import Path, PurePosixPath

from avdf.contracts.errors import InputError

log = logging.getLogger(__name__)
CHUNK = 1 << 16  # what a broken connection can lose at most


class MissingData(InputError):
    """A dataset is not on disk and cannot be fetched with what is configured."""


class IntegrityError(InputError):
    """A download or an archive that is not what it should be (named in the message)."""


def sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def read_checksums(path: str | Path) -> dict[str, str]:
    """``sha256sum`` format: ``<hex>  <file name>`` per line."""
    path = Path(path)
    if not path.exists():
        return {}
    out = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            digest, name = line.split(maxsplit=1)
            out[name.strip().lstrip("*")] = digest.lower()
    return out


def record_checksum(path: str | Path, name: str, digest: str) -> None:
    sums = read_checksums(path) | {name: digest}
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(f"{path}.tmp")
    tmp.write_text("".join(f"{d}  {n}\n" for n, d in sorted(sums.items())))
    os.replace(tmp, path)


def _append(url: str, part: Path, headers: dict | None, auth: tuple[str, str] | None) -> None:
    """One request: the rest of ``url`` appended to ``part`` (all of it where the server ignores
    Range); a part file the server calls complete (HTTP 416) is left as it is."""
    import requests

    have = part.stat().st_size if part.exists() else 0
    request_headers = dict(headers or {}) | ({"Range": f"bytes={have}-"} if have else {})
    with requests.get(url, headers=request_headers, auth=auth, stream=True, timeout=60) as r:
        if r.status_code == 416:  # the part file is already complete
            return
        if r.status_code in (401, 403):
            raise MissingData(f"{url}: access denied (HTTP {r.status_code}); check the credentials")
        r.raise_for_status()
        resumed = have and r.status_code == 206
        if have and not resumed:
            log.info("%s: the server ignores Range, starting again", url)
        total = int(r.headers.get("Content-Length", 0)) + (have if resumed else 0)
        with open(part, "ab" if resumed else "wb") as f:
            done, last = (have if resumed else 0), time.monotonic()
            for block in r.iter_content(CHUNK):
                f.write(block)
                done += len(block)
                if time.monotonic() - last > 10:
                    log.info("%s: %.1f / %.1f MB", part.name, done / 1e6, total / 1e6)
                    last = time.monotonic()


def download(
    url: str,
    dest: str | Path,
    checksums: str | Path,
    headers: dict | None = None,
    auth: tuple[str, str] | None = None,
    retries: int = 5,
) -> Path:
    """Fetch ``url`` to ``dest``, resuming a partial ``dest.part``, and verify it against
    ``checksums`` (recording the digest there if the file has none yet)."""
    import requests

    dest = Path(dest)
    expected = read_checksums(checksums).get(dest.name)
    if dest.exists():
        if expected is None or sha256(dest) == expected:
            return dest
        raise IntegrityError(f"{dest}: sha256 differs from {checksums}; delete it to download again")
    part = Path(f"{dest}.part")
    dest.parent.mkdir(parents=True, exist_ok=True)
    for attempt in range(retries):
        try:
            _append(url, part, headers, auth)
            break
        except requests.RequestException as e:
            if attempt == retries - 1:
                raise IntegrityError(
                    f"{url}: download failed after {retries} tries ({e}); rerun to resume"
                ) from e
            log.warning("%s: %s; resuming in %d s", url, e, 2**attempt)
            time.sleep(2**attempt)
    digest = sha256(part)
    if expected is None:
        record_checksum(checksums, dest.name, digest)
        log.info("%s: sha256 %s recorded in %s (commit it)", dest.name, digest, checksums)
    elif digest != expected:
        part.unlink()
        raise IntegrityError(
            f"{dest.name}: sha256 {digest} does not match {expected} recorded in {checksums}; "
            "the corrupt download was removed, rerun to fetch it again"
        )
    os.replace(part, dest)
    return dest


def _inside(target: Path, name: str) -> Path:
    pure = PurePosixPath(name.replace("\\", "/"))
    if pure.is_absolute() or ".." in pure.parts or (pure.parts and ":" in pure.parts[0]):
        raise IntegrityError(f"refusing archive member {name!r}: absolute path or '..'")
    path = (target / pure).resolve()
    if path != target and target not in path.parents:
        raise IntegrityError(f"refusing archive member {name!r}: it lands outside {target}")
    return path


def _check_tar(archive: Path, tar: tarfile.TarFile, target: Path) -> None:
    for m in tar.getmembers():
        path = _inside(target, m.name)
        if m.issym() or m.islnk():
            link = Path(m.linkname)
            dest = (path.parent / link) if m.issym() else (target / link)
            if link.is_absolute() or not str(dest.resolve()).startswith(str(target)):
                raise IntegrityError(
                    f"{archive}: refusing link {m.name!r} -> {m.linkname!r} outside {target}"
                )
        elif not (m.isfile() or m.isdir()):
            raise IntegrityError(f"{archive}: refusing special file {m.name!r}")


def safe_extract(archive: str | Path, target: str | Path) -> Path:
    """Unpack a zip or tar archive into ``target`` after checking every member; an archive with a
    hostile member is refused as a whole, before anything is written. Extraction goes through a
    temporary folder beside ``target`` that is renamed at the end, so a kill leaves no half tree."""
    archive, target = Path(archive), Path(target).resolve()
    if target.exists():
        return target
    tmp = target.with_name(target.name + ".extracting")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        if zipfile.is_zipfile(archive):
            with zipfile.ZipFile(archive) as z:
                for info in z.infolist():
                    _inside(tmp.resolve(), info.filename)
                    if (info.external_attr >> 16) & 0o170000 == 0o120000:
                        raise IntegrityError(f"{archive}: refusing symbolic link {info.filename!r}")
                z.extractall(tmp)
        elif tarfile.is_tarfile(archive):
            with tarfile.open(archive) as tar:
                _check_tar(archive, tar, tmp.resolve())
                tar.extractall(tmp, filter="data")
        else:
            raise IntegrityError(f"{archive}: neither a zip nor a tar archive")
    except Exception:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    os.replace(tmp, target)
    return target
