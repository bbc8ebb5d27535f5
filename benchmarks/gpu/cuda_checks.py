"""Correctness checks of the GPU path, each recorded with its figures in `OUT/result.json` and `OUT/log.txt`:

- training steps of PGD-AT, TRADES, SPAT with the model's mask (both outer losses) and SPAT's default (the data's mask)
  under bf16 and fp16 autocast with channels_last, with a probe
  that checks, right after each attack, the model's mode, its BatchNorm statistics and the perturbation's bounds;
- every attack leaves the model untouched (parameters, gradients, BatchNorm statistics, modes) on the device, in fp32,
  bf16 and fp16;
- the mask's class directions: the per-class backward loop against the vmapped pass (agreement and time);
- `compile_attack=True`: the compiled attack's input gradients are as close to a float64 model's as eager's, its speed,
  and a compiled SPAT fit.

    python benchmarks/gpu/cuda_checks.py --out results/checks            # on a GPU
    python benchmarks/gpu/cuda_checks.py --out /tmp/checks --dry-run     # the same code on the CPU, tiny shapes
"""
from __future__ import annotations
import argparse, copy, signal, statistics, sys, time
from pathlib import Path

import spat_nb.data  # first: its import of fastai quiets a deprecation warning raised there
import torch
import torch.nn as nn
from fastai.callback.channelslast import ChannelsLast
from fastai.callback.core import Callback
from fastai.data.core import DataLoaders
from fastai.learner import Learner
from fastai.optimizer import SGD

sys.path[:0] = [str(Path(__file__).parent), str(Path(__file__).parents[1])]
from kitlib import Report
from bench_at import TrainOnly, loader, sync, synthetic_images
from spat_nb.attacks import Attack, SharedPixelWeighting, pgd, spat_attack, trades_attack
from spat_nb.data import dataset_info
from spat_nb.callbacks import AdversarialTraining, PGDATCallback, SPATCallback, SPATTRADESCallback, TRADESCallback
from spat_nb.masks import class_directions
from spat_nb.core import attack_guard
from spat_nb.models import get_model
from spat_nb.testing import assert_model_unchanged, model_snapshot

EPS, ALPHA = 8/255, 2/255
PRECISIONS = {'fp32': None, 'bf16': torch.bfloat16, 'fp16': torch.float16}
TRAINERS = {'PGD-AT': lambda s: PGDATCallback(EPS, ALPHA, s), 'TRADES': lambda s: TRADESCallback(EPS, ALPHA, s),
            # the model's mask: its per-class backward passes are the GPU-sensitive part
            'SPAT': lambda s: SPATCallback(EPS, ALPHA, s, score='sign'), 'SPAT-TRADES': lambda s: SPATTRADESCallback(EPS, ALPHA, s, score='sign'),
            # the default: the data's mask, read from the DataLoaders on the first batch, shapes the budget
            'SPAT default (data mask)': lambda s: SPATCallback(EPS, ALPHA, s)}

def timed(fn, device, reps:int) -> float:
    "Median seconds of `fn()` over `reps` calls after one warm-up call."
    fn(); times = []
    for _ in range(reps):
        sync(device); start = time.perf_counter(); fn(); sync(device)
        times.append(time.perf_counter() - start)
    return statistics.median(times)

def bn_state(model): return [b.clone() for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm) for b in m.buffers()]

class BeforeAttack(Callback):
    "Remembers the BatchNorm statistics just before the adversarial callback runs."
    order = AdversarialTraining.order - 1
    def before_batch(self): self.bn = bn_state(self.model)

