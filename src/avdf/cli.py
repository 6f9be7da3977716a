"""The ``avdf`` command: one subcommand per workflow step (the Snakemake rules call these).

A step receives its spec as JSON (``--spec``): exactly what it reads, so that a rule reruns
exactly when that changes (avdf.contracts.specs). How it runs (threads, processes, MLflow store, data label)
comes apart as ``--runtime`` (the workflow passes ``$AVDF_RUNTIME``), which reruns nothing.
``avdf train`` with ``processes`` > 1 starts itself under torchrun. One small handler per subcommand.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys

STAGES = ("demux", "faces", "face-crops", "log-mel")
USES_FFMPEG = (
    "synth",
    "predict",
    "errors",
    "audit",
    "demux",
    "faces",
    "face-crops",
)  # refused at start if it is unfit


def _json(text: str) -> dict:
    return json.loads(text)


def _runtime(text: str):
    from avdf.contracts import specs

    return specs.runtime_of(json.loads(text))


def _studies() -> list[str]:
    from avdf.reporting.studies import STUDIES

    return [name for name, study in STUDIES.items() if study.table]


def _sources() -> list[str]:
    from avdf.data.sources import SOURCES

    return list(SOURCES)


def parser() -> argparse.ArgumentParser:
    """Every subcommand and its arguments: a declarative table, the one function in src/ allowed
    over 60 lines (tests/test_contracts.py, test_functions_are_short_and_take_few_parameters)."""
    p0 = argparse.ArgumentParser(prog="avdf", description=__doc__.splitlines()[0])
    sub = p0.add_subparsers(dest="command", required=True)

    def command(name, help, *, spec=None, runtime=False):
        p = sub.add_parser(name, help=help)
        if spec:
            p.add_argument("--spec", type=_json, required=True, help=spec)
        if runtime:
            p.add_argument(
                "--runtime", type=_runtime, required=True, help="avdf.contracts.specs.Runtime, as JSON"
            )
        return p

    p = command("synth", "generate a synthetic dataset family", spec="the synth section, as JSON")
    p.add_argument("--family", required=True)
    p.add_argument("--name", required=True)
    p.add_argument("--out-root", required=True)
    p.add_argument("--workers", type=int, default=1, help="processes rendering clips in parallel")

    p = command("fetch", "find a dataset's local copy, or download it", spec="the dataset's entry, as JSON")
    p.add_argument("--dataset", required=True)
    p.add_argument("--marker", required=True)

    p = command("predict", "score your own videos with a trained detector")
    p.add_argument("videos", nargs="+", help="video files (sound files too, for an audio-only detector)")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--checkpoint", help="a model.pt written by training (runs/.../model.pt)")
    src.add_argument("--model-uri", help="a registered model, e.g. models:/avdf-table1/latest")
    p.add_argument("--tracking-uri", default="sqlite:///mlflow.db", help="the MLflow store of --model-uri")
    p.add_argument("--out", help="JSON (or .csv: one row per video); default: JSON on stdout")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--device", choices=["cpu", "cuda", "auto"], default="cpu", help="where the model runs")
    p.add_argument(
        "--challenge",
        choices=["detection", "localisation"],
        help="write --out as a 1M-Deepfakes challenge submission (detection: file;score lines; "
        "localisation: JSON of [score, start, end] segments per file)",
    )
    p.add_argument("--root", default=".", help="with --challenge: files are named relative to this folder")
    p.add_argument("--segment-threshold", type=float, default=0.5, help="fake segments: frame probability")
    p.add_argument(
        "--report", help="also write one self-contained HTML page: a timeline and keyframes per video"
    )
    p.add_argument(
        "--truth", help="with --report: an avdf manifest whose fake_periods are drawn as true segments"
    )
    p.add_argument("--tracks", action="store_true", help="keep every frame's face box in the JSON (large)")
    p.add_argument("--merge-gap", type=float, default=0.0, help="fake segments: merge across gaps (s)")
    p.add_argument("--min-length", type=float, default=0.0, help="fake segments: drop shorter ones (s)")

    p = command("track-data", "put located datasets under DVC (outside copies: a dependency)")
    p.add_argument("markers", nargs="+", help="data/raw/<name>.json files written by fetch")

    p = command("ingest", "metadata -> manifest + split file", spec="split section (+ on_bad_rows), JSON")
    p.add_argument("--source", required=True, choices=_sources(), help="the adapter (avdf.data.sources)")
    p.add_argument("--root", required=True, help="the dataset root, or a marker JSON written by fetch")
    p.add_argument("--manifest", required=True)
    p.add_argument("--split", required=True)
    p.add_argument("--report", help="where to write what ingest found (duplicates, missing files)")

    p = command("errors", "timelines of the test clips the best model got most wrong", spec='{"runs": ...}')
    p.add_argument("--dataset", required=True)
    p.add_argument("--table", required=True, help="results/table1.csv: which method is best")
    p.add_argument("--manifest", required=True, help="the dataset's manifest (paths, fake_periods)")
    p.add_argument("--out", required=True, help="CSV of the chosen clips")
    p.add_argument("--png", required=True)

    p = command("audit", "shortcut audit of trivial predictors", spec='{"audit": {...}, "data_label": ...}')
    p.add_argument("--dataset", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--png", required=True)

    for name in STAGES:
        p = command(
            name, f"preprocessing stage {name}", spec="the stage's spec (avdf.contracts.specs), as JSON"
        )
        p.add_argument("--dataset", required=True)
        p.add_argument("--shard", help="k/n: only shard k of n (from 0), for a cluster job")
        p.add_argument("--index-out", help="where this run's index goes (default: the stage's index.csv)")
        if name == "faces":
            p.add_argument(
                "--workers",
                type=int,
                default=1,
                help="clips tracked at once, in processes sharing one MTCNN (a GPU node: one per core)",
            )

    p = command("mlflow-init", "create the MLflow store and experiment once", runtime=True)
    p.add_argument("--marker", required=True)

    p = command("train", "train one detector", spec="avdf.contracts.specs.TrainSpec, as JSON", runtime=True)
    p.add_argument("--out-dir", required=True)
    p.add_argument("--eval-json", help="also score the dataset's own test split: its metrics JSON")
    p.add_argument("--scores", help="... and its per-clip scores CSV (with --eval-json)")

    p = command("evaluate", "score a checkpoint on a test split", spec='{"threshold", "table"}', runtime=True)
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--train-dataset", required=True)
    p.add_argument("--eval-dataset", required=True)
    p.add_argument("--seed", type=int, required=True)
    p.add_argument("--out-json", required=True)
    p.add_argument("--scores", required=True)

    p = command(
        "table", "a table (CSV) and its figures", spec="avdf.reporting.studies.table_spec", runtime=True
    )
    p.add_argument("name", choices=_studies(), help="a registered study (avdf.reporting.studies)")
    p.add_argument("--out", required=True, help="the CSV")
    p.add_argument("--png", nargs="*", default=[], help="the figure(s) drawn from the CSV")
    p.add_argument("inputs", nargs="+", help="evaluation JSONs (train JSONs for fig67)")

    p = command("metrics-json", "results/metrics.json (DVC metrics) from the tables' CSVs")
    p.add_argument("--out", required=True)
    p.add_argument("tables", nargs="+")

    p = command("latent", "Fig. 4: t-SNE of MACB-DF's fused features", runtime=True)
    p.add_argument("--dataset", required=True)
    p.add_argument("--checkpoint", nargs="+", required=True, help="PANEL=PATH, one per panel")
    p.add_argument("--out", required=True)
    p.add_argument("--png", required=True)

    p = command("rejects", "gather every rejected clip with its reason", spec='{"dataset": [index CSV, ...]}')
    p.add_argument("--out", required=True)

    p = command("doctor", "what the pipeline will use here, and whether each part is fit (exit 1 if not)")
    p.add_argument("--params", default=None, help="a params file (default: this checkout's params.yaml)")
    return p0


def _synth(a):
    from avdf.synthetic import generator as synthetic

    synthetic.generate(a.out_root, a.name, a.family, a.spec, a.workers)


def _fetch(a):
    from avdf.data import sources

    sources.locate(a.dataset, a.spec, a.marker)


def _predict(a):
    from avdf.evaluation import predict

    model, ckpt = predict.load(a.checkpoint, a.model_uri, a.tracking_uri)
    rule = {"threshold": a.segment_threshold, "merge_gap_s": a.merge_gap, "min_length_s": a.min_length}
    results = predict.predict(a.videos, model, ckpt, a.threads, rule, a.device)
    if a.report:
        from avdf.evaluation import video_report

        truth = video_report.truth_from_manifest(a.truth) if a.truth else None
        detector = {
            "source": a.checkpoint or a.model_uri,
            "method": ckpt.method,
            "train_dataset": ckpt.train_dataset,
        }
        video_report.write_report(results, a.report, truth, detector)
    if not a.challenge:
        predict.write(results, a.out, a.tracks)
    elif not a.out:
        raise SystemExit("avdf predict --challenge needs --out (the submission file)")
    else:
        for path in predict.write_submission(results, a.out, a.challenge, a.root):
            print(
                f"WARNING: {path}: not scored or not localised; its entry says nothing found", file=sys.stderr
            )
    return 1 if all("error" in r for r in results) else 0


def _errors(a):
    from avdf.reporting import error_analysis

    error_analysis.analyse(a.dataset, a.table, a.manifest, a.spec, a.out, a.png)


def _track_data(a):
    from avdf.data import sources

    for marker in a.markers:
        sources.dvc_track(marker)


def _ingest(a):
    from avdf.data import manifest, sources
    from avdf.data.adapter import options_of

    root = json.loads(open(a.root).read())["root"] if a.root.endswith(".json") else a.root
    options = options_of(sources.adapter(a.source), a.spec)  # what this adapter reads besides the root
    files = manifest.IngestFiles(a.manifest, a.split, a.report)
    manifest.build(a.source, root, files, a.spec, options)


def _audit(a):
    from avdf.contracts import layout
    from avdf.evaluation import audit

    ds = a.dataset
    demux = (layout.stage_index(ds, "demux"), layout.stage_dir(ds, "demux"))
    audit.audit(ds, layout.manifest(ds), *demux, a.spec["audit"], a.spec["data_label"], a.out, a.png)


def _stage(a):
    from avdf.contracts import layout, specs, stage_runner
    from avdf.media import ffmpeg
    from avdf.stages import demux, face_crops, face_tracks, log_mel

    ffmpeg.set_decode_threads(1)  # a one-thread job (Snakemake's default), one of several at once
    ds, stage = a.dataset, a.command.replace("-", "_")
    index_out, shard = a.index_out or layout.stage_index(ds, stage), stage_runner.parse_shard(a.shard)
    d = {s: layout.stage_dir(ds, s) for s in layout.STAGES}
    i = {s: layout.stage_index(ds, s) for s in layout.STAGES}
    if stage == "demux":
        demux.run(layout.manifest(ds), d["demux"], index_out, specs.from_dict(specs.DemuxSpec, a.spec), shard)
    elif stage == "faces":
        spec = specs.from_dict(specs.FacesSpec, a.spec)
        with face_tracks.trackers(spec, a.workers) as executor:
            face_tracks.run(i["demux"], d["demux"], d["faces"], index_out, spec, shard, executor)
    elif stage == "face_crops":
        spec = specs.from_dict(specs.CropSpec, a.spec)
        face_crops.run(i["faces"], d["demux"], d["faces"], d["face_crops"], index_out, spec, shard)
    else:
        spec = specs.from_dict(specs.LogMelSpec, a.spec["log_mel"])
        log_mel.run(i["demux"], d["demux"], d["log_mel"], index_out, a.spec["sample_rate"], spec, shard)


def _mlflow_init(a):
    from avdf.contracts import atomic
    from avdf.learning import tracking

    uri, experiment = a.runtime.tracking_uri, a.runtime.experiment
    exp_id = tracking.init_store(uri, experiment)
    atomic.write_json(a.marker, {"tracking_uri": uri, "experiment": experiment, "experiment_id": exp_id})


def _train(a):
    from avdf.contracts import layout
    from avdf.contracts.specs import TrainSpec
    from avdf.learning import distributed, train

    if a.runtime.processes > 1 and not distributed.launched_by_torchrun():  # data-parallel: under torchrun
        import subprocess

        n = a.runtime.processes
        launch = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={n}"]
        return subprocess.run([*launch, "-m", "avdf", *a.argv]).returncode
    spec = TrainSpec.from_dict(a.spec)
    caches = layout.caches(spec.run.dataset)
    train.train(spec, caches, a.runtime, a.out_dir, _own_test_split(a, spec, caches) if a.eval_json else None)


def _own_test_split(a, spec, caches):
    """What ``avdf train --eval-json`` runs on the finished model: its own test split's evaluation."""
    import time
    from pathlib import Path

    from avdf.evaluation import evaluate

    run = spec.run
    checkpoint = str(Path(a.out_dir) / "model.pt")
    job = evaluate.EvalJob(
        checkpoint,
        run.dataset,
        run.dataset,
        run.seed,
        caches,
        spec.threshold,
        spec.table,
        a.eval_json,
        a.scores,
    )
    return lambda model, ckpt: evaluate.evaluate_model(model, ckpt, job, a.runtime, time.time())


