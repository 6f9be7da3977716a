"""The embedded synthetic data are the same on this machine as when tests/golden/synthetic.json was
recorded: a sample of clips (the first of each category of every family) is regenerated and its
rendered and decoded frames and audio are hashed (avdf.synthetic.golden)."""

import json

import pytest
import yaml
from conftest import REPO

from avdf.synthetic import golden

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


@pytest.mark.slow
def test_the_fake_audio_sample_renders_the_same_under_every_instruction_set_setting():
    """Each setting of numerics.emulated_cpus makes PyTorch, MKL, OpenBLAS or NumPy take another
    CPU's code path on this one; the generator must render the same bits under each (issue 31: the
    Griffin-Lim vocoder, then on MKL's FFT, rendered other audio on an Intel AVX-512 CPU)."""
    import os
    import subprocess
    import sys

    from avdf.contracts import numerics

    command = [sys.executable, "-m", "avdf.synthetic.golden", str(REPO / "params.yaml")]
    found = {}
    for name, switches in numerics.emulated_cpus().items():
        out = subprocess.run(command, capture_output=True, text=True, env=dict(os.environ, **switches))
        assert out.returncode == 0, (name, out.stderr[-2000:])
        found[name] = json.loads(out.stdout)
    assert len(found) >= 6
    for name, digests in found.items():
        for clip, digest in digests.items():
            want = {part: GOLDEN["clips"][clip][part] for part in digest}
            assert digest == want, f"{name}: {clip} renders otherwise"


def test_the_generator_computes_without_pytorch_or_mkl():
    """Synthesis stays outside numerics.cpu_isa's reach by importing neither PyTorch nor torchaudio
    (whose MKL FFT was what moved between CPUs), in a fresh interpreter."""
    import subprocess
    import sys

    code = (
        "import sys; import avdf.synthetic.generator, avdf.synthetic.golden; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'torchaudio')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
