#!/usr/bin/env bash
# Copy Fashion-MNIST's four official .gz files into one git-ignored folder that travels to the GPU machine with the
# repository and the wheels (the kit's part `study` reads them there: it has no network), check each against its SHA-256,
# and check that everything that travels stays under the device machine's 64 MiB.
#
#   bash benchmarks/gpu/fetch_data.sh [DEST [SOURCE]]
#
# DEST defaults to .fashion-mnist (ignored by git); SOURCE to the first folder of spat_nb.data.FASHION_MNIST_FOLDERS that
# holds the four files (~/.fastai/data/fashion-mnist, /usr/share/datasets/fashion-mnist: `apt-get install dataset-fashion-mnist`).
# Run it with the project's Python (PYTHON, default python3): it uses spat_nb's loader to check the files.
set -euo pipefail
here=$PWD
cd "$(dirname "$0")/../.."
dest="${1:-.fashion-mnist}"
source="${2:-}"
# DEST and SOURCE are relative to where it was called, like run.sh's OUTDIR
if [ -n "${1:-}" ]; then case "$dest" in /*) ;; *) dest="$here/$dest";; esac; fi
if [ -n "$source" ]; then case "$source" in /*) ;; *) source="$here/$source";; esac; fi
max_mib=64
"${PYTHON:-python3}" - "$dest" "$source" <<'PY'
import shutil, sys
from pathlib import Path
from spat_nb.data import FASHION_MNIST_FOLDERS, FASHION_MNIST_SHA256, load_fashion_mnist
dest, source = Path(sys.argv[1]), sys.argv[2]
candidates = [Path(source)] if source else [Path(p).expanduser() for p in FASHION_MNIST_FOLDERS]
found = next((c for c in candidates if all((c/f).is_file() for f in FASHION_MNIST_SHA256)), None)
if found is None:
    sys.exit(f"fetch_data: Fashion-MNIST's four files are in none of {', '.join(map(str, candidates))}; "
             "install them with `apt-get install dataset-fashion-mnist` or pass their folder as SOURCE")
dest.mkdir(parents=True, exist_ok=True)
if found.resolve() != dest.resolve():
    for f in FASHION_MNIST_SHA256: shutil.copyfile(found/f, dest/f)
x_train, _, x_test, _, _ = load_fashion_mnist(dest)   # every file checked against its SHA-256
print(f"Fashion-MNIST ({len(x_train):,} training and {len(x_test):,} test images) from {found} in {dest}")
PY
# what the device tool sends: the tracked and untracked-not-ignored files, and the carried folders
# (a tracked file deleted in the working tree does not travel: du skips it)
tree_kib=$( (git ls-files -z --cached --others --exclude-standard | xargs -0 du -ck 2>/dev/null || true) | tail -1 | cut -f1)
wheels_kib=$(du -sk .whl 2>/dev/null | cut -f1 || echo 0)
data_kib=$(du -sk "$dest" | cut -f1)
total_kib=$((tree_kib + ${wheels_kib:-0} + data_kib))
echo "carried to the GPU machine: working tree $((tree_kib / 1024)) MiB + .whl $((${wheels_kib:-0} / 1024)) MiB + $dest $((data_kib / 1024)) MiB = $((total_kib / 1024)) MiB (limit ${max_mib} MiB)"
[ "$total_kib" -lt $((max_mib * 1024)) ] || { echo "fetch_data: the carried set is over ${max_mib} MiB" >&2; exit 1; }
