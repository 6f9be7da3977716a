"""Shared fixtures and helpers: tiny synthetic clips made by avdf's own generator, the stages'
specs at test sizes, and the tiny workflow configuration."""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from avdf.contracts.specs import CropSpec, DemuxSpec, FacesSpec, LogMelSpec, Run, TrainSpec
from avdf.media.faces import FaceTracker
from avdf.media.ffmpeg import encode_clip
from avdf.stages import demux, face_crops, face_tracks, log_mel
from avdf.synthetic import generator as synthetic

REPO = Path(__file__).resolve().parents[1]

# Where the `gpu` tests run: on CUDA, skipped where there is none. AVDF_GPU_TESTS_ON=cpu runs them on
# the CPU instead: a rehearsal of the GPU check where no GPU is (DEVICE=cpu bash
# benchmarks/gpu_check.sh; docs/gpu.md), which proves their code and the node's packages, not CUDA.
GPU = torch.device(os.environ.get("AVDF_GPU_TESTS_ON", "cuda"))
needs_gpu = pytest.mark.skipif(GPU.type == "cuda" and not torch.cuda.is_available(), reason="no CUDA device")


@pytest.fixture(scope="session")
def params() -> dict:
    return yaml.safe_load((REPO / "params.yaml").read_text())


@pytest.fixture(scope="session")
def tiny_synth_cfg(params) -> dict:
    cfg = copy.deepcopy(params["synth"])
    cfg.update(identities=3, clips_per_category=1, faulty_clips=0, duration_s=1.0)
    return cfg


@pytest.fixture(scope="session")
def face_clip(tmp_path_factory, tiny_synth_cfg) -> Path:
    """A real-video, real-audio clip (1 s, 160x160, a real face)."""
    people = synthetic.identities(0, "dfdc", 3)
    frames, audio = synthetic.render_clip(
        tiny_synth_cfg, "dfdc", people[0], people[1], "A", np.random.default_rng(0)
    )
    dest = tmp_path_factory.mktemp("clips") / "face (A) clip.mp4"
    encode_clip(frames, audio, 16000, 25, dest)
    return dest


@pytest.fixture(scope="session")
def bad_clips(tmp_path_factory, tiny_synth_cfg) -> dict[str, Path]:
    """One clip for each kind of bad input: no audio stream, no face, a corrupt container, empty."""
    people = synthetic.identities(0, "dfdc", 3)
    frames, audio = synthetic.render_clip(
        tiny_synth_cfg, "dfdc", people[0], people[1], "A", np.random.default_rng(1)
    )
    root = tmp_path_factory.mktemp("bad")
    out = {
        "no_audio": root / "no_audio.mp4",
        "no_face": root / "no_face.mp4",
        "corrupt": root / "corrupt.mp4",
        "empty": root / "empty.mp4",
    }
    encode_clip(frames, None, 16000, 25, out["no_audio"])
    stripes = np.zeros_like(frames)
    stripes[:, ::8] = 200
    encode_clip(stripes, audio, 16000, 25, out["no_face"])
    encode_clip(frames, audio, 16000, 25, out["corrupt"])
    out["corrupt"].write_bytes(out["corrupt"].read_bytes()[:2000])
    out["empty"].write_bytes(b"")
    return out


# Specs of the preprocessing stages at test sizes (avdf.contracts.specs): 32-pixel crops, the tracker as
# params.yaml sets it but without scaling frames down for detection.
FACES = FacesSpec(
    keyframe_interval=10,
    min_face_size=30,
    detect_threshold=0.9,
    crop_size=32,
    margin=0.2,
    batch_size=8,
    detect_max_side=320,
    detect_min_face=20,
    track_policy="persistent",
    scene_cut_threshold=30.0,
    crop_quality=90,
)
LOG_MEL = LogMelSpec(n_fft=400, win_length=400, hop_length=160, n_mels=64, f_min=20.0, f_max=8000.0)


def demux_spec(trim_silence: bool = False) -> DemuxSpec:
    return DemuxSpec(fps=25, sample_rate=16000, trim_silence=trim_silence)


def tracker(**changes) -> FaceTracker:
    """A face tracker that detects at full resolution (no scale-down) every 5th frame with a 0.95
    threshold, with ``changes`` to that."""
    base = {"detect_max_side": 4096, "detect_threshold": 0.95, "batch_size": 16, "keyframe_interval": 5}
    return FaceTracker(dataclasses.replace(FACES, **(base | changes)))


def run_stages(manifest_csv: Path, work: Path, trim_silence: bool = False, faces: FacesSpec = FACES) -> dict:
    """Every preprocessing stage over a manifest into ``work/<stage>/``; the stage index paths."""
    d = {s: str(work / s) for s in ("demux", "faces", "crops", "mel")}
    idx = {s: f"{d[s]}/index.csv" for s in d}
    demux.run(str(manifest_csv), d["demux"], idx["demux"], demux_spec(trim_silence))
    face_tracks.run(idx["demux"], d["demux"], d["faces"], idx["faces"], faces)
    crop = CropSpec(faces.crop_size, faces.margin, faces.crop_quality, 4.0)  # 4 per second: (1 s, 4 frames)
    face_crops.run(idx["faces"], d["demux"], d["faces"], d["crops"], idx["crops"], crop)
    log_mel.run(idx["demux"], d["demux"], d["mel"], idx["mel"], 16000, LOG_MEL)
    return idx


