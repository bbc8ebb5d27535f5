"""Two-process data-parallel SPAT training on the CPU, run by tests/test_distributed.py under `accelerate launch`.
Each process writes its final parameters and the number of training images it saw to OUT_DIR/rank{r}.pt."""
import sys
from pathlib import Path

import torch
import torch.nn as nn
from fastai.callback.core import Callback
from fastai.callback.schedule import fit_one_cycle  # noqa: F401  (adds Learner.fit_one_cycle)
from fastai.distributed import rank_distrib
from fastai.learner import Learner
from fastai.torch_core import set_seed

from spat_nb.callbacks import SPATTRADESCallback
from spat_nb.data import get_dls
from spat_nb.models import get_model


class CountImages(Callback):
    "Counts the training images this process sees, and their labels."
    order, run_valid = 0, False
    def before_fit(self): self.n, self.labels = 0, []
    def before_batch(self):
        self.n += len(self.yb[0])
        self.labels.append(self.yb[0].as_subclass(torch.Tensor).cpu())


out_dir = Path(sys.argv[1])
set_seed(0)
dls = get_dls('mnist5k', bs=32, n_train=256, n_valid=64, device='cpu')
learn = Learner(dls, get_model('small_cnn', 'mnist5k'), loss_func=nn.CrossEntropyLoss())
counter = CountImages()
try:
    with learn.distrib_ctx(sync_bn=False):
        learn.fit_one_cycle(1, 1e-3, cbs=[SPATTRADESCallback(eps=0.1, alpha=0.025, steps=2), counter])
    torch.save({'params': {k: p.detach().clone() for k, p in learn.model.named_parameters()},
                'n_seen': counter.n, 'labels': torch.cat(counter.labels), 'world_size': torch.distributed.get_world_size()
                if torch.distributed.is_initialized() else 1}, out_dir/f'rank{rank_distrib()}.pt')
    if torch.distributed.is_initialized(): torch.distributed.barrier()   # no rank closes its connections while the other still uses them
finally:
    # accelerate starts the process group and distrib_ctx leaves it open: a gloo group still alive at interpreter exit can
    # abort the process ("terminate called without an active exception"), so it is closed here, also when training raised
    # (then the traceback shows, not an abort)
    if torch.distributed.is_initialized(): torch.distributed.destroy_process_group()
