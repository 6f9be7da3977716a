"""Code that runs where its inputs are (issue 30, item 1), proven on the CPU.

With ``torch.set_default_device("meta")`` while the model and the data stay on the CPU, any tensor a
step, loss, model or optimiser makes without ``device=`` lands on ``meta`` and mixing it with the
CPU tensors fails, exactly as a CPU tensor made inside a CUDA step fails there (MACB-DF's MACL did:
``torch.eye(b)`` and ``torch.tensor(tau0)``). The memory layout is chosen per module kind
(avdf.learning.placement), which ``Module.to(channels_last)`` could not do for MACB-DF's rank-5 weights."""

from __future__ import annotations

import contextlib
import os

import pytest
import torch
from conftest import GPU, needs_gpu

from avdf.contracts import methods
from avdf.contracts.config import profile_params
from avdf.contracts.specs import InputSpec, ModelSpec, Run, TrainSpec
from avdf.learning import model_sizes, models, placement
from avdf.learning.train import make_optimizer, make_step
from avdf.reporting import studies

PARAMS = profile_params(None)


@contextlib.contextmanager
def default_device_meta():
    torch.set_default_device("meta")
    try:
        yield
    finally:
        torch.set_default_device("cpu")


def _cases() -> list[tuple[str, str]]:
    """Every method on its default run, and MACB-DF under every objective and ablation studied."""
    studied = methods.studied()
    variants = {v for s in ("contrastive", "table2", "fig67") for v in PARAMS["studies"][s]["variants"]}
    trained = list(dict.fromkeys(PARAMS["train"]["methods"] + methods.localising()))
    return [(m, "default") for m in trained] + [(studied, v) for v in sorted(variants - {"default"})]


@pytest.mark.parametrize(("method", "variant"), _cases())
def test_a_training_step_and_scoring_make_no_tensor_on_the_default_device(method, variant):
    params = studies.apply_variant(PARAMS, variant)
    spec = InputSpec.of(params)
    train = TrainSpec.of(params, Run("meta", method, variant, 0), "meta", False)
    model = models.build(method, spec.n_mels, ModelSpec.of(params), train.method)
    step, trainable = make_step(train, model)
    opt = make_optimizer(trainable, 1e-4, 0.0)
    batch = model_sizes.one_batch(params, method=method)
    step(batch, opt)  # a first step on the CPU: lazy state (queues, temperatures) is made here
    with default_device_meta():
        step(batch, opt)
        step(batch, opt)  # the negative queues are full from here on
        model.eval()
        with torch.inference_mode():
            out = model(batch)
    assert out["logit"].device.type == "cpu" and torch.isfinite(out["logit"]).all()


def test_the_meta_check_catches_a_tensor_made_without_device():
    """The check above can fail: the very construction MACL used fails it."""
    z = torch.randn(4, 8)
    with default_device_meta(), pytest.raises(RuntimeError):
        _ = (z @ z.T) * ~torch.eye(4, dtype=torch.bool)


@pytest.mark.slow
@pytest.mark.parametrize("method", PARAMS["train"]["methods"])
def test_memory_format_is_chosen_per_module_kind_at_the_paper_profile(method):
    """Rank-4 kernels channels-last, rank-5 kernels channels-last-3d, in every method at the paper
    profile's sizes; the outputs are those of the contiguous model."""
    params = profile_params("paper")
    spec = InputSpec.of(params)
    train = TrainSpec.of(params, Run("fmt", method, "default", 0), "fmt", False)
    torch.manual_seed(0)
    model = models.build(method, spec.n_mels, ModelSpec.of(params), train.method).eval()
    batch = model_sizes.one_batch(params)
    with torch.inference_mode():
        before = model(batch)["logit"]
        ranks = {m.weight.ndim for m in model.modules() if isinstance(m, placement.CONVOLUTIONS)}
        placement.memory_format(model)
        after = model(batch)["logit"]
    found = placement.layouts(model)
    assert set(found) == {
        str(placement.FORMATS[r]).removeprefix("torch.") for r in ranks & set(placement.FORMATS)
    }, found
    assert (method == "macbdf") == ("channels_last_3d" in found)  # MACB-DF's 3-D depthwise blocks
    torch.testing.assert_close(after, before, rtol=1e-4, atol=1e-4)


@pytest.mark.gpu
@needs_gpu
@pytest.mark.parametrize(("method", "variant"), _cases())
def test_a_training_step_and_scoring_run_on_gpu(method, variant):
    """The same steps on a GPU, placed as training places them (bf16 autocast as train.bf16)."""
    from avdf.learning.distributed import to_device

    params = studies.apply_variant(PARAMS, variant)
    model, step, opt = _on_gpu(params, method, variant)
    batch = to_device(model_sizes.one_batch(params, method=method), GPU)
    for _ in range(3):
        logits, loss, _ = step(batch, opt)
    model.eval()
    with torch.inference_mode():
        out = model(batch)
    assert logits.device.type == out["logit"].device.type == GPU.type
    assert torch.isfinite(out["logit"]).all() and loss == loss


