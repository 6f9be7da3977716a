#!/usr/bin/env bash
# AV-Deepfake1M's official localisation evaluator, for tests/test_official_evaluator.py: the Rust
# extension (`_evaluation`: ap_1d, ar_1d, ap_ar_1d) inside PyPI's avdeepfake1m 0.0.4 wheel, which
# the 1M-Deepfakes challenge scores Task 2 with. The package itself requires lightning, OpenCV, PyAV
# and numpy < 2, which avdf does not use, so only the extension and its licence (CC BY-NC 4.0: run
# by the tests here, not shipped with avdf) are unpacked, once, beside the environment:
# $AVDF_ENV_ROOT/../avdeepfake1m-0.0.4-py<version>/. Where PyPI cannot be reached, the tests that
# need it are skipped and say why.
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-.venv/bin/python}
pyver=$("$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
dest=${AVDF_OFFICIAL_EVALUATOR:-${AVDF_ENV_ROOT:-$HOME/.cache/avdf/envs}/../avdeepfake1m-0.0.4-py$pyver}
compgen -G "$dest/_evaluation*.so" > /dev/null && exit 0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "official-evaluator: fetching avdeepfake1m 0.0.4 (its Rust extension only) for the evaluator tests"
if ! "$python" -m pip download -q --no-deps --only-binary=:all: -d "$tmp" avdeepfake1m==0.0.4 2>/dev/null; then
  echo "official-evaluator: could not download avdeepfake1m 0.0.4; tests/test_official_evaluator.py will be skipped" >&2
  exit 0
fi
"$python" -m zipfile -e "$tmp"/avdeepfake1m-0.0.4-*.whl "$tmp/x"
rm -rf "$dest.partial"
mkdir -p "$dest.partial"
cp "$tmp"/x/avdeepfake1m/_evaluation*.so "$tmp"/x/avdeepfake1m-0.0.4.dist-info/licenses/LICENSE "$dest.partial/"
rm -rf "$dest"
mv "$dest.partial" "$dest"
echo "official-evaluator: $(basename "$dest"/_evaluation*.so) at $dest"