class AfterAttack(Callback):
    "Probe: right after the attack, the model is back in train mode, its BatchNorm statistics are untouched, and the adversarial batch is in bounds."
    order = AdversarialTraining.order + 1
    def __init__(self, before): self.before, self.worst_linf, self.n = before, 0., 0
    def before_batch(self):
        cb = next(c for c in self.learn.cbs if isinstance(c, AdversarialTraining))
        assert self.model.training, "the model was left in eval mode after the attack"
        assert all(torch.equal(a, b) for a, b in zip(self.before.bn, bn_state(self.model))), "the attack changed BatchNorm statistics"
        x_adv, x = cb.x_adv, cb.x_clean
        assert x_adv.dtype == torch.float32 and torch.isfinite(x_adv).all(), f"adversarial batch is {x_adv.dtype} or not finite"
        assert 0 <= x_adv.min() and x_adv.max() <= 1, "adversarial batch left [0, 1]"
        self.worst_linf = max(self.worst_linf, (x_adv - x).abs().max().item()); self.n += 1

def train_step_check(method, precision, arch, dataset, bs, batches, steps, device):
    images, _ = synthetic_images(dataset, bs * batches)
    labels = torch.arange(bs * batches) % dataset_info(dataset).n_classes   # every class: the data's mask needs each one's mean
    dl = loader(dataset, images, labels, bs, device)
    torch.manual_seed(0)
    model = get_model(arch, dataset).to(device)
    before = BeforeAttack(); after = AfterAttack(before)
    learn = Learner(DataLoaders(dl, dl, device=device), model, loss_func=nn.CrossEntropyLoss(), opt_func=SGD, lr=0.01,
                    cbs=[ChannelsLast(), TrainOnly(), before, after, TRAINERS[method](steps)])
    learn = learn.to_bf16() if precision == 'bf16' else learn.to_fp16()
    start_params = [p.detach().clone() for p in model.parameters()]
    sync(device); start = time.perf_counter()
    with learn.no_bar(), learn.no_logging(): learn.fit(1)
    sync(device); seconds = time.perf_counter() - start
    losses = [float(l) for l in learn.recorder.losses]
    assert after.n == batches, f"the probe saw {after.n} of {batches} batches"
    assert after.worst_linf <= EPS + 1e-6, f"perturbation {after.worst_linf:.5f} outside eps {EPS:.5f}"
    assert all(l == l and abs(l) < float('inf') for l in losses), f"non-finite training loss: {losses}"
    assert any(not torch.equal(a, b) for a, b in zip(start_params, model.parameters())), "no parameter changed"
    conv_weights = [p for p in model.parameters() if p.dim() == 4]
    assert all(w.is_contiguous(memory_format=torch.channels_last) for w in conv_weights), "ChannelsLast did not convert the model"
    return {'losses': [round(l, 4) for l in losses], 'worst_linf': after.worst_linf, 'first_fit_s': seconds, 'bs': bs, 'steps': steps}

ATTACKS = {
    'pgd': lambda m, x, y: pgd(m, x, y, EPS, ALPHA, 3),
    'trades': lambda m, x, y: trades_attack(m, x, EPS, ALPHA, 3),
    'spat': lambda m, x, y: spat_attack(m, x, y, EPS, ALPHA, 3),
    'spat-refresh-top3-pixel': lambda m, x, y: spat_attack(m, x, y, EPS, ALPHA, 3, top_k=3, refresh=True, per='pixel'),
    'spat-l2-kl': lambda m, x, y: spat_attack(m, x, y, 0.5, 0.1, 3, norm='l2', loss='kl'),
}

def untouched_check(name, precision, arch, dataset, bs, device):
    torch.manual_seed(0)
    model = get_model(arch, dataset).to(device).to(memory_format=torch.channels_last).train()
    info = dataset_info(dataset)
    x = torch.rand(bs, *info.shape, device=device).contiguous(memory_format=torch.channels_last)
    y = torch.randint(0, info.n_classes, (bs,), device=device)
    nn.functional.cross_entropy(model(x), y).backward()   # gradients the attack must leave as they are
    before = model_snapshot(model)
    dtype = PRECISIONS[precision]
    with torch.autocast(device.type, dtype=dtype or torch.float32, enabled=dtype is not None):
        x_adv = ATTACKS[name](model, x, y)
    assert_model_unchanged(model, before)
    assert x_adv.dtype == torch.float32 and torch.isfinite(x_adv).all(), f"x_adv is {x_adv.dtype} or not finite"
    assert 0 <= x_adv.min() and x_adv.max() <= 1, "x_adv left [0, 1]"
    assert (x_adv != x).any(), "the attack did not move"
    size = (x_adv - x).flatten(1).norm(dim=1).max().item() if 'l2' in name else (x_adv - x).abs().max().item()
    bound = 0.5 if 'l2' in name else EPS
    assert size <= bound * (1 + 1e-5), f"perturbation {size:.5f} outside the ball {bound:.5f}"
    return {'perturbation': size, 'bound': bound}

