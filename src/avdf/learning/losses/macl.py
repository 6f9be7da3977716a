"""MACL, multi-modal adaptive contrastive learning: eqs. (2), (7) and (8) of MACB-DF.

Embeddings are L2-normalised, s(x, y) = x . y, and tau is the adaptive temperature (eqs. 3-6).

Cross-modal, audio -> video, eq. (2); video -> audio, eq. (7), is the same with roles swapped::

    L_av = -mean_i log  exp(s(a_i, v_i) / tau)
                        / (exp(s(a_i, v_i) / tau) + sum_{k in N_K(i)} exp((s(a_i, v_k^-) - m) / tau))

where N_K(i) are the K negatives nearest to a_i (highest similarity) among the other clips of the
batch and a queue of earlier batches; the queue's copies of clip i itself (from an earlier epoch)
are never its negatives (``ids``, the clips' dataset indices). The margin m is subtracted before
dividing by tau, as in the text under eq. (2) (eq. (7) prints "- m" outside the fraction: paper-notes).

Intra-modal, L_vv and L_aa: the same form within one modality, where the positives of an anchor
are the other clips with the same authenticity label for that modality (real or fake video for
L_vv, real or fake audio for L_aa), averaged over positives; anchors with no positive are skipped.

Eq. (8): ``L_C = (L_va + L_av + L_vv + L_aa) / 4``; with terms switched off (``use_cross``,
``use_intra``), the mean of the terms that remain.
"""

from __future__ import annotations

import torch
from torch import nn

from avdf.learning.losses.adaptive_temperature import AdaptiveTemperature


