"""The ``avdf`` command: one subcommand per workflow step (the Snakemake rules call these).

Parameters arrive as JSON (``--cfg``) taken from ``params.yaml`` by the rule, so a rule reruns
exactly when the parameters it uses change.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path


def _cfg(text: str) -> dict:
    return json.loads(text)


TABLES = {  # avdf table NAME -> function of avdf.tables
    "table1": "table1",
    "table1_by_category": "table1_by_category",
    "table2": "table2",
    "table3": "table3",
    "contrastive": "table_contrastive",
    "fig5": "depth_sweep",
    "fig67": "om_pareto_curves",
    "frame_level": "table_frame_level",
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="avdf", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("synth", help="generate a synthetic dataset family (FakeAVCeleb metadata format)")
    p.add_argument("--family", required=True)
    p.add_argument("--name", required=True)
    p.add_argument("--out-root", required=True)
    p.add_argument("--cfg", type=_cfg, required=True, help="the synth section of params.yaml, as JSON")
    p.add_argument("--workers", type=int, default=1, help="processes rendering clips in parallel")

    p = sub.add_parser("fetch", help="find a dataset's local copy, or download it; write its marker")
    p.add_argument("--dataset", required=True)
    p.add_argument("--marker", required=True)
    p.add_argument("--cfg", type=_cfg, required=True, help="the dataset's params.yaml entry, as JSON")

    p = sub.add_parser("predict", help="score your own videos with a trained detector")
    p.add_argument("videos", nargs="+")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--checkpoint", help="a model.pt written by training (runs/.../model.pt)")
    src.add_argument("--model-uri", help="a registered model, e.g. models:/avdf-table1/latest")
    p.add_argument("--tracking-uri", default="sqlite:///mlflow.db", help="the MLflow store of --model-uri")
    p.add_argument("--out", help="JSON (or .csv: one row per video); default: JSON on stdout")
    p.add_argument("--threads", type=int, default=2)

    p = sub.add_parser(
        "track-data", help="put located datasets under DVC (dvc add; outside copies: a dependency)"
    )
    p.add_argument("markers", nargs="+", help="data/raw/<name>.json files written by fetch")

    p = sub.add_parser("ingest", help="metadata -> manifest + split file")
    p.add_argument(
        "--source", required=True, help="the adapter: synthetic, fakeavceleb, dfdc, lavdf, defakeavmit"
    )
    p.add_argument("--root", required=True, help="the dataset root, or a marker JSON written by fetch")
    p.add_argument("--manifest", required=True)
    p.add_argument("--split", required=True)
    p.add_argument("--report", help="where to write what ingest found (duplicates, missing files)")
    p.add_argument("--cfg", type=_cfg, required=True, help="the split section, as JSON")

    p = sub.add_parser("audit", help="shortcut audit: AUC of trivial predictors (silence, duration, size)")
    p.add_argument("--dataset", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--png", required=True)
    p.add_argument("--cfg", type=_cfg, required=True, help='{"audit": {...}, "data_label": ...}')

    for name, what in (
        ("demux", "clips -> 25 fps video + 16 kHz mono WAV"),
        ("faces", "face tracks (MTCNN)"),
        ("face-crops", "face-crop cache"),
        ("log-mel", "log-Mel cache, eq. (1)"),
    ):
        p = sub.add_parser(name, help=what)
        p.add_argument("--dataset", required=True)
        p.add_argument("--cfg", type=_cfg, required=True, help="the stage's params.yaml section, as JSON")
        p.add_argument("--shard", help="k/n: only shard k of n (from 0), for a cluster job")
        p.add_argument("--index-out", help="where this run's index goes (default: the stage's index.csv)")

    p = sub.add_parser("mlflow-init", help="create the MLflow store and experiment once")
    p.add_argument("--uri", required=True)
    p.add_argument("--experiment", required=True)
    p.add_argument("--marker", required=True)

    p = sub.add_parser("train", help="train one detector")
    p.add_argument("--dataset", required=True)
    p.add_argument("--method", required=True)
    p.add_argument(
        "--variant", default="default", help="the name of the parameter changes applied (for the record)"
    )
    p.add_argument("--seed", type=int, required=True)
    p.add_argument("--out-dir", required=True)
    p.add_argument("--cfg", type=_cfg, required=True)
    p.add_argument("--eval-json", help="also score the dataset's own test split: its metrics JSON")
    p.add_argument("--scores", help="... and its per-clip scores CSV (with --eval-json)")

    p = sub.add_parser("evaluate", help="evaluate a checkpoint on a dataset's test split")
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--train-dataset", required=True)
    p.add_argument("--eval-dataset", required=True)
    p.add_argument("--seed", type=int, required=True)
    p.add_argument("--out-json", required=True)
    p.add_argument("--scores", required=True)
    p.add_argument("--cfg", type=_cfg, required=True)

    p = sub.add_parser("table", help="a table (CSV) and its figures (PNG) from per-run JSON files")
    p.add_argument("name", choices=sorted(TABLES))
    p.add_argument("--out", required=True, help="the CSV")
    p.add_argument("--png", nargs="*", default=[], help="the figure(s) drawn from the CSV")
    p.add_argument("--cfg", type=_cfg, required=True, help="params.yaml, as JSON")
    p.add_argument("inputs", nargs="+", help="evaluation JSONs (train JSONs for fig67)")

    p = sub.add_parser("metrics-json", help="results/metrics.json (DVC metrics) from the tables' CSVs")
    p.add_argument("--out", required=True)
    p.add_argument("tables", nargs="+")

    p = sub.add_parser("latent", help="Fig. 4: t-SNE of MACB-DF's fused features from checkpoints")
    p.add_argument("--dataset", required=True)
    p.add_argument("--checkpoint", nargs="+", required=True, help="PANEL=PATH, one per panel")
    p.add_argument("--out", required=True)
    p.add_argument("--png", required=True)
    p.add_argument("--cfg", type=_cfg, required=True, help='{"data_label": ..., "mlflow": {...}}')

    p = sub.add_parser("rejects", help="gather every rejected clip with its reason")
    p.add_argument("--out", required=True)
    p.add_argument("--cfg", type=_cfg, required=True, help='{"dataset": [stage index CSV, ...]}')

    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )
    # Progress lines (counts, rates, ETA) also go to stdout: Snakemake sends a job's stderr to its
    # log file and lets stdout through to the terminal.
    terminal = logging.StreamHandler(sys.stdout)
    terminal.addFilter(lambda record: getattr(record, "progress", False))
    terminal.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%H:%M:%S"))
    logging.getLogger().addHandler(terminal)
    from avdf.errors import InputError

    try:
        return _dispatch(args)
    except InputError as e:
        logging.getLogger("avdf").error("avdf %s: %s", args.command, e)
        return 2


def _dispatch(args) -> int:
    from avdf import layout

    if args.command == "synth":
        from avdf.data import synthetic

        synthetic.generate(args.out_root, args.name, args.family, args.cfg, args.workers)
    elif args.command == "fetch":
        from avdf.data import sources

        sources.locate(args.dataset, args.cfg, args.marker)
    elif args.command == "predict":
        from avdf import predict

        model, ckpt = predict.load(args.checkpoint, args.model_uri, args.tracking_uri)
        results = predict.predict(args.videos, model, ckpt["input"], args.threads)
        predict.write(results, args.out)
        return 1 if all("error" in r for r in results) else 0
    elif args.command == "track-data":
        from avdf.data import sources

        for marker in args.markers:
            sources.dvc_track(marker)
    elif args.command == "ingest":
        import json

        from avdf.data import manifest

        root = args.root
        if root.endswith(".json"):
            root = json.loads(open(root).read())["root"]
        cfg = args.cfg
        manifest.build(
            args.source,
            root,
            args.manifest,
            args.split,
            cfg["protocol"],
            cfg["test_fraction"],
            cfg["seed"],
            args.report,
        )
    elif args.command == "audit":
        from avdf import audit

        ds = args.dataset
        audit.audit(
            ds,
            layout.manifest(ds),
            layout.stage_index(ds, "demux"),
            layout.stage_dir(ds, "demux"),
            args.cfg["audit"],
            args.cfg["data_label"],
            args.out,
            args.png,
        )
    elif args.command in ("demux", "faces", "face-crops", "log-mel"):
        from avdf import preprocess
        from avdf.media import clip_stage

        ds, cfg = args.dataset, args.cfg
        stage = args.command.replace("-", "_")
        index_out = args.index_out or layout.stage_index(ds, stage)
        shard = clip_stage.parse_shard(args.shard)
        demux_dir, demux_index = layout.stage_dir(ds, "demux"), layout.stage_index(ds, "demux")
        if stage == "demux":
            preprocess.demux(
                layout.manifest(ds),
                demux_dir,
                index_out,
                cfg["fps"],
                cfg["sample_rate"],
                cfg["trim_silence"],
                shard,
            )
        elif stage == "faces":
            preprocess.face_tracks(
                demux_index, demux_dir, layout.stage_dir(ds, "faces"), index_out, cfg, shard
            )
        elif stage == "face_crops":
            preprocess.face_crops(
                layout.stage_index(ds, "faces"),
                demux_dir,
                layout.stage_dir(ds, "faces"),
                layout.stage_dir(ds, "face_crops"),
                index_out,
                cfg,
                shard,
            )
        else:
            preprocess.log_mels(
                demux_index,
                demux_dir,
                layout.stage_dir(ds, "log_mel"),
                index_out,
                cfg["sample_rate"],
                cfg["log_mel"],
                shard,
            )
    elif args.command == "mlflow-init":
        from avdf import atomic, tracking

        exp_id = tracking.init_store(args.uri, args.experiment)
        atomic.write_json(
            args.marker, {"tracking_uri": args.uri, "experiment": args.experiment, "experiment_id": exp_id}
        )
    elif args.command == "train":
        from avdf import train

        train.train(
            args.dataset,
            args.method,
            args.variant,
            args.seed,
            layout.caches(args.dataset),
            args.cfg,
            args.out_dir,
            args.eval_json,
            args.scores,
        )
    elif args.command == "evaluate":
        from avdf import evaluate

        evaluate.evaluate(
            args.checkpoint,
            args.train_dataset,
            args.eval_dataset,
            args.seed,
            layout.caches(args.eval_dataset),
            args.cfg,
            args.out_json,
            args.scores,
        )
    elif args.command == "table":
        from avdf import figures, tables, tracking

        getattr(tables, TABLES[args.name])(args.inputs, args.cfg, args.out)
        if args.name == "fig5":
            figures.depth_sweep(args.out, *args.png)
        elif args.name == "fig67":
            figures.om_pareto(args.out, *args.png)
        mlf = args.cfg["mlflow"]
        parent = tracking.log_table(
            mlf["tracking_uri"],
            mlf["experiment"],
            Path(args.out).stem,
            args.out,
            args.png,
            args.cfg["data_label"],
            list(args.cfg["datasets"]),
        )
        if Path(args.out).stem in mlf.get("register_best", []):
            import pandas as pd

            best = tables.best_model(args.inputs, pd.read_csv(args.out))
            name = f"avdf-{Path(args.out).stem}"
            best["description"] = (
                f"Best detector of {Path(args.out).stem}: {best['row']} trained on {best['train_dataset']}"
                f" (seed {best['seed']}, in-dataset AUC {best['auc']:.1f}). Data: {best['data']}."
            )
            version = tracking.log_best_model(mlf["tracking_uri"], parent, best["checkpoint"], name, best)
            logging.getLogger("avdf").info("registered models:/%s/%s (%s)", name, version, best["checkpoint"])
    elif args.command == "metrics-json":
        from avdf import tables

        tables.metrics_json(args.tables, args.out)
    elif args.command == "latent":
        from avdf import figures

        panels = dict(c.split("=", 1) for c in args.checkpoint)
        figures.latent_space(panels, layout.caches(args.dataset), args.cfg["data_label"], args.out, args.png)
        from avdf import tracking

        mlf = args.cfg["mlflow"]
        tracking.log_table(
            mlf["tracking_uri"],
            mlf["experiment"],
            "fig4_latent",
            args.out,
            [args.png],
            args.cfg["data_label"],
            [args.dataset],
        )
    elif args.command == "rejects":
        from avdf import tables

        tables.rejects(args.cfg, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
