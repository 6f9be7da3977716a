#!/usr/bin/env bash
# The oldest ffmpeg avdf supports, for tests/test_old_ffmpeg.py: the 4.2.2 build inside PyPI's
# imageio-ffmpeg 0.5.1 wheel (the lock pins a newer imageio-ffmpeg, so it is unpacked beside the
# environment, not installed). Fetched once from PyPI into $AVDF_ENV_ROOT/../ffmpeg-4.2.2/ffmpeg.
set -euo pipefail
dest=${AVDF_OLD_FFMPEG:-${AVDF_ENV_ROOT:-$HOME/.cache/avdf/envs}/../ffmpeg-4.2.2/ffmpeg}
[ -x "$dest" ] && exit 0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "old-ffmpeg: fetching imageio-ffmpeg 0.5.1 (ffmpeg 4.2.2) for the old-ffmpeg test"
if ! python3 -m pip download -q --no-deps --only-binary=:all: --platform manylinux2010_x86_64 \
    -d "$tmp" imageio-ffmpeg==0.5.1 2>/dev/null; then
  echo "old-ffmpeg: could not download imageio-ffmpeg 0.5.1; tests/test_old_ffmpeg.py will be skipped" >&2
  exit 0
fi
python3 -m zipfile -e "$tmp"/imageio_ffmpeg-0.5.1-*.whl "$tmp/x"
mkdir -p "$(dirname "$dest")"
install -m 0755 "$tmp"/x/imageio_ffmpeg/binaries/ffmpeg-linux64-v4.2.2 "$dest.partial"
mv "$dest.partial" "$dest"
echo "old-ffmpeg: $("$dest" -hide_banner -version | head -1) at $dest"
