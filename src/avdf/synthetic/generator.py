"""The embedded default dataset: synthetic audio-visual deepfakes that avdf generates itself.

Each *family* stands in for one of the paper's datasets and has its own manipulation methods
(:mod:`avdf.synthetic.manipulations`), so that training on one family and testing on another is a real
cross-dataset test. Every family has the four FakeAVCeleb categories:

====  =====================  ==========  ==========
cat   type                   video       audio
====  =====================  ==========  ==========
A     RealVideo-RealAudio    real        real
B     RealVideo-FakeAudio    real        fake
C     FakeVideo-RealAudio    fake        real
D     FakeVideo-FakeAudio    fake        fake
====  =====================  ==========  ==========

Clips are real MP4 files (H.264 + AAC) of real faces (:mod:`avdf.synthetic.portraits`) with speech-like
audio (:mod:`avdf.synthetic.speech`). In a fake-video clip the mouth follows the clip's own soundtrack
(lip-synced, as Wav2Lip does); in a real-video clip it follows the true voice, so a fake soundtrack
on a real video is slightly out of sync with the lips.

The ``lavdf`` family stands in for LAV-DF and AV-Deepfake1M as temporal localisation sees them: a
clip lasts ``segmented_duration_s`` (4-10 s), and a fake clip is manipulated only inside 1-4
segments of 0.2-1.5 s each, on the 1/25-s frame grid (word-level edits), in its audio (RVFA: other
words in a cloned voice), its video (FVRA) or both (FVFA). Besides
``meta_data.csv`` the family writes LAV-DF's ``metadata.json`` with the ``fake_periods``, read by the
LAV-DF adapter for frame-level evaluation and localisation.

The metadata file is FakeAVCeleb v1.2's ``meta_data.csv`` (header with a trailing comma, ten
values per row, folder names with spaces and parentheses), so one ingest adapter serves real and
synthetic data. Generation is deterministic: the same seed gives byte-identical files.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import logging
import math
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from avdf.contracts import atomic, fingerprints, stage_runner
from avdf.media.ffmpeg import encode_clip
from avdf.synthetic import speech
from avdf.synthetic.manipulations import VideoFake, fake_audio
from avdf.synthetic.portraits import SOURCES, HeadMotion, draw_mouth, identity_portrait, view

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Family:
    video_method: str
    audio_method: str
    crf: int


FAMILIES = {
    "dfdc": Family(video_method="faceswap_blend", audio_method="griffinlim", crf=20),
    "fakeavceleb": Family(video_method="faceswap_wav2lip", audio_method="voice_clone", crf=18),
    "defakeavmit": Family(video_method="gan_resample", audio_method="splice", crf=18),
    "lavdf": Family(video_method="faceswap_wav2lip", audio_method="voice_clone", crf=20),  # fakes in segments
}
SEGMENTED = {"lavdf"}  # families whose fakes are manipulated inside segments only
SEGMENTS = (1, 4)  # fake segments per fake clip
SEGMENT_S = (0.2, 1.5)  # length of one (seconds)
SEGMENT_GAP_S = 0.2  # at least this much real between two, and between one and either end
CATEGORIES = {  # letter -> (type folder, video fake, audio fake)
    "A": ("RealVideo-RealAudio", False, False),
    "B": ("RealVideo-FakeAudio", False, True),
    "C": ("FakeVideo-RealAudio", True, False),
    "D": ("FakeVideo-FakeAudio", True, True),
}
GENDER = {"astronaut": "women", "camera": "men", "grace_hopper": "women"}
RACE = "Synthetic (avdf)"  # like FakeAVCeleb's "Asian (East)": a space and parentheses on purpose
HEADER = "source,target1,target2,method,category,type,race,gender,path,"
FAULTS = ("no_audio_stream", "no_face", "truncated")


@dataclass(frozen=True)
class Identity:
    name: str
    source: str
    mirror: bool
    tint: np.ndarray
    voice: speech.Voice
    background: np.ndarray


def identities(seed: int, family: str, count: int) -> list[Identity]:
    rng = np.random.default_rng([seed, _family_index(family), 1])
    sources = sorted(SOURCES)
    out = []
    for i in range(count):
        out.append(
            Identity(
                name=f"id{_family_index(family)}{i:04d}",
                source=sources[i % len(sources)],
                mirror=bool((i // len(sources)) % 2),
                tint=rng.uniform(0.8, 1.15, 3).astype(np.float32),
                voice=speech.Voice.sample(rng),
                background=rng.uniform(30, 200, 3).astype(np.float32),
            )
        )
    return out


def _family_index(family: str) -> int:
    return sorted(FAMILIES).index(family)


def fake_periods(family: str, category: str, cfg: dict, rng: np.random.Generator) -> list:
    """The manipulated segments [start, end) in seconds, on the clip's frame grid, in time order;
    [] for a real clip or a family whose fakes span the whole clip. Lengths are drawn first, then
    the real gaps between them share out the rest of the clip at random."""
    if family not in SEGMENTED or category == "A":
        return []
    fps, frames = cfg["fps"], int(round(cfg["duration_s"] * cfg["fps"]))
    gap = int(round(SEGMENT_GAP_S * fps))
    n = int(rng.integers(SEGMENTS[0], SEGMENTS[1] + 1))
    lengths = rng.integers(math.ceil(SEGMENT_S[0] * fps - 1e-9), math.floor(SEGMENT_S[1] * fps + 1e-9) + 1, n)
    while n > 1 and lengths.sum() + gap * (n + 1) > frames:  # a short clip holds fewer
        n, lengths = n - 1, lengths[:-1]
    lengths = np.minimum(lengths, max(1, frames - 2 * gap))  # and one shorter, if need be
    spare = frames - lengths.sum() - gap * (n + 1)
    cuts = np.sort(rng.integers(0, spare + 1, n))  # extra real frames before each segment, cumulated
    starts = gap * (np.arange(n) + 1) + np.concatenate([[0], np.cumsum(lengths)[:-1]]) + cuts
    return [
        (round(int(a) / fps, 4), round(int(a + n_) / fps, 4)) for a, n_ in zip(starts, lengths, strict=True)
    ]


def inside(periods, t):
    """Whether time ``t`` (seconds; scalar or array) falls in one of ``periods``."""
    t = np.asarray(t, float)
    return np.any([(t >= a) & (t < b) for a, b in periods], axis=0) if periods else np.zeros(t.shape, bool)


def render_clip(
    cfg: dict,
    family: str,
    who: Identity,
    donor: Identity,
    category: str,
    rng: np.random.Generator,
    periods: tuple = (),
    lead_s: float = 0.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Frames (T, H, W, 3) uint8 and mono audio of one clip of ``category``: :func:`render_stream`'s
    frames, all held at once."""
    frames, audio = render_stream(cfg, family, who, donor, category, rng, periods, lead_s)
    return np.stack(list(frames)), audio


