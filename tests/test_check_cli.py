"The `spat_nb_check` console script, as a user runs it."
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from spat_nb.models import load_model

exe = shutil.which('spat_nb_check') or str(Path(sys.executable).parent/'spat_nb_check')


def run(*args):
    return subprocess.run([exe, *args], capture_output=True, text=True, timeout=600)


def test_trains_reports_and_saves(tmp_path):
    res = run('--epochs', '1', '--save', str(tmp_path/'m.pth'))
    assert res.returncode == 0, res.stderr
    line = next(l for l in res.stdout.splitlines() if 'clean accuracy' in l)
    acc = float(line.split('clean accuracy ')[1].split()[0])
    assert 0.5 < acc <= 1.0, line
    assert 'on 1000 validation images' in line
    model = load_model(tmp_path/'m.pth')
    assert model.config == {'arch': 'small_cnn', 'dataset': 'mnist5k'} and not model.training


@pytest.mark.parametrize('args, message', [
    (['--epochs', '0'], 'epochs=0 is out of range'),
    (['--bs', '-3'], 'bs=-3 is out of range'),
    (['--dataset', 'cifar10'], "invalid choice: 'cifar10'"),
    (['--lr', 'nan'], '--lr=nan is out of range; expected a float > 0'),
    (['--lr', '0'], '--lr=0.0 is out of range'),
    (['--lr=-inf'], '--lr=-inf is out of range'),
    (['--seed', '-1'], '--seed=-1 is out of range'),
    (['--save', '/proc/spat/m.pth'], "--save='/proc/spat/m.pth' is not writable"),
])
def test_bad_arguments_exit_2_with_one_line(args, message):
    res = run(*args)
    assert res.returncode == 2
    assert message in res.stderr
    assert 'Traceback' not in res.stderr
    assert 'clean accuracy' not in res.stdout and 'epoch' not in res.stdout   # refused before any training


def test_save_to_a_folder_or_a_read_only_one_is_refused_before_training(tmp_path):
    for save in (str(tmp_path), f'{tmp_path}/models/'):
        res = run('--save', save)
        assert res.returncode == 2 and f"--save={save!r} is a folder; expected a file path" in res.stderr, res.stderr
    read_only = tmp_path/'read_only'
    read_only.mkdir(mode=0o555)
    if os.access(read_only, os.W_OK): pytest.skip("this user can write to a read-only folder (root)")
    res = run('--save', str(read_only/'m.pth'))
    assert res.returncode == 2 and 'Traceback' not in res.stderr and 'clean accuracy' not in res.stdout
    assert f"--save='{read_only/'m.pth'}' is not writable (Permission denied)" in res.stderr


def test_a_training_that_diverges_is_an_error_not_an_accuracy():
    res = run('--dataset', 'digits', '--epochs', '1', '--lr', '1e6')
    assert res.returncode == 2 and 'Traceback' not in res.stderr
    assert 'spat_nb_check: error: training diverged' in res.stderr and 'clean accuracy' not in res.stdout
