"""``train.compile`` (issue 30, item 2): a step whose forward passes run under ``torch.compile``
(and so their backward passes) computes what the eager step, the reference, computes.

Dropout is off: Inductor draws its masks otherwise than eager does (``nn.Dropout``'s ``bernoulli_``
on a CPU becomes a compare of uniform numbers), so the same seed drops other elements. Plain SGD
applies the gradients as they are (Adam's first update is the sign of each gradient, which a
rounding flips where a gradient is about 0)."""

from __future__ import annotations

import pytest
import torch

from avdf.contracts.config import profile_params
from avdf.contracts.specs import InputSpec, ModelSpec, Run, TrainSpec
from avdf.learning import model_sizes, models
from avdf.learning.train import make_step

PARAMS = profile_params(None)


def three_steps(method: str, compiled: bool) -> tuple[list[float], list[torch.Tensor]]:
    """Losses of three steps on one batch, and the parameters after them."""
    params = {**PARAMS, "train": {**PARAMS["train"], "compile": compiled}}
    params["model"] = {**PARAMS["model"], "dropout": 0.0}
    spec = InputSpec.of(params)
    train = TrainSpec.of(params, Run("compiled", method, "default", 0), "compiled", False)
    torch.manual_seed(0)
    model = models.build(method, spec.n_mels, ModelSpec.of(params), train.method)
    step, trainable = make_step(train, model)
    opt = torch.optim.SGD(trainable, lr=1e-2)
    batch = model_sizes.one_batch(params, 8, method=method)
    torch.manual_seed(1)
    losses = [step(batch, opt)[1] for _ in range(3)]  # the negative queue fills from the second
    return losses, [p.detach().clone() for p in trainable]


@pytest.mark.slow
@pytest.mark.parametrize("method", ["macbdf", "av_concat"])
def test_a_compiled_step_computes_what_the_eager_step_does(method):
    eager_losses, eager_params = three_steps(method, compiled=False)
    compiled_losses, compiled_params = three_steps(method, compiled=True)
    assert compiled_losses == pytest.approx(eager_losses, rel=1e-4)
    for eager, compiled in zip(eager_params, compiled_params, strict=True):
        torch.testing.assert_close(compiled, eager, rtol=1e-4, atol=1e-5)
    torch._dynamo.reset()
