"""Data-parallel training (avdf.learning.distributed): 2 processes on CPU with gloo against 1 process with
the same global batch. Stated tolerance: losses, logits, parameters and the negative queues
within 1e-4 (relative and absolute) after 3 steps, dropout off (its masks are other random draws).

The steps use SGD: Adam divides each gradient by its running magnitude, which turns the rounding
noise of parameters whose true gradient is zero (a bias followed by BatchNorm, the key bias of
attention) into full-size updates, in one process as in two; the losses still agree there.
"""

import copy
import os
import socket
import subprocess
import sys

import ddp_resume
import numpy as np
import pytest
import torch
from conftest import train_spec

from avdf.contracts.config import REPO_ROOT
from avdf.contracts.specs import ModelSpec
from avdf.learning import distributed, models
from avdf.learning.train import make_step

STEPS, GLOBAL_BATCH = 3, ddp_resume.BATCH


def _params(om_pareto: bool) -> dict:
    params = ddp_resume.params()
    params["macbdf"]["om_pareto"] = om_pareto
    return params


def _batches() -> list[dict]:
    return ddp_resume.batches(STEPS)


def _train(rank: int, world: int, port: int, params: dict, out: str) -> None:
    """STEPS steps of MACB-DF on this process's slice of each global batch."""
    if world > 1:
        os.environ.update(
            MASTER_ADDR="127.0.0.1",
            MASTER_PORT=str(port),
            RANK=str(rank),
            WORLD_SIZE=str(world),
            LOCAL_RANK=str(rank),
        )
    ctx = distributed.setup("cpu")
    torch.manual_seed(0)
    torch.set_num_threads(1)
    model = models.build("macbdf", 64, ModelSpec.of(params), params["macbdf"])
    if ctx.active:  # the encoders see one slice each; the head sees the gathered global batch
        for encoder in model.encoders().values():
            distributed.sync_batchnorm(encoder, ctx.device)
    step, trainable = make_step(train_spec(params), model, ctx)
    opt = torch.optim.SGD(trainable, lr=0.05)
    part = GLOBAL_BATCH // world
    losses, logits = [], []
    for batch in _batches():
        local = {k: v[rank * part : (rank + 1) * part] for k, v in batch.items()}
        logit, loss, _ = step(local, opt)
        losses.append(loss)
        logits.append(logit)
    if ctx.main:
        state = {"losses": losses, "logits": logits, "model": model.state_dict()}
        state["buffers"] = {n: b.clone() for n, b in step.objective.named_buffers()}
        torch.save(state, out)
    distributed.teardown(ctx)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
@pytest.mark.parametrize("om_pareto", [True, False])
def test_two_processes_match_one_with_the_same_global_batch(tmp_path, om_pareto):
    params = _params(om_pareto)
    _train(0, 1, 0, copy.deepcopy(params), str(tmp_path / "one.pt"))
    torch.multiprocessing.spawn(_train, args=(2, _free_port(), params, str(tmp_path / "two.pt")), nprocs=2)
    one, two = torch.load(tmp_path / "one.pt"), torch.load(tmp_path / "two.pt")
    np.testing.assert_allclose(two["losses"], one["losses"], rtol=1e-4)
    for a, b in zip(one["logits"], two["logits"], strict=True):
        torch.testing.assert_close(b, a, rtol=1e-4, atol=1e-4)
    assert one["model"].keys() == two["model"].keys()
    for k, v in one["model"].items():
        torch.testing.assert_close(two["model"][k].float(), v.float(), rtol=1e-4, atol=1e-4, msg=k)
    assert one["buffers"].keys() == two["buffers"].keys() and one["buffers"]  # the negative queues
    for k, v in one["buffers"].items():
        torch.testing.assert_close(two["buffers"][k].float(), v.float(), rtol=1e-4, atol=1e-4, msg=k)


def test_rank_slices_cut_the_one_process_batches():
    batches = torch.utils.data.BatchSampler(range(12), 4, drop_last=True)
    slices = [list(distributed.RankSlices(batches, distributed.Context(rank, 2))) for rank in range(2)]
    assert [a + b for a, b in zip(*slices, strict=True)] == list(batches)
    with pytest.raises(ValueError, match="not divisible"):
        distributed.RankSlices(
            torch.utils.data.BatchSampler(range(12), 3, drop_last=True), distributed.Context(0, 2)
        )


def _torchrun(device: str, out, stop: int) -> dict:
    """tests/ddp_resume.py as one process under torchrun, trained until epoch ``stop``."""
    out.mkdir(exist_ok=True)
    launch = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "1"]
    run = subprocess.run(
        [*launch, str(REPO_ROOT / "tests/ddp_resume.py"), device, str(out), str(stop)],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    return torch.load(out / f"model_{stop}.pt")


def _whole_and_resumed(tmp_path, device: str) -> tuple[dict, dict]:
    """A run of every epoch, and one stopped after its first epoch (as if killed) then resumed."""
    whole = _torchrun(device, tmp_path / "whole", ddp_resume.EPOCHS)
    _torchrun(device, tmp_path / "killed", 1)
    return whole, _torchrun(device, tmp_path / "killed", ddp_resume.EPOCHS)


@pytest.mark.slow
def test_torchrun_one_process_trains_data_parallel_on_gloo_and_resumes_to_the_same_model(tmp_path):
    """``torchrun --nproc_per_node 1`` joins a process group (the path a GPU runs with NCCL):
    trained, saved after an epoch, stopped and resumed, it ends bit-identical to a whole run."""
    whole, resumed = _whole_and_resumed(tmp_path, "cpu")
    assert whole["backend"] == resumed["backend"] == "gloo"
    assert resumed["losses"] == whole["losses"] and len(whole["losses"]) == 6
    assert whole["state"].keys() == resumed["state"].keys()
    assert all(torch.equal(whole["state"][k], resumed["state"][k]) for k in whole["state"])


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_torchrun_one_process_trains_on_nccl_checkpoints_and_resumes(tmp_path):
    """Issue 30, item 6: the same on a GPU with NCCL; within 1e-4 (cuDNN's backward passes may sum
    in another order from one run to the next)."""
    whole, resumed = _whole_and_resumed(tmp_path, "cuda")
    assert whole["backend"] == resumed["backend"] == "nccl"
    np.testing.assert_allclose(resumed["losses"], whole["losses"], rtol=1e-4, atol=1e-5)
    for k, v in whole["state"].items():
        torch.testing.assert_close(resumed["state"][k].float(), v.float(), rtol=1e-4, atol=1e-4, msg=k)
