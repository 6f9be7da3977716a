"""`make clean` removes what the workflow regenerates and nothing a user cannot get back cheaply:
downloads and local copies under data/raw/, the checksums under data/checksums/, and every file
git tracks (a committed split file, say) stay byte-identical."""

import subprocess

from conftest import REPO


def _git(cwd, *args):
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=cwd, check=True, capture_output=True
    )


def test_make_clean_spares_downloads_checksums_and_tracked_files(tmp_path):
    clone = tmp_path / "clone"
    _git(tmp_path, "clone", "-q", str(REPO), str(clone))
    kept = {
        "data/raw/FakeAVCeleb_v1.2/RealVideo-RealAudio/a.mp4": b"\x00video",
        "data/checksums/fakeavceleb.sha256": b"0123abcd  FakeAVCeleb_v1.2.zip\n",
        "data/splits/fakeavceleb/paper.csv": b"clip_id,split\nc0,test\n",
    }
    gone = ["data/cache/fakeavceleb/face_crops/c0.npy", "runs/x/model.pt", "results/table1.csv", "mlflow.db"]
    for path, content in kept.items():
        (clone / path).parent.mkdir(parents=True, exist_ok=True)
        (clone / path).write_bytes(content)
    _git(clone, "add", "-f", "data/splits/fakeavceleb/paper.csv")
    _git(clone, "commit", "-q", "-m", "a split of my own")
    for path in gone:
        (clone / path).parent.mkdir(parents=True, exist_ok=True)
        (clone / path).write_bytes(b"generated")
    run = subprocess.run(["make", "clean"], cwd=clone, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert {p: (clone / p).read_bytes() for p in kept} == kept
    assert not any((clone / p).exists() for p in gone)
    assert (
        subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=clone,
            capture_output=True,
            text=True,
        ).stdout
        == ""
    )


def test_removing_downloads_takes_its_own_target_and_lists_sizes_first(tmp_path):
    clone = tmp_path / "clone"
    _git(tmp_path, "clone", "-q", str(REPO), str(clone))
    (clone / "data/raw/dfdc").mkdir(parents=True)
    (clone / "data/raw/dfdc/part0.zip").write_bytes(b"x" * 5000)
    listed = subprocess.run(["make", "-s", "clean-downloads"], cwd=clone, capture_output=True, text=True)
    assert "data/raw/dfdc" in listed.stdout and "nothing deleted" in listed.stdout
    assert (clone / "data/raw/dfdc/part0.zip").exists()
    subprocess.run(
        ["make", "-s", "clean-downloads", "CONFIRM=yes"], cwd=clone, check=True, capture_output=True
    )
    assert not (clone / "data/raw/dfdc").exists()
