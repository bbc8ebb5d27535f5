"The callbacks with the fastai features users combine them with: checkpoint and resume, bf16, ChannelsLast, GradientAccumulation."
import pytest
from functools import partial
import torch
import torch.nn as nn
from fastai.callback.channelslast import ChannelsLast
from fastai.callback.core import Callback, CancelFitException
from fastai.callback.schedule import fit_one_cycle  # noqa: F401  (adds Learner.fit_one_cycle)
from fastai.callback.tracker import SaveModelCallback
from fastai.callback.training import GradientAccumulation
from fastai.learner import Learner
from fastai.torch_core import set_seed

from spat_nb.attacks import Attack
from spat_nb.callbacks import (EpochSeed, MARTCallback, PGDATCallback, RobustAccuracy,
                               SPATCallback, TRADESCallback)
from spat_nb.data import get_dls
from spat_nb.models import get_model

BUDGET = dict(eps=0.1, alpha=0.025, steps=2)


def make_learner(path=None, n_train=256, bs=64, **kwargs):
    set_seed(0)
    dls = get_dls('mnist5k', bs=bs, n_train=n_train, n_valid=64, device='cpu')
    return Learner(dls, get_model('small_cnn', 'mnist5k'), loss_func=nn.CrossEntropyLoss(), path=path or '.', **kwargs)


def state(learn): return {k: v.detach().clone() for k, v in learn.model.state_dict().items()}


class StopAfterEpoch(Callback):
    "Simulates a crash after epoch `epoch` has been checkpointed."
    order = SaveModelCallback.order + 1
    def __init__(self, epoch): self.stop_epoch = epoch
    def after_epoch(self):
        if self.epoch == self.stop_epoch: raise CancelFitException()


def test_resume_from_checkpoint_matches_uninterrupted_run(tmp_path):
    n_epoch, lr = 3, 3e-3
    def cbs(): return [SPATCallback(**BUDGET), EpochSeed(0)]
    full = make_learner(tmp_path/'full')
    full.fit_one_cycle(n_epoch, lr, cbs=cbs())

    crashed = make_learner(tmp_path/'resumed')
    crashed.fit_one_cycle(n_epoch, lr, cbs=cbs() + [SaveModelCallback(every_epoch=True, with_opt=True), StopAfterEpoch(1)])
    assert not all(torch.equal(a, b) for a, b in zip(state(crashed).values(), state(full).values())), "the crash came too late"


    resumed = make_learner(tmp_path/'resumed')
    resumed.load('model_1', with_opt=True)
    resumed.fit_one_cycle(n_epoch, lr, cbs=cbs(), start_epoch=2)
    for (k, a), b in zip(state(resumed).items(), state(full).values()):
        assert torch.allclose(a.float(), b.float(), atol=1e-6), f"{k} differs after resuming"


class AttackDtype(Callback):
    "Records the dtype of the model's output during the training attacks (while the parameters are frozen)."
    def before_fit(self):
        self.dtypes = set()
        def hook(m, i, out):
            if self.learn.training and not any(p.requires_grad for p in m.parameters()): self.dtypes.add(out.dtype)
        self.handle = self.learn.model.register_forward_hook(hook)
    def after_fit(self): self.handle.remove()


@pytest.mark.parametrize('make_cb', [PGDATCallback, SPATCallback, partial(SPATCallback, score='sign')], ids=['pgdat', 'spat', 'spat_model_mask'])
def test_bf16_trains_and_attacks_in_bf16(make_cb):
    learn = make_learner(metrics=RobustAccuracy(Attack(0.1, 0.025, 5), n=64)).to_bf16()
    probe = AttackDtype()
    before = state(learn)
    learn.fit_one_cycle(2, 3e-3, cbs=[make_cb(**BUDGET), probe])
    assert probe.dtypes == {torch.bfloat16}, probe.dtypes
    losses = [v[0] for v in learn.recorder.values]
    assert all(torch.isfinite(torch.tensor(v)).all() for v in learn.recorder.values)
    assert any(not torch.equal(a, b) for a, b in zip(state(learn).values(), before.values()))
    assert losses[-1] < losses[0]


def test_channels_last():
    learn = make_learner(cbs=ChannelsLast())
    learn.fit(1, 1e-3, cbs=TRADESCallback(**BUDGET))
    conv = learn.model.net[0][0].weight
    assert conv.is_contiguous(memory_format=torch.channels_last)
    assert torch.isfinite(conv).all()


class CountSteps(Callback):
    def before_fit(self): self.steps = 0
    def after_step(self): self.steps += 1


def test_gradient_accumulation_scales_the_adversarial_loss():
    "With n_acc = 2 batches, the weights move once per 2 batches, by the mean of their adversarial-loss gradients."
    steps = CountSteps()
    learn = make_learner(n_train=256, bs=64, cbs=[steps, GradientAccumulation(n_acc=128)])
    learn.fit(1, 1e-3, cbs=MARTCallback(**BUDGET))
    assert steps.steps == 2

    class Grads(Callback):
        order = GradientAccumulation.order + 1
        def before_step(self): self.norm = sum(p.grad.norm()**2 for p in self.model.parameters()).sqrt().item()
    # one batch, accumulated over n_acc = 64 (a single step): the gradient equals the plain one
    plain, acc = Grads(), Grads()
    make_learner(n_train=64, bs=64, cbs=plain).fit(1, 0., cbs=MARTCallback(**BUDGET))
    make_learner(n_train=64, bs=64, cbs=[acc, GradientAccumulation(n_acc=64)]).fit(1, 0., cbs=MARTCallback(**BUDGET))
    assert plain.norm == pytest.approx(acc.norm, rel=1e-5)


def test_compiled_attack_trains_through_the_compiled_module_and_matches_eager():
    "compile_attack=True: SPAT's steps run through torch.compile of the learner's module (the model's mask eagerly), with the eager result."
    class RecordAdversarial(Callback):
        order = SPATCallback.order + 1
        def before_batch(self): self.learn.x_adv_seen = self.xb[0].clone()
    runs = {}
    for compiled in (False, True):
        learn = make_learner(n_train=64, bs=32)
        cb = SPATCallback(**BUDGET, score='sign', compile_attack=compiled)   # the model's mask: the path with an eager fallback
        learn.fit(1, 1e-3, cbs=[cb, RecordAdversarial(), EpochSeed(0)])
        runs[compiled] = learn.x_adv_seen, state(learn)
        if compiled:
            assert isinstance(cb.attack_model, torch._dynamo.eval_frame.OptimizedModule)
            assert cb.attack_model._orig_mod is learn.model
    (x_eager, w_eager), (x_compiled, w_compiled) = runs[False], runs[True]
    # compiled kernels round differently, which can flip the sign of a near-zero input gradient on a few elements
    assert (x_eager - x_compiled).abs().gt(1e-4).float().mean() < 0.01
    for k in w_eager: torch.testing.assert_close(w_compiled[k], w_eager[k], atol=1e-3, rtol=1e-3)
