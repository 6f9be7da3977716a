"""Every method builds at the paper profile's sizes and takes one optimisation step on a small
batch of 224-px crops on CPU, so a shape error at real sizes cannot land (issue 16, item 7)."""

import pytest
import torch

from avdf.contracts import methods
from avdf.contracts.config import profile_params
from avdf.learning import model_sizes, train

PAPER = profile_params("paper")
pytestmark = pytest.mark.slow  # about 25 s on 2 cores: make test, not make test-fast


@pytest.mark.parametrize("method", methods.METHODS)
def test_one_step_at_the_paper_profile_sizes(method):
    torch.manual_seed(0)
    spec = model_sizes.train_spec(PAPER, method)
    model = model_sizes.build(PAPER, method)
    step, trainable = train.make_step(spec, model)
    opt = train.make_optimizer(trainable, spec.optim.lr, spec.optim.weight_decay)
    before = [p.detach().clone() for p in trainable]
    batch = model_sizes.one_batch(PAPER, method=method)  # the localiser's own window
    side = 224 // methods.reads(method, methods.section(method, PAPER)).crop_scale  # the localiser: 56
    assert batch["video"].shape[-1] == side and batch["video"].shape[1] == spec.input.frames
    logit, loss, _ = step(batch, opt)
    assert logit.shape == (2,) and torch.isfinite(torch.tensor(loss))
    assert any(not torch.equal(a, b) for a, b in zip(before, trainable, strict=True))  # it learned
    if hasattr(getattr(model, "video", None), "grid"):
        assert model.video.grid == 7  # 224 px crops, patch 32
