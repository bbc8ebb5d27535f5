"""Adversarial training cost, side by side: per-batch training-step time and peak memory of standard training,
PGD-AT, TRADES, the default SPAT (the data's mask, read once), SPAT with the model's mask (`score='sign'`: the exact
per-class mask, once per batch and refreshed every step, and its amortised options), `spat_train`'s own training loop
(its Learner: fastai's Adam and one-cycle schedule, with the default SPAT) and IBM ART's `AdversarialTrainerMadryPGD`,
on the same model, data and attack steps, measured interleaved in one run.

    python benchmarks/bench_at.py                          # the CPU run recorded in RESULTS.md (< 10 min on 2 cores)
    python benchmarks/bench_at.py --device cuda            # GPU: bf16 + channels_last, PreAct ResNet-18 and WRN-34-10
    python benchmarks/bench_at.py --json results.json      # also write every figure to a file

Every timed pass is one fastai `fit(1)` over `--batches` synthetic batches (ART: one `fit` of its trainer over the
same images), so a figure is what one epoch costs per batch: data loading and the training loop included.
Each round runs every method once, in a new random order; the first pass is the memory pass (and the warm-up) and
is not timed. Ratios to PGD-AT are the median over rounds of the ratio within a round.
"""
from __future__ import annotations
import argparse, datetime, json, os, platform, random, statistics, sys, time, warnings, weakref
from functools import partial
os.environ.setdefault('TQDM_DISABLE', '1')   # ART's trainer draws progress bars
warnings.filterwarnings('ignore', message='.*CUDA autocast.*')

import spat_nb.data  # first: its import of fastai quiets a deprecation warning raised there
import torch
import torch.nn as nn
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_leaves
from fastai.callback.core import Callback, CancelValidException
from fastai.callback.channelslast import ChannelsLast
from fastai.data.core import DataLoaders
from fastai.learner import Learner
from fastai.optimizer import SGD

from spat_nb.callbacks import EpochSeed, PGDATCallback, TRADESCallback, SPATCallback
from spat_nb.cli import cli_learner
from spat_nb.data import BatchDL, InMemoryImages, RandomPadCropFlip, ToUnitRange, dataset_info
from spat_nb.masks import class_directions
from spat_nb.core import attack_guard
from spat_nb.models import get_model

# name: (arch, dataset, attack budget); the methods each setting runs are in `methods`
SETTINGS = {
    'mnist':         ('small_cnn', 'mnist5k', dict(eps=0.3, alpha=0.01)),
    'cifar10':       ('preact_resnet18', 'cifar10', dict(eps=8/255, alpha=2/255)),
    'cifar100':      ('preact_resnet18', 'cifar100', dict(eps=8/255, alpha=2/255)),
    'cifar10-wrn':   ('wrn34_10', 'cifar10', dict(eps=8/255, alpha=2/255)),
}
DEFAULT_BS = {'cpu': {'mnist': 128, 'cifar10': 12, 'cifar100': 12, 'cifar10-wrn': 4},
              'cuda': {'mnist': 512, 'cifar10': 512, 'cifar100': 512, 'cifar10-wrn': 128}}
# batches per timed pass: one CPU batch takes seconds; a GPU batch takes milliseconds, so a pass needs several to time the loop
DEFAULT_BATCHES = {'cpu': {'mnist': 2, 'cifar10': 1, 'cifar100': 1, 'cifar10-wrn': 1},
                   'cuda': {'mnist': 8, 'cifar10': 8, 'cifar100': 8, 'cifar10-wrn': 4}}