def render_stream(
    cfg: dict,
    family: str,
    who: Identity,
    donor: Identity,
    category: str,
    rng: np.random.Generator,
    periods: tuple = (),
    lead_s: float = 0.0,
) -> tuple[Iterator[np.ndarray], np.ndarray]:
    """The frames of one clip of ``category``, made one at a time as they are read (a 20-s 720p clip
    is 1.7 GB held at once), and its mono audio. Every random draw happens here, before the first
    frame. With ``periods``, the manipulation is applied inside those [start, end) seconds only; with
    ``lead_s``, the clip starts with that much silence (the mouth closed), as real datasets' fakes
    often do."""
    fam = FAMILIES[family]
    _, video_fake, audio_fake = CATEGORIES[category]
    dur, fps, sr, size = cfg["duration_s"], cfg["fps"], cfg["sample_rate"], cfg["frame_size"]
    utt = speech.Utterance.sample(rng, dur)
    motion = HeadMotion.sample(rng)
    real_audio = speech.synthesize(utt, who.voice, dur, sr, rng)
    audio = (
        fake_audio(fam.audio_method, real_audio, utt, who.voice, dur, sr, rng, everywhere=bool(periods))
        if audio_fake
        else real_audio
    )
    if audio_fake and periods:  # the fake only inside the segments, 10 ms crossfades
        t, ramp = np.arange(len(real_audio)) / sr, 0.01
        mix = np.max([np.clip(np.minimum(t - a, b - t) / ramp + 0.5, 0, 1) for a, b in periods], axis=0)
        audio = (mix.astype(np.float32) * audio[: len(real_audio)] + (1 - mix) * real_audio).astype(
            np.float32
        )
    if lead_s > 0:
        real_audio, audio = (_silence_start(a, lead_s, sr) for a in (real_audio, audio))
    real_audio, audio = speech.to_pcm_grid(real_audio), speech.to_pcm_grid(audio)
    # Lips follow the true voice in real video, and the clip's own soundtrack in fake video.
    opening = speech.speech_envelope(audio if video_fake else real_audio, sr, fps)
    portrait_at = _portrait_at(fam, who, donor, video_fake, periods, fps, rng)
    n = int(round(dur * fps))

    def frames() -> Iterator[np.ndarray]:
        for i in range(n):
            portrait = portrait_at(i, float(opening[min(i, len(opening) - 1)]))
            yield view(portrait, motion, i / fps, size, who.background)

    return frames(), audio


