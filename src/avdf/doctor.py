"""``avdf doctor``: what the pipeline will use on this machine, and whether each part is fit.

One line a part: ``ok``, ``FAIL`` (needed and unfit: the exit status is 1) or ``warn`` (unfit, but
only some commands need it, named on the line). ``make run`` calls it first. Each check is a small
function returning a :class:`Check`, so a test can run one alone.
"""

from __future__ import annotations

import importlib.metadata
import os
import platform
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from avdf.contracts.config import REPO_ROOT

MINIMUM_PYTHON = (3, 11)
# Bytes the caches of one video-minute take (demux WAV, face tracks, crops, log-Mel), measured at
# N = 1,000 in docs/scale/scale_measured.csv; the real datasets' projected caches are in
# docs/scale/scale_projection.csv (disk_gb_caches).
PROJECTION = REPO_ROOT / "docs" / "scale" / "scale_projection.csv"
MEASURED = REPO_ROOT / "docs" / "scale" / "scale_measured.csv"


@dataclass(frozen=True)
class Check:
    part: str
    status: str  # "ok", "FAIL" or "warn"
    detail: str

    def line(self) -> str:
        return f"{self.status:<4} {self.part:<20} {self.detail}"


def python_check(params: dict) -> Check:
    found = sys.version_info[:2]
    fit = found >= MINIMUM_PYTHON
    need = "" if fit else f" (avdf needs {'.'.join(map(str, MINIMUM_PYTHON))} or newer)"
    return Check("python", "ok" if fit else "FAIL", f"{platform.python_version()} at {sys.executable}{need}")


def torch_check(params: dict) -> Check:
    try:
        import torch
    except ImportError as e:
        return Check("pytorch", "FAIL", f"cannot import torch ({e}); run make setup")
    return Check("pytorch", "ok", f"{torch.__version__}, {torch.get_num_threads()} intra-op threads")


def cuda_check(params: dict) -> Check:
    import torch

    if not torch.cuda.is_available():
        return Check("cuda", "ok", "no CUDA device: training and predict run on the CPU")
    names = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
    bf16 = "bf16 supported" if torch.cuda.is_bf16_supported() else "no bf16 (float32 autocast only)"
    return Check(
        "cuda", "ok", f"{len(names)} device(s): {', '.join(names)}; CUDA {torch.version.cuda}; {bf16}"
    )


def ffmpeg_check(params: dict) -> Check:
    from avdf.media import ffmpeg

    try:
        found = ffmpeg.require_supported()
        missing = ffmpeg.missing_capabilities()
    except ffmpeg.UnsupportedFfmpeg as e:
        return Check("ffmpeg", "FAIL", str(e))
    if missing:
        return Check("ffmpeg", "FAIL", f"{found} lacks what avdf needs: {', '.join(missing)}")
    option = next(iter(ffmpeg.passthrough_frames()))
    return Check("ffmpeg", "ok", f"{found}; libx264, aac, the filters avdf uses, -{option}")


def cpu_check(params: dict) -> Check:
    import torch

    from avdf.contracts import numerics

    flags = _cpu_flags()
    vector = "AVX-512" if "avx512f" in flags else "AVX2" if "avx2" in flags else "SSE only"
    setting = params.get("numerics", {}).get("cpu_isa", "native")
    switches = {k: v for k, v in numerics.in_effect().items() if v}
    return Check(
        "cpu",
        "ok",
        f"{_cpu_vendor()} {platform.machine()}, {vector}, {os.cpu_count()} cores; PyTorch kernels "
        f"{torch.backends.cpu.get_cpu_capability()}; numerics.cpu_isa: {setting}"
        + (f"; in effect: {switches}" if switches else ""),
    )


