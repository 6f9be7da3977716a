"""Tables, built from the per-run JSON files and per-clip score CSVs that Snakemake tracks (never
from MLflow queries).

Every cell is a group of runs that differ only in the seed. It reports, for ACC, ACC at the
validation threshold, AUC, EER and AP (percent; ``acc``: a clip is called fake at probability 0.5,
the paper's convention; ``acc_val``: at the threshold each run chose on its validation split, the
EER point there): the mean over seeds, the standard deviation over seeds, and a 95% bootstrap interval of
that mean over test clips (``_ci_lo``, ``_ci_hi``; avdf.learning.metrics.bootstrap_seed_mean_ci). Columns
whose names end in ``_paper`` hold the paper's numbers (avdf.reporting.paper), on the paper's real data; the
``data`` column says what avdf's own numbers were measured on.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from avdf.contracts import atomic, layout, methods
from avdf.data.manifest import CATEGORIES
from avdf.evaluation import localisation
from avdf.learning import metrics
from avdf.reporting import paper

PAPER_ORDER = ["DefakeAVMiT", "FakeAVCeleb", "DFDC", "LAV-DF"]


def load_evals(paths: list[str]) -> pd.DataFrame:
    rows = []
    for p in paths:
        row = json.loads(Path(p).read_text())
        row["scores_csv"] = str(p).removesuffix(".json") + "_scores.csv"
        rows.append(row)
    return pd.DataFrame(rows)


def _scores(group: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    """The test clips (in one order) and each seed's fake probability for them: (seeds, clips)."""
    frames = [
        pd.read_csv(p).sort_values("clip_id", kind="stable") for p in group.sort_values("seed")["scores_csv"]
    ]
    clips = frames[0][["clip_id", "category", "label"]].reset_index(drop=True)
    for f in frames[1:]:
        if not f["clip_id"].reset_index(drop=True).equals(clips["clip_id"]):
            raise ValueError(f"seeds scored different test clips: {list(group['scores_csv'])}")
    return clips, np.stack([f["prob_fake"].to_numpy() for f in frames])


def cell(group: pd.DataFrame, threshold: float, prefix: str = "") -> dict:
    """Mean, std over seeds and the 95% bootstrap CI of the mean, for each metric of ``group``."""
    out = {f"{prefix}seeds": int(group["seed"].nunique())}
    clips, probs = _scores(group)
    val = group.sort_values("seed")["val_threshold"].astype(float).to_numpy()
    ci = metrics.bootstrap_seed_mean_ci(clips["label"].to_numpy(), probs, threshold, val_thresholds=val)
    for m in metrics.METRICS:
        values = group[m].astype(float)
        out[f"{prefix}{m}"] = round(values.mean(), 2)
        out[f"{prefix}{m}_std"] = round(values.std(ddof=1), 2) if len(values) > 1 else float("nan")
        out[f"{prefix}{m}_ci_lo"], out[f"{prefix}{m}_ci_hi"] = (round(v, 2) for v in ci[m])
    return out


def dataset_order(paper_names: dict, names) -> list[str]:
    def key(name):
        p = paper_names[name]
        return (PAPER_ORDER.index(p) if p in PAPER_ORDER else len(PAPER_ORDER), name)

    return sorted(names, key=key)


def _paper_name(spec: dict, dataset: str) -> str:
    return spec["datasets"][dataset]


def _in_dataset(runs: pd.DataFrame) -> pd.DataFrame:
    return runs[runs["train_dataset"] == runs["eval_dataset"]]