def directions_check(precision, arch, dataset, bs, top_k, device, reps):
    torch.manual_seed(0)
    model = get_model(arch, dataset).to(device).to(memory_format=torch.channels_last)
    images, labels = synthetic_images(dataset, bs)
    x = (images.float() / 255).to(device).contiguous(memory_format=torch.channels_last); y = labels.to(device)
    dtype = PRECISIONS[precision]
    def directions(batched):
        with attack_guard(model), torch.autocast(device.type, dtype=dtype or torch.float32, enabled=dtype is not None):
            return class_directions(model, x, y, top_k, batched=batched)[0]
    loop, vmap = directions(False), directions(True)
    rel = ((loop.float() - vmap.float()).norm() / loop.float().norm().clamp_min(1e-30)).item()
    assert rel < (1e-4 if dtype is None else 2e-2), f"loop and vmap directions differ: relative error {rel:.3g}"
    t_loop, t_vmap = timed(lambda: directions(False), device, reps), timed(lambda: directions(True), device, reps)
    def peak(batched):
        if device.type != 'cuda': return None
        torch.cuda.empty_cache(); torch.cuda.reset_peak_memory_stats(); base = torch.cuda.memory_allocated()
        directions(batched); return (torch.cuda.max_memory_allocated() - base) / 2**20
    return {'relative_difference': rel, 'loop_s': t_loop, 'vmap_s': t_vmap, 'vmap_over_loop': t_vmap / t_loop,
            'loop_peak_mib': peak(False), 'vmap_peak_mib': peak(True), 'faster': 'vmap' if t_vmap < t_loop else 'loop',
            'bs': bs, 'top_k': top_k}

