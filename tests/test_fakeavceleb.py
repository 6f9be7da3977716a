"""The FakeAVCeleb v1.2 metadata reader copes with the real file's quirks."""

import pytest

from avdf.data.adapter import MetadataError, clip_id
from avdf.data.fakeavceleb import read_metadata

META = """source,target1,target2,method,category,type,race,gender,path,
id00076,-,-,real,A,RealVideo-RealAudio,African,men,00109.mp4,FakeAVCeleb/RealVideo-RealAudio/African/men/id00076
id00166,id00166,-,rtvc,B,RealVideo-FakeAudio,Asian (East),women,00166_fake.mp4,FakeAVCeleb/RealVideo-FakeAudio/Asian (East)/women/id00166
id00076,id01234,-,faceswap,C,FakeVideo-RealAudio,Caucasian (American),men,00109_id01234_faceswap.mp4,FakeAVCeleb/FakeVideo-RealAudio/Caucasian (American)/men/id00076
id00076,id01234,-,faceswap-wav2lip,D,FakeVideo-FakeAudio,African,men,00109_id01234_wavtolip.mp4,FakeAVCeleb/FakeVideo-FakeAudio/African/men/id00076
"""


@pytest.fixture
def tree(tmp_path):
    root = tmp_path / "FakeAVCeleb"
    root.mkdir()
    (root / "meta_data.csv").write_text(META)
    for line in META.splitlines()[1:]:
        values = line.split(",")
        (tmp_path / values[9]).mkdir(parents=True, exist_ok=True)
        (tmp_path / values[9] / values[8]).write_bytes(b"x")
    return root


def test_rows_become_manifest_rows(tree):
    clips, _ = read_metadata(tree / "meta_data.csv")
    assert list(clips["category"]) == ["RVRA", "RVFA", "FVRA", "FVFA"]
    assert list(clips["label"]) == [0, 1, 1, 1]
    assert list(clips["video_fake"]) == [0, 0, 1, 1]
    assert list(clips["audio_fake"]) == [0, 1, 0, 1]
    assert list(clips["identity"]) == ["id00076", "id00166", "id00076", "id00076"]


def test_paths_with_spaces_and_parentheses_resolve(tree):
    clips, _ = read_metadata(tree / "meta_data.csv")
    paths = list(clips["path"])
    assert any("Asian (East)" in p for p in paths)
    assert all(__import__("os").path.exists(p) for p in paths)


def test_clip_ids_are_safe_and_stable(tree):
    clips, _ = read_metadata(tree / "meta_data.csv")
    assert clips["clip_id"].is_unique
    assert all(c.replace("_", "").replace("-", "").isalnum() for c in clips["clip_id"])
    assert clip_id("a/b (c)/x.mp4") == clip_id("a/b (c)/x.mp4") != clip_id("a/b (d)/x.mp4")


def test_a_short_row_names_file_and_line(tmp_path):
    meta = tmp_path / "meta_data.csv"
    meta.write_text(META.splitlines()[0] + "\nid1,-,-,real,A,RealVideo-RealAudio,African,men,1.mp4\n")
    with pytest.raises(MetadataError, match=r"meta_data.csv:2: expected 10 values, found 9"):
        read_metadata(meta)


def test_a_foreign_header_is_refused(tmp_path):
    meta = tmp_path / "meta_data.csv"
    meta.write_text("file,label\nx.mp4,FAKE\n")
    with pytest.raises(MetadataError, match="not a FakeAVCeleb"):
        read_metadata(meta)


def test_a_file_listed_twice_is_kept_once_and_counted(tree):
    meta = tree / "meta_data.csv"
    twice = META.splitlines()[4].replace("faceswap-wav2lip", "fsgan-wav2lip")
    meta.write_text(META + twice + "\n")
    clips, report = read_metadata(meta)
    assert len(clips) == 4 and report["duplicates_dropped"] == 1
    assert clips.loc[clips["category"] == "FVFA", "method"].item() == "faceswap-wav2lip+fsgan-wav2lip"


def test_identities_hold_source_and_targets(tree):
    clips, _ = read_metadata(tree)  # the root folder works as well as the file
    assert list(clips["identities"]) == ["id00076", "id00166", "id00076;id01234", "id00076;id01234"]
