"""ffmpeg access through ffmpeg-python: probing, audio extraction, decoding and encoding.

Video is decoded once per use straight from the source file, normalised on the way
(:func:`read_video`: constant frame rate, display rotation applied, optionally scaled down);
nothing re-encodes it.

The binary is the one shipped inside the ``imageio-ffmpeg`` wheel, so a fresh machine needs no
system package and every machine decodes with the same build (byte-identical results). Set
``AVDF_FFMPEG`` to use another binary, e.g. Debian's ``/usr/bin/ffmpeg``. imageio-ffmpeg ships no
``ffprobe``; :func:`probe` reads the stream list that ``ffmpeg -i`` prints instead.

Any ffmpeg from :data:`MINIMUM_VERSION` up works: where an option was renamed (``-vsync`` became
``-fps_mode`` in 5.1), the one the binary understands is chosen by its version; an older binary is
refused with one message naming its version and the minimum (:func:`require_supported`).
"""

from __future__ import annotations

import functools
import itertools
import os
import re
import subprocess
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import ffmpeg
import numpy as np

from avdf.contracts.errors import MediaError  # noqa: F401  (raised here; every media module names it as ffmpeg.MediaError)

# swscale's SIMD paths (AVX2, AVX-512, ...) round RGB <-> YUV and resizing differently unless told to
# be bit-exact: without these flags the same clip encodes and decodes to other pixels on a CPU with
# other vector units (tests/test_golden.py caught it moving from an AVX2 to an AVX-512 machine).
BITEXACT_SWS = "accurate_rnd+bitexact+full_chroma_int"

# x264 picks its vector code by the CPU, and its AVX-512 code makes other encoding decisions than
# its AVX2 code (the same rendered frames gave other decoded pixels on an Intel AVX-512 Xeon than on
# the AMD AVX2 EPYC the golden hashes were recorded on). Capped at AVX2, x264 encodes those clips to
# the recorded bytes on the Xeon; it caps only where the CPU has every one of these (x264 name:
# /proc/cpuinfo flag), and is left to choose elsewhere.
X264_UP_TO_AVX2 = {
    "MMX2": "sse",  # the MMX extensions come with SSE (Intel lists no mmxext flag)
    "SSE": "sse",
    "SSE2": "sse2",
    "SSE3": "pni",
    "SSSE3": "ssse3",
    "SSE4.1": "sse4_1",
    "SSE4.2": "sse4_2",
    "AVX": "avx",
    "FMA3": "fma",
    "LZCNT": "abm",
    "BMI1": "bmi1",
    "BMI2": "bmi2",
    "AVX2": "avx2",
}

# Threads each video decode may use; 0 leaves it to ffmpeg (as many as the machine has cores). A
# process that is one of several decoding at once (a stage's shards and tracking workers, each a
# one-thread job to Snakemake) sets 1: 3-14% more video a second with every core busy (seven
# alternating pairs, docs/gpu.md: "Preprocessing on a GPU node"). H.264 decodes to the same pixels.
_decode_threads = 0


def set_decode_threads(n: int) -> None:
    global _decode_threads
    _decode_threads = n


def x264_cap(cpu_flags: set[str]) -> dict:
    """``-x264-params asm=...`` capping x264 at AVX2 for a CPU with all of it; else nothing."""
    if not set(X264_UP_TO_AVX2.values()) <= cpu_flags:
        return {}
    return {"x264-params": "asm=" + ",".join(X264_UP_TO_AVX2)}


@functools.cache
def x264_params() -> dict:
    """:func:`x264_cap` of this CPU's flags (nothing where /proc/cpuinfo does not list them)."""
    try:
        text = Path("/proc/cpuinfo").read_text()
        return x264_cap(set(re.search(r"^flags\s*:(.*)$", text, re.M).group(1).split()))
    except (OSError, AttributeError):
        return {}


@functools.cache
def ffmpeg_exe() -> str:
    exe = os.environ.get("AVDF_FFMPEG")
    if exe:
        return exe
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


# The oldest release tested end to end (tests/test_old_ffmpeg.py, with the 4.2.2 build that PyPI's
# imageio-ffmpeg 0.5.1 ships; Ubuntu 20.04 has 4.2.7, 22.04 has 4.4). Older ones are refused.
MINIMUM_VERSION = (4, 2)
_VERSION = re.compile(r"ffmpeg version \D*(\d+)\.(\d+)")


class UnsupportedFfmpeg(MediaError):
    """The ffmpeg binary is missing, unreadable or older than :data:`MINIMUM_VERSION`."""


def version() -> tuple[int, int] | None:
    """(major, minor) of the binary in use; None for a build that names no release (a git snapshot,
    taken as recent). Raises :class:`UnsupportedFfmpeg` when it cannot be run."""
    return _version_of(ffmpeg_exe())


