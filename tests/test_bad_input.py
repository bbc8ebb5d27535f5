"""Every public entry point refuses bad input at once, with a `ValueError` whose message names the argument.

One table: each row is a call and the text its message must contain, which starts with the argument's name. Rows that
feed a long step (training, evaluation, the CLI) also prove that the refusal came before that step started.
"""
from functools import partial

import pytest
import torch
import torch.nn as nn
from fastai.data.core import DataLoaders
from fastai.data.load import DataLoader
from fastai.learner import Learner

from spat_nb import cli
from spat_nb.attacks import Attack, SharedMask, pgd, spat_attack, trades_attack
from spat_nb.callbacks import MARTCallback, PGDATCallback, RobustAccuracy, SPATCallback, TRADESCallback
from spat_nb.data import get_dls, load_cifar, stratified_split, stratified_subset, write_cifar_fixture
from spat_nb.evaluate import evaluate_robustness, semantic_change_rate
from spat_nb.masks import class_directions, mask_from_directions, shared_pixel_mask
from spat_nb.models import Normalize, get_model, load_model, save_model, wide_resnet

torch.manual_seed(0)
model = get_model('small_cnn', 'mnist5k').eval()
x, y = torch.rand(4, 1, 28, 28), torch.tensor([0, 1, 2, 3])
nan_x = x.masked_fill(x > 0.9, float('nan'))
digits = get_dls('digits', bs=16, device='cpu')


class ReturnsTuple(nn.Module):
    def __init__(self, out): super().__init__(); self.net, self.out = model, out
    def forward(self, t): return {'logits': self.net(t)} if self.out == 'dict' else (self.net(t), None)


def fit_on(images, labels, cb):
    "One fit on a hand-made batch stream: the callback sees exactly these tensors."
    ds = list(zip(images, labels))
    dls = DataLoaders(DataLoader(ds, bs=4), DataLoader(ds, bs=4))
    Learner(dls, get_model('small_cnn', 'mnist5k'), loss_func=nn.CrossEntropyLoss(), cbs=cb).fit(1)


def never_reached(*args, **kwargs): raise AssertionError("a long step started before the arguments were checked")


@pytest.fixture
def no_long_steps(monkeypatch):
    "The CLI's data loading and training must not start when a cheap check fails."
    monkeypatch.setattr(cli, 'get_dls', never_reached)


def train_cli(tmp_path, **kwargs):
    return cli.spat_train.__wrapped__(**{'dataset': 'digits', 'ckpt_dir': str(tmp_path/'ckpt'), **kwargs})


