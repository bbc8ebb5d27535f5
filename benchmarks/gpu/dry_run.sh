#!/usr/bin/env bash
# The GPU kit's dry run on a CPU: a fresh virtualenv that holds only what the GPU machine has (torch, numpy, pandas,
# matplotlib, scipy, scikit-learn, accelerate, ... at versions close to its own), the kit's wheels installed --no-deps
# exactly as run.sh installs them there, Fashion-MNIST's files as fetch_data.sh copies them, then run.sh --dry-run with tiny
# shapes (all five parts; the study at toy size). An import the wheel list forgot fails here.
# Of the GPU machine's packages, those the calling Python already has are lent by symlink (borrow_packages.py); pip
# installs the rest.
#
#   bash benchmarks/gpu/dry_run.sh [OUTDIR]      OUTDIR defaults to a temporary folder
#
# Environment: KIT_VENV (default /tmp/spat_kit_venv), PYTHON (default python3), TORCH_PIN (default the capped local wheels).
set -euo pipefail
out="${1:-$(mktemp -d)}"
case "$out" in /*) ;; *) out="$PWD/$out";; esac   # relative to where it was called
cd "$(dirname "$0")/../.."
kit=benchmarks/gpu
venv="${KIT_VENV:-/tmp/spat_kit_venv}"
torch_pin="${TORCH_PIN:-torch==2.14.1 torchvision==0.29.1}"
start=$SECONDS
quiet() { "$@" 2>&1 | { grep -v '^WARNING: Location .* is ignored' || true; }; }

echo "==> the GPU machine's packages, in a fresh virtualenv $venv"
"${PYTHON:-python3}" -m venv --clear "$venv"
pyver=$("$venv/bin/python" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')
# what the calling Python already has of them (torch and its CUDA libraries, in CI) is lent by symlink, not copied:
# a second copy of torch is 5.5 GB, which a CI disk may not have
lent="$venv/lent"
"${PYTHON:-python3}" $kit/borrow_packages.py $kit/gpu_machine_packages.txt "$lent"
"$venv/bin/python" -c 'import site, sys; print(sys.argv[1], file=open(site.getsitepackages()[0] + "/_lent_packages.pth", "w"))' "$lent"
# shellcheck disable=SC2086
quiet "$venv/bin/pip" install -q $torch_pin numpy pandas matplotlib scipy scikit-learn accelerate pillow pyyaml requests rich tqdm pytest \
  six joblib threadpoolctl psutil packaging cloudpickle pygments typing-extensions setuptools
# keep only what the GPU machine has: anything pip brought along that is not on its list goes
extra=$("$venv/bin/python" - "$kit/gpu_machine_packages.txt" <<'PY'
import re, sys
from importlib.metadata import distributions
norm = lambda n: re.sub(r'[-_.]+', '-', n).lower()
gpu = {norm(l.strip()) for l in open(sys.argv[1]) if l.strip() and not l.startswith('#')} | {'pip', 'setuptools'}
print(' '.join(sorted({norm(d.metadata['Name']) for d in distributions()} - gpu)))
PY
)
if [ -n "$extra" ]; then echo "removing what the GPU machine lacks: $extra"; quiet "$venv/bin/pip" uninstall -q -y $extra; fi

echo "==> the kit's wheels, for this Python ($pyver)"
wheels=$(mktemp -d)
bash $kit/fetch_wheels.sh "$wheels" "$pyver"

echo "==> Fashion-MNIST's files for the part study, as fetch_data.sh prepares them for the GPU machine"
data=$(mktemp -d)
parts="checks cells bench bench_fp32 study"
if ! bash $kit/fetch_data.sh "$data"; then
  printf '\n!!! WARNING: fetch_data.sh failed (its message is above; without the files: apt-get install dataset-fashion-mnist):\n!!! the dry run leaves out the part study !!!\n\n'
  parts="checks cells bench bench_fp32"
fi

echo "==> run.sh --dry-run into $out"
PYTHON="$venv/bin/python" KIT_WHEELS="$wheels" KIT_SITE="$(mktemp -d)" KIT_DATA="$data" KIT_PARTS="$parts" bash $kit/run.sh --dry-run "$out"
echo "==> dry run passed in $((SECONDS - start))s"
