"""``avdf doctor`` prints one line a part and exits non-zero when a needed part is unfit, naming it."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import yaml
from conftest import REPO

from avdf import doctor


def _doctor(**env) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "avdf", "doctor"], capture_output=True, text=True, env=dict(os.environ, **env)
    )


def _fake_ffmpeg(tmp_path, banner):
    exe = tmp_path / "ffmpeg"
    exe.write_text(f"#!/bin/sh\necho '{banner}'\n")
    exe.chmod(0o755)
    return str(exe)


@pytest.mark.slow
def test_a_fit_machine_passes_with_one_line_a_part():
    out = _doctor()
    assert out.returncode == 0, out.stdout + out.stderr
    parts = [line.split()[1] for line in out.stdout.splitlines()]
    assert parts == ["python", "pytorch", "cuda", "ffmpeg", "cpu", "disk", "mlflow", "snakemake", "chromium"]
    assert "FAIL" not in out.stdout


@pytest.mark.slow
def test_a_missing_ffmpeg_fails_naming_it(tmp_path):
    out = _doctor(AVDF_FFMPEG=str(tmp_path / "no-such-ffmpeg"))
    assert out.returncode == 1
    assert f"FAIL ffmpeg               cannot run ffmpeg at {tmp_path}/no-such-ffmpeg" in out.stdout


@pytest.mark.slow
def test_a_too_old_ffmpeg_fails_naming_its_version_and_the_minimum(tmp_path):
    out = _doctor(AVDF_FFMPEG=_fake_ffmpeg(tmp_path, "ffmpeg version 3.4.11-0ubuntu0.1 Copyright"))
    assert out.returncode == 1
    assert (
        "FAIL ffmpeg" in out.stdout
        and "ffmpeg 3.4 at" in out.stdout
        and "needs ffmpeg 4.2 or newer" in out.stdout
    )


def test_a_pipeline_command_refuses_a_too_old_ffmpeg_at_start(tmp_path):
    exe = _fake_ffmpeg(tmp_path, "ffmpeg version 4.1.6 Copyright")
    out = subprocess.run(
        [sys.executable, "-m", "avdf", "demux", "--spec", "{}", "--dataset", "x"],
        capture_output=True,
        text=True,
        env=dict(os.environ, AVDF_FFMPEG=exe),
    )
    assert out.returncode == 2 and "avdf demux: ffmpeg 4.1 at" in out.stderr and "too old" in out.stderr


def test_the_disk_projection_counts_every_configured_dataset():
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    embedded, unknown = doctor.projected_cache_gb(params)
    assert embedded > 0 and unknown == []
    params["datasets"]["fakeavceleb"] = {"source": "fakeavceleb", "paper_name": "FakeAVCeleb"}
    params["datasets"]["mine"] = {"source": "csv", "paper_name": "Mine"}
    with_real, unknown = doctor.projected_cache_gb(params)
    assert with_real > embedded + 10 and unknown == ["mine"]  # FakeAVCeleb's caches: about 15 GB
