"""Models: shapes, gradients that reach every parameter, and determinism on CPU."""

import pytest
import torch

from avdf.contracts import methods
from avdf.learning import models, steps
from avdf.learning.models.transformer import Block, Dropout

CFG = {"dim": 32, "depth": 1, "heads": 4, "dropout": 0.0, "attn_dropout": 0.0}
CFG |= {"patch": 16, "visual_stem": "conv", "visual_init": "", "crop_size": 64}  # 4 x 4 visual tokens
EXTRA = {  # small versions of params.yaml: baselines
    "ecapa_tdnn": {"channels": 16, "scale": 4, "se_bottleneck": 4, "attention_hidden": 8, "embedding": 8},
    "aasist": {
        "front_end": "log_mel",
        "sinc_bands": 70,
        "sinc_kernel": 128,
        "blocks": [4, 8, 8],
        "gat_dims": [8, 8],
        "pool_ratios": [0.5] * 4,
        "temperatures": [2.0, 2.0, 100.0, 100.0],
        "dropout": 0.0,
    },  # fmt: skip
    "mcl": {"lambda_pair": 0.5, "margin": 1.0},
}
BASELINES = [
    "ecapa_tdnn",
    "aasist",
    "audio_only",
    "visual_only",
    "av_concat",
    "mcl",
]  # macbdf: test_macbdf.py


def _build(method):
    return models.build(method, 32, CFG, EXTRA.get(method))