def methods(setting:str, steps:int, full:bool, compile_attack:bool) -> dict:
    "Method name -> what to build: ('fastai', callback factory or None), ('cli', callback factory), ('art', None) or ('floor', class_directions kwargs)."
    # the model's mask (score='sign'): the costly reading, with its per-class backward passes; the default reads the data once
    spat = lambda **kw: ('fastai', lambda b: SPATCallback(steps=steps, **b, **{'score': 'sign', **kw}))
    rows = {'standard': ('fastai', None), 'PGD-AT': ('fastai', lambda b: PGDATCallback(steps=steps, **b)),
            'SPAT default (data mask)': ('fastai', lambda b: SPATCallback(steps=steps, **b)),   # its mask is read from the data once
            "spat_train's loop (SPAT default)": ('cli', lambda b: SPATCallback(steps=steps, **b))}
    if setting != 'cifar100' or full: rows['TRADES'] = ('fastai', lambda b: TRADESCallback(steps=steps, **b))
    if setting == 'cifar100':   # 100 classes, for the top-K mask: top_k's default scores the 9 most probable other classes
        rows |= {'SPAT model mask: top-9': spat(), 'SPAT top-5': spat(top_k=5), 'SPAT top-2': spat(top_k=2),
                 'mask floor: top-9': ('floor', dict(top_k=9)), 'mask floor: top-2': ('floor', dict(top_k=2))}
        if full: rows |= {'SPAT all 99 classes': spat(top_k=None), 'mask floor: all 99': ('floor', dict(top_k=None))}
    else:   # the mask's variants cost about what the sign mask costs: the wide network times that one alone
        rows['SPAT model mask (sign, element)'] = spat()
        if setting != 'cifar10-wrn' or full:
            rows |= {'SPAT soft': spat(score='soft'), 'SPAT sign, per pixel': spat(per='pixel'), 'SPAT hard (sign >= 0.8)': spat(threshold=0.8)}
        if setting == 'mnist' or full:
            rows |= {'SPAT refresh every step': spat(refresh=True), 'SPAT refresh, top-2': spat(refresh=True, top_k=2)}
        if full: rows['SPAT soft, refresh every step'] = spat(score='soft', refresh=True)
        rows |= {f'SPAT top-{k}': spat(top_k=k) for k in (2, 3, 5)}
        rows |= {'mask floor': ('floor', dict()), 'mask floor (vmap)': ('floor', dict(batched=True)),
                 'mask floor: top-2': ('floor', dict(top_k=2))}
    if setting != 'cifar100' or full: rows['ART AdversarialTrainerMadryPGD'] = ('art', None)
    if compile_attack:
        rows |= {'PGD-AT, compiled attack': ('fastai', lambda b: PGDATCallback(steps=steps, compile_attack=True, **b)),
                 'SPAT default, compiled attack': ('fastai', lambda b: SPATCallback(steps=steps, compile_attack=True, **b)),
                 'SPAT, compiled attack': spat(compile_attack=True)}
    return rows

class TrainOnly(Callback):
    "Skip fastai's validation pass: the benchmark times training."
    def before_validate(self): raise CancelValidException()

def synthetic_images(dataset:str, n:int, seed:int=0):
    "`n` random uint8 images and balanced labels of `dataset`'s shape and class count (every class present when `n` allows)."
    info, g = dataset_info(dataset), torch.Generator().manual_seed(seed)
    images = torch.randint(0, 256, (n, *info.shape), dtype=torch.uint8, generator=g)
    return images, (torch.arange(n) % info.n_classes)[torch.randperm(n, generator=g)]

def loader(dataset:str, images, labels, bs:int, device, augment:bool=False) -> BatchDL:
    "Our data path: uint8 images in memory, gathered per batch, converted (and augmented) batch-wise on `device`."
    info = dataset_info(dataset)
    ds = InMemoryImages(images, labels, [str(i) for i in range(info.n_classes)], info, 0)
    tfms = [ToUnitRange(255)] + ([RandomPadCropFlip(4)] if augment else [])
    return BatchDL(ds, bs=bs, shuffle=True, drop_last=True, num_workers=0, device=device, after_batch=tfms)

def sync(device):
    if device.type == 'cuda': torch.cuda.synchronize()