def _cpuinfo(field: str) -> str:
    """The first ``field`` line of /proc/cpuinfo, after its colon ('' where there is none)."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return ""
    return next((ln.partition(":")[2].strip() for ln in text.splitlines() if ln.startswith(field)), "")


def _cpu_flags() -> set[str]:
    return set(_cpuinfo("flags").split())


def _cpu_vendor() -> str:
    vendor = _cpuinfo("vendor_id")
    return {"AuthenticAMD": "AMD", "GenuineIntel": "Intel"}.get(
        vendor, vendor or platform.processor() or "unknown"
    )


def disk_check(params: dict) -> Check:
    need_gb, unknown = projected_cache_gb(params)
    free_gb = shutil.disk_usage(REPO_ROOT).free / 1e9
    fit = free_gb >= need_gb
    extra = f"; not projected: {', '.join(unknown)}" if unknown else ""
    return Check(
        "disk",
        "ok" if fit else "FAIL",
        f"{free_gb:.1f} GB free at {REPO_ROOT}; the configured datasets' caches need about {need_gb:.1f} GB"
        f" (projection from docs/scale){extra}",
    )


def projected_cache_gb(params: dict) -> tuple[float, list[str]]:
    """GB of caches the configured datasets will take: synthetic ones from their minutes of video at
    the measured bytes per video-minute, real ones from docs/scale/scale_projection.csv by their
    paper name; the names of datasets with no projection."""
    import pandas as pd

    per_minute = _cache_mb_per_video_minute()
    projected = pd.read_csv(PROJECTION).groupby("dataset")["disk_gb_caches"].first()
    by_paper = {name.split(" (")[0]: gb for name, gb in projected.items()}
    total, unknown = 0.0, []
    for name, spec in params["datasets"].items():
        if not spec.get("enabled", True):
            continue
        if spec["source"] == "synthetic":
            synth = params["synth"]
            clips = 4 * synth["clips_per_category"] + synth["faulty_clips"]
            total += per_minute * clips * synth["duration_s"] / 60 / 1e3
        elif spec.get("paper_name") in by_paper:
            total += by_paper[spec["paper_name"]]
        else:
            unknown.append(name)
    return total, unknown


def _cache_mb_per_video_minute() -> float:
    import pandas as pd

    measured = pd.read_csv(MEASURED)
    largest = measured[measured["N"] == measured["N"].max()]
    stages = largest["stage"].str.startswith(("demux", "face", "log-Mel"))
    return float(largest.loc[stages, "mb_per_video_min"].sum())


def mlflow_check(params: dict) -> Check:
    uri = params["mlflow"]["tracking_uri"]
    if uri.startswith("sqlite:///"):
        folder = (REPO_ROOT / uri.removeprefix("sqlite:///")).parent
        fit = os.access(folder, os.W_OK)
        return Check("mlflow", "ok" if fit else "FAIL", f"{uri} ({'writable' if fit else 'not writable'})")
    if uri.startswith(("http://", "https://")):
        return _mlflow_server(uri)
    return Check("mlflow", "ok", f"{uri}")


def _mlflow_server(uri: str) -> Check:
    import urllib.request

    try:
        with urllib.request.urlopen(uri.rstrip("/") + "/health", timeout=5) as response:
            fit = response.status == 200
    except OSError as e:
        return Check("mlflow", "FAIL", f"{uri} does not answer ({e})")
    return Check("mlflow", "ok" if fit else "FAIL", f"{uri} answers /health")


def snakemake_check(params: dict) -> Check:
    try:
        version = importlib.metadata.version("snakemake")
    except importlib.metadata.PackageNotFoundError:
        return Check("snakemake", "FAIL", "not installed; run make setup")
    plugins = sorted(
        f"{d.metadata['Name'].removeprefix('snakemake-executor-plugin-')} {d.version}"
        for d in importlib.metadata.distributions()
        if (d.metadata["Name"] or "").startswith("snakemake-executor-plugin-")
    )
    return Check("snakemake", "ok", f"{version}; executor plugins: {', '.join(plugins) or 'none'} (+ local)")


def chromium_check(params: dict) -> Check:
    browser = os.environ.get("AVDF_CHROMIUM", "/usr/bin/chromium")
    if os.access(browser, os.X_OK):
        return Check("chromium", "ok", f"{browser} (the browser tests)")
    return Check(
        "chromium", "warn", f"none at {browser}: only make test's browser tests need it (envs/browser.sh)"
    )


CHECKS: tuple[Callable[[dict], Check], ...] = (
    python_check,
    torch_check,
    cuda_check,
    ffmpeg_check,
    cpu_check,
    disk_check,
    mlflow_check,
    snakemake_check,
    chromium_check,
)


def run(params: dict) -> list[Check]:
    """Every check, in order; a check that itself fails is reported as that part's failure."""
    results = []
    for check in CHECKS:
        part = check.__name__.removesuffix("_check")
        try:
            results.append(check(params))
        except Exception as e:  # noqa: BLE001 - the doctor reports, it never crashes
            results.append(Check(part, "FAIL", f"the check itself failed: {type(e).__name__}: {e}"))
    return results