def table1(eval_jsons: list[str], spec: dict, out_csv: str) -> pd.DataFrame:
    """The paper's Table 1 with ACC, AUC, EER and AP: avdf's methods, then the paper-only rows."""
    runs = _in_dataset(load_evals(eval_jsons))
    runs = runs[runs["variant"] == "default"]
    order = dataset_order(spec["datasets"], runs["eval_dataset"].unique())
    threshold = spec["threshold"]
    rows = []
    for method in spec["methods"]:
        row_name = paper.PAPER_ROW.get(method)
        row = {
            "row": paper.ROW_NAME.get(method, method),
            "method": method,
            "source": "avdf",
            "modality": methods.get(method).modality,
            "data": spec["data_label"],
            "reason": "",
        }
        for ds in order:
            row |= cell(runs[(runs["method"] == method) & (runs["eval_dataset"] == ds)], threshold, f"{ds}_")
            row |= _table1_paper(row_name, _paper_name(spec, ds), f"{ds}_")
        for m in metrics.METRICS:
            row[f"avg_{m}"] = round(float(np.mean([row[f"{ds}_{m}"] for ds in order])), 2)
        avg = paper.TABLE1_AVG.get(row_name, (None, None))
        row["avg_acc_paper"], row["avg_auc_paper"] = avg
        rows.append(row)
    for row_name, reason in paper.REPORTED.items():
        row = {
            "row": row_name,
            "method": "",
            "source": "reported",
            "modality": paper.TABLE1[row_name][0],
            "data": "the paper's number only",
            "reason": reason,
        }
        for ds in order:
            row |= _table1_paper(row_name, _paper_name(spec, ds), f"{ds}_")
        row["avg_acc_paper"], row["avg_auc_paper"] = paper.TABLE1_AVG[row_name]
        rows.append(row)
    table = _int_seeds(pd.DataFrame(rows))
    atomic.write_csv(out_csv, table)
    return table


def best_model(eval_jsons: list[str], table: pd.DataFrame, metric: str = "auc") -> dict:
    """The detector a table recommends: of avdf's rows, the one with the highest ``avg_<metric>``;
    of that row's runs, the in-dataset one (training dataset, seed) with the highest ``metric``.
    Ties go to the first in (row, dataset, seed) order, so the choice is the same on every run."""
    rows = table[table["source"] == "avdf"]
    best = rows.loc[rows[f"avg_{metric}"].astype(float).idxmax()]
    runs = _in_dataset(load_evals(eval_jsons))
    runs = runs[(runs["method"] == best["method"]) & (runs["variant"] == "default")]
    run = runs.sort_values(["eval_dataset", "seed"], kind="stable")
    run = run.loc[run[metric].astype(float).idxmax()]
    return {
        "row": str(best["row"]),
        "method": str(run["method"]),
        "train_dataset": str(run["train_dataset"]),
        "seed": int(run["seed"]),
        metric: float(run[metric]),
        f"table_avg_{metric}": float(best[f"avg_{metric}"]),
        "checkpoint": layout.checkpoint(run["train_dataset"], run["method"], "default", int(run["seed"])),
        "data": str(best["data"]),
    }


def _int_seeds(table: pd.DataFrame) -> pd.DataFrame:
    """Seed counts stay integers next to the paper-only rows, where they are empty."""
    for c in table.columns:
        if c == "seeds" or c.endswith("_seeds"):
            table[c] = table[c].astype("Int64")
    return table


def _table1_paper(row_name: str | None, paper_dataset: str, prefix: str) -> dict:
    acc, auc = paper.TABLE1.get(row_name, ("", {}))[1].get(paper_dataset, (None, None))
    return {f"{prefix}acc_paper": acc, f"{prefix}auc_paper": auc}


def table1_by_category(eval_jsons: list[str], spec: dict, out_csv: str) -> pd.DataFrame:
    """AUC of each fake category (RVFA, FVRA, FVFA) against RVRA alone, per method and dataset.

    Mean and std over seeds, and the 95% bootstrap interval of the seed-mean over test clips. The
    paper does not report this. It also checks the wiring: an audio-only model must sit near
    chance (50) on FVRA, whose audio is real, and a visual-only model on RVFA, whose video is real.
    """
    runs = _in_dataset(load_evals(eval_jsons))
    runs = runs[runs["variant"] == "default"]
    rows = []
    for ds in dataset_order(spec["datasets"], runs["eval_dataset"].unique()):
        for method in spec["methods"]:
            group = runs[(runs["eval_dataset"] == ds) & (runs["method"] == method)]
            if group.empty:
                continue
            rows.append(_category_row(group, ds, method, spec["data_label"]))
    table = pd.DataFrame(rows)
    atomic.write_csv(out_csv, table)
    return table