class Runner:
    "One method in one setting: its own model (same initial weights for all), built once and trained pass after pass."
    def __init__(self, kind, spec, arch, dataset, images, labels, bs, device, budget, steps, bf16, channels_last):
        torch.manual_seed(0)
        self.kind, self.spec, self.device, self.bs, self.bf16 = kind, spec, device, bs, bf16
        self.model = get_model(arch, dataset).to(device)
        if channels_last: self.model = self.model.to(memory_format=torch.channels_last)
        self.n_batches = len(labels) // bs
        if kind == 'fastai':
            dl = loader(dataset, images, labels, bs, device)
            cbs = [TrainOnly()] + ([ChannelsLast()] if channels_last else []) + ([spec(budget)] if spec else [])
            self.learn = Learner(DataLoaders(dl, dl, device=device), self.model, loss_func=nn.CrossEntropyLoss(),
                                 opt_func=SGD, lr=0.01, cbs=cbs)
            if bf16: self.learn.to_bf16()
        elif kind == 'cli':   # spat_train's own Learner and per-fit callbacks over the same batches (its per-epoch checkpoint left out)
            dl = loader(dataset, images, labels, bs, device)
            torch.manual_seed(0)   # the same initial weights as the other rows
            self.learn = cli_learner(DataLoaders(dl, dl, device=device), arch, dataset, budget['eps'], n_eval=bs, bf16=bf16, channels_last=channels_last)
            self.learn.add_cb(TrainOnly())
            self.model, self.fit_cbs = self.learn.model, [EpochSeed(0), spec(budget)]
        elif kind == 'art':
            from art.defences.trainer import AdversarialTrainerMadryPGD
            from art.estimators.classification import PyTorchClassifier
            info = dataset_info(dataset)
            clf = PyTorchClassifier(self.model, loss=nn.CrossEntropyLoss(), input_shape=info.shape, nb_classes=info.n_classes,
                                    optimizer=torch.optim.SGD(self.model.parameters(), lr=0.01), clip_values=(0., 1.),
                                    device_type='gpu' if device.type == 'cuda' else 'cpu', use_amp=False)
            self.trainer = AdversarialTrainerMadryPGD(clf, nb_epochs=1, batch_size=bs, eps=budget['eps'], eps_step=budget['alpha'],
                                                      max_iter=steps, num_random_init=1)
            self.trainer.attack.set_params(batch_size=bs)   # ART's PGD defaults to batches of 32; same batches as ours
            self.x_np, self.y_np = (images.float() / 255).numpy(), labels.numpy()
        else:   # the mask's floor on its own: the clean forward pass and the input-gradient backward passes, per batch
            self.x = (images[:bs].float() / 255).to(device)
            self.y = labels[:bs].to(device)
            if channels_last: self.x = self.x.contiguous(memory_format=torch.channels_last)

    def run_pass(self):
        "One timed epoch; returns seconds per batch."
        sync(self.device); start = time.perf_counter()
        if self.kind == 'fastai':
            with self.learn.no_bar(), self.learn.no_logging(): self.learn.fit(1)
        elif self.kind == 'cli':
            with self.learn.no_bar(), self.learn.no_logging(): self.learn.fit_one_cycle(1, 5e-3, cbs=self.fit_cbs)
        elif self.kind == 'art': self.trainer.fit(self.x_np, self.y_np, nb_epochs=1, batch_size=self.bs)
        else:
            for _ in range(self.n_batches):
                with attack_guard(self.model), torch.autocast(self.device.type, torch.bfloat16, enabled=self.bf16):
                    class_directions(self.model, self.x, self.y, **self.spec)
        sync(self.device)
        return (time.perf_counter() - start) / self.n_batches

    def peak_memory(self):
        "Peak memory (bytes) of one pass: CUDA's allocator peak on a GPU, `PeakTensorMemory` on the CPU."
        if self.device.type == 'cuda':
            self.run_pass()   # first: cuDNN's autotuning tries algorithms with large workspaces, which is not the method's memory
            torch.cuda.empty_cache(); torch.cuda.reset_peak_memory_stats(self.device)
            base = torch.cuda.memory_allocated(self.device)
            self.run_pass()
            return torch.cuda.max_memory_allocated(self.device) - base
        with PeakTensorMemory() as tracker: self.run_pass()
        return tracker.peak

class PeakTensorMemory(TorchDispatchMode):
    """Peak bytes of the tensor storages that operators create inside the block and that are alive at the same time:
    the CPU's stand-in for `torch.cuda.max_memory_allocated` (kernels' internal workspaces are not seen)."""
    def __enter__(self):
        self.live, self.current, self.peak = {}, 0, 0
        return super().__enter__()
    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        inputs = {id(t.untyped_storage()) for t in tree_leaves((args, kwargs)) if isinstance(t, torch.Tensor)}
        for t in tree_leaves(out):   # in-place and view outputs share an input's storage: not a new allocation
            if isinstance(t, torch.Tensor) and id(st := t.untyped_storage()) not in inputs and id(st) not in self.live:
                self.live[id(st)] = (st.nbytes(), weakref.ref(st, partial(self._free, id(st))))
                self.current += st.nbytes(); self.peak = max(self.peak, self.current)
        return out
    def _free(self, key, _ref):
        nbytes, _ = self.live.pop(key); self.current -= nbytes