def _evaluate(a):
    from avdf.contracts import layout
    from avdf.evaluation import evaluate

    job = evaluate.EvalJob(
        a.checkpoint,
        a.train_dataset,
        a.eval_dataset,
        a.seed,
        layout.caches(a.eval_dataset),
        a.spec["threshold"],
        a.spec["table"],
        a.out_json,
        a.scores,
    )
    evaluate.evaluate(job, a.runtime)


def _table(a):
    from avdf.contracts.named import resolve
    from avdf.reporting import publish, studies

    study = studies.get(a.name)
    resolve(study.table)(a.inputs, a.spec, a.out)
    if study.figure:
        resolve(study.figure)(a.out, *a.png)
    publish.publish(a.runtime, a.out, a.png, list(a.spec["datasets"]), a.inputs)


def _metrics_json(a):
    from avdf.reporting import tables

    tables.metrics_json(a.tables, a.out)


def _latent(a):
    from avdf.contracts import layout
    from avdf.reporting import figures, publish

    panels = dict(c.split("=", 1) for c in a.checkpoint)
    figures.latent_space(panels, layout.caches(a.dataset), a.runtime.data_label, a.out, a.png)
    publish.publish(a.runtime, a.out, [a.png], [a.dataset])


def _rejects(a):
    from avdf.reporting import tables

    tables.rejects(a.spec, a.out)


