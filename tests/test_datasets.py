"""Ingest adapters on small fixture trees that copy each dataset's real layout and quirks
(awkward folder names included); the fixture videos are one synthetic clip copied around."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from conftest import demux_spec

from avdf.contracts import stage_runner
from avdf.data import defakeavmit, dfdc, fetch, lavdf, manifest, sources
from avdf.data.adapter import MetadataError
from avdf.stages import demux


def _copy(clip: Path, dest: Path) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(clip, dest)


@pytest.fixture
def dfdc_tree(tmp_path, face_clip):
    """Two parts, each with its metadata.json; one fake listed whose file is missing."""
    root = tmp_path / "dfdc"
    parts = {
        "dfdc_train_part_0": {
            "aaa.mp4": {"label": "REAL", "split": "train", "original": None},
            "bbb.mp4": {"label": "FAKE", "split": "train", "original": "aaa.mp4"},
            "ccc.mp4": {"label": "FAKE", "split": "train", "original": "aaa.mp4"},
        },
        "dfdc_train_part_1": {
            "ddd.mp4": {"label": "REAL", "split": "train", "original": None},
            "eee.mp4": {"label": "FAKE", "split": "train", "original": "ddd.mp4"},
        },
        "test": {
            "fff.mp4": {"label": "REAL", "split": "test", "original": None},
            "ggg.mp4": {"label": "FAKE", "split": "test", "original": "fff.mp4"},
        },
    }
    for part, entries in parts.items():
        for name in entries:
            if name != "ccc.mp4":
                _copy(face_clip, root / part / name)
        (root / part / "metadata.json").write_text(json.dumps(entries))
    return root


def test_dfdc_parts_labels_groups_and_official_split(dfdc_tree):
    clips, report = dfdc.read_metadata(dfdc_tree)
    assert len(clips) == 7 and report["listed_but_missing"] == 1
    by_file = clips.assign(file=clips["path"].map(lambda p: Path(p).name)).set_index("file")
    assert by_file.loc["bbb.mp4", "category"] == "FAKE" and by_file.loc["aaa.mp4", "category"] == "RVRA"
    assert by_file.loc["bbb.mp4", "identities"] == by_file.loc["aaa.mp4", "identities"] == "aaa"
    assert set(by_file.loc[["fff.mp4", "ggg.mp4"], "official_split"]) == {"test"}
    split = manifest.splits.make(clips, "official", 0.2, 0)
    assert sorted(clips.loc[split == "test", "path"].map(lambda p: Path(p).name)) == ["fff.mp4", "ggg.mp4"]


def test_dfdc_bad_label_names_the_file(dfdc_tree):
    meta = dfdc_tree / "dfdc_train_part_1" / "metadata.json"
    meta.write_text(json.dumps({"ddd.mp4": {"label": "maybe"}}))
    with pytest.raises(MetadataError, match="dfdc_train_part_1/metadata.json: ddd.mp4"):
        dfdc.read_metadata(dfdc_tree)


@pytest.fixture
def lavdf_tree(tmp_path, face_clip):
    root = tmp_path / "LAV-DF"
    records = [
        {
            "file": "train/000000.mp4",
            "n_fakes": 0,
            "fake_periods": [],
            "duration": 1.0,
            "original": None,
            "modify_video": False,
            "modify_audio": False,
            "split": "train",
            "video_frames": 25,
            "audio_channels": 1,
            "audio_frames": 16000,
        },
        {
            "file": "train/000001.mp4",
            "n_fakes": 1,
            "fake_periods": [[0.2, 0.6]],
            "duration": 1.0,
            "original": "train/000000.mp4",
            "modify_video": True,
            "modify_audio": False,
            "split": "train",
            "video_frames": 25,
            "audio_channels": 1,
            "audio_frames": 16000,
        },
        {
            "file": "dev/000002.mp4",
            "n_fakes": 2,
            "fake_periods": [[0.0, 0.2], [0.5, 0.7]],
            "duration": 1.0,
            "original": "dev/000009.mp4",
            "modify_video": True,
            "modify_audio": True,
            "split": "dev",
            "video_frames": 25,
            "audio_channels": 1,
            "audio_frames": 16000,
        },
        {
            "file": "test/000003.mp4",
            "n_fakes": 1,
            "fake_periods": [[0.1, 0.3]],
            "duration": 1.0,
            "original": "test/000004.mp4",
            "modify_video": False,
            "modify_audio": True,
            "split": "test",
            "video_frames": 25,
            "audio_channels": 1,
            "audio_frames": 16000,
        },
        {
            "file": "test/000004.mp4",
            "n_fakes": 0,
            "fake_periods": [],
            "duration": 1.0,
            "original": None,
            "modify_video": False,
            "modify_audio": False,
            "split": "test",
            "video_frames": 25,
            "audio_channels": 1,
            "audio_frames": 16000,
        },
    ]
    for rec in records:
        _copy(face_clip, root / rec["file"])
    (root / "metadata.json").write_text(json.dumps(records))
    return root


def test_lavdf_categories_segments_and_train_dev_test(lavdf_tree):
    clips, _ = lavdf.read_metadata(lavdf_tree)
    assert list(clips["category"]) == ["RVRA", "FVRA", "FVFA", "RVFA", "RVRA"]
    assert json.loads(clips.loc[2, "fake_periods"]) == [[0.0, 0.2], [0.5, 0.7]]
    split = manifest.splits.make(clips, "official", 0.2, 0)
    assert list(split) == ["train", "train", "val", "test", "test"]  # LAV-DF's dev set validates


def test_lavdf_record_missing_a_field_is_named(lavdf_tree):
    meta = lavdf_tree / "metadata.json"
    records = json.loads(meta.read_text())
    del records[1]["fake_periods"]
    meta.write_text(json.dumps(records))
    with pytest.raises(MetadataError, match="record 1 lacks fake_periods"):
        lavdf.read_metadata(lavdf_tree)


@pytest.fixture
def defakeavmit_tree(tmp_path, face_clip):
    """Four category folders, per-person folders, a space, parentheses and non-ASCII in names."""
    root = tmp_path / "DefakeAVMiT copy (local)"
    for folder in (
        "RealVideo-RealAudio",
        "RealVideo-FakeAudio",
        "FakeVideo-RealAudio",
        "FakeVideo-FakeAudio",
    ):
        for person in ("Zoë (1)", "id 02"):
            _copy(face_clip, root / folder / person / "clip 01.mp4")
    return root


def test_defakeavmit_four_folders_and_people(defakeavmit_tree):
    clips, _ = defakeavmit.read_metadata(defakeavmit_tree)
    assert clips["category"].value_counts().to_dict() == {"RVRA": 2, "RVFA": 2, "FVRA": 2, "FVFA": 2}
    assert set(clips["identity"]) == {"Zoë (1)", "id 02"}
    assert clips["clip_id"].is_unique


def test_defakeavmit_without_its_folders_says_what_it_expected(tmp_path):
    (tmp_path / "videos").mkdir()
    with pytest.raises(fetch.MissingData, match="expected four category folders"):
        defakeavmit.read_metadata(tmp_path)


@pytest.mark.parametrize(
    "names",
    [
        ("V_R A_R", "V_R A_F", "V_F A_R", "V_F A_F"),  # the paper's notation
        ("VRAR", "vraf", "VFAR", "VfAf"),
        ("VR-AR", "VR-AF", "VF-AR", "VF-AF"),
        ("V_RA_R", "V_RA_F", "V_FA_R", "V_FA_F"),
        ("rvra", "RVFA", "FVRA", "FVFA"),
        ("RealVideo_RealAudio", "realvideo-fakeaudio", "FakeVideo-RealAudio", "FAKEVIDEO FAKEAUDIO"),
    ],
)
def test_defakeavmit_class_folders_in_any_accepted_spelling(tmp_path, face_clip, names):
    for name in names:
        _copy(face_clip, tmp_path / name / "p1" / "a.mp4")
    (tmp_path / "docs").mkdir()  # other folders are ignored
    clips, _ = defakeavmit.read_metadata(tmp_path)
    by_folder = dict(zip([Path(p).parent.parent.name for p in clips["path"]], clips["category"], strict=True))
    assert [by_folder[n] for n in names] == ["RVRA", "RVFA", "FVRA", "FVFA"]


@pytest.mark.parametrize(
    "names, problem",
    [
        (("V_R A_R", "V_R A_F", "V_F A_R", "FakeVideo-FakeAudio-v2"), "FVFA: none"),
        (("VRAR", "RVRA", "V_R A_F", "V_F A_R", "V_F A_F"), "RVRA: several (RVRA, VRAR)"),
    ],
)
def test_defakeavmit_refuses_other_names_listing_found_and_accepted(tmp_path, face_clip, names, problem):
    for name in names:
        _copy(face_clip, tmp_path / name / "a.mp4")
    with pytest.raises(fetch.MissingData) as refused:
        defakeavmit.read_metadata(tmp_path)
    message = str(refused.value)
    assert problem in message and all(n in message for n in names) and "V_R A_R" in message


def test_awkward_paths_go_through_ingest_and_ffmpeg(tmp_path, defakeavmit_tree):
    """Spaces, parentheses and non-ASCII in every folder level, through the manifest and demux."""
    out = tmp_path / "out"
    files = manifest.IngestFiles(out / "m.csv", out / "split.csv")
    split = {"protocol": "identity_disjoint", "test_fraction": 0.5, "seed": 0}
    clips = manifest.build("defakeavmit", defakeavmit_tree, files, split)
    assert set(clips["split"]) == {"train", "test"}
    demux.run(str(out / "m.csv"), str(out / "demux"), str(out / "demux.csv"), demux_spec())
    assert len(stage_runner.accepted(str(out / "demux.csv"))) == len(clips)


def test_missing_dataset_says_which_parameter_to_set(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("AVDF_FAKEAVCELEB_URL", raising=False)
    with pytest.raises(fetch.MissingData, match=r"datasets.<name>.url .*AVDF_FAKEAVCELEB_URL.*request form"):
        sources.locate("fakeavceleb", {"source": "fakeavceleb", "root": "nowhere"}, tmp_path / "m.json")
    with pytest.raises(fetch.MissingData, match="not publicly released"):
        sources.locate("defakeavmit", {"source": "defakeavmit", "root": "nowhere"}, tmp_path / "m.json")
    for var in ("KAGGLE_USERNAME", "KAGGLE_KEY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("KAGGLE_CONFIG_DIR", str(tmp_path))
    with pytest.raises(fetch.MissingData, match="KAGGLE_USERNAME and KAGGLE_KEY"):
        sources.locate("dfdc", {"source": "dfdc"}, tmp_path / "m.json")


def test_a_local_copy_is_used_where_it_is(tmp_path, lavdf_tree):
    marker = tmp_path / "root.json"
    sources.locate("lavdf", {"source": "lavdf", "root": str(lavdf_tree)}, marker)
    assert json.loads(marker.read_text())["root"] == str(lavdf_tree.resolve())


def test_the_cli_prints_a_message_not_a_traceback(tmp_path, monkeypatch, caplog):
    from avdf import cli

    monkeypatch.chdir(tmp_path)
    code = cli.main(
        ["fetch", "--dataset", "dmit", "--marker", "m.json", "--spec", '{"source": "defakeavmit"}']
    )
    assert code == 2
    assert "avdf fetch: dataset 'dmit': DefakeAVMiT is not publicly released" in caplog.text
    assert "Traceback" not in caplog.text


def test_manifest_round_trips_names_like_NA(tmp_path):
    clips = pd.DataFrame(
        [
            {c: "" for c in manifest.COLUMNS}
            | {"clip_id": "a", "identity": "NA", "identities": "NA", "label": 0}
        ]
    )
    clips.to_csv(tmp_path / "m.csv", index=False)
    assert manifest.read(tmp_path / "m.csv")["identity"].item() == "NA"


@pytest.mark.slow
def test_a_tracked_dataset_shows_up_in_dvc_status_when_it_changes(tmp_path, monkeypatch, lavdf_tree):
    import subprocess
    import sys

    bin_dir = str(Path(sys.executable).parent)
    monkeypatch.setenv("PATH", f"{bin_dir}:{__import__('os').environ['PATH']}")
    repo = tmp_path / "repo"
    shutil.copytree(lavdf_tree, repo / "data/raw/lavdf")
    monkeypatch.chdir(repo)
    subprocess.run(["git", "init", "-q"], check=True)
    subprocess.run(["dvc", "init", "-q"], check=True)
    marker = repo / "data/raw/lavdf.json"
    sources.locate("lavdf", {"source": "lavdf", "root": "data/raw/lavdf"}, marker)
    assert sources.dvc_track(marker)[0][:2] == ["dvc", "add"]
    clean = subprocess.run(
        ["dvc", "status", "data/raw/lavdf.dvc"], capture_output=True, text=True, check=True
    )
    assert "modified" not in clean.stdout
    (repo / "data/raw/lavdf/train/000000.mp4").write_bytes(b"changed on disk")
    changed = subprocess.run(
        ["dvc", "status", "data/raw/lavdf.dvc"], capture_output=True, text=True, check=True
    )
    assert "modified:           data/raw/lavdf" in changed.stdout