def compile_check(arch, dataset, bs, steps, device):
    """The compiled model's input gradients are as accurate as the eager model's, and PGD through it is as strong.

    Compiled and eager float32 graphs round differently (other kernels, other reduction orders, and cuDNN's benchmark
    mode may pick other convolution algorithms), so neither is the reference: a float64 copy of the model is. The
    compiled gradient (TF32 off) must be no farther from it than the eager gradient as PyTorch runs it by default (cuDNN
    convolutions in TF32), the rounding users already accept, or than ten times the eager float32 error where there is
    no TF32 (the CPU's dry run); a wrong graph is off by O(1). Sign steps amplify rounding (two eager runs end on different corners of the box for some
    elements), so the adversarial images are compared by the loss they reach, not element by element."""
    torch.manual_seed(0)
    model = get_model(arch, dataset).to(device).eval()
    images, labels = synthetic_images(dataset, bs)
    x, y = (images.float() / 255).to(device), labels.to(device)
    def input_grad(m, inputs=x):
        with attack_guard(m):
            xg = inputs.clone().requires_grad_()
            return torch.autograd.grad(nn.functional.cross_entropy(m(xg), y), xg)[0].double()
    rel = lambda a, b: ((a - b).norm() / b.norm()).item()
    g_reference = input_grad(copy.deepcopy(model).double(), x.double())
    g_tf32 = input_grad(model)
    matmul_tf32 = torch.backends.cuda.matmul.allow_tf32
    try:
        torch.backends.cuda.matmul.allow_tf32 = False
        with torch.backends.cudnn.flags(enabled=True, benchmark=torch.backends.cudnn.benchmark, allow_tf32=False):
            compiled = torch.compile(model)
            start = time.perf_counter(); g_compiled = input_grad(compiled); compile_s = time.perf_counter() - start
            g_eager = input_grad(model)
    finally: torch.backends.cuda.matmul.allow_tf32 = matmul_tf32
    attack = Attack(EPS, ALPHA, steps, start='zero')
    x_c, x_e, x_e2 = attack(compiled, x, y), attack(model, x, y), attack(model, x, y)
    differ = lambda a, b: ((a - b).abs() > 1e-4).float().mean().item()
    with torch.no_grad():
        loss_clean, loss_c, loss_e = (nn.functional.cross_entropy(model(xa), y).item() for xa in (x, x_c, x_e))
    gain_c, gain_e = loss_c - loss_clean, loss_e - loss_clean   # what each attack adds to the clean loss
    out = {'compiled_fp32_error': rel(g_compiled, g_reference), 'eager_fp32_error': rel(g_eager, g_reference),
           'eager_tf32_error': rel(g_tf32, g_reference), 'compiled_vs_eager_fp32': rel(g_compiled, g_eager),
           'clean_loss': loss_clean, 'pgd_loss_compiled': loss_c, 'pgd_loss_eager': loss_e, 'elements_differing_compiled_vs_eager': differ(x_c, x_e),
           'elements_differing_eager_vs_eager': differ(x_e, x_e2), 'compile_and_first_call_s': compile_s, 'bs': bs, 'steps': steps}
    out['tolerance'] = max(out['eager_tf32_error'], 10 * out['eager_fp32_error'])
    out['failures'] = [f for f, bad in [
        (f"the compiled input gradient is {out['compiled_fp32_error']:.3g} from float64's (relative L2, TF32 off), over the "
         f"tolerance {out['tolerance']:.3g}", not out['compiled_fp32_error'] <= out['tolerance']),
        (f"eager PGD did not raise the loss ({loss_clean:.4f} -> {loss_e:.4f})", not gain_e > 0),
        (f"PGD raises the loss by {gain_c:.4g} compiled against {gain_e:.4g} eager", abs(gain_c - gain_e) > 0.05 * abs(gain_e))] if bad]
    return out

def attack_speed_check(arch, dataset, bs, steps, device, reps, compile_too:bool):
    """PGD-10 and default SPAT attack time under bf16 autocast: channels_last (the training default), contiguous, and
    through `torch.compile` (what `compile_attack=True` does). Figures only; the benchmark times whole training steps."""
    torch.manual_seed(0)
    model = get_model(arch, dataset).to(device).eval()
    images, labels = synthetic_images(dataset, bs)
    x, y = (images.float() / 255).to(device), labels.to(device)
    out = {'bs': bs, 'steps': steps}
    variants = {'channels_last': (model, torch.channels_last), 'contiguous': (model, torch.contiguous_format)}
    if compile_too: variants['compiled_channels_last'] = (torch.compile(model), torch.channels_last)
    for name, (m, fmt) in variants.items():
        model.to(memory_format=fmt); xf = x.contiguous(memory_format=fmt)
        for method, attack in (('pgd', Attack(EPS, ALPHA, steps)), ('spat', Attack(EPS, ALPHA, steps, weighting=SharedPixelWeighting()))):
            def run():
                with torch.autocast(device.type, dtype=torch.bfloat16): attack(m, xf, y)
            out[f'{method}_{name}_s'] = timed(run, device, reps)
    for method in ('pgd', 'spat'):
        out[f'{method}_contiguous_over_channels_last'] = out[f'{method}_contiguous_s'] / out[f'{method}_channels_last_s']
        if compile_too: out[f'{method}_compiled_over_eager'] = out[f'{method}_compiled_channels_last_s'] / out[f'{method}_channels_last_s']
    return out