def run_setting(name, args, device, log):
    arch, dataset, budget = SETTINGS[name]
    bs = args.bs or DEFAULT_BS[device.type][name]
    n_batches = args.batches or DEFAULT_BATCHES[device.type][name]
    rounds = args.rounds or (5 if name == 'mnist' else 3)
    images, labels = synthetic_images(dataset, bs * n_batches)
    todo = methods(name, args.steps, args.full, args.compile in ('all', name))
    if args.only: todo = {k: v for k, v in todo.items() if k in ('standard', 'PGD-AT') or any(o in k for o in args.only)}
    if not args.art: todo = {k: v for k, v in todo.items() if v[0] != 'art'}
    if len(labels.unique()) < dataset_info(dataset).n_classes:   # the data's mask is the mean image of every class
        skipped = [k for k in todo if 'SPAT default' in k or k.startswith("spat_train's loop")]
        todo = {k: v for k, v in todo.items() if k not in skipped}
        log(f"\n{name}: {len(labels)} images do not hold every one of the {dataset_info(dataset).n_classes} classes, which the default SPAT's "
            f"mask needs; skipped: {', '.join(skipped)} (raise --bs or --batches)")
    log(f"\n## {name}: {arch} on {dataset} shapes, batch {bs}, {n_batches} batch(es) a pass, PGD-{args.steps} "
        f"(eps {budget['eps']:.4g}, step {budget['alpha']:.4g}), {rounds} rounds, {device}"
        f"{', bf16' if args.bf16 else ''}{', channels_last' if args.channels_last else ''}")
    runners = {}
    for m, (kind, spec) in todo.items():
        runners[m] = Runner(kind, spec, arch, dataset, images, labels, bs, device, budget, args.steps, args.bf16, args.channels_last)
    peaks, first_pass = {}, {}
    for m, r in runners.items():   # the memory pass doubles as the warm-up (and compiles the compiled variants)
        t0 = time.perf_counter()
        if 'compiled' in m: r.run_pass(); peaks[m] = None
        else: peaks[m] = r.peak_memory()
        first_pass[m] = time.perf_counter() - t0
    times, rng = {m: [] for m in runners}, random.Random(0)
    for _ in range(rounds):
        order = list(runners); rng.shuffle(order)
        for m in order: times[m].append(runners[m].run_pass())
    rows = []
    for m in runners:
        t = statistics.median(times[m])
        ratios = [a / b for a, b in zip(times[m], times['PGD-AT'])]
        rows.append({'method': m, 's_per_batch': t, 'images_per_s': bs / t, 'ratio_to_pgdat': statistics.median(ratios),
                     'ratio_range': (min(ratios), max(ratios)),
                     'peak_mib': None if peaks[m] is None else peaks[m] / 2**20,
                     'memory_ratio_to_pgdat': None if peaks[m] is None else peaks[m] / peaks['PGD-AT'],
                     'first_pass_s': first_pass[m], 'times': times[m]})
    log("\n| method | s/batch | images/s | × PGD-AT time (min–max over rounds) | peak MiB | × PGD-AT memory |\n|---|---|---|---|---|---|")
    for r in rows:
        mem = '–' if r['peak_mib'] is None else f"{r['peak_mib']:.0f}"
        mem_ratio = '–' if r['memory_ratio_to_pgdat'] is None else f"{r['memory_ratio_to_pgdat']:.2f}"
        lo, hi = r['ratio_range']
        log(f"| {r['method']} | {r['s_per_batch']:.3f} | {r['images_per_s']:.1f} | {r['ratio_to_pgdat']:.2f} ({lo:.2f}–{hi:.2f}) | {mem} | {mem_ratio} |")
    derived = derive(rows, args.steps)
    for k, v in derived.items(): log(f"- {k}: {v:.3f}" if isinstance(v, float) else f"- {k}: {v}")
    return {'arch': arch, 'dataset': dataset, 'bs': bs, 'batches_per_pass': n_batches, 'steps': args.steps, **budget,
            'rounds': rounds, 'rows': rows, 'derived': derived}

