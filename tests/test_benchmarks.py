"The benchmark scripts run and write what RESULTS.md is built from; no timing is asserted (a benchmark is a measurement)."
import json
import subprocess
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).parents[1]
sys.path.insert(0, str(ROOT/'benchmarks'))
from bench_at import PeakTensorMemory  # noqa: E402


def run(script, *args):
    res = subprocess.run([sys.executable, str(ROOT/'benchmarks'/script), *args], capture_output=True, text=True, timeout=900)
    assert res.returncode == 0, res.stderr[-3000:]
    return res.stdout


def test_peak_tensor_memory_counts_live_storages_only():
    with PeakTensorMemory() as tracker:
        a = torch.zeros(1000)                 # 4,000 bytes
        b = torch.zeros(500)                  # 2,000 bytes: 6,000 alive
        a.add_(1); a[:10].zero_()             # in place and a view: no new storage
        del a
        c = torch.ones(250)                   # 1,000 bytes: 3,000 alive
    assert tracker.peak == 6000 and tracker.current == 3000
    del b, c


def test_bench_at_smoke(tmp_path):
    out = tmp_path/'bench.json'
    stdout = run('bench_at.py', '--settings', 'mnist', 'cifar100', '--rounds', '1', '--batches', '1', '--bs', '10',
                 '--steps', '2', '--compile', 'none', '--json', str(out))
    res = json.loads(out.read_text())
    assert {'date', 'device', 'torch', 'command', 'wall_s'} <= set(res['meta'])
    mnist = {r['method']: r for r in res['settings']['mnist']['rows']}
    expected = {'standard', 'PGD-AT', 'TRADES', 'SPAT model mask (sign, element)', 'SPAT soft', 'SPAT sign, per pixel',
                'SPAT hard (sign >= 0.8)', 'SPAT refresh every step', 'SPAT top-2', 'mask floor', 'mask floor (vmap)',
                'ART AdversarialTrainerMadryPGD', 'SPAT default (data mask)', "spat_train's loop (SPAT default)"}
    assert expected <= set(mnist)
    for r in mnist.values(): assert r['s_per_batch'] > 0 and r['peak_mib'] > 0 and len(r['times']) == 1
    assert {'SPAT model mask: top-9', 'SPAT top-2', 'mask floor: top-9'} <= {r['method'] for r in res['settings']['cifar100']['rows']}
    assert 'SPAT overhead / mask floor' in res['settings']['mnist']['derived']
    assert 'ART epoch / our PGD-AT epoch' in res['settings']['mnist']['derived']
    derived = res['settings']['mnist']['derived']
    assert derived['default SPAT / PGD-AT'] > 0 and derived["spat_train's loop images/s / the benchmark's (default SPAT)"] > 0
    # 10 images cannot hold CIFAR-100's 100 classes, which the data's mask needs: those rows are left out, saying why
    assert not {'SPAT default (data mask)', "spat_train's loop (SPAT default)"} & {r['method'] for r in res['settings']['cifar100']['rows']}
    assert "10 images do not hold every one of the 100 classes" in stdout
    assert '| PGD-AT |' in stdout and 'data path' in stdout


def test_bench_at_bad_argument():
    res = subprocess.run([sys.executable, str(ROOT/'benchmarks'/'bench_at.py'), '--steps', '0'], capture_output=True, text=True)
    assert res.returncode == 2 and '--steps=0 is out of range' in res.stderr


def test_amortised_accuracy_smoke(tmp_path):
    out = tmp_path/'amortised.json'
    run('amortised_accuracy.py', '--seeds', '0', '--epochs', '1', '--n', '50', '--methods', 'PGD-AT', 'SPAT top-2', '--json', str(out))
    res = json.loads(out.read_text())
    assert [r['method'] for r in res['runs']] == ['PGD-AT', 'SPAT top-2']
    for r in res['runs']:   # one epoch on the 4,000 digits trains well past chance; the attacks break some digits
        assert 0.5 < r['clean'] <= 1 and r['pgd20_worst'] < r['clean']


def test_spat_variants_training_smoke(tmp_path):
    out = tmp_path/'variants.json'
    stdout = run('spat_variants_training.py', '--seeds', '0', '--epochs', '1', '--n_train', '200', '--aa_n', '5',
                 '--square_queries', '5', '--methods', 'PGD-AT', 'SPAT budget, data mask, λ 0.75', '--out', str(out))
    res = json.loads(out.read_text())
    assert [r['method'] for r in res['runs']] == ['PGD-AT', 'SPAT budget, data mask, λ 0.75']
    for r in res['runs']:
        assert 0 <= r['PGD-40 CE (n=1000)'] <= r['clean (n=1000)'] <= 1 and r['train_s'] > 0
    assert res['config']['eps'] == 0.3 and 'PGD-AT' in stdout


def test_spat_floor_frontier_smoke(tmp_path):
    out = tmp_path/'frontier.json'
    stdout = run('spat_floor_frontier.py', '--seeds', '0', '--n', '60', '--epochs', '1', '--n_train', '300', '--eps', '0.2', '0.4',
                 '--out', str(out))
    res = json.loads(out.read_text())
    assert {m['attack'] for m in res['matched']} == {'PGD', 'data budget λ 0.25', 'data budget λ 0.5', 'data budget λ 0.75',
                                                     'data budget λ 0.9', 'control: λ 0.5 budget on non-shared'}
    for r in res['frontier']: assert 0 <= r['semantic change'] <= 1 and 0 <= r['fooling rate'] <= 1
    pgd_ratios = [v for m in res['matched'] if m['attack'] == 'PGD' for k, v in m.items() if k.startswith('×')]
    assert all(v == 1 or v != v for v in pgd_ratios)   # PGD against itself: 1 where its frontier reaches the level, NaN elsewhere
    assert len(res['steering']) == 2 * 4 and all(r['share / PGD'] > 0 and 0 <= r['fooling rate'] <= 1 for r in res['steering'])
    assert 'wall time' in stdout
