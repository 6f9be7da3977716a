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