def snakemake(workdir: Path, *args: str) -> subprocess.CompletedProcess:
    """The workflow of this checkout, run in ``workdir`` (its params.yaml) by this environment."""
    return subprocess.run(_snakemake_command(workdir, args), capture_output=True, text=True, env=_env())


def _snakemake_command(workdir: Path, args) -> list[str]:
    snakefile = str(REPO / "Snakefile")
    return [sys.executable, "-m", "snakemake", "-s", snakefile, "--directory", str(workdir), *args]


def _env() -> dict:
    return dict(os.environ, PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}")


DATASETS = ["synth_defakeavmit", "synth_dfdc"]


def tiny_params() -> dict:
    """params.yaml shrunk to run the whole workflow in minutes: 3 datasets of 1 s clips, 3 methods,
    2 seeds for Tables 1 and 3 and one for the other studies (as the embedded default), 2 epochs,
    and every study on one dataset."""
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    params["datasets"] = {d: params["datasets"][d] for d in [*DATASETS, "synth_lavdf"]}
    params["synth"].update(identities=3, clips_per_category=3, faulty_clips=3, duration_s=1.0)
    params["synth"].update(segmented_duration_s=[2.0, 3.0])
    params["localiser"].update(epochs=2)
    params["input"].update(window_s=1.0)
    params["train"].update(epochs=2, batch_size=4, methods=["aasist", "mcl", "macbdf"], seeds=[0, 1])
    params["train"].update(study_seeds=[0], checkpoint_every_s=0)  # progress.pt after each epoch
    params["model"].update(dim=32, depth=1)
    params["studies"].update(
        table2={"datasets": ["DFDC"], "variants": ["no_contrastive", "default"]},
        fig5={"datasets": ["DFDC"], "variants": ["depth0", "depth2"]},
        fig67={"datasets": ["DFDC"], "variants": ["default", "no_om_pareto"]},
        contrastive={"datasets": ["DFDC"], "variants": ["default", "siglip"]},
        fig4={"dataset": "DFDC", "variants": ["default", "no_contrastive"]},
    )
    return params


def train_spec(params: dict, method: str = "macbdf", test_every_epoch: bool = False) -> TrainSpec:
    """The TrainSpec of a run of ``method`` on a dataset called "synth_dfdc", seed 0, with ``params``."""
    return TrainSpec.of(params, Run("synth_dfdc", method, "default", 0), "test", test_every_epoch)


NEEDS_WORKFLOW = pytest.StashKey[bool]()


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config, items):
    """The tests that read the tiny workflow run last, so that the workflow runs in the background
    while the others run (:func:`tiny_workflow_started`); their own order is kept."""
    needs = [item for item in items if "workflow" in getattr(item, "fixturenames", ())]
    config.stash[NEEDS_WORKFLOW] = bool(needs)
    later = set(map(id, needs))
    items[:] = [item for item in items if id(item) not in later] + needs


@pytest.fixture(scope="session", autouse=True)
def tiny_workflow_started(request, tmp_path_factory):
    """With the session, when a selected test needs it: the whole tiny workflow (every table and
    figure) started in the background, in its own folder; stopped at the end if still running."""
    if not request.config.stash.get(NEEDS_WORKFLOW, False):
        yield None
        return
    workdir = tmp_path_factory.mktemp("workflow")
    (workdir / "params.yaml").write_text(yaml.safe_dump(tiny_params()))
    log = workdir.parent / "workflow.log"
    with open(log, "w") as out:
        command = _snakemake_command(workdir, ["--cores", "2", "all"])
        proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=_env())
        yield workdir, proc, log
        if proc.poll() is None:
            proc.terminate()
            proc.wait(60)


@pytest.fixture(scope="session")
def workflow(tiny_workflow_started):
    """The whole tiny workflow's folder, once it has finished (run once for the session)."""
    workdir, proc, log = tiny_workflow_started
    assert proc.wait() == 0, log.read_text()[-3000:]
    return workdir


@contextlib.contextmanager
def mlflow_server(store: Path, artifacts: Path):
    """``mlflow server`` on 127.0.0.1 (a free port) over the SQLite store ``store``, serving
    artifacts from ``artifacts``; its URL, once it answers /health. Stopped on exit."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    cmd = [str(Path(sys.executable).parent / "mlflow"), "server", "--host", "127.0.0.1", "--port", str(port)]
    cmd += ["--backend-store-uri", f"sqlite:///{store}", "--artifacts-destination", str(artifacts)]
    log = open(store.with_suffix(".server.log"), "w")
    server = subprocess.Popen([*cmd, "--workers", "1"], stdout=log, stderr=subprocess.STDOUT)
    try:
        for _ in range(240):
            with contextlib.suppress(OSError):
                if urllib.request.urlopen(f"{url}/health", timeout=2).read() == b"OK":
                    break
            assert server.poll() is None, f"mlflow server exited; see {log.name}"
            time.sleep(0.5)
        else:
            raise AssertionError(f"mlflow server did not answer on {url}; see {log.name}")
        yield url
    finally:
        server.terminate()
        server.wait(30)
        log.close()
