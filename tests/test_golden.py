"""The embedded synthetic data are the same on this machine as when tests/golden/synthetic.json was
recorded: a sample of clips (the first of each category of every family) is regenerated and its
rendered and decoded frames and audio are hashed (avdf.data.golden)."""

import json

import pytest
import yaml
from conftest import REPO

from avdf.data import golden

GOLDEN = json.loads((REPO / "tests" / "golden" / "synthetic.json").read_text())


def test_the_golden_file_covers_every_clip_of_the_default_configuration():
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    assert GOLDEN["synth"] == params["synth"]
    n = sum(1 for spec in params["datasets"].values() if spec["source"] == "synthetic")
    per_family = 4 * params["synth"]["clips_per_category"] + params["synth"]["faulty_clips"]
    assert len(GOLDEN["clips"]) == n * per_family


@pytest.mark.slow
def test_a_sample_of_clips_regenerates_with_the_golden_hashes():
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    found = {}
    for name, spec in params["datasets"].items():
        jobs = list(golden.family_jobs(name, spec["family"], params["synth"]).items())
        per_category = params["synth"]["clips_per_category"]
        for clip, job in (
            jobs[::per_category][::3] + jobs[-params["synth"]["faulty_clips"] :]
        ):  # RVRA, FVFA, faults
            found[clip] = golden.clip_digest(job)
    assert golden.differences(GOLDEN["clips"], found) == []


def test_a_difference_names_the_clip_and_the_part():
    clip, digest = next(iter(GOLDEN["clips"].items()))
    assert golden.differences(GOLDEN["clips"], {clip: digest | {"decoded_audio": "0"}}) == [
        f"{clip}: decoded_audio differs"
    ]
