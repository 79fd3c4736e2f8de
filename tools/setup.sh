#!/usr/bin/env bash
# setup.sh: from a fresh Debian 12 machine to a first qadapt run.
#
#   bash tools/setup.sh              install what is missing, build into build/,
#                                    run the default experiment
#   bash tools/setup.sh --deps-only  only install what is missing (CI uses this)
#   bash tools/setup.sh --fuzz-deps  the same plus the optional fuzzing tools
#                                    (clang with libFuzzer: tools/fuzz.sh)
#
# Idempotent: apt is skipped entirely when every package is installed, the
# build is incremental, and a rerun of the experiment replaces its run file
# when it finishes. Works as root or through sudo (only apt needs root).
set -euo pipefail

# The experiment the set-up runs; its run file goes to runs/<name>/run.h5.
DEFAULT_CONFIG=configs/fmnist-dqmq.ini

PACKAGES=(meson ninja-build pkg-config gcc libopenblas-dev libhdf5-dev zlib1g-dev libinih-dev
          check libpng-dev libturbojpeg0-dev dataset-fashion-mnist hdf5-tools
          python3-h5py python3-matplotlib libopenmpi-dev openmpi-bin)
# Optional: tools/fuzz.sh builds the fuzz targets with clang's libFuzzer.
FUZZ_PACKAGES=(clang libclang-rt-14-dev)

usage() {
    awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"
}

deps_only=0
case "${1:-}" in
    "") ;;
    --deps-only) deps_only=1 ;;
    --fuzz-deps) deps_only=1; PACKAGES+=("${FUZZ_PACKAGES[@]}") ;;
    -h | --help) usage; exit 0 ;;
    *) echo "setup.sh: unknown option '$1'" >&2; usage >&2; exit 2 ;;
esac
if [ $# -gt 1 ]; then
    echo "setup.sh: one option at most" >&2
    exit 2
fi

cd "$(dirname "$0")/.."

missing=()
for p in "${PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
        missing+=("$p")
    fi
done

if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" -eq 0 ]; then
        as_root=()
    elif command -v sudo >/dev/null 2>&1; then
        as_root=(sudo)
    else
        echo "setup.sh: need root or sudo to install: ${missing[*]}" >&2
        exit 1
    fi
    echo "setup.sh: installing ${missing[*]}"
    "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update
    "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        "${missing[@]}"
else
    echo "setup.sh: all ${#PACKAGES[@]} packages are installed"
fi

if [ "$deps_only" -eq 1 ]; then
    exit 0
fi

if [ ! -f build/build.ninja ]; then
    meson setup build
fi
ninja -C build
./build/qadapt run "$DEFAULT_CONFIG"
