"The README's main job: `spat_train --out r.json --save m.pth`, offline, on the bundled digits."
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from spat_nb.data import get_dls
from spat_nb.core import correct_predictions
from spat_nb.models import load_model

exe = shutil.which('spat_train') or str(Path(sys.executable).parent/'spat_train')


def test_default_run_writes_results_and_a_loadable_model(tmp_path):
    start = time.perf_counter()
    res = subprocess.run([exe, '--out', 'r.json', '--save', 'm.pth'], cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr[-3000:]
    # no timing assertion: how long the command takes is measured (README), not tested
    print(f"spat_train default run: {time.perf_counter() - start:.0f}s wall")
    assert 'AutoAttack' in res.stdout and 'PGD-20' in res.stdout

    # the per-epoch checkpoints go beside the model (--save m.pth: m_checkpoints/), never loose in the current folder
    assert 'checkpoints in m_checkpoints' in res.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == ['m.pth', 'm_checkpoints', 'r.json']
    name = 'mnist5k_small_cnn_spat_seed0'
    assert sorted(p.name for p in (tmp_path/'m_checkpoints').iterdir()) == [f'{name}.config.json'] + [f'{name}_{e}.pth' for e in range(3)]

    report = json.loads((tmp_path/'r.json').read_text())
    assert {'dataset', 'arch', 'method', 'eps', 'seed'} <= set(report['config'])
    assert report['config']['method'] == 'spat' and report['config']['dataset'] == 'mnist5k'
    results, n_eval = report['results'], report['n_eval']
    assert all(0 <= results[k] <= 1 for k in ('clean', 'pgd20', 'autoattack'))
    assert results['autoattack'] <= results['pgd20'] <= results[f'clean_first_{n_eval}']
    assert report['timings']['total_s'] > 0

    model = load_model(tmp_path/'m.pth')
    dls = get_dls('mnist5k', bs=500, seed=report['config']['seed'], device='cpu')
    x, y = dls.valid_ds.images.float() / 255, dls.valid_ds.labels
    clean = correct_predictions(model, x, y).sum().item() / len(y)
    assert clean == results['clean'], (clean, results['clean'])


def test_cifar_recipe_runs_on_the_fixture(tmp_path):
    "The CIFAR path of the command, on a tiny archive in the official format (no download)."
    from spat_nb.testing import write_cifar_fixture
    write_cifar_fixture(tmp_path, 'cifar10', n_per_file=20)
    res = subprocess.run([exe, '--dataset', 'cifar10', '--data_path', str(tmp_path), '--arch', 'small_cnn', '--epochs', '1',
                          '--n_eval', '20', '--no_autoattack', '--out', 'r.json', '--method', 'trades', '--bs', '50'],   # 100 training images
                         cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr[-3000:]
    report = json.loads((tmp_path/'r.json').read_text())
    assert report['config']['eps'] == 8/255 and report['config']['dataset'] == 'cifar10'
    assert 'autoattack' not in report['results'] and 0 <= report['results']['pgd20'] <= 1
    assert (tmp_path/'r_checkpoints'/'cifar10_small_cnn_trades_seed0_0.pth').is_file()   # no --save: beside --out


def test_resume_without_a_checkpoint_folder_is_refused_at_once(tmp_path):
    res = subprocess.run([exe, '--resume'], cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert res.returncode == 2 and 'Traceback' not in res.stderr
    assert res.stderr.strip() == ("spat_train: error: --resume needs the checkpoints' folder of the run to continue; "
                                  "expected --ckpt_dir, or the --save or --out that run was given")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize('args, message', [
    (['--method', 'spat_trades', '--outer', 'ce'], "--method spat_trades and --outer ce contradict each other"),
    (['--method', 'pgdat', '--floor', '0.5'], "--floor apply to --method spat only (spat_trades too), not to --method pgdat"),
    (['--method', 'standard', '--steps', '3'], "--steps set the training attack, and --method standard trains without one"),
    (['--no_autoattack', '--square_queries', '100'], "--square_queries sets AutoAttack's Square stage, and --no_autoattack skips"),
    (['--data_path', '.'], "--data_path locates the files of fashion_mnist, cifar10, cifar100, and --dataset mnist5k is bundled"),
    (['--out', 'same', '--save', 'same'], "--out and --save both name 'same'"),
    (['--out', 'r.json', '--ckpt_dir', 'r.json'], "--ckpt_dir='r.json' is also the --out file"),
    (['--save', 'models/'], "--save='models/' is a folder"),
    (['--lr', 'nan'], "--lr=nan is out of range"),
    (['--eps', 'inf'], "--eps=inf is out of range"),
    (['--floor', '-0.5'], "--floor=-0.5 is out of range"),
    (['--seed', '-1'], "--seed=-1 is out of range"),
])
def test_contradictions_and_bad_values_are_refused_at_once(tmp_path, args, message):
    "One line on stderr, exit code 2, nothing written: before the data is loaded."
    res = subprocess.run([exe, *args], cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert res.returncode == 2 and 'Traceback' not in res.stderr, res.stderr[-2000:]
    assert res.stderr.startswith(f"spat_train: error: {message}"), res.stderr
    assert list(tmp_path.iterdir()) == []


def test_resume_with_other_epochs_says_why_and_how_to_continue(tmp_path):
    first = subprocess.run([exe, '--dataset', 'digits', '--epochs', '1', '--n_eval', '20', '--no_autoattack', '--save', 'm.pth'],
                           cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert first.returncode == 0, first.stderr[-3000:]
    res = subprocess.run([exe, '--dataset', 'digits', '--epochs', '3', '--n_eval', '20', '--no_autoattack', '--save', 'm.pth', '--resume'],
                         cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert res.returncode == 2 and 'Traceback' not in res.stderr
    assert 'epochs=1 there, 3 now' in res.stderr and 'one-cycle schedule' in res.stderr and 'resume with --epochs 1' in res.stderr
    assert 'no flag that loads saved weights' in res.stderr and 'epoch ' not in res.stdout   # refused before training


def test_compiled_attack_trains_through_the_command(tmp_path):
    "`--compile_attack` end to end on the CPU: torch.compile builds the attack's model (its own process: compilation caches), the run records it."
    res = subprocess.run([exe, '--dataset', 'digits', '--epochs', '1', '--n_eval', '20', '--no_autoattack', '--compile_attack',
                          '--out', 'r.json'], cwd=tmp_path, capture_output=True, text=True, timeout=900)
    assert res.returncode == 0, res.stderr[-3000:]
    assert '--compile_attack: the first training batch compiles' in res.stdout
    report = json.loads((tmp_path/'r.json').read_text())
    assert report['config']['compile_attack'] is True and report['config']['method'] == 'spat'
    assert 0 <= report['results']['pgd20'] <= report['results']['clean_first_20'] <= 1
