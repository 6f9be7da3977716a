"""MACB-DF: shapes, gradients to every parameter (with and without OM-Pareto), ablations, determinism."""

import copy
import math
from unittest import mock

import pytest
import torch
import yaml
from conftest import train_spec

from avdf.contracts import methods
from avdf.contracts.config import REPO_ROOT
from avdf.contracts.specs import ModelSpec
from avdf.learning import models
from avdf.learning.models import blocks
from avdf.learning.models.blocks import SCALES, MultiScaleBlock, MultiScaleLKA
from avdf.learning.train import make_step

PARAMS = yaml.safe_load((REPO_ROOT / "params.yaml").read_text())
PARAMS["model"].update(dim=32, depth=1, dropout=0.0)


def _batch(b=8):
    g = torch.Generator().manual_seed(0)
    return {
        "video": torch.randn(b, 4, 3, 64, 64, generator=g),
        "audio": torch.randn(b, 64, 64, generator=g),
        "label": torch.tensor([0.0, 1.0, 1.0, 1.0] * (b // 4)),
        "audio_fake": torch.tensor([0.0, 1.0, 0.0, 1.0] * (b // 4)),
        "video_fake": torch.tensor([0.0, 0.0, 1.0, 1.0] * (b // 4)),
    }


def _params(**macbdf):
    p = copy.deepcopy(PARAMS)
    p["macbdf"].update(macbdf)
    return p


@pytest.mark.parametrize("ms_depth", [0, 2])
def test_outputs(ms_depth):
    model = models.build("macbdf", 64, ModelSpec.of(PARAMS), _params(ms_depth=ms_depth)["macbdf"])
    out = model(_batch())
    assert out["logit"].shape == (8,)
    assert out["frame_video"].shape == (8, 4) and out["frame_audio"].shape == (8, 16)
    assert torch.allclose(out["w_v"] + out["w_a"], torch.ones(8))


@pytest.mark.parametrize("om_pareto", [True, False])
def test_gradients_reach_every_parameter_that_should_learn(om_pareto):
    torch.manual_seed(0)
    params = _params(om_pareto=om_pareto)
    model = models.build("macbdf", 64, ModelSpec.of(params), params["macbdf"])
    step, trainable = make_step(train_spec(params), model)
    opt = torch.optim.AdamW(trainable, lr=1e-2)
    # Some parameters only learn once others moved: f_theta once the beta_k of eq. (4) leave 0, the
    # gate of eq. (5) once tau_new differs from tau_{t-1}. Three steps, then look at the fourth.
    for _ in range(4):
        step(_batch(), opt)
    named = list(model.named_parameters()) + [
        (f"objective.{n}", p) for n, p in step.objective.named_parameters()
    ]
    # f_theta's last bias shifts every pair's score alike, and eq. (3)'s softmax over all pairs
    # ignores a shift: its gradient is 0 but for rounding, so it has nothing to learn
    invariant = {"objective.contrast.temperature.f_theta.2.bias"}
    missing = [n for n, p in named if (p.grad is None or not p.grad.abs().sum() > 0) and n not in invariant]
    assert not missing


def test_ablations_switch_parts_off():
    params = _params(contrastive=False, fusion_weights=False)
    model = models.build("macbdf", 64, ModelSpec.of(params), params["macbdf"])
    assert model.fusion_weights is None
    out = model(_batch())
    assert torch.equal(out["w_v"], torch.full((8,), 0.5))
    step, _ = make_step(train_spec(params), model)
    assert step.objective.contrast is None
    assert methods.ablation_of("macbdf", params["macbdf"]) == "w/o L_C,w"
    assert methods.ablation_of("macbdf", PARAMS["macbdf"]) == "none"


def test_fixed_seed_gives_identical_losses():
    def run():
        torch.manual_seed(1)
        model = models.build("macbdf", 64, ModelSpec.of(PARAMS), PARAMS["macbdf"])
        step, trainable = make_step(train_spec(PARAMS), model)
        opt = torch.optim.AdamW(trainable, lr=1e-3)
        return [step(_batch(), opt)[1] for _ in range(3)]

    assert run() == run()


@pytest.mark.parametrize("dims", [2, 3])
def test_grouped_depthwise_is_each_groups_own_conv_of_equation_15(dims):
    """The one masked convolution gives, per channel group, the group's own depthwise conv: DW of
    kernel 2d-1 and DWD of kernel ceil(K/d) dilated by d (eq. 15), each with its own kernel."""
    lka = MultiScaleLKA(12, dims)
    x = torch.randn(2, 12, *(6,) * dims)
    conv = torch.nn.functional.conv3d if dims == 3 else torch.nn.functional.conv2d
    for layer, sizes in (
        (lka.dw, [(2 * d - 1, 1) for _, d in SCALES]),
        (lka.dwd, [(math.ceil(k / d), d) for k, d in SCALES]),
    ):
        start, expected = 0, []
        for c, (k, d) in zip(lka.splits, sizes, strict=True):
            offset = (layer.weight.shape[-1] - ((k - 1) * d + 1)) // 2
            own = layer.weight[
                (slice(start, start + c), slice(None), *(slice(offset, offset + (k - 1) * d + 1, d),) * dims)
            ]
            assert own.shape[2:] == (k,) * dims
            part = x[:, start : start + c]
            expected.append(
                conv(part, own, layer.bias[start : start + c], padding=(k // 2) * d, dilation=d, groups=c)
            )
            start += c
        torch.testing.assert_close(layer(x), torch.cat(expected, 1), rtol=1e-5, atol=1e-6)
        assert layer.masked_zeros() == layer.weight.numel() - sum(
            c * k**dims for c, (k, _) in zip(lka.splits, sizes, strict=True)
        )


def test_masked_taps_stay_zero_through_training():
    lka = MultiScaleLKA(6, dims=2)
    opt = torch.optim.AdamW(lka.parameters(), lr=0.1, weight_decay=0.1)
    for _ in range(3):
        opt.zero_grad()
        lka(torch.randn(2, 5, 5, 6)).square().sum().backward()
        opt.step()
    assert not (lka.dwd.weight * (1 - lka.dwd.mask)).any()
    assert not (lka.pw.weight * (1 - lka.pw.mask)).any()


@pytest.mark.parametrize("dims,shape", [(3, (2, 4, 4, 4, 12)), (2, (2, 10, 4, 12))])
def test_multiscale_blocks_keep_the_shape(dims, shape):
    block = MultiScaleBlock(12, dims)
    x = torch.randn(*shape)
    assert block(x).shape == x.shape


def _step_gradients(params: dict, method: str, micro_batch: int, batch: dict) -> tuple[dict, float]:
    torch.manual_seed(3)
    params = copy.deepcopy(params)
    params["train"]["micro_batch"] = micro_batch
    spec = train_spec(params, method)
    model = models.build(method, 64, ModelSpec.of(params), spec.method)
    for m in model.modules():  # running statistics: a slice is normalised as the whole batch is
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            m.eval()
    step, trainable = make_step(spec, model)
    _, loss, _ = step(batch, torch.optim.SGD(trainable, lr=0.0))
    return {n: p.grad for n, p in model.named_parameters() if p.grad is not None}, loss


@pytest.mark.parametrize(
    "method,macbdf",
    [("macbdf", {"om_pareto": True}), ("macbdf", {"om_pareto": False}), ("mcl", {}), ("av_concat", {})],
)
def test_a_batch_in_micro_batches_gets_the_whole_batch_gradient(method, macbdf):
    """train.micro_batch changes memory, not the step: with BatchNorm on running statistics (the one
    part that sees a slice), slices of 3 clips of a batch of 8 give the same loss and gradient of
    every parameter as the whole batch (MACB-DF through gradient caching, OM-Pareto and the
    contrastive terms included)."""
    whole, whole_loss = _step_gradients(_params(**macbdf), method, 0, _batch())
    sliced, sliced_loss = _step_gradients(_params(**macbdf), method, 3, _batch())
    assert sliced_loss == pytest.approx(whole_loss, rel=1e-5)
    assert whole.keys() == sliced.keys() and len(whole) > 10
    for name, g in whole.items():
        assert torch.allclose(sliced[name], g, rtol=1e-4, atol=1e-6), name


def test_the_second_pass_of_gradient_caching_replays_the_first_passs_dropout():
    params = _params()
    params["model"]["dropout"] = 0.5
    params["train"]["micro_batch"] = 3
    torch.manual_seed(3)
    model = models.build("macbdf", 64, ModelSpec.of(params), params["macbdf"])
    step, trainable = make_step(train_spec(params), model)
    seen, encode = [], step.encode

    def recording(part):
        h_a, h_v = encode(part)
        seen.append(h_v.detach().clone())
        return h_a, h_v

    step.encode = recording
    step(_batch(), torch.optim.SGD(trainable, lr=0.0))
    first, second = seen[:3], seen[3:]  # 3 slices encoded without activations, then again with them
    assert len(second) == 3 and not torch.equal(first[0], first[1][:2])
    for a, b in zip(first, second, strict=True):
        assert torch.equal(a, b)


def test_windows_scored_a_few_at_a_time_score_as_in_one_batch():
    """Runtime.scoring_batch (train.micro_batch where set) changes memory only: in eval mode each
    window's outputs do not depend on the others scored with it."""
    from avdf.learning import scoring

    torch.manual_seed(0)
    model = models.build("macbdf", 64, ModelSpec.of(PARAMS), PARAMS["macbdf"])
    batch = _batch(12)
    windows = [{k: v[i] for k, v in batch.items()} for i in range(12)]
    at_once, in_fours = scoring.outputs(model, windows, 32), scoring.outputs(model, windows, 4)
    assert at_once.keys() == in_fours.keys() and "frame_video" in at_once
    for k, v in at_once.items():
        assert torch.allclose(in_fours[k], v, atol=1e-5), k


@pytest.mark.parametrize(
    "size,kernel",
    [
        ((4, 4, 4), (7, 7, 7)),
        ((3, 5, 2), (5, 5, 3)),
        ((4, 4, 4), (3, 3, 3)),
        ((7, 2), (7, 3)),
        ((1, 9), (1, 3)),
    ],
)
def test_a_depthwise_conv_on_a_small_map_as_matrix_products_is_the_convolution(size, kernel):
    """Value and gradients of :func:`small_map_depthwise` are those of the depthwise convolution,
    on a channels-first view of a channels-last map, as the blocks call it (in float64: the two
    forms sum the taps in different orders)."""
    torch.manual_seed(0)
    cl = torch.randn(3, *size, 5, dtype=torch.float64, requires_grad=True)
    weight = torch.randn(5, 1, *kernel, dtype=torch.float64, requires_grad=True)
    bias = torch.randn(5, dtype=torch.float64, requires_grad=True)
    padding = tuple(k // 2 for k in kernel)
    outputs = []
    for form in (
        lambda x: blocks.CONV[len(size)](x, weight, bias, padding=padding, groups=5),
        lambda x: blocks.small_map_depthwise(x, weight, bias, padding),
    ):
        y = form(cl.movedim(-1, 1))
        grads = torch.autograd.grad(y.sin().sum(), (cl, weight, bias))
        outputs.append((y, *grads))
    for conv, matrix in zip(*outputs, strict=True):
        torch.testing.assert_close(matrix, conv, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("dims,size", [(2, (9, 2)), (2, (1, 6)), (3, (4, 4, 4)), (3, (2, 3, 8))])
def test_a_grouped_depthwise_conv_is_its_whole_masked_kernel_convolved(dims, size):
    """Whatever form the layer takes (a kernel cut to the taps that reach the map, a matrix
    product), value and gradients are those of its whole masked kernel convolved (float64)."""
    torch.manual_seed(0)
    layer = MultiScaleLKA(6, dims).dwd.double()
    x = torch.randn(2, 6, *size, dtype=torch.float64, requires_grad=True)
    whole = layer.weight * layer.mask
    expected = blocks.CONV[dims](x, whole, layer.bias, padding=whole.shape[-1] // 2, groups=6)
    want = torch.autograd.grad(expected.sin().sum(), (x, layer.weight, layer.bias))
    y = layer(x)
    got = torch.autograd.grad(y.sin().sum(), (x, layer.weight, layer.bias))
    torch.testing.assert_close(y, expected, rtol=1e-12, atol=1e-12)
    for g, w in zip(got, want, strict=True):
        torch.testing.assert_close(g, w, rtol=1e-12, atol=1e-12)


def test_the_blocks_take_the_matrix_form_only_where_the_map_is_smaller_than_the_kernel():
    layer = MultiScaleLKA(6, dims=3).dwd  # merged kernel of 7^3 = 343 taps
    with mock.patch.object(blocks, "small_map_depthwise", wraps=blocks.small_map_depthwise) as spy:
        layer(torch.randn(1, 6, 4, 4, 4))  # 64 positions: matrix form
        layer(torch.randn(1, 6, 8, 8, 8))  # 512 positions: the convolution
    assert spy.call_count == 1


def test_a_kernel_is_cut_to_the_taps_that_reach_the_map():
    """An audio map of 2 frequency bands: the 7 x 7 DWD kernel is convolved as 7 x 3, eagerly."""
    layer, seen = MultiScaleLKA(6, dims=2).dwd, []

    def conv(x, weight, *args, **kwargs):
        seen.append(tuple(weight.shape[2:]))
        return torch.nn.functional.conv2d(x, weight, *args, **kwargs)

    with mock.patch.dict(blocks.CONV, {2: conv}):
        layer(torch.randn(1, 6, 50, 2))
        with mock.patch.object(torch.compiler, "is_compiling", lambda: True):
            layer(torch.randn(1, 6, 50, 2))  # compiled: whole (fewer operators, issue 30)
    assert seen == [(7, 3), (7, 7)]
