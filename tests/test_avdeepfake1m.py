"""The AV-Deepfake1M adapter on a fixture tree laid out as the official loader reads it: per-split
metadata JSON, a test list without labels, nested video folders, the ``both-modified`` spelling."""

from __future__ import annotations

import http.server
import io
import json
import shutil
import threading
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from avdf.data import avdeepfake1m, fetch, manifest, sources
from avdf.data.adapter import MetadataError


def _record(file, modify_type, segments, original=None):
    visual = segments if modify_type in ("visual_modified", "both_modified", "both-modified") else []
    audio = segments if modify_type in ("audio_modified", "both_modified", "both-modified") else []
    return {
        "file": file,
        "original": original,
        "split": "train",
        "fake_segments": segments,
        "visual_fake_segments": visual,
        "audio_fake_segments": audio,
        "audio_model": "your_tts" if audio else "",
        "modify_type": modify_type,
        "video_frames": 25,
        "audio_frames": 16000,
    }


TRAIN = [
    _record("lrs3/id01/00001/real.mp4", "real", []),
    _record("lrs3/id01/00001/fake_video.mp4", "visual_modified", [[0.2, 0.5]], "lrs3/id01/00001/real.mp4"),
    _record("lrs3/id01/00001/fake_audio.mp4", "audio_modified", [[0.1, 0.3]], "lrs3/id01/00001/real.mp4"),
    _record(
        "lrs3/id02/00007/fake_both.mp4", "both-modified", [[0.0, 0.4], [0.6, 0.9]], "lrs3/id02/00007/real.mp4"
    ),
    _record("lrs3/id02/00007/real.mp4", "real", []),
]
VAL = [
    _record("vox/id09/00003/real.mp4", "real", []),
    _record("vox/id09/00003/fake_both.mp4", "both_modified", [[0.3, 0.7]], "vox/id09/00003/real.mp4"),
]
TEST = ["vox/id11/00001/000.mp4", "vox/id12/00002/000.mp4"]


def _tree(root: Path, clip: Path) -> Path:
    for split, records in (("train", TRAIN), ("val", VAL)):
        (root / f"{split}_metadata.json").parent.mkdir(parents=True, exist_ok=True)
        (root / f"{split}_metadata.json").write_text(json.dumps(records))
        for rec in records:
            (root / split / rec["file"]).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(clip, root / split / rec["file"])
            per_file = root / f"{split}_metadata" / rec["file"].replace(".mp4", ".json")  # v1 keeps these too
            per_file.parent.mkdir(parents=True, exist_ok=True)
            per_file.write_text(json.dumps(rec))
    (root / "test_files.txt").write_text("\n".join(TEST) + "\n")
    for f in TEST:
        (root / "test" / f).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(clip, root / "test" / f)
    return root


@pytest.fixture
def tree(tmp_path, face_clip) -> Path:
    return _tree(tmp_path / "AV-Deepfake1M", face_clip)


def test_categories_segments_groups_and_withheld_test_labels(tree):
    clips, report = avdeepfake1m.read_metadata(tree)
    by_file = clips.set_index(clips["path"].map(lambda p: Path(p).relative_to(tree).as_posix()))
    assert list(by_file.loc[[f"train/{r['file']}" for r in TRAIN], "category"]) == [
        "RVRA",
        "FVRA",
        "RVFA",
        "FVFA",
        "RVRA",
    ]
    assert by_file.loc["val/vox/id09/00003/fake_both.mp4", "category"] == "FVFA"  # the other spelling
    both = by_file.loc["train/lrs3/id02/00007/fake_both.mp4"]
    assert json.loads(both["fake_periods"]) == [[0.0, 0.4], [0.6, 0.9]] and both["label"] == 1
    assert (
        both["identity"] == by_file.loc["train/lrs3/id02/00007/real.mp4", "identity"]
    )  # fake with its original
    test = clips[clips["official_split"] == "unlabelled"]
    assert len(test) == 2 and (test["label"] == -1).all() and (test["category"] == "UNLABELLED").all()
    assert report["unlabelled_test"] == 2 and report["rows"] == len(TRAIN) + len(VAL) + len(TEST)
    assert all(Path(p).exists() for p in clips["path"])


@pytest.mark.parametrize("protocol", ["official", "paper", "identity_disjoint"])
def test_withheld_test_videos_are_unlabelled_under_every_protocol(tree, tmp_path, protocol):
    out = tmp_path / "out"
    split = {"protocol": protocol, "test_fraction": 0.3, "seed": 0}
    clips = manifest.build("avdeepfake1m", tree, manifest.IngestFiles(out / "m.csv", out / "s.csv"), split)
    unlabelled = clips["label"] == -1
    assert (clips.loc[unlabelled, "split"] == "unlabelled").all()
    assert not (clips.loc[~unlabelled, "split"] == "unlabelled").any()
    if protocol == "official":  # the validation set is the labelled test set
        assert set(clips.loc[clips["path"].str.contains("/val/"), "split"]) == {"test"}
    assert len(pd.read_csv(out / "m.csv")) == len(clips)


def test_an_unknown_modify_type_is_named_with_its_file_and_record(tree):
    records = json.loads((tree / "train_metadata.json").read_text())
    records[2]["modify_type"] = "lip_sync"
    (tree / "train_metadata.json").write_text(json.dumps(records))
    with pytest.raises(
        MetadataError,
        match=r"train_metadata.json: record 2 \(lrs3/id01/00001/fake_audio.mp4\): unknown modify_type 'lip_",
    ):
        avdeepfake1m.read_metadata(tree)


def test_a_record_without_its_segments_is_named(tree):
    records = json.loads((tree / "val_metadata.json").read_text())
    del records[1]["fake_segments"]
    (tree / "val_metadata.json").write_text(json.dumps(records))
    with pytest.raises(MetadataError, match=r"val_metadata.json: record 1 lacks fake_segments"):
        avdeepfake1m.read_metadata(tree)


def test_without_a_url_or_a_copy_it_says_how_to_get_access(tmp_path):
    with pytest.raises(fetch.MissingData, match="licence agreement.*datasets.<name>.url"):
        sources.locate("av1m", {"source": "avdeepfake1m"}, tmp_path / "m.json")


def test_a_url_the_user_was_given_is_downloaded_checked_and_unpacked(tmp_path, face_clip, monkeypatch):
    staged = _tree(tmp_path / "staged/AV-Deepfake1M", face_clip)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for p in sorted(staged.rglob("*")):
            if p.is_file():
                z.write(p, p.relative_to(staged.parent).as_posix())
    body = buf.getvalue()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    monkeypatch.chdir(tmp_path)
    try:
        url = f"http://127.0.0.1:{httpd.server_port}/av1m.zip"
        root = sources.locate("av1m", {"source": "avdeepfake1m", "url": url}, tmp_path / "m.json")
    finally:
        httpd.shutdown()
    clips, _ = avdeepfake1m.read_metadata(root)
    assert len(clips) == len(TRAIN) + len(VAL) + len(TEST)
    assert fetch.read_checksums(Path("data/checksums/av1m.sha256"))  # recorded for the next download