def _category_row(group: pd.DataFrame, ds: str, method: str, data_label: str) -> dict:
    clips, probs = _scores(group)
    row = {"dataset": ds, "method": method, "data": data_label, "seeds": len(probs)}
    for cat in CATEGORIES[1:]:
        keep = clips["category"].isin([CATEGORIES[0], cat]).to_numpy()
        labels = (clips["category"][keep] == cat).to_numpy()
        per_seed = [metrics.auc(labels, p[keep]) for p in probs]
        ci = metrics.bootstrap_seed_mean_ci(labels, probs[:, keep])["auc"]
        row[f"auc_{cat}"] = round(float(np.mean(per_seed)), 2)
        row[f"auc_{cat}_std"] = round(float(np.std(per_seed, ddof=1)), 2) if len(per_seed) > 1 else np.nan
        row[f"auc_{cat}_ci_lo"], row[f"auc_{cat}_ci_hi"] = (round(v, 2) for v in ci)
    return row


def _variant_table(eval_jsons: list[str], spec: dict, names: dict, paper_values: dict | None) -> pd.DataFrame:
    """One row per variant of MACB-DF in the study's order, one column group per dataset."""
    runs = _in_dataset(load_evals(eval_jsons))
    threshold = spec["threshold"]
    study = spec["study"]
    datasets = study["datasets"]
    studied = methods.studied()
    rows = []
    for variant in study["variants"]:
        run_variant = spec["run_variant"][variant]
        row = {"row": names.get(variant, variant), "variant": variant, "data": spec["data_label"]}
        mine = runs[(runs["method"] == studied) & (runs["variant"] == run_variant)]
        row["ablation"] = mine["ablation"].iloc[0]
        row["objective"] = mine["objective"].iloc[0]
        for ds in datasets:
            row |= cell(mine[mine["eval_dataset"] == ds], threshold, f"{ds}_")
            if paper_values is not None:
                acc, auc = paper_values.get(variant, {}).get(_paper_name(spec, ds), (None, None))
                row[f"{ds}_acc_paper"], row[f"{ds}_auc_paper"] = acc, auc
        rows.append(row)
    return against_full_model(pd.DataFrame(rows), datasets)


def against_full_model(table: pd.DataFrame, datasets: list[str]) -> pd.DataFrame:
    """``<dataset>_<acc|auc>_vs_full``: whether each variant's 95% interval lies wholly above or
    below the full model's (the ``default`` row), or overlaps it: "not resolved" (the difference
    is within what the test clips and seeds can tell apart)."""
    full = table[table["variant"] == "default"]
    if full.empty:
        return table
    for ds in datasets:
        for m in ("acc", "auc"):
            lo, hi = full[f"{ds}_{m}_ci_lo"].iloc[0], full[f"{ds}_{m}_ci_hi"].iloc[0]
            table[f"{ds}_{m}_vs_full"] = [
                "full model" if variant == "default" else _interval_against((v_lo, v_hi), (lo, hi))
                for variant, v_lo, v_hi in zip(
                    table["variant"], table[f"{ds}_{m}_ci_lo"], table[f"{ds}_{m}_ci_hi"], strict=True
                )
            ]
    return table


def _interval_against(interval: tuple[float, float], full: tuple[float, float]) -> str:
    if interval[0] > full[1]:
        return "higher"
    return "lower" if interval[1] < full[0] else "not resolved"


def table_frame_level(eval_jsons: list[str], spec: dict, out_csv: str) -> pd.DataFrame:
    """Frame-level AUC of MACB-DF's frame heads against the fake segments (avdf.evaluation.frame_level), per
    dataset with segments: mean and std over seeds, overall and per modality. Not in the paper."""
    runs = _in_dataset(load_evals(eval_jsons))
    rows = []
    for ds, group in runs.groupby("eval_dataset", sort=True):
        levels = [f for f in group.get("frame_level", []) if isinstance(f, dict)]
        row = {"dataset": ds, "method": methods.studied(), "data": spec["data_label"], "seeds": len(levels)}
        for key in ("frame_auc", "frame_auc_video", "frame_auc_audio"):
            values = [f[key] for f in levels]
            row[key] = round(float(np.mean(values)), 2) if values else np.nan
            row[f"{key}_std"] = round(float(np.std(values, ddof=1)), 2) if len(values) > 1 else np.nan
            row[f"{key}_fake_frames"] = levels[0][f"{key}_fake_frames"] if levels else 0
            row[f"{key}_frames"] = levels[0][f"{key}_frames"] if levels else 0
        row["clip_auc"] = round(float(group["auc"].mean()), 2)
        rows.append(row)
    table = pd.DataFrame(rows)
    atomic.write_csv(out_csv, table)
    return table