def margin_nce(
    anchor: torch.Tensor,
    positive_sim: torch.Tensor,
    positive_mask: torch.Tensor,
    candidates: torch.Tensor,
    negative_mask: torch.Tensor,
    tau: torch.Tensor,
    margin: float,
    k: int,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-anchor loss -mean_p log(e^{s_p/tau} / (e^{s_p/tau} + sum_{K nearest negatives} e^{(s - m)/tau})).

    anchor (B, D); positive_sim (B, P) with positive_mask (B, P) marking real positives;
    candidates (N, D); negative_mask (B, N) True where a candidate is a negative of the anchor.
    Returns the loss per anchor (B,) and whether the anchor had a positive (B,).
    """
    neg_logits = (anchor @ candidates.T - margin) / tau  # (B, N)
    neg_logits = neg_logits.masked_fill(~negative_mask, float("-inf"))  # after the division: no inf / tau
    nearest = neg_logits.topk(min(k, neg_logits.shape[1]), dim=1).values  # the K hardest negatives
    neg_lse = torch.logsumexp(nearest, 1, keepdim=True)  # (B, 1); -inf if there is none
    pos_logits = positive_sim / tau  # (B, P)
    per_pos = torch.logaddexp(pos_logits, neg_lse) - pos_logits  # -log softmax of the positive
    per_pos = torch.where(positive_mask, per_pos, torch.zeros_like(per_pos))
    count = positive_mask.sum(1)
    return per_pos.sum(1) / count.clamp_min(1), count > 0


def _mean_over(values: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    return torch.where(valid, values, torch.zeros_like(values)).sum() / valid.sum().clamp_min(1)


class MACL(nn.Module):
    def __init__(
        self,
        dim: int,
        tau0: float = 0.1,
        margin: float = 0.2,
        k_nearest: int = 32,
        queue_size: int = 128,
        use_cross: bool = True,
        use_intra: bool = True,
        adaptive_tau: bool = True,
    ):
        super().__init__()
        self.margin, self.k, self.queue_size = margin, k_nearest, queue_size
        self.use_cross, self.use_intra = use_cross, use_intra
        self.temperature = AdaptiveTemperature(tau0) if adaptive_tau else None
        self.tau0 = tau0
        # the queue is training state, not part of the model: not saved in checkpoints. Its size is
        # fixed (slots not yet filled are masked out by queue_used), so every step has the same shapes
        # and ``torch.compile`` (train.compile) or a CUDA graph sees one graph
        n = queue_size
        self.register_buffer("queue_a", torch.zeros(n, dim), persistent=False)
        self.register_buffer("queue_v", torch.zeros(n, dim), persistent=False)
        self.register_buffer("queue_ya", torch.zeros(n), persistent=False)
        self.register_buffer("queue_yv", torch.zeros(n), persistent=False)
        self.register_buffer("queue_id", torch.full((n,), -1, dtype=torch.long), persistent=False)
        self.register_buffer("queue_used", torch.zeros(n, dtype=torch.bool), persistent=False)

    def forward(
        self,
        z_a: torch.Tensor,
        z_v: torch.Tensor,
        y_a: torch.Tensor,
        y_v: torch.Tensor,
        ids: torch.Tensor | None = None,
    ) -> dict:
        """z_a, z_v (B, D) normalised; y_a, y_v (B,) audio and video fake labels; ids (B,) the clips'
        indices (None: every clip is new). Returns the terms."""
        b = z_a.shape[0]
        ids = torch.full((b,), -1, device=z_a.device) if ids is None else ids.to(z_a.device).long()
        s = z_a @ z_v.T
        tau = self.temperature(s, z_a, z_v) if self.temperature is not None else s.new_tensor(self.tau0)
        all_a, all_v = torch.cat([z_a, self.queue_a]), torch.cat([z_v, self.queue_v])
        all_ya, all_yv = torch.cat([y_a, self.queue_ya]), torch.cat([y_v, self.queue_yv])
        all_ids = torch.cat([ids, self.queue_id])
        filled = torch.cat([torch.ones_like(ids, dtype=torch.bool), self.queue_used])[None, :]
        itself = torch.eye(b, len(all_ids), dtype=torch.bool, device=ids.device)  # each clip in the batch
        not_self = ((ids[:, None] != all_ids[None, :]) | (ids[:, None] < 0)) & ~itself & filled
        terms = {}
        if self.use_cross:
            diag = s.diagonal().unsqueeze(1)
            every = torch.ones_like(diag, dtype=torch.bool)
            loss, ok = margin_nce(z_a, diag, every, all_v, not_self, tau, self.margin, self.k)
            terms["L_av"] = _mean_over(loss, ok)  # eq. (2)
            loss, ok = margin_nce(z_v, diag, every, all_a, not_self, tau, self.margin, self.k)
            terms["L_va"] = _mean_over(loss, ok)  # eq. (7)
        if self.use_intra:
            pairs = (("L_vv", z_v, y_v, all_v, all_yv), ("L_aa", z_a, y_a, all_a, all_ya))
            for name, z, y, every, every_y in pairs:
                same = (y[:, None] == y[None, :]) & ~torch.eye(b, dtype=torch.bool, device=y.device)
                negatives = (y[:, None] != every_y[None, :]) & filled
                loss, ok = margin_nce(z, z @ z.T, same, every, negatives, tau, self.margin, self.k)
                terms[name] = _mean_over(loss, ok)
        if self.training:
            self._enqueue(z_a, z_v, y_a, y_v, ids)
        loss = torch.stack(list(terms.values())).mean() if terms else z_a.sum() * 0  # eq. (8)
        return {"L_C": loss, "tau": tau.detach(), **{k: v.detach() for k, v in terms.items()}}

    @torch.no_grad()
    def _enqueue(self, z_a, z_v, y_a, y_v, ids) -> None:
        """FIFO queue of detached embeddings, newest first, in its fixed slots; the current batch never
        meets itself. Each buffer is replaced, not written in place: the backward pass may still
        need the one this step read."""
        n = self.queue_size
        self.queue_a = torch.cat([z_a.detach(), self.queue_a])[:n]
        self.queue_v = torch.cat([z_v.detach(), self.queue_v])[:n]
        self.queue_ya = torch.cat([y_a.detach().float(), self.queue_ya])[:n]
        self.queue_yv = torch.cat([y_v.detach().float(), self.queue_yv])[:n]
        self.queue_id = torch.cat([ids, self.queue_id])[:n]
        self.queue_used = torch.cat([torch.ones_like(ids, dtype=torch.bool), self.queue_used])[:n]
