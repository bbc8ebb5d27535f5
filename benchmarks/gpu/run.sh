#!/usr/bin/env bash
# The GPU kit: install the carried wheels, print the machine, then run each part under its own time budget. Each part
# writes its output into OUTDIR/<part>/ (the four default parts: result.json and log.txt each, eight files to bring back).
#
#   bash benchmarks/gpu/run.sh OUTDIR                    on a GPU machine: the four default parts, at most about 9 minutes
#   KIT_PARTS=study bash benchmarks/gpu/run.sh OUTDIR    the full-size Fashion-MNIST study, a call of its own (about 9 minutes)
#   bash benchmarks/gpu/run.sh --dry-run OUTDIR          on a CPU, tiny shapes, all five parts: proves the scripts and the wheel set
#
# Copy the repository, the wheels of fetch_wheels.sh (.whl/) and, for the study, the data of fetch_data.sh
# (.fashion-mnist/) to the GPU machine and run it from the repository root (benchmarks/gpu/README.md).
#
# Environment: PYTHON (default python3), KIT_WHEELS (default .whl), KIT_SITE (default /tmp/spat_kit_site), KIT_PARTS (the
# parts to run, default 'checks cells bench bench_fp32', in the dry run all five; rerun one part by naming it); for the
# study: KIT_DATA (default .fashion-mnist), KIT_STUDY_SEEDS (default '0 1 2'), KIT_STUDY_WORKERS (default 8),
# KIT_STUDY_RESUME (an earlier results file to continue; default benchmarks/study/fashion_mnist_gpu.json where it exists),
# KIT_STUDY_BUDGET (default 500).
# Parts and budgets (seconds, GPU): checks 165, cells 55, bench 200, bench_fp32 70: 490 s (each + 5 s to stop), with the
# install and imports about 9 minutes at most (the recorded runs' part times are in benchmarks/RESULTS.md); study 500.
set -uo pipefail
dry=0
if [ "${1:-}" = --dry-run ]; then dry=1; shift; fi
if [ $# -ne 1 ] || [[ "$1" == -* ]]; then echo "usage: bash benchmarks/gpu/run.sh [--dry-run] OUTDIR" >&2; exit 2; fi
case "$1" in /*) out="$1";; *) out="$PWD/$1";; esac   # relative to where it was called, not to the repository
cd "$(dirname "$0")/../.."
py="${PYTHON:-python3}"
wheels="${KIT_WHEELS:-.whl}"
site="${KIT_SITE:-/tmp/spat_kit_site}"
kit=benchmarks/gpu
if [ $dry = 1 ]; then parts="${KIT_PARTS:-checks cells bench bench_fp32 study}"; else parts="${KIT_PARTS:-checks cells bench bench_fp32}"; fi
data="${KIT_DATA:-.fashion-mnist}"
study_resume="${KIT_STUDY_RESUME-benchmarks/study/fashion_mnist_gpu.json}"
study_budget="${KIT_STUDY_BUDGET:-500}"
start=$SECONDS

# the cheap checks first: wheels, output folder, interpreter
if ! ls "$wheels"/*.whl >/dev/null 2>&1; then
  echo "run.sh: no wheels in '$wheels'; run 'bash $kit/fetch_wheels.sh' first (and copy .whl to the GPU machine)" >&2; exit 2
fi
mkdir -p "$out" && [ -w "$out" ] || { echo "run.sh: OUTDIR '$out' is not a writable folder" >&2; exit 2; }
command -v "$py" >/dev/null || { echo "run.sh: PYTHON '$py' is not an interpreter on the PATH" >&2; exit 2; }
for p in $parts; do
  case "$p" in checks|cells|bench|bench_fp32|study) ;; *) echo "run.sh: KIT_PARTS has '$p'; expected some of: checks cells bench bench_fp32 study" >&2; exit 2;; esac
done
if [[ " $parts " == *" study "* ]]; then
  for f in train-images-idx3-ubyte.gz train-labels-idx1-ubyte.gz t10k-images-idx3-ubyte.gz t10k-labels-idx1-ubyte.gz; do
    [ -f "$data/$f" ] || { echo "run.sh: KIT_DATA '$data' lacks $f; run 'bash $kit/fetch_data.sh' first (and copy .fashion-mnist to the GPU machine)" >&2; exit 2; }
  done
  [[ "${KIT_STUDY_WORKERS:-8}" =~ ^[1-9][0-9]*$ ]] || { echo "run.sh: KIT_STUDY_WORKERS='${KIT_STUDY_WORKERS}'; expected a positive integer" >&2; exit 2; }
  [[ "$study_budget" =~ ^[1-9][0-9]*$ ]] && [ "$study_budget" -le 560 ] || { echo "run.sh: KIT_STUDY_BUDGET='$study_budget'; expected seconds in [1, 560] (the device machine runs a command for at most 600 s, the install included)" >&2; exit 2; }
  if [ $dry = 0 ] && [ "$(echo $parts)" != study ]; then
    echo "run.sh: KIT_PARTS='$parts' puts the study beside other parts; expected KIT_PARTS=study alone (the study's call takes about 9 minutes, the other parts' another 9)" >&2; exit 2
  fi
  [[ "${KIT_STUDY_SEEDS:-0 1 2}" =~ ^[0-9]+(\ [0-9]+)*$ ]] || { echo "run.sh: KIT_STUDY_SEEDS='${KIT_STUDY_SEEDS}'; expected seeds separated by spaces, e.g. '0 1 2'" >&2; exit 2; }
  if [ -n "$study_resume" ] && { [ -n "${KIT_STUDY_RESUME:-}" ] || [ -f "$study_resume" ]; }; then
    for f in "$study_resume" "${study_resume%.json}_referee.pth" "${study_resume%.json}_referee.json"; do
      [ -f "$f" ] || { echo "run.sh: KIT_STUDY_RESUME: $f is not a file; expected an earlier call's results file with its referee beside it (NAME.json, NAME_referee.pth, NAME_referee.json)" >&2; exit 2; }
    done
  fi
fi

echo "==> installing $(ls "$wheels"/*.whl | wc -l) wheels into $site"
"$py" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$site" "$wheels"/*.whl || exit 3
export PYTHONPATH="$PWD:$site${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1 MPLBACKEND=Agg TQDM_DISABLE=1
"$py" - <<'PY' || exit 3
import sys; sys.path.insert(0, 'benchmarks/gpu')
from kitlib import environment
for k, v in environment().items(): print(f'{k:>16}: {v}')
import spat_nb.callbacks, spat_nb.evaluate, spat_nb.cli, spat_nb.study, art.defences.trainer, execnb.shell, fastai.vision.all   # everything the parts import
print('imports: ok')
PY

status=0
export KIT_TEED_LOG=1   # the parts print; part() keeps everything they print, errors included, in their log.txt
part() {   # part NAME BUDGET_S COMMAND...: run COMMAND under BUDGET_S seconds, its output teed to OUTDIR/NAME/log.txt
  local name=$1 budget=$2 t0=$SECONDS rc; shift 2
  [[ " $parts " == *" $name "* ]] || return 0
  mkdir -p "$out/$name"
  echo; echo "==> [$((SECONDS - start))s] part $name (budget ${budget}s)"
  timeout --signal=INT --kill-after=5 "$budget" "$@" 2>&1 | tee -a "$out/$name/log.txt"
  rc=${PIPESTATUS[0]}
  echo "==> part $name: exit $rc after $((SECONDS - t0))s$([ "$rc" = 124 ] || [ "$rc" = 130 ] && echo ' (stopped by its budget)')"
  [ "$rc" = 0 ] || status=1
}
if [ $dry = 1 ]; then
  part checks 600 "$py" $kit/cuda_checks.py --out "$out/checks" --dry-run
  part cells 300 "$py" $kit/run_cuda_cells.py --out "$out/cells" --dry-run
  part bench 600 "$py" benchmarks/bench_at.py --device cpu --settings mnist cifar10 --bs 2 --batches 1 --rounds 1 --steps 1 \
    --compile none --no-art --json "$out/bench/result.json"
  part bench_fp32 300 "$py" benchmarks/bench_at.py --device cpu --settings cifar10 --bs 2 --batches 1 --rounds 1 --steps 1 \
    --compile none --only ART --json "$out/bench_fp32/result.json"
  part study 300 "$py" $kit/fashion_mnist_study.py --out "$out/study" --data "$data" --dry-run
else
  part checks 165 "$py" $kit/cuda_checks.py --out "$out/checks"
  part cells 55 "$py" $kit/run_cuda_cells.py --out "$out/cells"
  # bf16 + channels_last (the default on cuda), with compiled-attack rows on CIFAR-10 shapes; ART trains in float32,
  # so it is timed in the next part, against our float32
  part bench 200 "$py" benchmarks/bench_at.py --device cuda --settings cifar10 cifar10-wrn --compile cifar10 --no-art --profile \
    --json "$out/bench/result.json"
  part bench_fp32 70 "$py" benchmarks/bench_at.py --device cuda --fp32 --settings cifar10 --compile none --only ART \
    --json "$out/bench_fp32/result.json"
  # all 60,000 training images, every method, KIT_STUDY_SEEDS one after the other, KIT_STUDY_WORKERS runs at a time; each
  # run saved as it completes, so a call stopped by the budget keeps what it measured and the next call resumes from it
  resume=(); if [ -n "$study_resume" ] && [ -f "$study_resume" ]; then resume=(--resume "$study_resume"); fi
  # shellcheck disable=SC2086
  part study "$study_budget" "$py" $kit/fashion_mnist_study.py --out "$out/study" --data "$data" --workers "${KIT_STUDY_WORKERS:-8}" \
    --seeds ${KIT_STUDY_SEEDS:-0 1 2} "${resume[@]}"
fi
echo; echo "==> kit finished in $((SECONDS - start))s, exit $status; results in $out"
exit $status