def _on_gpu(params: dict, method: str, variant: str = "default"):
    """The run's model placed on the GPU as training places it, its step (bf16 autocast as
    train.bf16) and optimiser."""
    from avdf.learning.distributed import Context
    from avdf.learning.train import accelerator

    train = TrainSpec.of(params, Run("cuda", method, variant, 0), "cuda", False)
    ctx = Context(device=GPU)
    model = models.build(method, train.input.n_mels, train.model, train.method)
    model = placement.place(model, ctx.device, train.optim.channels_last)
    step, trainable = make_step(train, model, ctx, accelerator(train.optim, ctx))
    return model, step, make_optimizer(trainable, 1e-4, 0.0, method)


PAPER_METHODS = list(methods.METHODS)  # every registered method


@pytest.mark.gpu
@needs_gpu
@pytest.mark.parametrize("method", PAPER_METHODS)
def test_every_method_trains_and_scores_on_cuda_at_the_paper_profile(method):
    """Issue 30, item 1: at the paper profile's sizes, placed as training places the model, bf16
    autocast as train.bf16; a few steps, then its windows scored as evaluation scores them."""
    from avdf.learning import scoring
    from avdf.learning.distributed import to_device

    params = profile_params("paper")
    model, step, opt = _on_gpu(params, method)
    batch = model_sizes.one_batch(params, 4, method)
    for _ in range(3):
        logits, loss, _ = step(to_device(batch, GPU), opt)
    out = scoring.window_outputs(model.eval(), batch)
    assert logits.device.type == GPU.type and loss == loss
    assert out["logit"].shape == (4,) and torch.isfinite(out["logit"]).all()


@pytest.mark.gpu
@needs_gpu
@pytest.mark.parametrize("method", PAPER_METHODS)
def test_predict_scores_a_video_on_cuda_as_on_the_cpu(method, request, tmp_path):
    """``avdf predict --device cuda`` at the paper profile: the scores of the CPU within 1e-3. The
    clip is ``$AVDF_GPU_CLIP`` where set (benchmarks/gpu_deps.sh renders it ahead for a GPU node
    without the renderer's packages), else the tests' own face clip."""
    from avdf.evaluation import predict
    from avdf.learning import train as training

    face_clip = os.environ.get("AVDF_GPU_CLIP") or request.getfixturevalue("face_clip")

    params = profile_params("paper")
    spec = TrainSpec.of(params, Run("cuda", method, "default", 0), "cuda", False)
    torch.manual_seed(0)
    model = models.build(method, spec.input.n_mels, spec.model, spec.method).eval()
    training.save_checkpoint(model, spec, (0.0, 1.0), {"val_threshold": 0.5}, tmp_path / "model.pt")
    model, ckpt = predict.load(str(tmp_path / "model.pt"), None)
    on_cpu = predict.predict([str(face_clip)], model, ckpt, device="cpu")[0]
    on_gpu = predict.predict([str(face_clip)], model, ckpt, device=GPU.type)[0]
    assert "error" not in on_gpu, on_gpu
    assert on_gpu["prob_fake"] == pytest.approx(on_cpu["prob_fake"], abs=1e-3)
    assert [w["prob_fake"] for w in on_gpu["windows"]] == pytest.approx(
        [w["prob_fake"] for w in on_cpu["windows"]], abs=1e-3
    )


@pytest.mark.slow
def test_a_rehearsal_runs_the_gpu_tests_on_the_cpu_instead_of_skipping_them():
    """``AVDF_GPU_TESTS_ON=cpu`` (``DEVICE=cpu bash benchmarks/gpu_check.sh``, the check rehearsed
    where no GPU is) runs a `gpu` test on the CPU; without it, on a machine without CUDA, it is skipped."""
    import subprocess
    import sys

    from conftest import REPO

    test = "tests/test_windows.py::test_crops_sent_as_jpeg_decode_on_the_gpu_within_a_level_of_the_workers"
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-m", "gpu", test]
    rehearsed = subprocess.run(
        command, cwd=REPO, env={**os.environ, "AVDF_GPU_TESTS_ON": "cpu"}, capture_output=True, text=True
    )
    assert rehearsed.returncode == 0 and "1 passed" in rehearsed.stdout, rehearsed.stdout[-2000:]
    if not torch.cuda.is_available():
        plain = subprocess.run(
            command,
            cwd=REPO,
            env={k: v for k, v in os.environ.items() if k != "AVDF_GPU_TESTS_ON"},
            capture_output=True,
            text=True,
        )
        assert "1 skipped" in plain.stdout, plain.stdout[-2000:]
