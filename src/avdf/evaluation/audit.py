"""Shortcut audit: can a trivial property of the files tell real from fake?

Published work found that FakeAVCeleb's fakes begin with a short leading silence that separates
real from fake almost perfectly (arXiv 2412.00175). A detector can learn such a shortcut instead of
the manipulation, so every dataset is audited before its numbers are trusted. For each trivial
predictor, its AUC as a score for "fake" is reported, and its separability max(AUC, 100 - AUC)
(a predictor that is low for fakes separates as well as one that is high). Separability at or
above ``audit.warn_auc`` is flagged: a warning in the workflow log and in the report's figure.

The predictors, per clip:
- ``leading_silence_s``: time before the first 20 ms window whose RMS reaches ``silence_db``
  (default -20 dB) below the clip's loud level (95th percentile of window RMS), on the demuxed
  16 kHz audio (after ``media.trim_silence``, if on: the audit then shows what trimming left);
- ``duration_s``, ``file_size_bytes`` and ``bitrate_kbps`` of the original file.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np
import pandas as pd

from avdf.contracts import atomic, stage_runner
from avdf.data import manifest
from avdf.learning import metrics
from avdf.media import ffmpeg
from avdf.media.silence import leading_silence

log = logging.getLogger(__name__)
PREDICTORS = ("leading_silence_s", "duration_s", "file_size_bytes", "bitrate_kbps")


def features(manifest_csv: str, demux_index: str, demux_dir: str, silence_db: float) -> pd.DataFrame:
    clips = manifest.read(manifest_csv, manifest.AUDIT_COLUMNS)
    accepted = set(stage_runner.accepted(demux_index)["clip_id"])
    ok = clips[clips["clip_id"].isin(accepted) & (clips["label"] >= 0)]  # labels withheld: not audited
    rows = []
    for cid, path, label in zip(ok["clip_id"], ok["path"], ok["label"], strict=True):
        audio, rate = ffmpeg.read_wav(Path(demux_dir) / f"{cid}.wav")
        duration = ffmpeg.probe(path).duration_s or len(audio) / rate
        size = os.path.getsize(path)
        rows.append(
            {
                "clip_id": cid,
                "label": int(label),
                "leading_silence_s": leading_silence(audio, rate, silence_db),
                "duration_s": duration,
                "file_size_bytes": size,
                "bitrate_kbps": size * 8 / 1000 / duration if duration else np.nan,
            }
        )
    return pd.DataFrame(rows)


def audit(
    dataset: str,
    manifest_csv: str,
    demux_index: str,
    demux_dir: str,
    cfg: dict,
    data_label: str,
    out_csv: str,
    out_png: str,
) -> pd.DataFrame:
    feats = features(manifest_csv, demux_index, demux_dir, cfg["silence_db"])
    labels = feats["label"].to_numpy()
    rows = []
    for name in PREDICTORS:
        values = feats[name].to_numpy(float)
        both = 0 < labels.sum() < len(labels)
        auc = metrics.auc(labels, values) if both else float("nan")
        sep = max(auc, 100 - auc) if both else float("nan")
        flagged = bool(both and sep >= 100 * cfg["warn_auc"])
        rows.append(
            {
                "dataset": dataset,
                "predictor": name,
                "auc": round(auc, 2),
                "separability": round(sep, 2),
                "shortcut": flagged,
                "real_median": float(np.median(values[labels == 0])) if (labels == 0).any() else np.nan,
                "fake_median": float(np.median(values[labels == 1])) if (labels == 1).any() else np.nan,
                "clips": len(values),
                "data": data_label,
            }
        )
        if flagged:
            log.warning(
                "SHORTCUT in %s: %s alone separates real from fake with AUC %.1f (>= %.0f); "
                "numbers on this dataset may measure it rather than the manipulation",
                dataset,
                name,
                sep,
                100 * cfg["warn_auc"],
            )
    table = pd.DataFrame(rows)
    atomic.write_csv(out_csv, table)
    _plot(table, dataset, cfg["warn_auc"], data_label, out_png)
    return table


def _plot(table: pd.DataFrame, dataset: str, warn_auc: float, data_label: str, out_png: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3))
    colors = ["tab:red" if s else "tab:blue" for s in table["shortcut"]]
    ax.barh(table["predictor"], table["separability"], color=colors)
    ax.axvline(100 * warn_auc, color="k", ls="--", lw=1)
    ax.set_xlim(50, 100)
    ax.set_xlabel("separability max(AUC, 100 - AUC), %")
    flagged = table[table["shortcut"]]
    title = f"Shortcut audit, {dataset} ({data_label})"
    if len(flagged):
        title += "\nWARNING: " + ", ".join(flagged["predictor"]) + " alone separate real from fake"
    ax.set_title(title, fontsize=8, color="tab:red" if len(flagged) else "k")
    fig.tight_layout()
    with atomic.atomic_path(out_png, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=120)
    plt.close(fig)
