"""The kit's part `study`: the Fashion-MNIST study of `nbs/12_study_fashion_mnist.ipynb` at full size, on one GPU.

Every method of the study (`STUDY_METHODS`) under each seed, trained on all 60,000 training images with the study's
recipe (`StudySetup(n_train=None)`; every other field is the CPU study's), evaluated with clean accuracy and PGD-40 on
the 10,000 test images and AutoAttack on the first 1,000. Several runs train at once, each in a process of its own
sharing the GPU (`run_study(workers=...)`). `OUT/result.json` is the study's results file, rewritten after each run
completes, with its referee beside it (`result_referee.pth` and `.json`): a run stopped by its time budget keeps every
run it completed, and `--resume` continues from such a file.

    python benchmarks/gpu/fashion_mnist_study.py --out OUT --data .fashion-mnist                # on a GPU
    python benchmarks/gpu/fashion_mnist_study.py --out OUT --data .fashion-mnist --resume benchmarks/study/fashion_mnist_gpu.json
    python benchmarks/gpu/fashion_mnist_study.py --out /tmp/study --data DIR --dry-run          # the same code on the CPU, toy size
"""
from __future__ import annotations
import argparse, json, shutil, signal, sys, time
from dataclasses import asdict
from pathlib import Path

import spat_nb.data  # first: its import of fastai quiets a deprecation warning raised there
import torch

sys.path.insert(0, str(Path(__file__).parent))
from kitlib import environment
from spat_nb.data import FASHION_MNIST_SHA256
from spat_nb.study import STUDY_METHODS, StudySetup, run_study, study_table

FULL_SIZE = StudySetup(n_train=None)
# every code path of the full study (all methods, the referee, PGD and AutoAttack's three stages, two workers) in seconds
TOY_SIZE = StudySetup(n_train=200, epochs=1, steps=2, n_pgd=100, pgd_steps=2, n_aa=20, square_queries=10, n_judged=50, referee_epochs=1)

def resume_from(previous:Path, out:Path):
    "Start `out/result.json` from an earlier call's results file and its referee, unless `out` already holds one."
    if (out/'result.json').exists():
        print(f"--resume {previous} left alone: {out/'result.json'} is already there, and the study continues from it")
        return
    referee = [previous.with_name(previous.stem + '_referee' + ext) for ext in ('.pth', '.json')]
    missing = [str(p) for p in (previous, *referee) if not p.is_file()]
    if missing: raise FileNotFoundError(f"--resume {previous}: {', '.join(missing)} not found; expected a study's results file with its referee beside it")
    shutil.copyfile(previous, out/'result.json')
    for src, ext in zip(referee, ('.pth', '.json')): shutil.copyfile(src, out/f'result_referee{ext}')
    print(f"resumed from {previous}: {len(json.loads(previous.read_text())['runs'])} runs already there")

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--out', required=True, help='folder for result.json (the study) and its referee')
    p.add_argument('--data', required=True, help="folder holding Fashion-MNIST's four .gz files (fetch_data.sh copies them into .fashion-mnist)")
    p.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2], help='seeds, run one after the other (default: 0 1 2)')
    p.add_argument('--workers', type=int, default=None, help='runs training at once, each in its own process (default: 8 on a GPU, 2 in the dry run)')
    p.add_argument('--resume', type=Path, default=None, help="an earlier call's results file (its referee beside it): its runs are kept, the rest train")
    p.add_argument('--dry-run', action='store_true', help='on the CPU at toy size, one seed: proves the code and the wheel set, measures nothing')
    args = p.parse_args(argv)
    # a shell without job control starts background commands with SIGINT ignored, and Python keeps it so: take it back,
    # since run.sh's time budget ends a part with SIGINT
    signal.signal(signal.SIGINT, signal.default_int_handler)
    data, out = Path(args.data), Path(args.out)
    missing = [f for f in FASHION_MNIST_SHA256 if not (data/f).is_file()]
    if missing: p.error(f"--data {data} lacks {', '.join(missing)}; run 'bash benchmarks/gpu/fetch_data.sh' and carry .fashion-mnist")
    if not args.dry_run and not torch.cuda.is_available(): p.error("no CUDA device is available; use --dry-run on a CPU")
    workers = args.workers if args.workers is not None else (2 if args.dry_run else 8)
    if workers < 1: p.error(f"--workers {workers}: expected at least 1")
    if any(s < 0 for s in args.seeds): p.error(f"--seeds {args.seeds}: expected seeds >= 0")
    setup, device = (TOY_SIZE, 'cpu') if args.dry_run else (FULL_SIZE, 'cuda')
    seeds = args.seeds[:1] if args.dry_run else args.seeds
    out.mkdir(parents=True, exist_ok=True)
    if args.resume is not None: resume_from(args.resume, out)
    env = environment()
    print(f"# study: {env['date']}, {env['device']}, torch {env['torch']}, fastai {env['fastai']}, ART {env['art']}")
    print(f"setup: {json.dumps(asdict(setup))}")
    print(f"methods: {', '.join(STUDY_METHODS)}; seeds {' '.join(map(str, seeds))}; {workers} runs at a time")
    start = time.perf_counter()
    try:
        runs = run_study(setup, out/'result.json', seeds=tuple(seeds), workers=workers, device=device, path=data,
                         log=lambda line: print(f"[{time.perf_counter() - start:5.0f}s] {line}", flush=True))
    except KeyboardInterrupt:   # run.sh's time budget ends a part with SIGINT
        signal.signal(signal.SIGINT, signal.SIG_IGN)   # a repeated SIGINT must not cut the record short
        n = len(json.loads((out/'result.json').read_text())['runs']) if (out/'result.json').exists() else 0
        print(f"stopped by its time budget after {time.perf_counter() - start:.0f}s: {n} runs recorded in {out/'result.json'}; "
              f"--resume from it trains the rest")
        return 130
    print(f"{len(runs)} runs in {out/'result.json'} after {time.perf_counter() - start:.0f}s")
    print(study_table(runs, setup).to_string())
    return 0

if __name__ == '__main__': sys.exit(main())