@functools.cache
def _version_of(exe: str) -> tuple[int, int] | None:
    try:
        proc = subprocess.run([exe, "-hide_banner", "-version"], capture_output=True, timeout=60)
    except OSError as e:
        raise UnsupportedFfmpeg(f"cannot run ffmpeg at {exe} ({e.strerror or e})") from None
    first = proc.stdout.decode(errors="replace").partition("\n")[0]
    if proc.returncode != 0 or not first.startswith("ffmpeg version"):
        raise UnsupportedFfmpeg(f"{exe} is not an ffmpeg binary (it printed {first[:80]!r})")
    m = _VERSION.match(first)
    return (int(m.group(1)), int(m.group(2))) if m else None


def require_supported() -> str:
    """The binary and its version, as one line; :class:`UnsupportedFfmpeg` when it is too old."""
    found = version()
    shown = "unnumbered build" if found is None else ".".join(map(str, found))
    if found is not None and found < MINIMUM_VERSION:
        minimum = ".".join(map(str, MINIMUM_VERSION))
        raise UnsupportedFfmpeg(
            f"ffmpeg {shown} at {ffmpeg_exe()} is too old: avdf needs ffmpeg {minimum} or newer "
            "(unset AVDF_FFMPEG to use the one in the imageio-ffmpeg wheel)"
        )
    return f"ffmpeg {shown} at {ffmpeg_exe()}"


NEEDED_ENCODERS = ("libx264", "aac")
NEEDED_FILTERS = ("fps", "select", "crop", "scale")


def missing_capabilities() -> list[str]:
    """The encoders, filters and options avdf uses that the binary lacks (none: it is fit)."""
    exe = ffmpeg_exe()

    def listing(what: str) -> set[str]:
        out = subprocess.run([exe, "-hide_banner", what], capture_output=True, timeout=60).stdout.decode()
        return {line.split()[1] for line in out.splitlines() if len(line.split()) > 1}

    encoders, filters = listing("-encoders"), listing("-filters")
    option = next(iter(passthrough_frames()))
    full_help = subprocess.run([exe, "-hide_banner", "-h", "full"], capture_output=True, timeout=60).stdout
    return (
        [f"encoder {e}" for e in NEEDED_ENCODERS if e not in encoders]
        + [f"filter {f}" for f in NEEDED_FILTERS if f not in filters]
        + ([f"option -{option}"] if f"-{option}".encode() not in full_help else [])
    )


def passthrough_frames() -> dict[str, str]:
    """The output option that passes frames through without repeating any: ``-fps_mode`` from 5.1,
    ``-vsync`` before (deprecated from 5.1 on, and still understood)."""
    found = version()
    return {"fps_mode": "passthrough"} if found is None or found >= (5, 1) else {"vsync": "passthrough"}


@dataclass(frozen=True)
class StreamInfo:
    has_video: bool
    has_audio: bool
    width: int | None
    height: int | None
    fps: float | None
    duration_s: float | None
    rotation: int = 0  # display rotation in degrees (side data); decoding applies it

    @property
    def display_size(self) -> tuple[int, int] | None:
        """(width, height) as the video is shown, i.e. after its display rotation."""
        if self.width is None or self.height is None:
            return None
        return (self.height, self.width) if self.rotation % 180 == 90 else (self.width, self.height)


_VIDEO = re.compile(r"Stream #\d+:\d+.*?: Video: .*?(\d{2,5})x(\d{2,5})")
_FPS = re.compile(r"([\d.]+) (?:fps|tbr)")
_DURATION = re.compile(r"Duration: (\d+):(\d+):([\d.]+)")
_ROTATION = re.compile(r"rotation of (-?[\d.]+) degrees")


def _last_line(stderr: bytes) -> str:
    lines = [ln.strip() for ln in stderr.decode(errors="replace").splitlines() if ln.strip()]
    return lines[-1] if lines else "ffmpeg failed without a message"


