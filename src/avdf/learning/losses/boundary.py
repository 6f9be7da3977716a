"""The boundary localiser's targets and losses (ActionFormer, Zhang et al. ECCV 2022, Sec. 3.3;
UMMAFormer, Zhang et al. ACM MM 2023, keeps them), in video frames of one window.

Every time step ``p`` of pyramid level ``l`` (stride ``s = 2^l``) sits at the middle of its frames,
``c_p = (i + 1/2) s``. A true segment ``[a, b)`` is learnt by a step when

    a <= c_p < b                                   it is inside the segment,
    |c_p - (a + b) / 2| <= r s                     near its middle (centre sampling, radius r),
    lo_l < max(c_p - a, b - c_p) <= hi_l           its level's range: (0, 8] frames at level 0,
                                                   (4 x 2^l, 4 x 2^(l+1)] above, the last unbounded;

of several, the shortest. Its targets are the offsets ``(c_p - a, b - c_p)``.

    L = FL(p_hat, y) / N+  +  w_reg * sum_{p in +} (1 - DIoU(seg_hat_p, seg_p)) / N+
        + w_edge * FL(e_hat, e) / N_e

with FL the sigmoid focal loss (Lin et al. 2017) over every step, ``N+`` the positive steps, and
the 1-D DIoU (Zheng et al. 2020): DIoU = IoU - (distance of the centres / enclosing length)^2.
The last term trains the boundary heads (as BSN/BMN's start and end probabilities, Lin et al.
2018/2019), which decoding uses to refine each proposal's ends: ``e`` is 1 at frame ``a`` for a
start (the first fake frame) and at frame ``b`` for an end (the first real frame after), for every
segment end inside the window (an end cut by the window's edge is not a boundary), ``N_e`` their
number.
"""

from __future__ import annotations

import torch
from torchvision.ops import sigmoid_focal_loss


def level_ranges(levels: int, device: torch.device) -> torch.Tensor:
    """(levels, 2) lower and upper bound of the offsets each level learns (the last: unbounded)."""
    lo = torch.tensor([0.0] + [4.0 * 2**l for l in range(1, levels)], device=device)
    hi = torch.cat([lo[1:], torch.tensor([float("inf")], device=device)])
    return torch.stack([lo, hi], 1)


def assign(
    centres: torch.Tensor, strides: torch.Tensor, ranges: torch.Tensor, segments: torch.Tensor, radius: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """Each step's label (B, P) and its segment (B, P, 2). ``centres``/``strides``/``ranges``: (P,),
    (P,), (P, 2) per step; ``segments``: (B, K, 2) frames, a row with end <= start is padding."""
    a, b = segments[..., 0].unsqueeze(1), segments[..., 1].unsqueeze(1)  # (B, 1, K)
    c, s = centres.view(1, -1, 1), strides.view(1, -1, 1)
    reach = torch.maximum(c - a, b - c)
    ok = (a <= c) & (c < b) & (b > a)
    ok &= (c - (a + b) / 2).abs() <= radius * s
    ok &= (reach > ranges[:, 0].view(1, -1, 1)) & (reach <= ranges[:, 1].view(1, -1, 1))
    length = torch.where(ok, b - a, torch.full_like(reach, float("inf")))
    best = length.argmin(-1, keepdim=True)  # (B, P, 1): the shortest segment a step may learn
    labels = ok.gather(-1, best).squeeze(-1).float()
    target = segments.gather(1, best.expand(-1, -1, 2)).float()
    return labels, target


def diou_1d(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """1-D DIoU of (N, 2) segments [start, end]."""
    inter = (torch.minimum(pred[:, 1], target[:, 1]) - torch.maximum(pred[:, 0], target[:, 0])).clamp_min(0)
    union = (pred[:, 1] - pred[:, 0]) + (target[:, 1] - target[:, 0]) - inter
    enclosing = torch.maximum(pred[:, 1], target[:, 1]) - torch.minimum(pred[:, 0], target[:, 0])
    centres = (pred.sum(1) - target.sum(1)) / 2
    return inter / union.clamp_min(1e-6) - (centres / enclosing.clamp_min(1e-6)) ** 2


def edge_targets(segments: torch.Tensor, frames: int) -> torch.Tensor:
    """(B, frames, 2): 1 where a segment starts (column 0) or ends (column 1), in the window."""
    a, b = segments[..., 0], segments[..., 1]  # (B, K)
    valid = b > a
    pos = torch.arange(frames, device=segments.device).view(1, -1, 1).float()  # (1, T, 1)
    starts = ((pos == a.round().unsqueeze(1)) & (valid & (a > 0)).unsqueeze(1)).any(-1)
    ends = ((pos == b.round().unsqueeze(1)) & (valid & (b < frames)).unsqueeze(1)).any(-1)
    return torch.stack([starts, ends], -1).float()


def edge_loss(edges: torch.Tensor, segments: torch.Tensor, settings: dict) -> torch.Tensor:
    """The boundary heads' focal loss (B, T, 2 logits), per true boundary in the batch."""
    target = edge_targets(segments, edges.shape[1])
    focal = sigmoid_focal_loss(edges.float(), target, settings["focal_alpha"], settings["focal_gamma"], "sum")
    return focal / target.sum().clamp_min(1)


def boundary_loss(
    cls: torch.Tensor, bounds: torch.Tensor, labels: torch.Tensor, target: torch.Tensor, settings: dict
) -> tuple[torch.Tensor, dict]:
    """The loss above from the logits (B, P), predicted segments (B, P, 2) and the assignment."""
    positives = labels > 0
    n_pos = positives.sum().clamp_min(1).float()
    focal = sigmoid_focal_loss(
        cls.float(), labels, settings["focal_alpha"], settings["focal_gamma"], reduction="sum"
    )
    reg = (1 - diou_1d(bounds[positives].float(), target[positives])).sum()
    loss = focal / n_pos + settings["reg_weight"] * reg / n_pos
    return loss, {"L_cls": float(focal.detach() / n_pos), "L_reg": float(reg.detach() / n_pos)}