def derive(rows, steps):
    "The figures the targets are stated in: ratios to PGD-AT are medians of per-round ratios, the rest ratios of medians."
    by = {r['method']: r for r in rows}
    t = lambda m: by[m]['s_per_batch']
    out = {}
    if 'standard' in by:
        ceiling = by['standard']['images_per_s'] / (steps + 1)
        out[f'ceiling: standard images/s / {steps + 1}'] = ceiling
        out['PGD-AT fraction of the ceiling'] = by['PGD-AT']['images_per_s'] / ceiling
    spat_model_mask = next((m for m in by if m in ('SPAT model mask (sign, element)', 'SPAT model mask: top-9')), None)
    floor = next((m for m in by if m in ('mask floor', 'mask floor: top-9')), None)
    if spat_model_mask and floor:
        out['SPAT model-mask overhead over PGD-AT (s/batch)'] = t(spat_model_mask) - t('PGD-AT')
        out['mask floor (s/batch)'] = t(floor)
        out['SPAT overhead / mask floor'] = (t(spat_model_mask) - t('PGD-AT')) / t(floor)
        out['mask floor / PGD-AT'] = t(floor) / t('PGD-AT')
    if 'mask floor (vmap)' in by: out['vmap floor / loop floor'] = t('mask floor (vmap)') / t('mask floor')
    art = 'ART AdversarialTrainerMadryPGD'
    if art in by: out['ART epoch / our PGD-AT epoch'] = by[art]['ratio_to_pgdat']
    if 'SPAT default (data mask)' in by: out['default SPAT / PGD-AT'] = by['SPAT default (data mask)']['ratio_to_pgdat']
    cli = "spat_train's loop (SPAT default)"
    if cli in by and 'SPAT default (data mask)' in by:
        out["spat_train's loop images/s / the benchmark's (default SPAT)"] = by[cli]['images_per_s'] / by['SPAT default (data mask)']['images_per_s']
    if 'SPAT, compiled attack' in by:
        out['compiled SPAT / compiled PGD-AT'] = t('SPAT, compiled attack') / t('PGD-AT, compiled attack')
        out['compiled PGD-AT / eager PGD-AT'] = by['PGD-AT, compiled attack']['ratio_to_pgdat']
    if 'SPAT default, compiled attack' in by:
        out['compiled default SPAT / compiled PGD-AT'] = t('SPAT default, compiled attack') / t('PGD-AT, compiled attack')
    return out

def data_path(dataset, bs, device, n_batches=20):
    "Images/s our loader serves CIFAR-shaped uint8 data with batch-wise crop+flip on `device`."
    images, labels = synthetic_images(dataset, bs * n_batches)
    dl = loader(dataset, images, labels, bs, device, augment=True)
    for _ in dl: break
    sync(device); start = time.perf_counter()
    n = sum(len(b[1]) for b in dl)
    sync(device)
    return n / (time.perf_counter() - start)

def profile_step(name, method, args, device, log, rows=12):
    "Top operators of one training pass of `method` in setting `name`, by self time."
    from torch.profiler import profile, ProfilerActivity
    arch, dataset, budget = SETTINGS[name]
    bs = args.bs or DEFAULT_BS[device.type][name]
    images, labels = synthetic_images(dataset, bs)
    kind, spec = methods(name, args.steps, True, False)[method]
    r = Runner(kind, spec, arch, dataset, images, labels, bs, device, budget, args.steps, args.bf16, args.channels_last)
    r.run_pass()
    acts = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device.type == 'cuda' else [])
    with profile(activities=acts) as prof: r.run_pass()
    key = 'self_device_time_total' if device.type == 'cuda' else 'self_cpu_time_total'
    table = prof.key_averages().table(sort_by=key, row_limit=rows, max_name_column_width=40)
    log(f"\n### profile: {method} in {name} (one pass, batch {bs})\n```\n{table}\n```")
    return table

