"""Where error analysis starts: the test clips the best model got most wrong, as timelines (issue 34).

Per dataset, the best model is the avdf method with the highest mean AUC there in Table 1, and its
first seed's run is looked at. Most wrong are the ``count`` real test clips it scored highest (false
positives, or the nearest to being one) and the ``count`` fake clips it scored lowest (false
negatives). Each is scored again by ``avdf predict`` on its file, so the picture is the timeline a
user of ``avdf predict --report`` sees: the windows' fake probability, the audio and video heads per
second, the validation threshold, the predicted segments and the true ones (the manifest's
``fake_periods``, or the whole clip for a fake without them).
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from avdf.contracts import atomic
from avdf.evaluation import predict

KINDS = {"false positive": 0, "false negative": 1}  # which label each kind of error has


def best_method(table: pd.DataFrame, dataset: str) -> str:
    """The avdf row of Table 1 with the highest mean AUC on ``dataset`` (the first on a tie)."""
    rows = table[table["source"] == "avdf"]
    column = f"{dataset}_auc"
    if column not in rows or rows[column].isna().all():
        raise ValueError(f"Table 1 has no AUC on {dataset} (column {column})")
    return str(rows.loc[rows[column].idxmax(), "method"])


def most_wrong(scores: pd.DataFrame, count: int) -> pd.DataFrame:
    """The ``count`` real clips with the highest fake probability and the ``count`` fake clips with
    the lowest, with their kind of error; from an evaluation's per-clip scores."""
    real = scores[scores["label"] == 0].nlargest(count, "prob_fake").assign(kind="false positive")
    fake = scores[scores["label"] == 1].nsmallest(count, "prob_fake").assign(kind="false negative")
    return pd.concat([real, fake], ignore_index=True)


def analyse(dataset: str, table_csv: str, manifest_csv: str, spec: dict, out: str, png: str) -> None:
    """Choose, score again and draw; the chosen clips and their scores go to ``out`` (CSV)."""
    method = best_method(pd.read_csv(table_csv), dataset)
    run = spec["runs"][method]
    chosen = most_wrong(pd.read_csv(run["scores"]), spec.get("count", 3))
    manifest = pd.read_csv(manifest_csv, dtype={"fake_periods": str}).set_index("clip_id")
    chosen = chosen.join(manifest[["path", "fake_periods"]], on="clip_id")
    model, ckpt = predict.load(run["checkpoint"], None)
    results = predict.predict(chosen["path"].tolist(), model, ckpt)
    chosen["prob_fake_again"] = [r.get("prob_fake", np.nan) for r in results]
    chosen.insert(0, "method", method)
    atomic.write_csv(out, chosen)
    title = f"{dataset}: the test clips {method} (seed {run['seed']}) got most wrong ({spec['data_label']})"
    draw(chosen, results, ckpt.val_threshold, title, png)


def draw(chosen: pd.DataFrame, results: list[dict], threshold: float, title: str, png: str) -> None:
    """One timeline per clip: false positives on the top row, false negatives below."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    columns = max(1, int(chosen["kind"].value_counts().max()))
    fig, axes = plt.subplots(2, columns, figsize=(4.2 * columns, 5.6), squeeze=False, sharey=True)
    for ax in axes.flat:
        ax.set_visible(False)
    for row, kind in enumerate(KINDS):
        picked = [i for i in range(len(chosen)) if chosen["kind"].iloc[i] == kind]
        for col, i in enumerate(picked):
            _timeline(axes[row][col], chosen.iloc[i], results[i], threshold)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    with atomic.atomic_path(png) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    plt.close(fig)


def _timeline(ax, clip: pd.Series, r: dict, threshold: float) -> None:
    ax.set_visible(True)
    name = f"{clip['kind']}: {clip['clip_id']} ({clip['category']})"
    ax.set_title(f"{name}\np(fake) {clip['prob_fake']:.2f}", fontsize=8)
    ax.set_ylim(0, 1)
    ax.set_xlabel("s", fontsize=8)
    if "error" in r:
        ax.text(0.5, 0.5, f"not scored:\n{r['error'][:60]}", ha="center", va="center", fontsize=7)
        return
    for start, end in _truth(clip, r["duration_s"]):
        ax.axvspan(start, end, color="#9ecae1", alpha=0.5, label="true fake")
    for _, start, end in r.get("fake_segments", []):
        ax.axvspan(start, end, color="#fcae91", alpha=0.5, label="predicted fake")
    for w in r["windows"]:
        ax.plot([w["start_s"], w["start_s"] + r["window_s"]], [w["prob_fake"]] * 2, color="#222", lw=2)
    for modality, colour in (("audio", "#2ca02c"), ("video", "#9467bd")):
        seconds = [s for s in r.get("per_second", []) if s.get(modality) is not None]
        times, values = [s["second"] + 0.5 for s in seconds], [s[modality] for s in seconds]
        ax.plot(times, values, color=colour, lw=1, label=modality)
    ax.axhline(threshold, color="#d62728", ls="--", lw=1)
    ax.set_xlim(0, r["duration_s"])


def _truth(clip: pd.Series, duration: float) -> list:
    periods = clip.get("fake_periods")
    parsed = json.loads(periods) if isinstance(periods, str) and periods.strip() else []
    if parsed or clip["label"] == 0:
        return parsed
    return [[0.0, duration]]  # a fake clip without segments is fake throughout
