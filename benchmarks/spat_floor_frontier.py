"""The semantic frontier of SPAT's data-mask budget at each floor λ: does a floor that keeps PGD-AT's robustness still preserve meaning?

    python benchmarks/spat_floor_frontier.py [--seeds 0 1] [--n 1000] [--out benchmarks/spat_floor_frontier.json]
    python benchmarks/spat_floor_frontier.py --steering_only [--seeds 0 1] [--out benchmarks/spat_floor_steering.json]

`spat_variants_training.py` maps what training on the shaped budget ε·(λ + (1−λ)·D) costs in robustness for λ = 0.25,
0.5, 0.75 and 0.9; `11_study_spat_variants` measures the semantic frontier for λ = 0.25 and 0.5 only. This script adds the other axis
for every floor. For each seed: small_cnn trained with PGD-AT on mnist5k (ε 0.3, 10 steps of 0.05, warm-up over the first
epoch, 3 epochs, as in `11_study_spat_variants`) is attacked; a LeNet (`get_model('lenet', ...)`) trained the same way for 4 epochs with
seed 100 + seed judges meaning. On the first --n validation digits that both classify correctly, every attack runs at
ε in 0.1, 0.15, ..., 0.45 with 20 steps of 0.03 (one random start, the same for all attacks): PGD, the data-mask budget at
each floor, and the control that puts the λ = 0.5 budget on the elements the mask calls non-shared. Reported: for each attack,
the semantic-change rate where its frontier crosses fooling rates 0.5, 0.8 and 0.95 (linear interpolation), as a multiple
of PGD's at the same fooling rate; below 1 means fewer changes of meaning than PGD at equal attack strength.

Also, on the first 500 of those digits and for each floor, the steering check at the paper's budget (8/255, 2/255,
10 steps) and MNIST's (0.3, 0.01, 40): the share of |δ| on the elements the data's mask calls shared (D >= 0.8) as a
multiple of PGD's share there, and the fooling rate as a multiple of PGD's (same random start). `--steering_only` skips
the referee and the frontier.
"""
from __future__ import annotations

import argparse
import copy
import json
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn

from spat_nb.core import check_int
from spat_nb.data import get_dls  # first: it quiets a deprecation warning raised inside fastai's import
from fastai.callback.schedule import fit_one_cycle  # noqa: F401  (adds Learner.fit_one_cycle)
from fastai.learner import Learner
from fastai.torch_core import set_seed

from spat_nb.attacks import pgd, spat_attack
from spat_nb.callbacks import EpochSeed, PGDATCallback
from spat_nb.evaluate import change_at_fooling, perturbation_profile, semantic_frontier
from spat_nb.masks import ClassMeanMask
from spat_nb.core import correct_predictions
from spat_nb.models import get_model

FLOORS = (0.25, 0.5, 0.75, 0.9)
EPS_GRID = (0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45)
LEVELS = (0.5, 0.8, 0.95)


def pgd_trained(dls, arch, seed, epochs, n_train=None):
    "A model trained with PGD-AT at ε 0.3 on mnist5k, as in 11_study_spat_variants."
    set_seed(seed)
    learn = Learner(dls, get_model(arch, 'mnist5k'), loss_func=nn.CrossEntropyLoss(), cbs=EpochSeed(seed))
    with learn.no_bar(), learn.no_logging():
        learn.fit_one_cycle(epochs, 5e-3, cbs=PGDATCallback(0.3, 0.05, 10, eps_warmup=1))
    return learn.model.eval()


def frontier_attacks(data_mask):
    non_shared = copy.copy(data_mask); non_shared.map = 1 - data_mask.map
    def budget(mask, floor): return lambda m, x, y, eps: spat_attack(m, x, y, eps, 0.03, 20, score=mask, mode='budget', floor=floor)
    return {'PGD': lambda m, x, y, eps: pgd(m, x, y, eps, 0.03, 20),
            **{f'data budget λ {floor}': budget(data_mask, floor) for floor in FLOORS},
            'control: λ 0.5 budget on non-shared': budget(non_shared, 0.5)}


def ratio(a, b): return a / b if b > 0 else float('nan')   # NaN also where PGD changes no meaning at that level


BUDGETS = {'paper (8/255, 2/255, 10)': (8/255, 2/255, 10), 'MNIST (0.3, 0.01, 40)': (0.3, 0.01, 40)}

