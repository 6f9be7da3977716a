"""`source: csv`: any dataset as a table of paths and labels, each bad row named by line and column."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml
from conftest import snakemake, tiny_params

from avdf.contracts import layout
from avdf.data import manifest, table_csv
from avdf.data.adapter import MetadataError
from avdf.reporting import tables

GOOD = """path,label,video_fake,audio_fake,category,identity,split,fake_periods
clips/real 1.mp4,real,0,0,RVRA,anna,train,
clips/fake 1.mp4,1,1,0,,anna;bob,train,"[[0.2, 0.6]]"
clips/fake 2.mp4,fake,,,,bob,test,
{abs},1,,,FVFA,,test,
"""
# one row of each kind of bad input, and the column it must be named by
BAD = {
    "clips/gone.mp4,1,,,,,,": "path",  # a missing file
    "clips/real 1.mp4,maybe,,,,,,": "label",  # an unknown label
    'clips/fake 2.mp4,1,,,,,,"[[0.5, 0.1]]"': "fake_periods",  # a malformed segment list
    "clips/fake 1.mp4,1,1,0,,,,": "path",  # a path listed already (line 3)
    "clips/real 2.mp4,0,,,FVRA,,,": "category",  # a category that contradicts the label
    "clips/real 2.mp4,1,0,0,,,,": "label",  # flags that say real, a label that says fake
    "clips/real 2.mp4,0,,,,,holdout,": "split",
}


@pytest.fixture
def dataset(tmp_path, face_clip) -> Path:
    """A user's folder: clips with spaces in their names, one outside the folder (absolute path)."""
    for name in ("real 1", "real 2", "fake 1", "fake 2"):
        (tmp_path / "mine/clips").mkdir(parents=True, exist_ok=True)
        shutil.copyfile(face_clip, tmp_path / f"mine/clips/{name}.mp4")
    shutil.copyfile(face_clip, tmp_path / "elsewhere.mp4")
    return tmp_path / "mine"


def _table(dataset: Path, *bad: str) -> Path:
    table = dataset / "clips.csv"
    table.write_text(GOOD.format(abs=dataset.parent / "elsewhere.mp4") + "".join(f"{b}\n" for b in bad))
    return table


def test_a_good_table_gives_the_manifest_columns(dataset):
    clips, report = table_csv.read_metadata(_table(dataset))
    assert list(clips["category"]) == ["RVRA", "FVRA", "FAKE", "FVFA"]
    assert list(clips["label"]) == [0, 1, 1, 1]
    assert list(clips["video_fake"]) == [0, 1, 1, 1] and list(clips["audio_fake"]) == [0, 0, 1, 1]
    assert list(clips["identities"]) == ["anna", "anna;bob", "bob", "elsewhere"]
    assert json.loads(clips["fake_periods"][1]) == [[0.2, 0.6]]
    assert Path(clips["path"][0]) == (dataset / "clips/real 1.mp4").resolve()  # relative to the table
    assert report["bad_rows"] == [] and report["rows"] == 4


def test_every_bad_row_is_named_by_line_and_column_and_stops_ingest(dataset):
    with pytest.raises(MetadataError) as stopped:
        table_csv.read_metadata(_table(dataset, *BAD))
    message = str(stopped.value)
    assert f"{len(BAD)} bad row(s) of {4 + len(BAD)}" in message
    for line, column in enumerate(BAD.values(), start=6):  # header, 4 good rows: bad ones from line 6
        assert f"line {line}, column {column}:" in message, (line, column, message)
    assert "listed already, on line 3" in message and "on_bad_rows: skip" in message


def test_skipped_bad_rows_go_to_rejects_and_the_rest_is_ingested(dataset, tmp_path):
    out = tmp_path / "out"
    clips = manifest.build(
        "csv",
        _table(dataset, *BAD),
        manifest.IngestFiles(out / "m.csv", out / "s.csv", out / "r.json"),
        {"protocol": "paper", "test_fraction": 0.5, "seed": 0},
        {"on_bad_rows": "skip"},
    )
    assert len(clips) == 4
    rejects = tables.rejects({"mine": [str(out / "r.json")]}, str(out / "rejects.csv"))
    assert list(rejects["stage"].unique()) == ["ingest"]
    assert sorted(rejects["clip_id"]) == sorted(f"line {n}" for n in range(6, 6 + len(BAD)))
    assert rejects["reason"].str.startswith("column ").all()


def test_an_unusable_table_says_what_it_needs(tmp_path):
    table = tmp_path / "t.csv"
    table.write_text("file,is_fake\na.mp4,1\n")
    with pytest.raises(MetadataError, match=r"no column path, label \(found file, is_fake"):
        table_csv.read_metadata(table)


@pytest.mark.slow
@pytest.mark.parametrize("on_bad_rows", ["stop", "skip"])
def test_the_workflow_stops_before_demux_or_goes_on_without_bad_rows(dataset, tmp_path, on_bad_rows):
    """Asked for the demuxed clips: with ``stop`` nothing is demuxed; with ``skip`` the good rows are
    demuxed and the bad ones reported (the report that results/rejects.csv lists, test above)."""
    table = _table(dataset, *BAD)
    params = tiny_params()
    params["datasets"] = {"mine": {"source": "csv", "root": str(table), "on_bad_rows": on_bad_rows}}
    params["split"]["protocol"] = "paper"
    work = tmp_path / "work"
    work.mkdir()
    (work / "params.yaml").write_text(yaml.safe_dump(params))
    run = snakemake(work, "--cores", "2", layout.stage_index("mine", "demux"))
    demuxed = list((work / "data/interim/mine/demux").glob("**/*.json"))
    if on_bad_rows == "stop":
        assert run.returncode != 0 and not demuxed
        log = (work / "logs/fetch/mine.log").read_text()
        assert "line 6, column path" in log and "line 7, column label" in log
        return
    assert run.returncode == 0, run.stderr[-3000:]
    report = str(work / layout.ingest_report("mine"))
    ingest = tables.rejects({"mine": [report]}, str(tmp_path / "rejects.csv"))
    assert len(ingest) == len(BAD)
    assert (ingest["stage"] == "ingest").all() and (ingest["dataset"] == "mine").all()
    index = pd.read_csv(work / layout.stage_index("mine", "demux"))
    assert len(pd.read_csv(work / layout.manifest("mine"))) == (index["status"] == "ok").sum() == 4
