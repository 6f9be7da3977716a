"""Parameter counts of every method's model at the embedded default and at the paper profile,
written to docs/model-sizes.md (issue 16, item 4). Each is built by avdf.learning.model_sizes exactly as
training builds it from the merged parameters.

    python benchmarks/model_sizes.py [--out docs/model-sizes.md]
"""

from __future__ import annotations

import argparse

from avdf.contracts import atomic
from avdf.contracts.config import REPO_ROOT, profile_params
from avdf.learning import model_sizes

PUBLISHED = {  # the published models' own counts, for the rows that reimplement one
    "ecapa_tdnn": "6.2 M (C = 512, 80 filterbanks; Desplanques et al. 2020, Table 1)",
    "aasist": "297 k (Jung et al. 2022, Table 1: raw waveform, sinc front end)",
}


def markdown(counts: dict) -> str:
    default, paper = profile_params(), profile_params("paper")
    lines = [
        "# Model sizes",
        "",
        "Written by `python benchmarks/model_sizes.py` (do not edit by hand): every method's trainable",
        "parameters as training builds it, at the embedded default (`params.yaml`) and the paper profile",
        "(`workflow/profiles/paper/params.yaml` merged over it).",
        "",
        f"- Embedded: crops {default['faces']['crop_size']} px, patch {default['model']['patch']} "
        f"({default['faces']['crop_size'] // default['model']['patch']}² visual tokens per frame), "
        f"dim {default['model']['dim']}, depth {default['model']['depth']}, "
        f"{default['input']['frames']} frames per {default['input']['window_s']} s window.",
        f"- Paper: crops {paper['faces']['crop_size']} px, patch {paper['model']['patch']} "
        f"({paper['faces']['crop_size'] // paper['model']['patch']}² visual tokens per frame), "
        f"dim {paper['model']['dim']}, depth {paper['model']['depth']}, "
        f"MACB-DF ms_depth {paper['macbdf']['ms_depth']}, "
        f"{paper['input']['frames']} frames per {paper['input']['window_s']} s window; the baselines "
        "at their published sizes.",
        "",
        "| method | embedded | paper profile | published |",
        "|---|---:|---:|---|",
    ]
    for method, row in counts.items():
        lines.append(f"| {method} | {row['default']:,} | {row['paper']:,} | {PUBLISHED.get(method, '')} |")
    lines += [
        "",
        "AASIST in the paper profile reads the raw waveform (the demuxed 16 kHz WAV) through its",
        "published sinc front end (70 mel-spaced band-pass filters of 129 taps) and published kernels;",
        "the embedded default reads the cached log-Mel with CPU-sized widths. ECAPA-TDNN reads 64",
        "log-Mel bands (the published model: 80 filterbanks, hence the small difference).",
        "",
        "Pretrained visual weights (`model.visual_init`): `torchvision:ResNet18_Weights.IMAGENET1K_V1`",
        "with `model.visual_stem: resnet18`, or a local state dict (of the whole visual encoder, or of",
        "a torchvision ResNet-18). Loaded only when given; the offline default is random.",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(REPO_ROOT / "docs" / "model-sizes.md"))
    args = parser.parse_args()
    counts = model_sizes.counts()
    for method, row in counts.items():
        print(f"{method:12s} embedded {row['default']:>12,}  paper {row['paper']:>12,}")
    atomic.write_text(args.out, markdown(counts))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
