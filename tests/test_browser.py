"""The HTML report and the MLflow UI, opened in a real browser: Debian's Chromium, headless, driven
by Playwright (envs/browser.sh installs Chromium; `make test` runs it first).

Both look at the tiny workflow of this session. Screenshots go to results/screenshots/ in the
checkout, for a reviewer to look at.
"""

from __future__ import annotations

import os
import subprocess
import sys
import urllib.parse
from pathlib import Path

import pytest
from conftest import REPO, mlflow_server, snakemake
from playwright.sync_api import Page, sync_playwright

pytestmark = pytest.mark.slow
CHROMIUM = os.environ.get("AVDF_CHROMIUM", "/usr/bin/chromium")
SHOTS = REPO / "results/screenshots"
# Requests the MLflow UI itself makes that a server without authentication answers with 404
# (the UI asks for the signed-in user); not a failure of what avdf logged.
MLFLOW_OWN_404 = ("/ajax-api/2.0/mlflow/users/current",)


@pytest.fixture(scope="module")
def browser():
    assert Path(CHROMIUM).exists(), f"no Chromium at {CHROMIUM}: run `bash envs/browser.sh` (make test does)"
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield chromium
        chromium.close()


def _page(browser, problems: list[str]) -> Page:
    """A page that records every console error, uncaught exception and failed request."""
    page = browser.new_page(viewport={"width": 1600, "height": 1000})
    page.on(
        "console", lambda m: problems.append(f"console: {m.text} {m.location}") if m.type == "error" else None
    )
    page.on("pageerror", lambda e: problems.append(f"exception: {e}"))
    page.on("requestfailed", lambda r: problems.append(f"failed request: {r.url[:200]}"))
    page.on("response", lambda r: problems.append(f"HTTP {r.status}: {r.url}") if r.status >= 400 else None)
    return page


def test_report_opens_without_errors_and_every_figure_loads(workflow, browser):
    made = snakemake(workflow, "--report", "results/report.html")
    assert made.returncode == 0, made.stderr[-3000:]
    problems: list[str] = []
    page = _page(browser, problems)
    page.goto((workflow / "results/report.html").as_uri())
    page.get_by_text("Results", exact=True).first.wait_for()
    page.screenshot(path=SHOTS / "report.png")
    shown = {}
    for category in ("Figures", "Shortcut audit", "Error analysis"):
        page.get_by_text(category, exact=True).first.click()
        for row in page.locator("tr", has_text=".png").all():
            name = Path(row.locator("td").first.inner_text().strip()).name
            row.locator("a[iconname=eye]").click()
            figure = page.locator(f'img[src*="filename={name}"]')
            figure.wait_for()
            page.wait_for_function("img => img.complete", arg=figure.element_handle())
            shown[name] = figure.evaluate("img => img.naturalWidth")
            page.screenshot(path=SHOTS / f"report_{Path(name).stem}.png")
        page.get_by_text("Results", exact=True).first.click()
    pngs = {p.name for p in (workflow / "results").glob("*.png")}
    assert set(shown) == pngs and all(w > 0 for w in shown.values()), shown
    assert problems == []


@pytest.fixture(scope="module")
def mlflow_ui(workflow):
    """The MLflow UI of the session's workflow: `mlflow server` over its store, on 127.0.0.1."""
    with mlflow_server(workflow / "mlflow.db", workflow / "mlartifacts") as url:
        yield url


