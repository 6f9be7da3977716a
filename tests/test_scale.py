"""benchmarks/scale.py reads what each job recorded and says how each stage's cost grows."""

import importlib.util
import json

import pandas as pd
from conftest import REPO

spec = importlib.util.spec_from_file_location("scale", REPO / "benchmarks/scale.py")
scale = importlib.util.module_from_spec(spec)
spec.loader.exec_module(scale)

HEADER = "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"


def _bench(folder, rule, name, wall, rss, cpu):
    path = folder / "logs/bench" / rule / f"{name}.tsv"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(HEADER + f"{wall}\t0:00:01\t{rss}\t1\t1\t1\t0\t0\t50\t{cpu}\n")


def test_job_records_read_every_rule_and_shard(tmp_path):
    _bench(tmp_path, "faces", "d.0-of-2", 10.0, 900.0, 9.0)
    _bench(tmp_path, "faces", "d.1-of-2", 12.0, 950.0, 11.0)
    _bench(tmp_path, "train", "d/macbdf/default/seed0", 100.0, 3000.0, 190.0)
    jobs = scale.job_records(tmp_path)
    assert sorted(jobs["rule"]) == ["faces", "faces", "train"]
    assert jobs[jobs["rule"] == "faces"]["cpu_s"].sum() == 20.0 and jobs["rss_mb"].max() == 3000.0


def test_training_time_is_split_into_the_epoch_and_the_scoring(tmp_path):
    run = tmp_path / "runs/d/macbdf/default/seed0"
    run.mkdir(parents=True)
    summary = {
        "n_train": 50,
        "epochs": 1,
        "history": {"test_scoring_seconds": [5.0]},
        "seconds": {"fit": 45.0, "validation": 3.0, "test_scoring": 2.0},
    }
    (run / "train.json").write_text(json.dumps(summary))
    clip_epochs, runs, seconds = scale.train_counts(tmp_path)
    assert (clip_epochs, runs) == (50, 1) and seconds == {"epoch": 40.0, "scoring": 10.0}


def test_growth_is_one_when_cost_per_unit_and_memory_do_not_change():
    measured = pd.DataFrame(
        [
            {"N": 40, "stage": "face tracks", "video_s_per_core_s": 4.0, "peak_rss_mb": 1000.0},
            {"N": 160, "stage": "face tracks", "video_s_per_core_s": 4.0, "peak_rss_mb": 1300.0},
            {"N": 40, "stage": "training", "core_s_per_clip_epoch": 2.0, "peak_rss_mb": 3000.0},
            {"N": 160, "stage": "training", "core_s_per_clip_epoch": 3.0, "peak_rss_mb": 3000.0},
        ]
    )
    growth = scale.growth(measured).set_index("stage")
    assert growth.loc["face tracks", "cost_per_unit_N160_over_N40"] == 1.0
    assert growth.loc["face tracks", "peak_rss_N160_over_N40"] == 1.3
    assert growth.loc["training", "cost_per_unit_N160_over_N40"] == 1.5


def test_job_peaks_pair_each_job_across_sizes_and_flag_growth_and_the_limit(tmp_path):
    small, large = tmp_path / "n250", tmp_path / "n1000"
    _bench(small, "faces", "d.0", 10.0, 1000.0, 9.0)
    _bench(large, "faces", "d.0", 40.0, 1150.0, 36.0)
    _bench(small, "train", "d/aasist/default/seed0", 100.0, 5000.0, 190.0)
    _bench(large, "train", "d/aasist/default/seed0", 400.0, 6500.0, 760.0)
    _bench(large, "train", "d/mcl/default/seed0", 400.0, 3000.0, 760.0)  # no pair at N = 250
    _bench(small, "ingest", "d", 0.5, 3.0, 0.0)  # over before the first sample
    _bench(large, "ingest", "d", 1.2, 150.0, 0.4)
    peaks = scale.job_peaks({250: small, 1000: large}).set_index("job")
    jobs = ["faces/d.0", "ingest/d", "train/d/aasist/default/seed0", "train/d/mcl/default/seed0"]
    assert list(peaks.index) == jobs
    assert "first memory sample" in peaks.loc["ingest/d", "note"] and peaks.loc["faces/d.0", "note"] == ""
    assert not peaks.loc["train/d/mcl/default/seed0", "within_20pct"]
    assert peaks.loc["faces/d.0", "ratio"] == 1.15 and peaks.loc["faces/d.0", "within_20pct"]
    assert peaks.loc["faces/d.0", "under_6000_mb"]
    assert peaks.loc["train/d/aasist/default/seed0", "ratio"] == 1.3
    assert not peaks.loc["train/d/aasist/default/seed0", "within_20pct"]
    assert not peaks.loc["train/d/aasist/default/seed0", "under_6000_mb"]


def test_a_resumed_stage_counts_only_the_clips_it_processed(tmp_path):
    logs = tmp_path / "logs"
    (logs / "faces").mkdir(parents=True)
    (logs / "faces/d.0.log").write_text("... faces: 999 ok, 2 rejected, 861 reused from an earlier run\n")
    (logs / "synth").mkdir()
    (logs / "synth/d.log").write_text("synth d: 500/526 clips, 0.1 clips/s\nsynth d: 526/526 clips, 0 s\n")
    (logs / "demux").mkdir()
    (logs / "demux/d.0.log").write_text("demux: 1001 ok, 0 rejected, 0 reused from an earlier run\n")
    assert scale.processed_share(tmp_path, "faces", 1001) == round(140 / 1001, 4)
    assert scale.processed_share(tmp_path, "synth", 1003) == round(526 / 1003, 4)
    assert scale.processed_share(tmp_path, "demux", 1001) == 1.0
    assert scale.processed_share(tmp_path, "log_mel", 1001) == 1.0
