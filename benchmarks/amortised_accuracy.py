"""What SPAT's amortised masks cost in robustness: train small_cnn on the bundled MNIST subset with PGD-AT, SPAT's exact
mask (every other class) and SPAT with a top-K mask (K = 5, 3, 2), over several seeds, and evaluate each model with
PGD-20 (CE and CW margin) on the same validation digits. `bench_at.py` measures what the same options save in time.

    python benchmarks/amortised_accuracy.py                       # 3 seeds x 5 methods: about 20 minutes on a laptop CPU
    python benchmarks/amortised_accuracy.py --json amortised.json
"""
from __future__ import annotations
import argparse, datetime, json, statistics, sys, time

import spat_nb.data  # first: its import of fastai quiets a deprecation warning raised there
import torch
import torch.nn as nn
from fastai.callback.schedule import fit_one_cycle  # noqa: F401  (adds Learner.fit_one_cycle)
from fastai.learner import Learner

from spat_nb.attacks import Attack
from spat_nb.callbacks import EpochSeed, PGDATCallback, SPATCallback
from spat_nb.data import get_dls
from spat_nb.core import correct_predictions
from spat_nb.models import get_model

# SPAT with the model's mask (score='sign'): the reading whose cost top_k amortises
METHODS = {'PGD-AT': lambda b: PGDATCallback(**b),
           'SPAT, every class (top_k default)': lambda b: SPATCallback(score='sign', **b),
           'SPAT top-5': lambda b: SPATCallback(score='sign', top_k=5, **b),
           'SPAT top-3': lambda b: SPATCallback(score='sign', top_k=3, **b),
           'SPAT top-2': lambda b: SPATCallback(score='sign', top_k=2, **b)}

def accuracy_under(model, x, y, attack=None, bs=500):
    "Per-image correctness on `x`, or on `attack`'s adversarial images (made in chunks of `bs`, in order)."
    if attack is not None: x = torch.cat([attack(model, xb, yb) for xb, yb in zip(x.split(bs), y.split(bs))])
    return correct_predictions(model, x, y, bs)

def train_and_evaluate(method, seed, args):
    budget = dict(eps=args.eps, alpha=args.eps / 4, steps=args.steps)
    dls = get_dls('mnist5k', bs=128, seed=seed, device='cpu')
    torch.manual_seed(seed)
    learn = Learner(dls, get_model('small_cnn', 'mnist5k'), loss_func=nn.CrossEntropyLoss(), cbs=EpochSeed(seed))
    start = time.perf_counter()
    with learn.no_bar(), learn.no_logging(): learn.fit_one_cycle(args.epochs, 5e-3, cbs=METHODS[method](budget))
    train_s = time.perf_counter() - start
    model = learn.model.eval()
    x, y = dls.valid_ds.images[:args.n].float() / 255, dls.valid_ds.labels[:args.n]
    torch.manual_seed(0)
    clean = accuracy_under(model, x, y)
    ce = accuracy_under(model, x, y, Attack(args.eps, args.eps / 4, 20, loss='ce'))
    cw = accuracy_under(model, x, y, Attack(args.eps, args.eps / 4, 20, loss='cw'))
    return {'method': method, 'seed': seed, 'train_s': train_s, 'clean': clean.float().mean().item(),
            'pgd20_ce': (ce & clean).float().mean().item(), 'pgd20_cw': (cw & clean).float().mean().item(),
            'pgd20_worst': (ce & cw & clean).float().mean().item()}

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    p.add_argument('--epochs', type=int, default=2)
    p.add_argument('--eps', type=float, default=0.1, help='training and evaluation budget, Linf, pixel units')
    p.add_argument('--steps', type=int, default=7, help='training attack steps (step eps/4)')
    p.add_argument('--n', type=int, default=1000, help='validation digits evaluated')
    p.add_argument('--methods', nargs='+', default=list(METHODS), choices=list(METHODS))
    p.add_argument('--json', default=None)
    args = p.parse_args(argv)
    if not 0 < args.eps <= 1: p.error(f"--eps={args.eps} is out of range; expected a float in (0, 1]")
    if not 1 <= args.n <= 1000: p.error(f"--n={args.n} is out of range; expected an integer in [1, 1000] (the validation split)")
    start, runs = time.perf_counter(), []
    for seed in args.seeds:   # seeds outermost, so a drift of the machine's speed hits every method alike
        for method in args.methods:
            runs.append(train_and_evaluate(method, seed, args))
            print(f"seed {seed} {method}: " + ', '.join(f"{k} {v:.3f}" for k, v in runs[-1].items() if k not in ('method', 'seed')), flush=True)
    keys = ['clean', 'pgd20_ce', 'pgd20_cw', 'pgd20_worst', 'train_s']
    print(f"\nsmall_cnn, mnist5k, {args.epochs} epochs one-cycle Adam 5e-3, bs 128, training attack Linf eps {args.eps} "
          f"step {args.eps / 4:g} x {args.steps}; evaluation on the first {args.n} validation digits: PGD-20 step eps/4, "
          f"1 restart (worst = robust to both CE and CW); mean ± std over seeds {args.seeds}\n")
    print("| method | " + " | ".join(keys) + " |\n|---|" + "---|" * len(keys))
    summary = {}
    for method in args.methods:
        rs = [r for r in runs if r['method'] == method]
        summary[method] = {k: (statistics.mean(r[k] for r in rs), statistics.stdev(r[k] for r in rs) if len(rs) > 1 else 0.) for k in keys}
        print(f"| {method} | " + " | ".join(f"{m:.3f} ± {s:.3f}" for m, s in summary[method].values()) + " |")
    wall = time.perf_counter() - start
    print(f"\ntotal wall time {wall:.0f} s")
    if args.json:
        meta = {'date': datetime.datetime.now().isoformat(timespec='seconds'), 'command': ' '.join(['python'] + sys.argv),
                'torch': torch.__version__, 'threads': torch.get_num_threads(), 'wall_s': wall, **vars(args)}
        with open(args.json, 'w') as f: json.dump({'meta': meta, 'runs': runs, 'summary': summary}, f, indent=1)
    return summary

if __name__ == '__main__': main()