def test_mlflow_ui_shows_table1_with_its_rows_and_the_registered_model(mlflow_ui, browser):
    from mlflow.tracking import MlflowClient

    client = MlflowClient(mlflow_ui)
    exp = client.get_experiment_by_name("avdf")
    rows = client.search_runs([exp.experiment_id], "tags.table = 'table1' and tags.stage = 'table'")
    row_names = sorted(r.info.run_name for r in rows if "mlflow.parentRunId" in r.data.tags)
    problems: list[str] = []
    page = _page(browser, problems)
    search = urllib.parse.quote("tags.table = 'table1'")
    page.goto(f"{mlflow_ui}/#/experiments/{exp.experiment_id}/runs?searchFilter={search}")
    parent = page.get_by_role("link", name="table1", exact=True)
    parent.wait_for(timeout=60_000)
    page.locator("[role=row]", has=parent).first.locator("button").first.click()  # expand its rows
    page.get_by_role("link", name=row_names[0], exact=True).wait_for()
    shown = sorted(n for n in page.get_by_role("link").all_inner_texts() if n.startswith("table1: "))
    page.screenshot(path=SHOTS / "mlflow_table1.png")
    assert row_names and shown == row_names

    page.goto(f"{mlflow_ui}/#/models/avdf-table1")
    page.get_by_text("Version 1").first.wait_for(timeout=60_000)
    page.screenshot(path=SHOTS / "mlflow_model_avdf-table1.png")
    assert "avdf-table1" in page.inner_text("body")
    assert [p for p in problems if not any(own in p for own in MLFLOW_OWN_404)] == []


def test_servers_listen_on_loopback_only(mlflow_ui):
    """The MLflow server these tests start binds 127.0.0.1, nothing else."""
    port = urllib.parse.urlparse(mlflow_ui).port
    listening = subprocess.run(["ss", "-Hltn", f"sport = :{port}"], capture_output=True, text=True).stdout
    addresses = {line.split()[3].rsplit(":", 1)[0] for line in listening.splitlines()}
    assert addresses == {"127.0.0.1"}, listening


def test_predict_report_shows_each_video_and_its_segments_match_the_json(workflow, browser, tmp_path):
    """`avdf predict --report` on LAV-DF stand-in test clips (true segments from the manifest), a
    DFDC stand-in clip and an unreadable file: no console error, every keyframe loads, and the
    timeline's shaded segments are the JSON's, predicted and true. Segments are asked for at frame
    probability 0 (every frame), so that there are some to compare whatever the tiny model learned."""
    import json

    import pandas as pd

    lavdf = pd.read_csv(workflow / "data/manifests/synth_lavdf.csv")
    fakes = lavdf[(lavdf["split"] == "test") & (lavdf["fake_periods"] != "[]")]["path"].head(2).tolist()
    dfdc = pd.read_csv(workflow / "data/manifests/synth_dfdc.csv")
    videos = [*fakes, dfdc[dfdc["split"] == "test"]["path"].iloc[0]]
    (tmp_path / "broken.mp4").write_bytes(b"not a video")
    out, report = tmp_path / "scores.json", REPO / "results/screenshots/predict_report.html"
    ckpt = "runs/synth_dfdc/macbdf/default/seed0/model.pt"
    cmd = ["avdf", "predict", *videos, str(tmp_path / "broken.mp4"), "--checkpoint", ckpt, "--out", str(out)]
    cmd += ["--report", str(report), "--truth", "data/manifests/synth_lavdf.csv", "--segment-threshold", "0"]
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}")
    run = subprocess.run(cmd, capture_output=True, text=True, cwd=workflow, env=env)
    assert run.returncode == 0, run.stderr[-2000:]
    results = json.loads(out.read_text())
    problems: list[str] = []
    page = _page(browser, problems)
    page.goto(report.as_uri())
    page.wait_for_function("[...document.images].every(i => i.complete)")
    page.screenshot(path=SHOTS / "predict_report.png", full_page=True)
    widths = page.evaluate("[...document.images].map(i => i.naturalWidth)")
    assert len(widths) >= 3 and all(w > 0 for w in widths), widths
    truth = dict(zip(lavdf["path"], lavdf["fake_periods"], strict=True))
    for r in results[:-1]:
        section = page.locator(f'section[data-path="{r["path"]}"]')
        shown = section.locator("rect.predicted").evaluate_all(
            "rs => rs.map(r => [+r.dataset.score, +r.dataset.start, +r.dataset.end])"
        )
        assert shown == [[round(v, 4) for v in s] for s in r["fake_segments"]] and shown, r["path"]
        true_shown = section.locator("rect.truth").evaluate_all(
            "rs => rs.map(r => [+r.dataset.start, +r.dataset.end])"
        )
        expected = json.loads(truth[r["path"]]) if r["path"] in truth else []
        assert true_shown == expected, r["path"]
    assert "broken.mp4" in page.locator("#not-scored").inner_text()
    assert problems == []