def _localisation_files(timelines: list[dict], rule: dict) -> dict:
    """``{clip: (proposals, segments)}`` from one evaluation's timelines: a localiser's own
    proposals, or the frame-head rule's over the frame probabilities; as a challenge file holds
    them (a clip where nothing was found has ``NOTHING_FOUND``, its segments missed)."""
    return {
        t["clip_id"]: (
            localisation.as_submitted(
                t["proposals"] if "proposals" in t else localisation.proposals(t["times"], t["probs"], **rule)
            ),
            np.asarray(t["segments"], float).reshape(-1, 2),
        )
        for t in timelines
    }


def _localisation_scores(files: dict) -> dict:
    """AP and AR (percent) and the 1M-Deepfakes challenge's Task 2 score (0-1)."""
    return (scores := localisation.scores(files)) | {"score": localisation.challenge_score(scores)}


def _seed_spread(seeds: list[dict], n_boot: int) -> dict:
    """Mean and std over seeds of every score, and a 95% bootstrap interval of the seed-mean over
    test clips (the same resampled clips for every seed)."""
    per_seed = pd.DataFrame([_localisation_scores(files) for files in seeds])
    clips, rng, draws = sorted(seeds[0]), np.random.default_rng(0), []
    for _ in range(n_boot):
        pick = [clips[i] for i in rng.integers(0, len(clips), len(clips))]
        resampled = [{f"{c}#{k}": files[c] for k, c in enumerate(pick)} for files in seeds]
        draws.append(pd.DataFrame([_localisation_scores(f) for f in resampled]).mean())
    lo, hi = pd.DataFrame(draws).quantile(0.025), pd.DataFrame(draws).quantile(0.975)
    row, digits = {}, {"score": 4}
    for key in per_seed:
        d = digits.get(key, 2)
        row[key] = round(float(per_seed[key].mean()), d)
        row[f"{key}_std"] = round(float(per_seed[key].std(ddof=1)), d) if len(per_seed) > 1 else np.nan
        row[f"{key}_ci_lo"], row[f"{key}_ci_hi"] = round(float(lo[key]), d), round(float(hi[key]), d)
    return row


def _localisation_row(ds: str, method: str, group: pd.DataFrame, spec: dict, n_boot: int) -> dict:
    rule = spec["localisation"]
    timelines = [t for t in group.sort_values("seed").get("timelines", []) if isinstance(t, list)]
    row = {"dataset": ds, "method": method, "data": spec["data_label"], "seeds": len(timelines)}
    if not timelines:
        return row
    row |= _seed_spread([_localisation_files(t, rule) for t in timelines], n_boot)
    row["fake_segments"] = sum(len(t["segments"]) for t in timelines[0])
    row["test_clips"] = len(timelines[0])
    row["scored_s"] = round(float(np.mean([t["scored_s"] for t in timelines[0]])), 3)
    if "proposals" in timelines[0][0]:
        return row | {"proposals": "own proposals, Soft-NMS"}
    return row | {"proposals": "frame-head rule"} | {f"rule_{k}": v for k, v in rule.items()}


def _published_rows() -> list[dict]:
    """The published numbers on the real test sets (avdf.reporting.paper), in ``_paper`` columns."""
    return [
        {"dataset": ds, "method": method, "data": paper.PUBLISHED_DATA, "source_paper": source}
        | {f"{k}_paper": v for k, v in values.items()}
        for ds, method, values, source in paper.LOCALISATION_PUBLISHED
    ]