def cpu_name():
    "The processor's model name where Linux tells it, else the architecture."
    try: return next(l.split(':', 1)[1].strip() for l in open('/proc/cpuinfo') if l.startswith('model name'))
    except (OSError, StopIteration): return platform.processor() or platform.machine()

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--device', default='cpu', help="'cpu' or 'cuda'")
    p.add_argument('--settings', nargs='+', default=None, choices=list(SETTINGS), help='default: mnist cifar10 cifar100 (cuda: and cifar10-wrn)')
    p.add_argument('--bs', type=int, default=None, help='batch size (default per setting and device)')
    p.add_argument('--batches', type=int, default=None, help='batches per timed pass (default per setting and device: CPU 2 for mnist, 1 otherwise; CUDA 8, WRN 4)')
    p.add_argument('--steps', type=int, default=10, help='attack steps, the same for every method')
    p.add_argument('--rounds', type=int, default=None, help='timed rounds after the memory pass (default 5 for mnist, 3 otherwise)')
    p.add_argument('--full', action='store_true', help='also refresh-every-step SPAT on CIFAR shapes, and TRADES, ART and the all-classes mask on CIFAR-100')
    p.add_argument('--compile', nargs='?', const='mnist', default='mnist', choices=[*SETTINGS, 'all', 'none'],
                   help='compiled-attack variants: in one setting (default mnist), everywhere, or nowhere')
    p.add_argument('--no-art', dest='art', action='store_false', help='leave out IBM ART')
    p.add_argument('--only', nargs='+', default=None, help='only methods whose name contains one of these (with standard and PGD-AT)')
    p.add_argument('--bf16', action='store_true', help='bf16 autocast (fastai to_bf16); default on cuda')
    p.add_argument('--channels-last', action='store_true', help='channels_last memory format; default on cuda')
    p.add_argument('--fp32', action='store_true', help='on cuda: float32 and contiguous instead (ART trains in float32)')
    p.add_argument('--profile', action='store_true', help='profile one pass of PGD-AT and default SPAT on CIFAR-10 shapes')
    p.add_argument('--json', default=None, help='write every figure to this file')
    p.add_argument('--threads', type=int, default=None, help='torch CPU threads (default: torch\'s own)')
    args = p.parse_args(argv)
    if args.steps < 1: p.error(f"--steps={args.steps} is out of range; expected an integer >= 1")
    if args.rounds is not None and args.rounds < 1: p.error(f"--rounds={args.rounds} is out of range; expected an integer >= 1")
    if args.bs is not None and args.bs < 1: p.error(f"--bs={args.bs} is out of range; expected an integer >= 1")
    device = torch.device(args.device)
    if device.type == 'cuda':
        if not torch.cuda.is_available(): p.error("--device cuda: no CUDA device is available")
        if not args.fp32: args.bf16 = args.channels_last = True
        torch.backends.cudnn.benchmark = True
    if args.threads: torch.set_num_threads(args.threads)
    settings = args.settings or (['mnist', 'cifar10', 'cifar100'] + (['cifar10-wrn'] if device.type == 'cuda' else []))
    lines = []
    def log(s=''):
        print(s, flush=True); lines.append(s)
    start = time.perf_counter()
    meta = {'date': datetime.datetime.now().isoformat(timespec='seconds'), 'command': ' '.join(['python'] + sys.argv),
            'device': torch.cuda.get_device_name(device) if device.type == 'cuda' else f"CPU: {cpu_name()}, {torch.get_num_threads()} threads",
            'torch': torch.__version__, 'python': platform.python_version()}
    try:
        import art; meta['art'] = art.__version__
    except ImportError: args.art = False
    log(f"# bench_at: {meta['date']}, {meta['device']}, torch {meta['torch']}")
    results = {'meta': meta, 'settings': {}}
    def save():   # after every setting, so that a run stopped by a time budget keeps what it measured
        results['meta']['wall_s'] = time.perf_counter() - start
        if args.json:
            with open(args.json, 'w') as f: json.dump(results, f, indent=1)
    try:
        for name in settings:
            results['settings'][name] = run_setting(name, args, device, log); save()
        if any(s.startswith('cifar') for s in settings):
            ds_bs = args.bs or DEFAULT_BS[device.type]['cifar10']
            rate = data_path('cifar10', max(ds_bs, 128), device)
            results['data_path_images_per_s'] = rate
            log(f"\n- data path: {rate:.0f} images/s (CIFAR-10 shapes, batch {max(ds_bs, 128)}, uint8 gather + crop/flip + float on {device})")
        if args.profile:
            results['profiles'] = {m: profile_step('cifar10', m, args, device, log) for m in ('PGD-AT', 'SPAT model mask (sign, element)')}
    except KeyboardInterrupt:
        results['meta']['stopped_by_budget'] = True
        log('\nstopped (interrupted or out of its time budget): the settings above are recorded, the rest did not run')
    save()
    log(f"\ntotal wall time {results['meta']['wall_s']:.0f} s")
    if results['meta'].get('stopped_by_budget'): sys.exit(130)
    return results

if __name__ == '__main__': main()
