#!/usr/bin/env bash
# Builds the project environment: `make setup` calls this.
#
# The heavy part (torch with CUDA, about 7 GB) lives in a shared virtual environment keyed by the
# sha256 of envs/requirements.lock and the Python version, under $AVDF_ENV_ROOT
# (default ~/.cache/avdf/envs). A fresh clone on the same machine reuses it; nothing is downloaded
# again unless the lock changes. Each clone then gets a thin .venv that layers the shared
# site-packages under its own, holds avdf installed in editable mode, and has the console scripts
# (snakemake, dvc, mlflow, pytest, ruff, avdf). Re-running is a no-op when nothing changed.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-$(command -v python3.11 || command -v python3)}
# The interpreter a venv was made from, never a venv's own (this script deletes .venv below).
PYTHON=$("$PYTHON" -c 'import sys; print(getattr(sys, "_base_executable", sys.executable))')
LOCK=envs/requirements.lock
ROOT=${AVDF_ENV_ROOT:-$HOME/.cache/avdf/envs}
pyver=$("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
key=$(cat "$LOCK" envs/setup.sh | sha256sum | cut -c1-16)-py$pyver
base="$ROOT/$key"

if [ ! -f "$base/.complete" ]; then
  echo "setup: building the shared environment $base from $LOCK (first time for this lock)"
  rm -rf "$base.partial"
  mkdir -p "$ROOT"
  "$PYTHON" -m venv "$base.partial"
  "$base.partial/bin/python" -m pip install --quiet --upgrade "pip>=24"
  "$base.partial/bin/python" -m pip install --quiet --no-deps -r "$LOCK" 2>&1 | { grep -v "is ignored: it is neither" || true; }
  "$base.partial/bin/python" -m pip check
  # A venv records its own path in its scripts; build in .partial, then fix the paths and move.
  grep -rlI "$base.partial" "$base.partial/bin" | xargs -r sed -i "s#$base.partial#$base#g"
  sed -i "s#$base.partial#$base#g" "$base.partial/pyvenv.cfg"
  touch "$base.partial/.complete"
  rm -rf "$base"
  mv "$base.partial" "$base"
fi

site_base=$("$base/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
stamp=".venv/.avdf-env"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$key $(sha256sum pyproject.toml | cut -c1-16)" ]; then
  exit 0   # nothing changed
fi

echo "setup: linking .venv to $base"
rm -rf .venv
"$PYTHON" -m venv --without-pip .venv
site_local=$(.venv/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
# Processed at start-up: the shared packages come after the clone's own (avdf, editable).
echo "import site; site.addsitedir('$site_base')" > "$site_local/_avdf_shared_env.pth"
.venv/bin/python -m pip install --quiet --no-deps --no-build-isolation -e .
# Console scripts of the shared environment, re-pointed at this clone's interpreter.
for tool in snakemake dvc mlflow pytest; do
  sed "1s|.*|#!$PWD/.venv/bin/python|" "$base/bin/$tool" > ".venv/bin/$tool"
  chmod +x ".venv/bin/$tool"
done
ln -sf "$base/bin/ruff" .venv/bin/ruff   # a native binary
echo "$key $(sha256sum pyproject.toml | cut -c1-16)" > "$stamp"
echo "setup: ready (.venv -> $base)"