def compiled_fit_check(arch, dataset, bs, batches, steps, device):
    images, labels = synthetic_images(dataset, bs * batches)
    dl = loader(dataset, images, labels, bs, device)
    torch.manual_seed(0)
    seen = []
    class AttackModelProbe(Callback):
        order = AdversarialTraining.order + 1
        def before_batch(self):
            adversarial = next(c for c in self.learn.cbs if isinstance(c, AdversarialTraining))
            seen.append(type(adversarial.attack_model).__name__)
    learn = Learner(DataLoaders(dl, dl, device=device), get_model(arch, dataset).to(device), loss_func=nn.CrossEntropyLoss(),
                    opt_func=SGD, lr=0.01, cbs=[TrainOnly(), SPATCallback(EPS, ALPHA, steps, score='sign', compile_attack=True), AttackModelProbe()])
    if device.type == 'cuda': learn = learn.to_bf16()
    with learn.no_bar(), learn.no_logging(): learn.fit(1)
    losses = [float(l) for l in learn.recorder.losses]
    assert all(l == l and abs(l) < float('inf') for l in losses), f"non-finite loss {losses}"
    assert seen and set(seen) == {'OptimizedModule'}, f"the attack ran on {set(seen)}, not on a compiled module"
    return {'losses': [round(l, 4) for l in losses], 'attack_model': seen[0]}

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--out', required=True, help='folder for result.json and log.txt')
    p.add_argument('--dry-run', action='store_true', help='on the CPU with tiny shapes: proves the code and the wheel set, measures nothing')
    p.add_argument('--no-compile', action='store_true', help='leave out the torch.compile checks')
    args = p.parse_args(argv)
    # a shell without job control starts background commands with SIGINT ignored, and Python keeps it so: take it back,
    # since run.sh's time budget ends a part with SIGINT
    signal.signal(signal.SIGINT, signal.default_int_handler)
    dry = args.dry_run
    device = torch.device('cpu' if dry else 'cuda')
    if not dry and not torch.cuda.is_available(): p.error("no CUDA device is available; use --dry-run on a CPU")
    if device.type == 'cuda': torch.backends.cudnn.benchmark = True
    arch, dataset = ('preact_resnet18', 'cifar10')
    shapes = dict(bs=4, batches=3, steps=2, reps=1) if dry else dict(bs=128, batches=6, steps=10, reps=5)
    report = Report(args.out, 'cuda_checks', dry_run=dry, arch=arch, dataset=dataset, **shapes)
    try:
        for method in TRAINERS:
            for precision in ('bf16', 'fp16'):
                report.check(f'train_step/{method}/{precision}/channels_last', train_step_check, method, precision, arch, dataset,
                             shapes['bs'], shapes['batches'], shapes['steps'], device)
        for name in ATTACKS:
            for precision in PRECISIONS:
                report.check(f'attack_leaves_model_untouched/{name}/{precision}', untouched_check, name, precision, arch, 'cifar100',
                             shapes['bs'] // 2 if not dry else 4, device)
        for precision in ('fp32', 'bf16'):
            report.check(f'mask_directions_loop_vs_vmap/cifar10/{precision}', directions_check, precision, arch, 'cifar10',
                         shapes['bs'] * (1 if dry else 4), None, device, shapes['reps'])
        report.check('mask_directions_loop_vs_vmap/cifar100-top9/bf16', directions_check, 'bf16', arch, 'cifar100',
                     shapes['bs'] * (1 if dry else 4), 9, device, shapes['reps'])
        report.check('attack_speed/bf16', attack_speed_check, arch, dataset, shapes['bs'] * (1 if dry else 4), shapes['steps'],
                     device, shapes['reps'], not args.no_compile)
        if not args.no_compile:
            report.check('compile_attack/agrees_with_eager', compile_check, arch, dataset, shapes['bs'] * (1 if dry else 2),
                         shapes['steps'], device)
            report.check('compile_attack/spat_fit', compiled_fit_check, arch, dataset, shapes['bs'], shapes['batches'], shapes['steps'], device)
    except KeyboardInterrupt:   # run.sh's time budget ends a part with SIGINT
        signal.signal(signal.SIGINT, signal.SIG_IGN)   # a repeated SIGINT must not cut the record short
        report.log('stopped by its time budget: the checks above are recorded, the rest did not run')
        report.data['meta']['stopped_by_budget'] = True
    failed = report.close()
    return 130 if report.data['meta'].get('stopped_by_budget') else failed

if __name__ == '__main__': sys.exit(main())
