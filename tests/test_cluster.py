"""The SLURM profile (workflow/profiles/slurm), dry-run only: nothing is submitted.

Checks what each job would ask SLURM for: GPUs, GPU model, memory and runtime of the training
and evaluation jobs from params.yaml `resources`, and preprocessing spread over many shard jobs.
"""

import re
from collections import defaultdict

import pytest
import yaml
from conftest import REPO, snakemake, tiny_params

PROFILE = REPO / "workflow/profiles/slurm"


def _jobs(text: str) -> dict[str, list[dict]]:
    """rule name -> the resources of each of its jobs, from a dry run's job listing."""
    jobs = defaultdict(list)
    for block in re.split(r"\n(?=(?:local)?rule \w+:)", text):
        head = re.match(r"(?:local)?rule (\w+):", block)
        found = re.search(r"\n\s+resources: (.*)", block)
        threads = re.search(r"\n\s+threads: (\d+)", block)
        if head and found:
            res = dict(kv.split("=", 1) for kv in found.group(1).split(", "))
            jobs[head.group(1)].append(res | {"threads": threads.group(1) if threads else "1"})
    return jobs


@pytest.mark.slow
def test_slurm_profile_requests_gpus_memory_runtime_and_shards(tmp_path):
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(tiny_params()))
    cluster = yaml.safe_load((PROFILE / "params.yaml").read_text())["resources"]
    run = snakemake(
        tmp_path, "--profile", str(PROFILE), "--configfile", str(PROFILE / "params.yaml"), "-n", "all"
    )
    assert run.returncode == 0, run.stderr[-3000:]
    jobs = _jobs(run.stdout + run.stderr)
    for rule in ("train", "evaluate"):
        assert jobs[rule], f"no {rule} jobs in the dry run"
        want = cluster[rule]
        for res in jobs[rule]:
            assert int(res["mem_mb"]) == want["mem_mb"] and int(res["runtime"]) == want["runtime_min"]
            assert int(res["gpu"]) == want["gpus"] and res["gpu_model"] == want["gpu_model"]
    datasets = len(tiny_params()["datasets"])
    for stage in ("demux", "faces", "face_crops", "log_mel"):
        shards = jobs[f"{stage}_shard"]
        assert len(shards) == datasets * cluster["preprocess_shards"], stage
        for res in shards:
            assert int(res["mem_mb"]) == cluster["preprocess"]["mem_mb"] and "gpu" not in res
    profile = yaml.safe_load((PROFILE / "config.yaml").read_text())
    assert profile["executor"] == "slurm"


@pytest.mark.slow
def test_synthesis_asks_for_its_workers_not_every_core(tmp_path):
    """A cluster job asks SLURM for its threads as CPUs, and one that asks for more than any node
    has waits forever (PartitionConfig): synthesis asks for resources.synth_workers, however many
    cores the run may use."""
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(tiny_params()))
    run = snakemake(tmp_path, "--cores", "64", "-n", "synth_all")
    assert run.returncode == 0, run.stderr[-3000:]
    threads = {int(res["threads"]) for res in _jobs(run.stdout + run.stderr)["synth"]}
    assert threads == {tiny_params()["resources"]["synth_workers"]}
