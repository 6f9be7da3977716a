"""Tables built from the per-run JSON files that Snakemake tracks (never from MLflow queries).

``table1``: ACC and AUC per dataset and their average, one row per method, as in the paper's
Table 1 (datasets in the paper's column order). Every value is the mean over the seeds that ran,
and the ``data`` column says what the numbers were measured on (synthetic for the embedded data).
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from avdf import atomic, models
from avdf.data.manifest import CATEGORIES

PAPER_ORDER = ["DefakeAVMiT", "FakeAVCeleb", "DFDC", "LAV-DF"]


def _load(paths: list[str]) -> pd.DataFrame:
    return pd.DataFrame([json.loads(Path(p).read_text()) for p in paths])


def _dataset_order(datasets: dict) -> list[str]:
    def key(name):
        paper = datasets[name].get("paper_name", "")
        return (PAPER_ORDER.index(paper) if paper in PAPER_ORDER else len(PAPER_ORDER), name)

    return sorted(datasets, key=key)


def table1(
    eval_jsons: list[str], datasets: dict, methods: list[str], data_label: str, out_csv: str
) -> pd.DataFrame:
    runs = _load(eval_jsons)
    runs = runs[runs["train_dataset"] == runs["eval_dataset"]]
    order = _dataset_order(datasets)
    rows = []
    for method in methods:
        mine = runs[runs["method"] == method]
        row = {
            "method": method,
            "modality": models.MODALITY[method],
            "data": data_label,
            "seeds": int(mine["seed"].nunique()),
        }
        for ds in order:
            cell = mine[mine["eval_dataset"] == ds]
            row[f"{ds}_acc"] = round(cell["acc"].mean(), 2)
            row[f"{ds}_auc"] = round(cell["auc"].mean(), 2)
        row["avg_acc"] = round(sum(row[f"{d}_acc"] for d in order) / len(order), 2)
        row["avg_auc"] = round(sum(row[f"{d}_auc"] for d in order) / len(order), 2)
        rows.append(row)
    table = pd.DataFrame(rows)
    atomic.write_csv(out_csv, table)
    return table


def table1_by_category(eval_jsons: list[str], data_label: str, out_csv: str) -> pd.DataFrame:
    """AUC of each fake category against RVRA alone, per method and dataset (mean over seeds).

    This is the wiring check of the skeleton: an audio-only model must sit near chance (50) on
    FVRA, whose audio is real, and a visual-only model near chance on RVFA, whose video is real.
    ``ci95_<cat>`` is the 95% bootstrap interval over test clips (of the first seed).
    """
    runs = _load(eval_jsons)
    runs = runs[runs["train_dataset"] == runs["eval_dataset"]]
    rows = []
    for (ds, method), group in runs.groupby(["eval_dataset", "method"], sort=True):
        row = {"dataset": ds, "method": method, "data": data_label}
        for cat in CATEGORIES[1:]:
            cells = [r[cat] for r in group.sort_values("seed")["auc_by_category"] if cat in r]
            row[f"auc_{cat}"] = round(pd.Series([c["auc"] for c in cells], dtype=float).mean(), 2)
            row[f"ci95_{cat}"] = "{:.1f}-{:.1f}".format(*cells[0]["ci95"]) if cells else ""
        rows.append(row)
    table = pd.DataFrame(rows)
    atomic.write_csv(out_csv, table)
    return table


def rejects(index_csvs: dict[str, list[str]], out_csv: str) -> pd.DataFrame:
    """Every clip a stage rejected, with the stage and the reason: ``{dataset: [stage index, ...]}``."""
    frames = []
    for dataset, paths in index_csvs.items():
        for p in paths:
            index = pd.read_csv(p, dtype=str, keep_default_na=False)
            bad = index[index["status"] == "rejected"]
            frames.append(
                bad.assign(dataset=dataset, stage=Path(p).parent.name)[
                    ["dataset", "stage", "clip_id", "path", "reason"]
                ]
            )
    table = (
        pd.concat(frames, ignore_index=True)
        if frames
        else pd.DataFrame(columns=["dataset", "stage", "clip_id", "path", "reason"])
    )
    atomic.write_csv(out_csv, table.sort_values(["dataset", "stage", "clip_id"], kind="stable"))
    return table
