#!/usr/bin/env bash
# Download the wheels in wheels.txt for the GPU machine (CPython 3.12, x86-64 Linux) into one git-ignored folder,
# without their dependencies, and check that the folder stays small enough to copy to the GPU machine comfortably.
#
#   bash benchmarks/gpu/fetch_wheels.sh [DEST [PYTHON_VERSION]]
#
# DEST defaults to .whl (ignored by git; copy it to the GPU machine with the repository), PYTHON_VERSION to 3.12, the GPU machine's.
# The dry run fetches the same pins for this machine's Python: two of the wheels (plum-dispatch, wcwidth) are built per
# Python version, the rest are the same files.
set -euo pipefail
cd "$(dirname "$0")/../.."
dest="${1:-.whl}"
pyver="${2:-3.12}"
case "$pyver" in 3.[0-9]|3.[0-9][0-9]) ;; *) echo "fetch_wheels: PYTHON_VERSION='$pyver' is invalid; expected e.g. 3.12" >&2; exit 2;; esac
abi="cp${pyver/./}"
list=benchmarks/gpu/wheels.txt
max_mib=40
mkdir -p "$dest"
mapfile -t wanted < <(grep -v '^\s*#' "$list" | grep -v '^\s*$')
python3 -m pip download -q --no-deps --only-binary=:all: --python-version "$pyver" --implementation cp --abi "$abi" --abi abi3 --abi none \
  --platform manylinux2014_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux_2_28_x86_64 \
  -d "$dest" "${wanted[@]}" 2>&1 | { grep -v '^WARNING: Location .* is ignored' || true; }
# one version of each: a stale wheel from an older list would make the install refuse the whole set
for spec in "${wanted[@]}"; do
  name="${spec%%==*}"; version="${spec##*==}"; stem="$(echo "$name" | tr '-' '_')"
  for f in "$dest"/*.whl; do
    base="$(basename "$f")"; fname="${base%%-*}"
    if [ "$(echo "$fname" | tr 'A-Z-' 'a-z_')" = "$(echo "$stem" | tr 'A-Z-' 'a-z_')" ] && [[ "$base" != *"-$version-"* ]]; then
      echo "removing stale $base (wheels.txt pins $spec)"; rm -f "$f"
    fi
  done
done
n=$(ls "$dest"/*.whl | wc -l)
size_kib=$(du -sk "$dest" | cut -f1)
echo "$n wheels, $((size_kib / 1024)) MiB in $dest"
[ "$n" -eq "${#wanted[@]}" ] || { echo "fetch_wheels: expected ${#wanted[@]} wheels in $dest, found $n" >&2; exit 1; }
[ "$size_kib" -le $((max_mib * 1024)) ] || { echo "fetch_wheels: $dest is over ${max_mib} MiB" >&2; exit 1; }