def _batch(b=4, t=4, n_mels=32, frames=100):
    g = torch.Generator().manual_seed(0)
    return {
        "video": torch.randn(b, t, 3, 64, 64, generator=g),
        "audio": torch.randn(b, n_mels, frames, generator=g),
        "label": torch.tensor([0.0, 1.0] * (b // 2)),
    }


@pytest.mark.parametrize("method", BASELINES)
def test_logit_per_clip_and_gradients_reach_every_parameter(method):
    torch.manual_seed(0)
    model = _build(method)
    step = steps.BaselineStep(model)  # the model's own loss where it has one (MCL)
    opt = torch.optim.SGD(model.parameters(), lr=0.0)
    logit, _, _ = step(_batch(), opt)
    assert logit.shape == (4,)
    missing = [
        n for n, p in model.named_parameters() if p.requires_grad and (p.grad is None or not p.grad.any())
    ]
    assert not missing


@pytest.mark.parametrize("method", BASELINES)
def test_models_read_only_their_modalities(method):
    torch.manual_seed(0)
    model = _build(method).eval()
    a = _batch()
    for other in ("audio", "video"):
        b = _batch()
        b[other] = torch.zeros_like(b[other])
        same = torch.equal(model(a)["logit"], model(b)["logit"])
        assert same == (methods.get(method).modality in {"audio": ["visual"], "video": ["audio"]}[other])


def test_fixed_seed_gives_identical_losses():
    def losses():
        torch.manual_seed(3)
        model = models.build("av_concat", 32, CFG)
        opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
        out = []
        for _ in range(3):
            loss = torch.nn.functional.binary_cross_entropy_with_logits(
                model(_batch())["logit"], _batch()["label"]
            )
            opt.zero_grad()
            loss.backward()
            opt.step()
            out.append(loss.item())
        return out

    assert losses() == losses()


def test_unknown_method_is_named():
    with pytest.raises(KeyError, match="magic"):
        models.build("magic", 32, CFG)


def test_transformer_block_attends_as_written():
    """Block.attend is softmax(q k^T / sqrt(d_h)) v per head, then the output projection."""
    torch.manual_seed(0)
    block = Block(dim=8, heads=2, mlp_dim=16, dropout=0.0).eval()
    x = torch.randn(3, 5, 8)
    q, k, v = block.qkv(x).chunk(3, -1)
    heads = [
        torch.softmax(q[..., h * 4 : (h + 1) * 4] @ k[..., h * 4 : (h + 1) * 4].transpose(1, 2) / 2.0, -1)
        @ v[..., h * 4 : (h + 1) * 4]
        for h in range(2)
    ]
    expected = block.out(torch.cat(heads, -1))
    assert torch.allclose(block.attend(x), expected, atol=1e-6)


def test_attention_dropout_is_its_own_switch():
    x = torch.randn(2, 6, 8)
    quiet = Block(8, 2, 16, dropout=0.0, attn_dropout=0.0).train()
    assert torch.equal(quiet(x), quiet(x))  # no dropout anywhere: deterministic in training mode
    noisy = Block(8, 2, 16, dropout=0.0, attn_dropout=0.5).train()
    assert not torch.equal(noisy(x), noisy(x))
    assert torch.equal(noisy.eval()(x), noisy.eval()(x))


def test_dropout_is_inverted_dropout_with_bernoulli_masks():
    """transformer.Dropout: each element kept with probability 1 - p and scaled by 1 / (1 - p),
    the same mask in the backward pass, the identity in evaluation."""
    torch.manual_seed(0)
    drop = Dropout(0.3).train()
    x = torch.ones(200_000, requires_grad=True)
    y = drop(x)
    kept = y != 0
    assert abs(kept.float().mean().item() - 0.7) < 0.005  # binomial sd 0.001
    assert torch.allclose(y[kept], torch.full_like(y[kept], 1 / 0.7))
    y.sum().backward()
    assert torch.equal(x.grad != 0, kept) and torch.allclose(x.grad[kept], torch.full_like(y[kept], 1 / 0.7))
    assert abs(y.mean().item() - 1.0) < 0.01  # unbiased
    assert torch.equal(drop.eval()(x), x)
    assert torch.equal(Dropout(1.0).train()(x), torch.zeros_like(x))


MACBDF = {
    "ms_depth": 1, "contrastive": True, "cross": True, "intra": True, "fusion_weights": True,
    "om_pareto": False, "lambda_c": 0.5, "tau0": 0.1, "margin": 0.2, "k_nearest": 4, "queue_size": 8,
    "fusion_beta": 0.5, "fusion_gamma": 0.5, "k_max": 3, "om_lambda0": 1.0, "om_kappa": 5.0,
    "om_pgd_steps": 5, "objective": "macl",
}  # fmt: skip


@pytest.mark.parametrize("method", [*BASELINES, "macbdf"])
def test_scores_do_not_depend_on_how_test_clips_are_batched(method):
    """After a training step (BatchNorm statistics, MACB-DF's clusters and d_max set), a test set
    scored in one batch and in batches of 3 gives the same outputs to 1e-6: every per-clip output
    (an untrained MACB-DF's logit barely moves with its fusion weights, so they are compared too)."""
    torch.manual_seed(0)
    model = models.build(method, 32, CFG, MACBDF if method == "macbdf" else EXTRA.get(method))
    model.train()
    model(_batch(b=8))  # one training forward pass: fits the clusters and BatchNorm running stats
    model.eval()
    test = _batch(b=8)
    with torch.no_grad():
        whole = model(test)
        parts = [model({k: v[i : i + 3] for k, v in test.items()}) for i in range(0, 8, 3)]
    for key, value in whole.items():
        if value.dim() >= 1:
            assert torch.allclose(value, torch.cat([p[key] for p in parts]), atol=1e-6, rtol=0), key


def test_the_visual_token_grid_grows_with_the_crop():
    """4 x 4 tokens per frame at 64 px with patch 16 (the embedded default), 7 x 7 at the paper's
    224 px with patch 32."""
    for crop, patch, grid, stem in ((64, 16, 4, "conv"), (224, 32, 7, "conv"), (224, 32, 7, "resnet18")):
        model = models.build(
            "macbdf", 32, CFG | {"crop_size": crop, "patch": patch, "visual_stem": stem}, MACBDF
        )
        assert model.video.grid == grid
        tokens = model.encode({"video": torch.zeros(2, 2, 3, crop, crop), "audio": torch.zeros(2, 32, 100)})[
            1
        ]
        assert tokens.shape == (2, 2 * grid * grid, 32)


def test_pretrained_visual_weights_load_only_when_given(tmp_path, monkeypatch):
    """A local state dict of the whole encoder, a torchvision ResNet-18 file, and a torchvision
    weights name read from torchvision's cache (no network here) all load; a file that matches
    neither is refused by name; no init leaves the random weights."""
    from torchvision.models import ResNet18_Weights, resnet18

    from avdf.learning.models import encoders

    cfg = CFG | {"crop_size": 64, "patch": 32, "visual_stem": "resnet18"}
    source = models.build("visual_only", 32, cfg)
    torch.save(source.video.state_dict(), tmp_path / "encoder.pt")
    fresh = models.build("visual_only", 32, cfg)
    assert encoders.initialise(fresh.video, "") == "random"
    assert encoders.initialise(fresh.video, str(tmp_path / "encoder.pt")).startswith("visual encoder")
    assert all(
        torch.equal(a, b)
        for a, b in zip(fresh.video.state_dict().values(), source.video.state_dict().values(), strict=True)
    )

    imagenet = resnet18(weights=None).state_dict()
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    cache = tmp_path / "torch" / "hub" / "checkpoints"
    cache.mkdir(parents=True)
    torch.save(imagenet, cache / ResNet18_Weights.IMAGENET1K_V1.url.rsplit("/", 1)[1])
    named = models.build("visual_only", 32, cfg)
    assert encoders.initialise(named.video, "torchvision:ResNet18_Weights.IMAGENET1K_V1").startswith(
        "ResNet-18"
    )
    assert torch.equal(named.video.stem[0].trunk[0].weight, imagenet["conv1.weight"])
    assert torch.equal(named.video.stem[0].trunk[7][1].bn2.running_var, imagenet["layer4.1.bn2.running_var"])

    torch.save({"something.else": torch.zeros(1)}, tmp_path / "other.pt")
    with pytest.raises(ValueError, match="other.pt: its keys match neither"):
        encoders.initialise(named.video, str(tmp_path / "other.pt"))
