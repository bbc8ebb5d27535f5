"Data-parallel adversarial training through fastai's `distrib_ctx` under `accelerate launch`, on two CPU processes (gloo)."
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import torch

from spat_nb.data import get_dls

script = Path(__file__).parent/'scripts'/'ddp_train.py'


def free_port():
    with socket.socket() as s: s.bind(('127.0.0.1', 0)); return s.getsockname()[1]


def test_two_processes_train_identical_weights_on_half_the_data(tmp_path):
    accelerate = shutil.which('accelerate') or str(Path(sys.executable).parent/'accelerate')
    # accelerate's `--cpu` starts a single process unless it goes through MPI; its torchrun launcher (`--multi_gpu`)
    # with ACCELERATE_USE_CPU gives one gloo process per rank on the CPU; a free port, not the fixed 29500, which a run
    # that has just ended may still hold
    env = {**os.environ, 'OMP_NUM_THREADS': '1', 'ACCELERATE_USE_CPU': 'true'}
    res = subprocess.run([accelerate, 'launch', '--multi_gpu', '--num_processes', '2', '--num_machines', '1',
                          '--mixed_precision', 'no', '--dynamo_backend', 'no',
                          '--main_process_port', str(free_port()), str(script), str(tmp_path)],
                         capture_output=True, text=True, timeout=600, env=env)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    r0, r1 = torch.load(tmp_path/'rank0.pt'), torch.load(tmp_path/'rank1.pt')
    assert r0['world_size'] == r1['world_size'] == 2
    assert r0['n_seen'] == r1['n_seen'] == 256 // 2, (r0['n_seen'], r1['n_seen'])
    # the shards are complementary halves: together they hold exactly the training set's labels
    train_labels = get_dls('mnist5k', bs=32, n_train=256, n_valid=64, device='cpu').train_ds.labels
    both = torch.cat([r0['labels'], r1['labels']])
    assert torch.equal(torch.bincount(both, minlength=10), torch.bincount(train_labels, minlength=10))
    assert not torch.equal(r0['labels'], r1['labels'])
    for name, p in r0['params'].items():
        assert torch.equal(p, r1['params'][name]), f"{name} differs between the ranks"