def table_localisation(eval_jsons: list[str], spec: dict, out_csv: str, n_boot: int = 200) -> pd.DataFrame:
    """Temporal forgery localisation (avdf.evaluation.localisation), per dataset with fake segments
    and method: AP at IoU 0.5, 0.75, 0.9, 0.95, AR at 50, 30, 20, 10, 5 proposals and the challenge
    score, mean and std over seeds with a bootstrap interval; then the published numbers on the
    real test sets. Not in the paper."""
    runs = _in_dataset(load_evals(eval_jsons))
    rows = [
        _localisation_row(ds, method, group, spec, n_boot)
        for (ds, method), group in runs.groupby(["eval_dataset", "method"], sort=True)
    ]
    table = pd.DataFrame(rows + _published_rows())
    atomic.write_csv(out_csv, table)
    return table


def table2(eval_jsons: list[str], spec: dict, out_csv: str) -> pd.DataFrame:
    """The paper's Table 2: MACB-DF without L_C, L_intra, L_cross or the fusion weights w."""
    table = _variant_table(eval_jsons, spec, paper.TABLE2_NAME, paper.TABLE2)
    atomic.write_csv(out_csv, table)
    return table


def table_contrastive(eval_jsons: list[str], spec: dict, out_csv: str) -> pd.DataFrame:
    """MACB-DF with L_C = MACL (default) or each alternative objective, all else fixed. Not in the paper."""
    names = {"default": f"MACL (paper), {spec['objective']}"}
    table = _variant_table(eval_jsons, spec, names, None)
    atomic.write_csv(out_csv, table)
    return table


def table3(eval_jsons: list[str], spec: dict, out_csv: str) -> pd.DataFrame:
    """The paper's Table 3: trained on the DFDC stand-in, tested on the other datasets (ACC, with
    AUC, EER and AP as well), then the paper-only rows."""
    runs = load_evals(eval_jsons)
    runs = runs[runs["train_dataset"] != runs["eval_dataset"]]
    threshold = spec["threshold"]
    study = spec["study"]
    train, targets = study["train"], study["eval"]
    rows = []
    for method in spec["methods"]:
        row = {
            "row": paper.ROW_NAME.get(method, method),
            "method": method,
            "source": "avdf",
            "train_dataset": train,
            "data": spec["data_label"],
            "reason": "",
        }
        for ds in targets:
            row |= cell(runs[(runs["method"] == method) & (runs["eval_dataset"] == ds)], threshold, f"{ds}_")
            row[f"{ds}_acc_paper"] = paper.TABLE3.get(paper.PAPER_ROW.get(method), {}).get(
                _paper_name(spec, ds)
            )
        rows.append(row)
    for row_name, reason in paper.TABLE3_REPORTED.items():
        row = {"row": row_name, "method": "", "source": "reported", "train_dataset": "DFDC (paper)"}
        row |= {"data": "the paper's number only", "reason": reason}
        for ds in targets:
            row[f"{ds}_acc_paper"] = paper.TABLE3[row_name].get(_paper_name(spec, ds))
        rows.append(row)
    table = _int_seeds(pd.DataFrame(rows))
    atomic.write_csv(out_csv, table)
    return table


def depth_sweep(eval_jsons: list[str], spec: dict, out_csv: str) -> pd.DataFrame:
    """Fig. 5 as a table: one row per dataset and multi-scale depth (long format, for plotting)."""
    runs = _in_dataset(load_evals(eval_jsons))
    threshold = spec["threshold"]
    study = spec["study"]
    studied = methods.studied()
    rows = []
    for ds in study["datasets"]:
        for variant in study["variants"]:
            depth = spec["ms_depth"][variant]
            run_variant = spec["run_variant"][variant]
            group = runs[
                (runs["method"] == studied) & (runs["variant"] == run_variant) & (runs["eval_dataset"] == ds)
            ]
            row = {"dataset": ds, "depth": depth, "variant": variant, "data": spec["data_label"]}
            row |= cell(group, threshold)
            row["acc_paper"] = paper.FIG5_TEXT.get(_paper_name(spec, ds), {}).get(depth)
            rows.append(row)
    table = pd.DataFrame(rows)
    atomic.write_csv(out_csv, table)
    return table


