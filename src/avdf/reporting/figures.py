"""Figures (PNG), drawn from the tables' CSVs, and Fig. 4's latent space from two checkpoints.

Every figure's title carries the data label, so a plot of the embedded data says it is synthetic.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import torch  # noqa: E402

from avdf.contracts import atomic  # noqa: E402
from avdf.data import clips
from avdf.data.manifest import CATEGORIES  # noqa: E402
from avdf.learning.models import load_model  # noqa: E402
from avdf.reporting import tables


def _save(fig, out_png: str) -> None:
    with atomic.atomic_path(out_png) as tmp:
        fig.savefig(tmp, format="png", dpi=120, bbox_inches="tight")
    plt.close(fig)


def depth_sweep(csv: str, out_png: str) -> None:
    """Fig. 5: ACC and AUC against the multi-scale depth, one line per dataset, bars = std over seeds."""
    t = pd.read_csv(csv)
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.6))
    for ax, m in zip(axes, ("acc", "auc"), strict=True):
        for ds, g in t.groupby("dataset", sort=False):
            g = g.sort_values("depth")
            ax.errorbar(g["depth"], g[m], yerr=g[f"{m}_std"], marker="o", capsize=3, label=ds)
            if m == "acc" and g["acc_paper"].notna().any():
                paper = g[g["acc_paper"].notna()]
                ax.scatter(
                    paper["depth"], paper["acc_paper"], marker="*", s=90, label=f"{ds}: paper (real data)"
                )
        ax.set(
            xlabel="multi-scale depth (layers)", ylabel=f"{m.upper()} (%)", xticks=sorted(t["depth"].unique())
        )
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=7)
    fig.suptitle(f"Fig. 5: depth of the multi-scale layers. Data: {t['data'].iloc[0]}", fontsize=10)
    _save(fig, out_png)


def om_pareto(csv: str, loss_png: str, branches_png: str) -> None:
    """Figs. 6 and 7: OM-Pareto on and off over epochs (mean over seeds, band = std)."""
    t = pd.read_csv(csv)
    label = t["data"].iloc[0]

    def curve(ax, key, title):
        for (ds, om), g in t.groupby(["dataset", "om_pareto"], sort=True):
            ax.plot(g["epoch"], g[key], marker=".", label=f"{ds}, OM-Pareto {om}")
            ax.fill_between(g["epoch"], g[key] - g[f"{key}_std"], g[key] + g[f"{key}_std"], alpha=0.2)
        ax.set(title=title, xlabel="epoch")
        ax.grid(alpha=0.3)

    fig, ax = plt.subplots(figsize=(5, 3.6))
    curve(ax, "loss", tables.FIG67_CURVES["loss"])
    ax.legend(fontsize=7)
    fig.suptitle(f"Fig. 6: training loss with and without OM-Pareto. Data: {label}", fontsize=9)
    _save(fig, loss_png)

    fig, axes = plt.subplots(2, 2, figsize=(9, 6.5), sharex=True)
    for ax, key in zip(
        axes.flat, ("test_auc_video", "test_acc_video", "test_auc_audio", "test_acc_audio"), strict=True
    ):
        curve(ax, key, tables.FIG67_CURVES[key])
    axes[0, 0].legend(fontsize=7)
    fig.suptitle(f"Fig. 7: video and audio branches with and without OM-Pareto. Data: {label}", fontsize=10)
    _save(fig, branches_png)


@torch.inference_mode()
def fused_features(checkpoint: str, caches: dict, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """MACB-DF's fused vectors (input of the classifier) for every usable clip (the mean over its
    windows), and their categories."""
    model, ckpt = load_model(checkpoint)
    table, data = clips.scoring_clipset(caches, ckpt.input, ckpt.mel_norm, None, seed, ckpt.reads)
    loader = torch.utils.data.DataLoader(data, batch_size=32)
    windows = torch.cat([model(b)["fused"] for b in loader]).numpy()
    fused = np.zeros((len(table), windows.shape[1]))
    np.add.at(fused, data.owner, windows)
    return fused / np.bincount(data.owner, minlength=len(table))[:, None], table["category"].to_numpy()


def latent_space(
    checkpoints: dict[str, str], caches: dict, data_label: str, out_csv: str, out_png: str
) -> None:
    """Fig. 4: t-SNE of the fused features with and without L_C, coloured by category, and the
    silhouette of the four categories in the fused space itself (not in the 2D embedding)."""
    from sklearn.manifold import TSNE
    from sklearn.metrics import silhouette_score

    fig, axes = plt.subplots(1, len(checkpoints), figsize=(4.5 * len(checkpoints), 4.2))
    rows = []
    for ax, (name, ckpt) in zip(np.atleast_1d(axes), checkpoints.items(), strict=True):
        fused, cats = fused_features(ckpt, caches, seed=0)
        xy = TSNE(2, perplexity=min(30, len(fused) - 1), init="pca", random_state=0).fit_transform(fused)
        for cat in CATEGORIES:
            keep = cats == cat
            ax.scatter(xy[keep, 0], xy[keep, 1], s=9, label=cat)
        score = silhouette_score(fused, cats)
        rows.append(
            {"panel": name, "checkpoint": ckpt, "clips": len(fused), "silhouette_categories": round(score, 4)}
        )
        ax.set(title=f"{name} (silhouette {score:.2f})", xticks=[], yticks=[])
    np.atleast_1d(axes)[0].legend(fontsize=7)
    fig.suptitle(f"Fig. 4: t-SNE of MACB-DF's fused features. Data: {data_label}", fontsize=10)
    _save(fig, out_png)
    table = pd.DataFrame(rows).assign(data=data_label)
    atomic.write_csv(out_csv, table)