def _portrait_at(fam: Family, who: Identity, donor: Identity, video_fake: bool, periods, fps: int, rng):
    """The portrait image of frame ``i`` with mouth opening ``o``: real, fake, or fake inside ``periods``."""
    src = identity_portrait(who.source, who.mirror, who.tint)

    def real_at(i, o):
        return draw_mouth(src.image, src, o)

    if not video_fake:
        return real_at
    fake = VideoFake(fam.video_method, src, identity_portrait(donor.source, donor.mirror, donor.tint), rng)
    if not periods:
        return fake.frame

    def portrait_at(i, o):
        return fake.frame(i, o) if inside(periods, i / fps) else real_at(i, o)

    return portrait_at


def _silence_start(audio: np.ndarray, lead_s: float, sr: int) -> np.ndarray:
    out = audio.copy()
    out[: int(round(lead_s * sr))] = 0.0
    return out


def _params_fingerprint(cfg: dict, family: str) -> str:
    keys = (
        "seed",
        "identities",
        "clips_per_category",
        "faulty_clips",
        "duration_s",
        "fps",
        "frame_size",
        "sample_rate",
    )
    shape = {"real_shape": cfg["real_shape"]} if cfg.get("real_shape") else {}  # absent: as before
    if family in SEGMENTED:  # clips of an earlier layout (one segment in 2 s) are not kept
        shape["segments"] = [cfg["segmented_duration_s"], SEGMENTS, SEGMENT_S, SEGMENT_GAP_S]
    code = fingerprints.code_fingerprint(__name__)  # clips of other generator code are not kept either
    blob = json.dumps({"family": family, **{k: cfg[k] for k in keys}, **shape, "code": code}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class ClipJob:
    """Everything needed to render one clip, so that clips can be made in parallel processes."""

    cfg: dict
    family: str
    who: Identity
    donor: Identity
    category: str
    rng_key: tuple[int, ...]
    dest: Path
    fault: str | None = None
    periods: tuple = ()  # fake segments [start, end) in seconds (segmented families)
    lead_s: float = 0.0


def rendered(job: ClipJob) -> tuple[np.ndarray, np.ndarray | None]:
    """A clip's frames and audio as they are encoded (no audio for a clip without an audio stream)."""
    frames, audio = rendered_stream(job)
    return np.stack(list(frames)), audio


def rendered_stream(job: ClipJob) -> tuple[Iterator[np.ndarray], np.ndarray | None]:
    """:func:`rendered`, its frames made one at a time."""
    rng = np.random.default_rng(list(job.rng_key))
    frames, audio = render_stream(
        job.cfg, job.family, job.who, job.donor, job.category, rng, job.periods, job.lead_s
    )
    if job.fault == "no_face":
        frames = (_stripes(job.who.background, frame.shape) for frame in frames)
    return frames, None if job.fault == "no_audio_stream" else audio


def _stripes(background: np.ndarray, shape: tuple) -> np.ndarray:
    """A frame of the background colour with every 8th row inverted: no face."""
    frame = np.broadcast_to(background.astype(np.uint8), shape).copy()
    frame[::8] = 255 - frame[::8]
    return frame


def make_clip(job: ClipJob) -> None:
    """Render, encode and write one clip (a truncated container for the ``truncated`` fault), one
    frame at a time."""
    frames, audio = rendered_stream(job)
    with atomic.atomic_path(job.dest) as tmp:
        encode_clip(
            frames,
            audio,
            job.cfg["sample_rate"],
            job.cfg["fps"],
            tmp,
            crf=FAMILIES[job.family].crf,
        )
        if job.fault == "truncated":
            tmp.write_bytes(tmp.read_bytes()[: tmp.stat().st_size // 3])


def category_counts(cfg: dict) -> dict[str, int]:
    """Clips per category: ``clips_per_category`` each, or with ``real_shape``, its ``clips`` shared
    out by ``category_share`` (largest remainders, at least one per category)."""
    shape = cfg.get("real_shape")
    if not shape:
        return dict.fromkeys(CATEGORIES, cfg["clips_per_category"])
    shares = np.asarray(shape["category_share"], float) / sum(shape["category_share"])
    exact = shares * shape["clips"]
    counts = np.maximum(np.floor(exact).astype(int), 1)
    for i in np.argsort(-(exact - np.floor(exact)), kind="stable")[: max(0, shape["clips"] - counts.sum())]:
        counts[i] += 1
    while counts.sum() > shape["clips"]:  # the ones given to tiny categories come from the largest
        counts[int(np.argmax(counts))] -= 1
    return dict(zip(CATEGORIES, (int(c) for c in counts), strict=True))


def clip_shape(cfg: dict, category: str, rng_key: tuple) -> tuple[dict, float]:
    """A clip's own duration, frame rate and frame size, and its leading silence (fakes only), drawn
    from ``real_shape`` (seeded by the clip); without it, the family's uniform settings and none."""
    shape = cfg.get("real_shape")
    if not shape:
        return cfg, 0.0
    rng = np.random.default_rng([*rng_key, 11])
    width, height = shape["sizes"][int(rng.integers(len(shape["sizes"])))]
    fps = int(shape["fps"][int(rng.integers(len(shape["fps"])))])
    duration = round(float(rng.uniform(*shape["duration_s"])), 2)
    lead = round(float(rng.uniform(*shape["fake_lead_silence_s"])), 3) if category != "A" else 0.0
    return cfg | {"duration_s": duration, "fps": fps, "frame_size": [int(width), int(height)]}, lead


def plan(out_root: str | Path, name: str, family: str, cfg: dict) -> tuple[list[ClipJob], list[list[str]]]:
    """The clips of a family and their metadata rows, in a fixed order."""
    people = identities(cfg["seed"], family, cfg["identities"])
    jobs, rows = [], []
    clip_index = 0
    for category, count in category_counts(cfg).items():
        for k in range(count):
            job, row = _planned_clip(cfg, Path(out_root), name, family, people, category, (k, clip_index))
            jobs.append(job)
            rows.append(row)
            clip_index += 1
    faulty_jobs, faulty_rows = _faulty_clips(cfg, Path(out_root), name, family, people[0])
    return jobs + faulty_jobs, rows + faulty_rows


def _planned_clip(
    cfg: dict, out_root: Path, name: str, family: str, people: list, category: str, index: tuple
):
    """Clip ``k`` of ``category`` (``index`` = (k, its index in the family)): its job and its
    row of meta_data.csv."""
    (k, clip_index), fam = index, FAMILIES[family]
    ctype, video_fake, audio_fake = CATEGORIES[category]
    rng_key = (cfg["seed"], _family_index(family), 2, clip_index)
    clip_cfg, lead = clip_shape(cfg, category, rng_key)
    if family in SEGMENTED:  # the localisation stand-in's own clip lengths, whole frames
        low, high = (round(s * cfg["fps"]) for s in cfg["segmented_duration_s"])
        frames = np.random.default_rng([*rng_key, 13]).integers(low, high + 1)
        clip_cfg = clip_cfg | {"duration_s": round(int(frames) / cfg["fps"], 4)}
    # Every category cycles through the identities in the same way, so that no identity is more
    # often fake than real: a detector cannot learn "who" instead of "what was manipulated".
    who = people[k % len(people)]
    others = [p for p in people if p.source != who.source] or [p for p in people if p is not who]
    donor = others[(k // len(people)) % len(others)]
    method = "-".join([fam.video_method] * video_fake + [fam.audio_method] * audio_fake) or "real"
    target1 = donor.name if video_fake else "-"
    stem = f"{clip_index:05d}" if category == "A" else f"{clip_index:05d}_{target1}_{method}"
    directory = f"{name}/{ctype}/{RACE}/{GENDER[who.source]}/{who.name}"
    periods = tuple(fake_periods(family, category, clip_cfg, np.random.default_rng([*rng_key, 7])))
    path = out_root / directory / f"{stem}.mp4"
    job = ClipJob(clip_cfg, family, who, donor, category, rng_key, path, periods=periods, lead_s=lead)
    row = [
        who.name,
        target1,
        "-",
        method,
        category,
        ctype,
        RACE,
        GENDER[who.source],
        f"{stem}.mp4",
        directory,
    ]
    return job, row


def _faulty_clips(cfg: dict, out_root: Path, name: str, family: str, who) -> tuple[list, list]:
    """Broken files as real datasets have them: no audio stream, no face, a truncated container."""
    ctype = CATEGORIES["A"][0]
    directory = f"{name}/{ctype}/{RACE}/{GENDER[who.source]}/{who.name}"
    jobs, rows = [], []
    for j, fault in enumerate(FAULTS[: cfg["faulty_clips"]]):
        stem = f"9{j:04d}"
        key = (cfg["seed"], _family_index(family), 3, j)
        jobs.append(ClipJob(cfg, family, who, who, "A", key, out_root / directory / f"{stem}.mp4", fault))
        rows.append(
            [who.name, "-", "-", "real", "A", ctype, RACE, GENDER[who.source], f"{stem}.mp4", directory]
        )
    return jobs, rows


def generate(out_root: str | Path, name: str, family: str, cfg: dict, workers: int = 1) -> Path:
    """Generate (or finish generating) family ``family`` under ``out_root/name``.

    Clips already on disk from an interrupted run with the same parameters and generator code are
    kept (a changed generator, even one whose parameters are the same, starts afresh); the metadata
    file is written last, so its presence means the dataset is complete. Returns its path.
    """
    if family not in FAMILIES:
        raise ValueError(f"unknown synthetic family {family!r}; choose from {sorted(FAMILIES)}")
    root = Path(out_root) / name
    stage_runner.claim(root, _params_fingerprint(cfg, family))  # clears clips made with other parameters

    jobs, rows = plan(out_root, name, family, cfg)
    todo = [j for j in jobs if not j.dest.exists()]
    log.info(
        "synth %s: %d clips, %d already on disk, %d workers", name, len(jobs), len(jobs) - len(todo), workers
    )
    started = time.monotonic()
    if workers > 1 and len(todo) > 1:
        import multiprocessing

        with multiprocessing.get_context("fork").Pool(workers) as pool:
            for done, _ in enumerate(pool.imap_unordered(make_clip, todo, chunksize=4), start=1):
                _progress(name, done, len(todo), started)
    else:
        for done, job in enumerate(todo, start=1):
            make_clip(job)
            _progress(name, done, len(todo), started)
    if family in SEGMENTED:  # LAV-DF's metadata.json, with the fake segments
        atomic.write_text(root / "metadata.json", json.dumps(lavdf_records(root, jobs), indent=1))
    buf = io.StringIO()
    buf.write(HEADER + "\n")
    csv.writer(buf, lineterminator="\n").writerows(rows)
    meta = root / "meta_data.csv"
    atomic.write_text(meta, buf.getvalue())
    return meta


def lavdf_records(root: Path, jobs: list[ClipJob]) -> list[dict]:
    """LAV-DF ``metadata.json`` records of a segmented family (every 5th clip in the official test)."""
    records, real_of = [], {}
    for i, job in enumerate(jobs):
        _, video_fake, audio_fake = CATEGORIES[job.category]
        rel = str(job.dest.relative_to(root))
        if job.category == "A" and job.fault is None:
            real_of.setdefault(job.who.name, rel)
        records.append(
            {
                "file": rel,
                "n_fakes": len(job.periods),
                "fake_periods": [list(p) for p in job.periods],
                "duration": job.cfg["duration_s"],
                "original": None if job.category == "A" else real_of.get(job.who.name),
                "modify_video": video_fake,
                "modify_audio": audio_fake,
                "split": "test" if i % 5 == 4 else "train",
                "video_frames": int(round(job.cfg["duration_s"] * job.cfg["fps"])),
                "audio_channels": 1,
                "audio_frames": int(job.cfg["duration_s"] * job.cfg["sample_rate"]),
            }
        )
    return records


def _progress(name: str, done: int, total: int, started: float) -> None:
    if done % 20 and done != total:
        return
    rate = done / max(time.monotonic() - started, 1e-9)
    eta = (total - done) / max(rate, 1e-9)
    log.info(
        "synth %s: %d/%d clips, %.1f clips/s, ETA %.0f s",
        name,
        done,
        total,
        rate,
        eta,
        extra={"progress": True},
    )