def probe(path: str | Path) -> StreamInfo:
    """Streams of a media file. Raises :class:`MediaError` for a missing or unreadable container."""
    path = Path(path)
    if not path.is_file():
        raise MediaError(f"file not found: {path}")
    if path.stat().st_size == 0:
        raise MediaError("empty file (0 bytes)")
    proc = subprocess.run([ffmpeg_exe(), "-hide_banner", "-i", str(path)], capture_output=True)
    text = proc.stderr.decode(errors="replace")
    if "Invalid data found" in text or "moov atom not found" in text or "Stream #" not in text:
        raise MediaError(f"corrupt or unreadable container ({_last_line(proc.stderr)})")
    video = _VIDEO.search(text)
    fps = None
    if video:
        video_line = text[video.start() : text.find("\n", video.start())]
        m = _FPS.search(video_line)
        fps = float(m.group(1)) if m else None
    d = _DURATION.search(text)
    duration = int(d.group(1)) * 3600 + int(d.group(2)) * 60 + float(d.group(3)) if d else None
    r = _ROTATION.search(text)
    return StreamInfo(
        has_video=video is not None,
        has_audio=re.search(r"Stream #\d+:\d+.*?: Audio: ", text) is not None,
        width=int(video.group(1)) if video else None,
        height=int(video.group(2)) if video else None,
        fps=fps,
        duration_s=duration,
        rotation=round(float(r.group(1))) % 360 if r else 0,
    )


def _run(stream, what: str) -> bytes:
    try:
        out, _ = stream.run(cmd=ffmpeg_exe(), capture_stdout=True, capture_stderr=True, quiet=True)
    except ffmpeg.Error as e:
        raise MediaError(f"{what} failed ({_last_line(e.stderr or b'')})") from None
    return out


def extract_audio(src: str | Path, dest: str | Path, sample_rate: int, start_s: float = 0.0) -> None:
    """The first audio stream as mono 16-bit PCM WAV at ``sample_rate``; ``start_s`` > 0 drops that
    much of the start (trimming a leading silence)."""
    stream = ffmpeg.input(str(src), **({"ss": f"{start_s:.3f}"} if start_s > 0 else {}))
    out = stream.audio.output(
        str(dest), acodec="pcm_s16le", ac=1, ar=sample_rate, f="wav", map_metadata=-1, fflags="+bitexact"
    )
    _run(out.overwrite_output(), "audio extraction")


def select_expression(keep: np.ndarray) -> str:
    """ffmpeg's ``select`` expression for frame numbers ``keep`` (ascending): one ``eq`` per lone
    frame and one ``between`` per run, so that every frame of a long clip (the localiser's crops)
    stays a short expression (one ``eq`` per frame of 250 frames fails: "Cannot allocate memory")."""
    keep = np.asarray(keep, int)
    breaks = np.flatnonzero(np.diff(keep) != 1) + 1
    runs = [(int(r[0]), int(r[-1])) for r in np.split(keep, breaks) if len(r)]
    return "+".join(f"eq(n,{a})" if a == b else f"between(n,{a},{b})" for a, b in runs)


def read_video(
    src: str | Path,
    fps: int,
    start_s: float = 0.0,
    max_side: int | None = None,
    info: StreamInfo | None = None,
    region: tuple[int, int, int, int] | None = None,
    keep: np.ndarray | None = None,
) -> tuple[np.ndarray, float]:
    """Every frame of ``src`` at a constant ``fps`` (frames repeated or dropped as ffmpeg's fps
    filter does), upright (display rotation applied), from ``start_s``, as RGB uint8 (T, H, W, 3).

    With ``max_side``, frames are scaled down (area averaging) so that the longer side is at most
    ``max_side``; returns the frames and that scale (1.0 when not scaled), so boxes found on them
    can be mapped back to the source's pixels. With ``region`` (x, y, width, height in upright
    source pixels, even numbers), only that rectangle of each frame is converted and returned.
    With ``keep`` (frame numbers at ``fps``, ascending), only those frames are converted and returned.
    """
    info = info or probe(src)
    if not info.has_video or info.display_size is None:
        raise MediaError("no video stream")
    w, h = info.display_size
    options = ({"ss": f"{start_s:.3f}"} if start_s > 0 else {}) | (
        {"threads": _decode_threads} if _decode_threads else {}
    )
    stream = ffmpeg.input(str(src), **options).video
    stream = stream.filter("fps", fps=fps)
    if keep is not None:
        stream = stream.filter("select", select_expression(keep))
    if region is not None:
        x, y, w, h = region
        stream = stream.filter("crop", w, h, x, y, exact=1)
    scale = min(1.0, max_side / max(w, h)) if max_side else 1.0
    out_w, out_h = max(2, round(w * scale)), max(2, round(h * scale))
    stream = stream.filter("scale", out_w, out_h, flags=f"area+{BITEXACT_SWS}")
    passthrough = passthrough_frames() if keep is not None else {}  # no frames repeated in the gaps
    raw = _run(stream.output("pipe:", format="rawvideo", pix_fmt="rgb24", **passthrough), "video decode")
    frame_bytes = out_w * out_h * 3
    if len(raw) < frame_bytes:
        raise MediaError("no decodable video frame")
    n = len(raw) // frame_bytes
    raw = raw if len(raw) == n * frame_bytes else raw[: n * frame_bytes]
    return np.frombuffer(raw, np.uint8).reshape(n, out_h, out_w, 3), out_w / w