CASES = [
    # images: range, NaN/Inf, dtype, shape
    ('pgd x in [0,255]', lambda t: pgd(model, x * 255, y, 0.1, 0.02), "x has values in [0"),
    ('pgd x in [-1,1]', lambda t: pgd(model, x * 2 - 1, y, 0.1, 0.02), "x has values in [-"),
    ('pgd x NaN', lambda t: pgd(model, nan_x, y, 0.1, 0.02), "x has NaN or infinite values"),
    ('pgd x Inf', lambda t: pgd(model, x.masked_fill(x > 0.9, float('inf')), y, 0.1, 0.02), "x has NaN or infinite values"),
    ('pgd x uint8', lambda t: pgd(model, (x * 255).byte(), y, 0.1, 0.02), "x must be a non-empty float batch"),
    ('pgd x 3-d', lambda t: pgd(model, x[:, 0], y, 0.1, 0.02), "x must be a non-empty float batch"),
    ('pgd x empty', lambda t: pgd(model, x[:0], y[:0], 0.1, 0.02), "x must be a non-empty float batch"),
    ('spat x in [0,255]', lambda t: spat_attack(model, x * 255, y, 0.1, 0.02), "x has values in [0"),
    ('trades x NaN', lambda t: trades_attack(model, nan_x, 0.1, 0.02), "x has NaN or infinite values"),
    ('mask x in [0,255]', lambda t: shared_pixel_mask(model, x * 255, y), "x has values in [0"),
    ('semantic x_adv in [0,255]', lambda t: semantic_change_rate(x * 255, y, model), "x_adv has values in [0"),
    ('semantic x_clean NaN', lambda t: semantic_change_rate(x, y, model, x_clean=nan_x), "x_clean has NaN"),
    ('evaluate data in [0,255]', lambda t: evaluate_robustness(model, (x * 255, y), 0.1, n=4, autoattack=False), "data (images) has values"),
    ('callback batch in [0,255]', lambda t: fit_on(torch.rand(8, 1, 28, 28) * 255, torch.arange(8) % 10, PGDATCallback(0.1, 0.02, 2)), "x has values in [0"),
    ('callback batch NaN', lambda t: fit_on(torch.full((8, 1, 28, 28), float('nan')), torch.arange(8) % 10, SPATCallback(0.1, 0.02, 2)), "x has NaN"),
    ('callback batch NaN, model mask', lambda t: fit_on(torch.full((8, 1, 28, 28), float('nan')), torch.arange(8) % 10, SPATCallback(0.1, 0.02, 2, score='sign')), "x has NaN"),
    # labels: range, dtype, shape, count
    ('pgd y >= n_classes', lambda t: pgd(model, x, torch.tensor([0, 1, 2, 10]), 0.1, 0.02), "y has labels in [0, 10]; expected class indices in [0, 9]"),
    ('pgd y < 0', lambda t: pgd(model, x, torch.tensor([0, 1, 2, -1]), 0.1, 0.02), "y has labels in [-1, 2]"),
    ('pgd y float', lambda t: pgd(model, x, y.float(), 0.1, 0.02), "y must be integer class indices shaped (B,)"),
    ('pgd y bool', lambda t: pgd(model, x, y > 1, 0.1, 0.02), "y must be integer class indices"),
    ('pgd y (B, 1)', lambda t: pgd(model, x, y[:, None], 0.1, 0.02), "y must be integer class indices shaped (B,)"),
    ('pgd y too few', lambda t: pgd(model, x, y[:3], 0.1, 0.02), "y has 3 labels for 4 images"),
    ('spat y >= n_classes', lambda t: spat_attack(model, x, torch.tensor([0, 1, 2, 10]), 0.1, 0.02), "y has labels in [0, 10]"),
    ('trades y >= n_classes', lambda t: trades_attack(model, x, 0.1, 0.02, y=torch.tensor([0, 1, 2, 10])), "y has labels in [0, 10]"),
    ('mask y (B, 1)', lambda t: shared_pixel_mask(model, x, y[:, None]), "y must be integer class indices shaped (B,)"),
    ('directions y >= n_classes', lambda t: class_directions(model, x, torch.tensor([0, 1, 2, 12])), "y has labels in [0, 12]"),
    ('evaluate labels >= n_classes', lambda t: evaluate_robustness(model, (x, torch.tensor([0, 1, 2, 10])), 0.1, n=4, autoattack=False), "data (labels) has labels in [0, 10]"),
    ('callback labels >= n_classes', lambda t: fit_on(torch.rand(8, 1, 28, 28), torch.arange(8) + 10, TRADESCallback(0.1, 0.02, 2)), "y has labels in [10, 13]"),
    ('callback labels (B, 1)', lambda t: fit_on(torch.rand(8, 1, 28, 28), (torch.arange(8) % 10)[:, None], MARTCallback(0.1, 0.02, 2)), "y must be integer class indices shaped (B,)"),
    # model outputs
    ('pgd model returns tuple', lambda t: pgd(ReturnsTuple('tuple'), x, y, 0.1, 0.02), "model must return one tensor of logits"),
    ('pgd model returns dict', lambda t: pgd(ReturnsTuple('dict'), x, y, 0.1, 0.02), "model must return one tensor of logits"),
    ('spat model returns dict', lambda t: spat_attack(ReturnsTuple('dict'), x, y, 0.1, 0.02), "model must return one tensor of logits"),
    ('trades model returns tuple', lambda t: trades_attack(ReturnsTuple('tuple'), x, 0.1, 0.02), "model must return one tensor of logits"),
    ('mask model returns tuple', lambda t: shared_pixel_mask(ReturnsTuple('tuple'), x, y), "model must return one tensor of logits"),
    ('evaluate model returns dict', lambda t: evaluate_robustness(ReturnsTuple('dict'), (x, y), 0.1, n=4, autoattack=False), "model must return one tensor of logits"),
    ('pgd model is a function', lambda t: pgd(lambda v: model(v), x, y, 0.1, 0.02), "model='function' is out of range"),
    # attack arguments
    ('eps > 1', lambda t: pgd(model, x, y, eps=2, alpha=0.02), "eps=2 is out of range; expected a float in [0, 1]"),
    ('eps < 0', lambda t: Attack(eps=-0.1, alpha=0.01), "eps=-0.1 is out of range"),
    ('eps NaN', lambda t: Attack(eps=float('nan'), alpha=0.01), "eps=nan is out of range"),
    ('eps bool', lambda t: Attack(eps=True, alpha=0.01), "eps=True is out of range"),
    ('alpha 0', lambda t: Attack(eps=0.1, alpha=0), "alpha=0 is out of range; expected a float in (0, 1]"),
    ('alpha > 1', lambda t: Attack(eps=0.1, alpha=3), "alpha=3 is out of range"),
    ('steps True', lambda t: Attack(eps=0.1, alpha=0.01, steps=True), "steps=True is out of range; expected an integer >= 1"),
    ('steps 2.5', lambda t: Attack(eps=0.1, alpha=0.01, steps=2.5), "steps=2.5 is out of range"),
    ('steps 0', lambda t: pgd(model, x, y, 0.1, 0.01, steps=0), "steps=0 is out of range"),
    ('restarts 0', lambda t: pgd(model, x, y, 0.1, 0.01, restarts=0), "restarts=0 is out of range"),
    ('norm l1', lambda t: Attack(eps=0.1, alpha=0.01, norm='l1'), "norm='l1' is out of range; expected 'linf' or 'l2'"),
    ('loss hinge', lambda t: Attack(eps=0.1, alpha=0.01, loss='hinge'), "loss='hinge' is out of range; expected one of: ce, cw, kl"),
    ('start gaussian', lambda t: pgd(model, x, y, 0.1, 0.1, start='gaussian'), "start='gaussian' is out of range"),
    ('targeted 1', lambda t: Attack(eps=0.1, alpha=0.01, targeted=1), "targeted=1 is out of range; expected True or False"),
    ('targeted with kl', lambda t: pgd(model, x, y, eps=0.1, alpha=0.01, loss='kl', targeted=True), "targeted=True needs loss"),
    ('mask not a SharedMask', lambda t: Attack(eps=0.1, alpha=0.01, mask=0.5), "mask=0.5 is out of range"),
    ('floor 1.5', lambda t: spat_attack(model, x, y, eps=0.1, alpha=0.01, floor=1.5), "floor=1.5 is out of range; expected a float in [0, 1]"),
    ('floor NaN', lambda t: SharedMask(floor=float('nan')), "floor=nan is out of range"),
    ('top_k 0', lambda t: SharedMask(top_k=0), "top_k=0 is out of range"),
    ('top_k True', lambda t: SharedMask(top_k=True), "top_k=True is out of range"),
    ('top_k 1 with sign', lambda t: SharedMask(top_k=1), "top_k=1 is out of range for score='sign'"),
    ('per channel', lambda t: spat_attack(model, x, y, eps=0.1, alpha=0.1, per='channel'), "per='channel' is out of range"),
    ('score median', lambda t: SharedMask(score='median'), "score='median' is out of range"),
    ('threshold -0.5', lambda t: shared_pixel_mask(model, x, y, threshold=-0.5), "threshold=-0.5 is out of range"),
    ('threshold 2 on directions', lambda t: mask_from_directions(torch.zeros(2, 1, 1, 1, 1), threshold=2), "threshold=2 is out of range"),
    ('refresh "yes"', lambda t: SharedMask(refresh='yes'), "refresh='yes' is out of range; expected True or False"),
    ('two classes for a sign mask', lambda t: spat_attack(nn.Sequential(nn.Flatten(), nn.Linear(784, 2)), x, y % 2, eps=0.1, alpha=0.01), "needs at least 3 classes"),
    # callbacks
    ('callback eps > 1', lambda t: PGDATCallback(eps=8), "eps=8 is out of range"),
    ('callback steps 0', lambda t: TRADESCallback(steps=0), "steps=0 is out of range"),
    ('callback outer mart', lambda t: SPATCallback(outer='mart'), "outer='mart' is out of range"),
    ('callback beta -1', lambda t: MARTCallback(beta=-1), "beta=-1 is out of range"),
    ('callback beta NaN', lambda t: TRADESCallback(beta=float('nan')), "beta=nan is out of range"),
    ('callback eps_warmup -1', lambda t: PGDATCallback(eps_warmup=-1), "eps_warmup=-1 is out of range"),
    ('callback compile_attack "no"', lambda t: SPATCallback(compile_attack='no'), "compile_attack='no' is out of range"),
    ('callback floor 2', lambda t: SPATCallback(floor=2), "floor=2 is out of range"),
    ('callback norm l1', lambda t: SPATCallback(norm='l1'), "norm='l1' is out of range"),
    ('callback alpha 0', lambda t: MARTCallback(alpha=0), "alpha=0 is out of range"),
    ('robust metric n 0', lambda t: RobustAccuracy(Attack(0.1, 0.01), n=0), "n=0 is out of range"),
    ('robust metric n True', lambda t: RobustAccuracy(Attack(0.1, 0.01), n=True), "n=True is out of range"),
    ('robust metric attack', lambda t: RobustAccuracy(0.1), "attack=0.1 is out of range; expected an Attack"),
    ('two adversarial callbacks', lambda t: fit_on(torch.rand(8, 1, 28, 28), torch.arange(8) % 10, [PGDATCallback(0.1, 0.02, 2), SPATCallback(0.1, 0.02, 2)]), "are both on this Learner"),
    # evaluation
    ('evaluate eps 0', lambda t: evaluate_robustness(model, (x, y), eps=0., n=4), "eps=0.0 is out of range"),
    ('evaluate eps > 1', lambda t: evaluate_robustness(model, (x, y), eps=8, n=4), "eps=8 is out of range"),
    ('evaluate n > data', lambda t: evaluate_robustness(model, (x, y), eps=0.1, n=10), "n=10 is out of range; expected an integer in [1, 4]"),
    ('evaluate n True', lambda t: evaluate_robustness(model, (x, y), eps=0.1, n=True), "n=True is out of range"),
    ('evaluate restarts 0', lambda t: evaluate_robustness(model, (x, y), eps=0.1, n=4, restarts=0), "restarts=0 is out of range"),
    ('evaluate square_queries 0', lambda t: evaluate_robustness(model, (x, y), eps=0.1, n=4, square_queries=0), "square_queries=0 is out of range"),
    ('evaluate norm l1', lambda t: evaluate_robustness(model, (x, y), eps=0.1, n=4, norm='l1'), "norm='l1' is out of range"),
    ('evaluate eps_grid > 1', lambda t: evaluate_robustness(model, (x, y), eps=0.1, n=4, eps_grid=[0.1, 2]), "eps_grid=2 is out of range"),
    ('evaluate autoattack "no"', lambda t: evaluate_robustness(model, (x, y), eps=0.1, n=4, autoattack='no'), "autoattack='no' is out of range"),
    # data
    ('get_dls name', lambda t: get_dls('mnist6k'), "name='mnist6k'"),
    ('get_dls bs True', lambda t: get_dls('digits', bs=True), "bs=True is out of range"),
    ('get_dls bs 0', lambda t: get_dls('digits', bs=0), "bs=0 is out of range"),
    ('get_dls seed -1', lambda t: get_dls('digits', seed=-1), "seed=-1 is out of range"),
    ('get_dls valid_pct 1', lambda t: get_dls('digits', valid_pct=1.0), "valid_pct=1.0 is out of range; expected a float in (0, 1)"),
    ('get_dls n_valid too many', lambda t: get_dls('mnist5k', n_valid=2000), "n_valid=2000 is out of range"),
    ('get_dls n_train True', lambda t: get_dls('digits', n_train=True), "n_train=True is out of range"),
    ('get_dls typed "no"', lambda t: get_dls('digits', typed='no'), "typed='no' is out of range"),
    ('get_dls augment 1', lambda t: get_dls('digits', augment=1), "augment=1 is out of range"),
    ('stratified_subset n 3 < classes', lambda t: stratified_subset(torch.arange(10).numpy(), 3), "n=3 is out of range"),
    ('stratified_split valid_pct NaN', lambda t: stratified_split(torch.arange(10).numpy(), float('nan')), "valid_pct=nan is out of range"),
    ('test items as floats in [0,16]', lambda t: digits.test_dl([digits.valid_ds.images[0].float()]), "test_items has values in [0, 16]"),
    ('test items of another shape', lambda t: digits.test_dl([torch.zeros(3, 8, 8)]), "test_items must be images shaped (1, 8, 8)"),
    ('truncated CIFAR archive', lambda t: _truncated_cifar(t), "is truncated or corrupt"),
    # models and checkpoints
    ('get_model arch', lambda t: get_model('resnet50', 'mnist5k'), "arch='resnet50'"),
    ('get_model dataset', lambda t: get_model('small_cnn', 'imagenet'), "name='imagenet'"),
    ('wide_resnet depth', lambda t: wide_resnet(30), "depth=30 is invalid"),
    ('Normalize std 0', lambda t: Normalize((0.5,), (0.,)), "std=[0.0] is out of range"),
    ('truncated checkpoint', lambda t: _damaged_checkpoint(t, lambda b: b[:len(b) // 2]), "is truncated or corrupt"),
    ('corrupted checkpoint', lambda t: _damaged_checkpoint(t, lambda b: b[:100] + bytes(300) + b[400:]), "is truncated or corrupt"),
    ('not a save_model checkpoint', lambda t: _other_checkpoint(t), "is not a checkpoint written by save_model"),
    # the command line: every cheap check before data loading and training
    ('cli --eps 2', lambda t: train_cli(t, eps=2.), "--eps=2.0 is out of range"),
    ('cli --alpha 0', lambda t: train_cli(t, alpha=0.), "--alpha=0.0 is out of range"),
    ('cli --epochs 0', lambda t: train_cli(t, epochs=0), "--epochs=0 is out of range"),
    ('cli --steps 0', lambda t: train_cli(t, steps=0), "--steps=0 is out of range"),
    ('cli --bs 0', lambda t: train_cli(t, bs=0), "--bs=0 is out of range"),
    ('cli --lr nan', lambda t: train_cli(t, lr=float('nan')), "--lr=nan is out of range"),
    ('cli --seed -1', lambda t: train_cli(t, seed=-1), "--seed=-1 is out of range"),
    ('cli --n_eval 0', lambda t: train_cli(t, n_eval=0), "--n_eval=0 is out of range"),
    ('cli --square_queries 0', lambda t: train_cli(t, square_queries=0), "--square_queries=0 is out of range"),
    ('cli --floor 1.5', lambda t: train_cli(t, floor=1.5), "--floor=1.5 is out of range"),
    ('cli --spat_mask pixels', lambda t: train_cli(t, spat_mask='pixels'), "--spat_mask='pixels' is out of range"),
    ('cli --spat_mode ball', lambda t: train_cli(t, spat_mode='ball'), "--spat_mode='ball' is out of range"),
    ('cli --floor with pgdat', lambda t: train_cli(t, method='pgdat', floor=0.75), "--floor apply to --method spat only"),
    ('cli --spat_mask with trades', lambda t: train_cli(t, method='trades', spat_mask='model', outer='trades'),
     "--outer, --spat_mask apply to --method spat only"),
    ('cli --out unwritable', lambda t: train_cli(t, out='/proc/spat/r.json'), "--out='/proc/spat/r.json' is not writable"),
    ('cli --out a folder', lambda t: train_cli(t, out=str(t)), "is a folder; expected a file path"),
    ('cli --save unwritable', lambda t: train_cli(t, save='/proc/spat/m.pth'), "--save='/proc/spat/m.pth' is not writable"),
    ('cli --ckpt_dir unwritable', lambda t: train_cli(t, ckpt_dir='/proc/spat/ckpt'), "--ckpt_dir='/proc/spat/ckpt' is not writable"),
]


def _truncated_cifar(tmp_path):
    archive = write_cifar_fixture(tmp_path, 'cifar10', n_per_file=10)
    archive.write_bytes(archive.read_bytes()[:archive.stat().st_size // 2])
    load_cifar('cifar10', tmp_path, download=False)


def _damaged_checkpoint(tmp_path, damage):
    path = save_model(get_model('small_cnn', 'digits'), tmp_path/'m.pth')
    path.write_bytes(damage(path.read_bytes()))
    load_model(path)


def _other_checkpoint(tmp_path):
    torch.save({'weights': 1}, tmp_path/'other.pth')
    load_model(tmp_path/'other.pth')


def test_the_table_is_large_and_its_ids_unique():
    ids = [case[0] for case in CASES]
    assert len(ids) >= 60 and len(set(ids)) == len(ids)


@pytest.mark.parametrize('call, message', [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_bad_input_raises_a_value_error_naming_the_argument(call, message, tmp_path, no_long_steps):
    with pytest.raises(ValueError) as e: call(tmp_path)
    assert message in str(e.value), str(e.value)


def test_resume_refuses_a_run_made_with_other_settings(tmp_path):
    "The one CLI check that needs a finished run: it is refused before any training, naming every setting that differs."
    train_cli(tmp_path, epochs=1, n_eval=10, no_autoattack=True)
    with pytest.raises(ValueError) as e: train_cli(tmp_path, epochs=2, eps=0.2, n_eval=10, no_autoattack=True, resume=True)
    assert "--resume refused" in str(e.value) and "epochs=1 there, 2 now" in str(e.value) and "eps=0.1 there, 0.2 now" in str(e.value)
