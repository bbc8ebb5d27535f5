"The `spat_nb_check` console script, as a user runs it."
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
])
def test_bad_arguments_exit_2_with_one_line(args, message):
    res = run(*args)
    assert res.returncode == 2
    assert message in res.stderr
    assert 'Traceback' not in res.stderr