def read_audio(path: str | Path, sample_rate: int) -> np.ndarray:
    """Decode the first audio stream as mono float32 in [-1, 1] at ``sample_rate``."""
    raw = _run(
        ffmpeg.input(str(path)).audio.output("pipe:", format="f32le", ac=1, ar=sample_rate), "audio decode"
    )
    return np.frombuffer(raw, np.float32).copy()


def encode_clip(
    frames: np.ndarray | Iterable[np.ndarray],
    audio: np.ndarray | None,
    sample_rate: int,
    fps: int,
    dest: str | Path,
    crf: int = 18,
) -> None:
    """Write an MP4 (H.264 + AAC) from RGB frames (T, H, W, 3), or an iterable of (H, W, 3) frames
    fed to the encoder one at a time, and mono float audio, reproducibly.

    Bit-exact flags and a single encoder thread make the same input give the same bytes. With
    ``audio=None`` the file has no audio stream.
    """
    frames = iter(frames)
    first = next(frames, None)
    if first is None:
        raise MediaError(f"encoding {Path(dest).name} failed (no frames)")
    h, w, _ = first.shape
    dest = Path(dest)
    wav = dest.with_name(dest.name + ".src.wav")
    streams = [ffmpeg.input("pipe:", format="rawvideo", pix_fmt="rgb24", s=f"{w}x{h}", framerate=fps)]
    audio_args = {}
    if audio is not None:
        write_wav(wav, audio, sample_rate)
        streams.append(ffmpeg.input(str(wav)))
        audio_args = {"acodec": "aac", "audio_bitrate": "96k", "ar": sample_rate, "flags:a": "+bitexact"}
    args = ffmpeg.output(
        *streams,
        str(dest),
        vcodec="libx264",
        preset="veryfast",
        crf=crf,
        pix_fmt="yuv420p",
        f="mp4",
        shortest=None,
        threads=1,
        map_metadata=-1,
        sws_flags=BITEXACT_SWS,
        **{"fflags": "+bitexact", "flags:v": "+bitexact"},
        **x264_params(),
        **audio_args,
    ).overwrite_output()
    try:
        _feed(args.compile(cmd=ffmpeg_exe()), itertools.chain([first], frames), dest)
    finally:
        wav.unlink(missing_ok=True)


def _feed(cmd: list[str], frames: Iterable[np.ndarray], dest: Path) -> None:
    """Run the encoder ``cmd``, writing each frame to its stdin as it comes (its messages go to a
    file, so that a full stderr pipe cannot stall it)."""
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=err)
        try:
            for frame in frames:
                proc.stdin.write(np.ascontiguousarray(frame, np.uint8).tobytes())
        except BrokenPipeError:
            pass  # the encoder stopped early: its message says why
        finally:
            proc.stdin.close()
            proc.wait()
        if proc.returncode != 0:
            err.seek(0)
            raise MediaError(f"encoding {dest.name} failed ({_last_line(err.read())})")


def write_wav(dest: str | Path, audio: np.ndarray, sample_rate: int) -> None:
    """16-bit PCM mono WAV with Python's ``wave`` module (torchaudio 2.9 has no I/O backend)."""
    import wave

    pcm = (np.clip(audio, -1.0, 1.0) * 32767.0).round().astype("<i2")
    with wave.open(str(dest), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(sample_rate)
        w.writeframes(pcm.tobytes())


def _pcm16_mono(path: str | Path):
    """The WAV open for reading; MediaError unless it is 16-bit mono PCM (as demux writes it)."""
    import wave

    w = wave.open(str(path), "rb")
    if w.getsampwidth() != 2 or w.getnchannels() != 1:
        w.close()
        raise MediaError(f"{path}: expected 16-bit mono PCM")
    return w


def read_wav(path: str | Path) -> tuple[np.ndarray, int]:
    """Read a 16-bit PCM mono WAV written by :func:`extract_audio` as float32 in [-1, 1]."""
    with _pcm16_mono(path) as w:
        rate = w.getframerate()
        pcm = np.frombuffer(w.readframes(w.getnframes()), "<i2")
    return pcm.astype(np.float32) / 32768.0, rate


def read_wav_window(path: str | Path, first: int, n: int) -> np.ndarray:
    """``n`` samples of a 16-bit mono WAV from sample ``first``, float32 in [-1, 1], zero-padded past
    its end; only that span is read."""
    with _pcm16_mono(path) as w:
        first = min(max(0, first), w.getnframes())
        w.setpos(first)
        pcm = np.frombuffer(w.readframes(n), "<i2").astype(np.float32) / 32768.0
    return np.pad(pcm, (0, n - len(pcm)))