FIG67_CURVES = {  # the per-epoch series of the OM-Pareto study, from each run's train.json
    "loss": "training loss",
    "test_auc_audio": "audio branch AUC (test)",
    "test_acc_audio": "audio branch ACC (test)",
    "test_auc_video": "video branch AUC (test)",
    "test_acc_video": "video branch ACC (test)",
    "test_auc": "fused AUC (test)",
}


def om_pareto_curves(train_jsons: list[str], spec: dict, out_csv: str) -> pd.DataFrame:
    """Figs. 6-7 as a table: per dataset, OM-Pareto on/off and epoch, the mean and std over seeds
    of the training loss and of each branch's test AUC and ACC."""
    rows = []
    for p in train_jsons:
        run = json.loads(Path(p).read_text())
        om = "on" if "om_pareto" not in run["ablation"] else "off"
        for epoch in range(run["epochs"]):
            row = {"dataset": run["dataset"], "om_pareto": om, "seed": run["seed"], "epoch": epoch + 1}
            row |= {k: run["history"][k][epoch] for k in FIG67_CURVES}
            rows.append(row)
    long = pd.DataFrame(rows)
    grouped = long.groupby(["dataset", "om_pareto", "epoch"], sort=True)[list(FIG67_CURVES)]
    table = grouped.mean().round(4).join(grouped.std(ddof=1).round(4), rsuffix="_std").reset_index()
    table.insert(3, "seeds", grouped.size().to_numpy())
    table["data"] = spec["data_label"]
    atomic.write_csv(out_csv, table)
    return table


REJECT_COLUMNS = ["dataset", "stage", "clip_id", "path", "reason"]


def _ingest_rejects(report_json: str) -> pd.DataFrame:
    """The rows ingest skipped (a CSV source with on_bad_rows: skip), as rejects of stage ingest."""
    bad = json.loads(Path(report_json).read_text()).get("bad_rows", [])
    return pd.DataFrame(
        {
            "clip_id": [f"line {b['line']}" for b in bad],
            "path": [b["path"] for b in bad],
            "reason": [f"column {b['column']}: {b['reason']}" for b in bad],
            "status": "rejected",
        },
        dtype=str,
    )


def rejects(index_csvs: dict[str, list[str]], out_csv: str) -> pd.DataFrame:
    """Every clip a stage rejected, with the stage and the reason: ``{dataset: [ingest report JSON,
    stage index CSV, ...]}`` (rows ingest skipped are named by their line in the dataset's table)."""
    frames = []
    for dataset, paths in index_csvs.items():
        for p in paths:
            if p.endswith(".json"):
                frames.append(_ingest_rejects(p).assign(dataset=dataset, stage="ingest"))
                continue
            index = pd.read_csv(p, dtype=str, keep_default_na=False)
            bad = index[index["status"] == "rejected"]
            frames.append(bad.assign(dataset=dataset, stage=Path(p).parent.name))
    frames = [f[REJECT_COLUMNS] for f in frames if len(f)]
    table = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=REJECT_COLUMNS)
    atomic.write_csv(out_csv, table.sort_values(["dataset", "stage", "clip_id"], kind="stable"))
    return table


def metrics_json(table_csvs: list[str], out_json: str) -> dict:
    """The headline numbers of every table, for ``dvc metrics show`` / ``dvc metrics diff``:
    per table, per row, the seed-mean of each metric column (no std, CI or paper columns)."""
    out = {}
    for path in table_csvs:
        table = pd.read_csv(path)
        name = Path(path).stem
        if "source" in table:
            table = table[table["source"] == "avdf"]
        key = "row" if "row" in table else None
        if name == "fig5_depth":
            table = table.assign(row=table["dataset"] + "/depth" + table["depth"].astype(str))
            key = "row"
        keep = [
            c
            for c in table.columns
            if c.endswith(tuple(f"_{m}" for m in metrics.METRICS)) or c in metrics.METRICS
        ]
        keep = [c for c in keep if not c.endswith("_paper")]
        out[name] = {
            str(r[key]): {c: (None if pd.isna(r[c]) else float(r[c])) for c in keep}
            for _, r in table.iterrows()
        }
        if "data" in table and len(table):
            out["data"] = str(table["data"].iloc[0])
    atomic.write_json(out_json, out)
    return out
