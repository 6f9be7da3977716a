"""The scale rehearsal profile (workflow/profiles/rehearsal), dry-run only: the paper profile's
settings on real-shaped synthetic clips, one seed, one epoch. The full rehearsal is a benchmark."""

import pytest
import yaml
from conftest import REPO, snakemake

from avdf.contracts.config import profile_params

PROFILE = REPO / "workflow/profiles/rehearsal"


def test_the_rehearsal_keeps_the_paper_settings_on_real_shaped_clips():
    paper, rehearsal = profile_params("paper"), profile_params("rehearsal")
    for section in ("input", "faces", "log_mel", "model", "macbdf", "baselines", "media"):
        assert rehearsal[section] == paper[section], section
    assert rehearsal["train"]["seeds"] == [0] and rehearsal["train"]["epochs"] == 1
    assert {k for k, v in rehearsal["datasets"].items() if v.get("enabled", True)} == {"synth_rehearsal"}
    assert "synthetic" in rehearsal["data_label"] and rehearsal["synth"]["real_shape"]["clips"] == 1000


@pytest.mark.slow
def test_the_rehearsal_dry_runs_table1(tmp_path):
    (tmp_path / "params.yaml").write_text((REPO / "params.yaml").read_text())
    files = yaml.safe_load((PROFILE / "config.yaml").read_text())["configfile"]
    run = snakemake(
        tmp_path, "--profile", str(PROFILE), "--configfile", *(str(REPO / f) for f in files), "-n", "-p",
        "results/table1.csv",
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    out = run.stdout + run.stderr
    assert out.count("rule train:") == 6  # six methods, one seed, one dataset
    assert '"crop_size": 224' in out and '"window_s": 4.0' in out and '"epochs": 1' in out
    assert "synth_rehearsal" in out