def _doctor(a):
    import yaml

    from avdf import doctor
    from avdf.contracts.config import REPO_ROOT

    params = yaml.safe_load(open(a.params or REPO_ROOT / "params.yaml"))
    checks = doctor.run(params)
    print("\n".join(c.line() for c in checks))
    return 1 if any(c.status == "FAIL" for c in checks) else 0


HANDLERS = {
    "synth": _synth,
    "fetch": _fetch,
    "predict": _predict,
    "errors": _errors,
    "track-data": _track_data,
    "ingest": _ingest,
    "audit": _audit,
    **{name: _stage for name in STAGES},
    "mlflow-init": _mlflow_init,
    "train": _train,
    "evaluate": _evaluate,
    "table": _table,
    "metrics-json": _metrics_json,
    "latent": _latent,
    "rejects": _rejects,
    "doctor": _doctor,
}


def _logging() -> None:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )
    # Progress lines (counts, rates, ETA) also go to stdout: Snakemake sends a job's stderr to its
    # log file and lets stdout through to the terminal.
    terminal = logging.StreamHandler(sys.stdout)
    terminal.addFilter(lambda record: getattr(record, "progress", False))
    terminal.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%H:%M:%S"))
    logging.getLogger().addHandler(terminal)


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)
    _logging()
    from avdf.contracts.errors import InputError
    from avdf.media import ffmpeg

    try:
        if args.command in USES_FFMPEG:
            ffmpeg.require_supported()
        return HANDLERS[args.command](args) or 0
    except (InputError, ffmpeg.UnsupportedFfmpeg) as e:
        logging.getLogger("avdf").error("avdf %s: %s", args.command, e)
        return 2


if __name__ == "__main__":
    sys.exit(main())
