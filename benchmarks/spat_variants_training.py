"""What training on each SPAT variant's examples does to robustness: a first probe on mnist5k at MNIST's budget.

    python benchmarks/spat_variants_training.py [--seeds 0 1] [--epochs 8] [--methods NAME ...] [--out benchmarks/spat_variants_training.json]

small_cnn on the 4,000 training digits of mnist5k, fastai one-cycle (Adam, peak lr 5e-3, batch 128), ε = 0.3 with 10
attack steps of 0.05 and ε warm-up over the first 3 epochs, for these training attacks: PGD-AT, the original SPAT
(`score='sign'`: step weighting with the model's mask) and SPAT with the shaped budget and the data's mask at the floors λ = 0.25, 0.5, 0.75
and 0.9 (`--methods` picks some of them by name). Evaluation at ε = 0.3:
clean accuracy on all 1,000 validation digits, PGD-40 (CE) and CW-PGD-40 (margin) with step 0.01 on the same 1,000, and
AutoAttack (ART's APGD-CE, APGD-T, Square with --square_queries) on the first --aa_n. Every row names its attack.
This is a probe, not the comparison of `10_study_methods`: fewer seeds and no TRADES/MART.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn

from spat_nb.data import get_dls  # first: it quiets a deprecation warning raised inside fastai's import
from fastai.callback.schedule import fit_one_cycle  # noqa: F401  (adds Learner.fit_one_cycle)
from fastai.learner import Learner
from fastai.torch_core import set_seed

from spat_nb.attacks import Attack
from spat_nb.callbacks import EpochSeed, PGDATCallback, SPATCallback
from spat_nb.evaluate import _robust, autoattack_art
from spat_nb.masks import ClassMeanMask
from spat_nb.core import correct_predictions
from spat_nb.models import get_model


def methods(dls, eps, alpha, steps, warmup):
    common = dict(eps_warmup=warmup)
    return {
        'PGD-AT': lambda: PGDATCallback(eps, alpha, steps, **common),
        # named 'SPAT default (step, model mask)' in the recorded run (spat_variants_training.json), when it was the default
        'SPAT original (step, model mask)': lambda: SPATCallback(eps, alpha, steps, score='sign', **common),
        **{f'SPAT budget, data mask, λ {floor}': (lambda floor=floor: SPATCallback(eps, alpha, steps, score=ClassMeanMask.from_dls(dls),
                                                                                  mode='budget', floor=floor, **common))
           for floor in (0.25, 0.5, 0.75, 0.9)},
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1])
    parser.add_argument('--epochs', type=int, default=8)
    parser.add_argument('--eps', type=float, default=0.3)
    parser.add_argument('--steps', type=int, default=10)
    parser.add_argument('--aa_n', type=int, default=100)
    parser.add_argument('--square_queries', type=int, default=1000)
    parser.add_argument('--n_train', type=int, default=None, help="stratified subset of the training digits (smoke tests)")
    parser.add_argument('--methods', nargs='+', default=None, help="names of the training attacks to run (default: all)")
    parser.add_argument('--out', default='benchmarks/spat_variants_training.json')
    args = parser.parse_args()
    known = list(methods(None, 0.3, 0.05, 10, 0))
    unknown = [m for m in args.methods or [] if m not in known]
    if unknown: parser.error(f"--methods: unknown {unknown}; expected names from {known}")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    alpha = args.eps / 6
    dls = get_dls('mnist5k', bs=128, seed=0, n_train=args.n_train, device='cpu')
    x, y = dls.valid_ds.images.float() / 255, dls.valid_ds.labels
    runs = []
    for seed in args.seeds:
        for name, make_cb in methods(dls, args.eps, alpha, args.steps, warmup=3).items():
            if args.methods and name not in args.methods: continue
            set_seed(seed)
            learn = Learner(dls, get_model('small_cnn', 'mnist5k'), loss_func=nn.CrossEntropyLoss())
            start = time.perf_counter()
            with learn.no_logging():
                learn.fit_one_cycle(args.epochs, 5e-3, cbs=[EpochSeed(seed), make_cb()])
            train_s = time.perf_counter() - start
            model = learn.model.eval()
            torch.manual_seed(seed)
            clean = correct_predictions(model, x, y)
            pgd40 = _robust(model, x, y, Attack(args.eps, 0.01, 40)) & clean
            cw40 = _robust(model, x, y, Attack(args.eps, 0.01, 40, loss='cw')) & clean
            aa = autoattack_art(model, x[:args.aa_n], y[:args.aa_n], args.eps, square_queries=args.square_queries, seed=seed)['Square']
            run = {'method': name, 'seed': seed, 'train_s': train_s, 'clean (n=1000)': clean.float().mean().item(),
                   'PGD-40 CE (n=1000)': pgd40.float().mean().item(), 'CW-PGD-40 (n=1000)': cw40.float().mean().item(),
                   f'AutoAttack (n={args.aa_n})': aa.float().mean().item()}
            runs.append(run)
            print(json.dumps(run), flush=True)
            out.write_text(json.dumps({'config': vars(args) | {'alpha': alpha, 'eps_warmup_epochs': 3, 'dataset': 'mnist5k',
                                                                 'arch': 'small_cnn', 'lr': 5e-3, 'bs': 128}, 'runs': runs}, indent=1))
    metrics = [k for k in runs[0] if k not in ('method', 'seed')]
    print(f"\n{'method':34s} " + ' '.join(f'{m:>20s}' for m in metrics))
    for name in dict.fromkeys(r['method'] for r in runs):
        rows = [r for r in runs if r['method'] == name]
        print(f"{name:34s} " + ' '.join(f"{np.mean([r[m] for r in rows]):>12.3f} ± {np.std([r[m] for r in rows]):.3f}" for m in metrics))


if __name__ == '__main__':
    main()