def steering(model, x, y, data_mask, seed):
    "The steering check for each floor: share of |δ| on D >= 0.8 and fooling rate, both as multiples of PGD's."
    correct = correct_predictions(model, x, y)
    x, y = x[correct][:500], y[correct][:500]
    shared = data_mask.map.expand_as(x) >= 0.8
    rows = []
    for budget, (eps, alpha, steps) in BUDGETS.items():
        def run(**options):
            torch.manual_seed(seed)   # the same random start for every attack
            x_adv = pgd(model, x, y, eps, alpha, steps) if not options else spat_attack(model, x, y, eps, alpha, steps, **options)
            return 1 - correct_predictions(model, x_adv, y).float().mean().item(), perturbation_profile(x, x_adv, shared, eps)['share of |δ| on shared']
        fooled_pgd, share_pgd = run()
        for floor in FLOORS:
            fooled, share = run(score=data_mask, mode='budget', floor=floor)
            rows.append({'seed': seed, 'budget': budget, 'attack': f'data budget λ {floor}', 'n': len(y), 'share / PGD': share / share_pgd,
                         'fooling / PGD': fooled / fooled_pgd, 'fooling rate': fooled, "PGD's fooling rate": fooled_pgd})
            print(json.dumps(rows[-1]), flush=True)
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1])
    parser.add_argument('--n', type=int, default=1000, help="validation digits (the first n)")
    parser.add_argument('--epochs', type=int, default=3, help="PGD-AT epochs of the attacked model (the referee trains one more)")
    parser.add_argument('--eps', type=float, nargs='+', default=list(EPS_GRID), help="the frontier's budgets")
    parser.add_argument('--n_train', type=int, default=None, help="stratified subset of the training digits (smoke tests)")
    parser.add_argument('--steering_only', action='store_true', help="the steering check only: no referee, no frontier")
    parser.add_argument('--out', default=None, help="JSON file (default: benchmarks/spat_floor_frontier.json, or "
                                                    "benchmarks/spat_floor_steering.json with --steering_only)")
    args = parser.parse_args()
    args.out = args.out or f"benchmarks/spat_floor_{'steering' if args.steering_only else 'frontier'}.json"
    try:
        check_int(args.n, '--n', 1, 1000); check_int(args.epochs, '--epochs', 1)
        for seed in args.seeds: check_int(seed, '--seeds', 0)
    except ValueError as e: parser.error(str(e))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    dls = get_dls('mnist5k', bs=128, seed=0, n_train=args.n_train, device='cpu')
    data_mask = ClassMeanMask.from_dls(dls)
    x, y = dls.valid_ds.images[:args.n].float() / 255, dls.valid_ds.labels[:args.n]
    rows, matched, steered = [], [], []
    for seed in args.seeds:
        model = pgd_trained(dls, 'small_cnn', seed, args.epochs)
        steered += steering(model, x, y, data_mask, seed)
        if args.steering_only:
            out.write_text(json.dumps({'config': vars(args), 'steering': steered, 'wall_s': time.perf_counter() - start}, indent=1))
            continue
        referee = pgd_trained(dls, 'lenet', 100 + seed, args.epochs + 1)
        torch.manual_seed(seed)
        frontier = semantic_frontier(model, referee, x, y, frontier_attacks(data_mask), list(args.eps))
        seed_rows = [{'seed': seed, **r} for r in frontier.to_dict(orient='records')]
        rows += seed_rows
        pgd_rows = [r for r in seed_rows if r['attack'] == 'PGD']
        for name in dict.fromkeys(r['attack'] for r in seed_rows):
            mine = [r for r in seed_rows if r['attack'] == name]
            ratios = {f'× PGD at fooling {lv}': ratio(change_at_fooling(mine, lv), change_at_fooling(pgd_rows, lv)) for lv in LEVELS}
            matched.append({'seed': seed, 'attack': name, 'n': mine[0]['n'], **ratios})
            print(json.dumps(matched[-1]), flush=True)
        out.write_text(json.dumps({'config': vars(args) | {'steps': 20, 'alpha': 0.03, 'at_model': 'small_cnn, PGD-AT eps 0.3',
                                                             'referee': 'lenet, PGD-AT eps 0.3, seed 100 + seed'},
                                   'frontier': rows, 'matched': matched, 'steering': steered, 'wall_s': time.perf_counter() - start}, indent=1))
    for budget in BUDGETS:
        print(f"\n{budget}: share of |δ| on D >= 0.8 / PGD's, fooling rate / PGD's, per seed")
        for floor in FLOORS:
            mine = [r for r in steered if r['budget'] == budget and r['attack'] == f'data budget λ {floor}']
            print(f"  data budget λ {floor}: " + '; '.join(f"{r['share / PGD']:.2f}x, {r['fooling / PGD']:.2f}x" for r in mine))
    if args.steering_only:
        print(f"wall time {time.perf_counter() - start:.0f}s"); return
    print(f"\n{'attack':38s} " + ' '.join(f'{"× PGD at fooling " + str(lv):>24s}' for lv in LEVELS))
    for name in dict.fromkeys(m['attack'] for m in matched):
        values = [[m[f'× PGD at fooling {lv}'] for m in matched if m['attack'] == name] for lv in LEVELS]
        print(f"{name:38s} " + ' '.join(f"{'  '.join(f'{v:.2f}' for v in vs):>24s}" for vs in values))
    print(f"wall time {time.perf_counter() - start:.0f}s")


if __name__ == '__main__':
    main()
