"""The GPU kit (benchmarks/gpu): its dry run on the CPU proves the scripts and that the wheel set is complete; the cheap
parts (argument checks, cell selection, output merging) are tested on their own."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest


ROOT = Path(__file__).parents[1]
KIT = ROOT/'benchmarks'/'gpu'
sys.path.insert(0, str(KIT))
from run_cuda_cells import cuda_notebooks, flags, for_readers, imports, merge, skipped, terminal_text  # noqa: E402
from spat_nb.data import FASHION_MNIST_FOLDERS, FASHION_MNIST_SHA256  # noqa: E402
from spat_nb.study import STUDY_METHODS  # noqa: E402

FASHION_MNIST = next((Path(p).expanduser() for p in FASHION_MNIST_FOLDERS
                      if all((Path(p).expanduser()/f).is_file() for f in FASHION_MNIST_SHA256)), None)


def test_dry_run_in_a_virtualenv_with_only_the_gpu_machines_packages(tmp_path):
    out = tmp_path/'out'
    env = {**os.environ, 'KIT_VENV': str(tmp_path/'venv')}
    res = subprocess.run(['bash', str(KIT/'dry_run.sh'), str(out)], capture_output=True, text=True, env=env, timeout=1800)
    assert res.returncode == 0, (res.stdout + res.stderr)[-4000:]
    assert 'imports: ok' in res.stdout and 'dry run passed' in res.stdout
    # torch is lent by the calling Python, not installed a second time (5.5 GB, which a CI disk may not have twice)
    lent = next(line for line in res.stdout.splitlines() if line.startswith('lent '))
    assert ' torch ' in f'{lent} ', lent
    venv_bytes = sum(f.lstat().st_size for f in (tmp_path/'venv').rglob('*'))
    assert venv_bytes < 1e9, f"the dry run's virtualenv holds {venv_bytes / 1e9:.1f} GB"
    for part in ('checks', 'cells', 'bench', 'bench_fp32'):
        assert (out/part/'result.json').exists() and (out/part/'log.txt').stat().st_size > 0, part
    checks = json.loads((out/'checks'/'result.json').read_text())
    names = [c['name'] for c in checks['checks']]
    assert len(names) >= 29 and all(c['ok'] for c in checks['checks']), [c for c in checks['checks'] if not c['ok']]
    for prefix in ('train_step/SPAT/fp16', 'train_step/TRADES/bf16', 'attack_leaves_model_untouched/spat/fp16',
                   'mask_directions_loop_vs_vmap', 'attack_speed', 'compile_attack/agrees_with_eager'):
        assert any(n.startswith(prefix) for n in names), prefix
    cells = json.loads((out/'cells'/'result.json').read_text())
    assert cells['checks'] and all(c['ok'] for c in cells['checks'])
    bench = json.loads((out/'bench'/'result.json').read_text())
    assert {'mnist', 'cifar10'} <= set(bench['settings'])
    art = json.loads((out/'bench_fp32'/'result.json').read_text())
    assert 'ART epoch / our PGD-AT epoch' in art['settings']['cifar10']['derived']
    if FASHION_MNIST is None:   # dry_run.sh leaves the part out, loudly; .ci/run installs the files
        assert 'leaves out the part study' in res.stdout
        return
    study = json.loads((out/'study'/'result.json').read_text())
    assert {r['method'] for r in study['runs']} == set(STUDY_METHODS) and {r['seed'] for r in study['runs']} == {0}
    assert study['setup']['dataset'] == 'fashion_mnist' and all(r['workers'] == 2 for r in study['runs'])
    assert (out/'study'/'result_referee.pth').exists() and 'runs, 2 at a time' in (out/'study'/'log.txt').read_text()


def run_sh(*args, **env):
    return subprocess.run(['bash', str(KIT/'run.sh'), *args], capture_output=True, text=True, env={**os.environ, **env}, timeout=60)


def test_run_sh_checks_its_arguments_first(tmp_path):
    res = run_sh()
    assert res.returncode == 2 and 'usage' in res.stderr
    res = run_sh('--dry-run', str(tmp_path/'out'), KIT_WHEELS=str(tmp_path/'nowhere'))
    assert res.returncode == 2 and 'no wheels' in res.stderr and 'fetch_wheels.sh' in res.stderr
    (tmp_path/'w').mkdir(); (tmp_path/'w'/'x-1-py3-none-any.whl').write_bytes(b'')
    (tmp_path/'file').write_text('')
    res = run_sh('--dry-run', str(tmp_path/'file'/'out'), KIT_WHEELS=str(tmp_path/'w'))
    assert res.returncode == 2 and 'OUTDIR' in res.stderr
    res = run_sh('--dry-run', str(tmp_path/'out'), KIT_WHEELS=str(tmp_path/'w'), PYTHON='no-such-python')
    assert res.returncode == 2 and 'PYTHON' in res.stderr


def test_run_sh_checks_the_study_part_before_installing(tmp_path):
    (tmp_path/'w').mkdir(); (tmp_path/'w'/'x-1-py3-none-any.whl').write_bytes(b'')
    wheels = {'KIT_WHEELS': str(tmp_path/'w'), 'KIT_PARTS': 'study'}
    res = run_sh(str(tmp_path/'out'), KIT_DATA=str(tmp_path/'nowhere'), **wheels)
    assert res.returncode == 2 and 'lacks train-images-idx3-ubyte.gz' in res.stderr and 'fetch_data.sh' in res.stderr
    data = tmp_path/'data'; data.mkdir()
    for f in FASHION_MNIST_SHA256: (data/f).write_bytes(b'')
    (tmp_path/'old.json').write_text('{}')   # an earlier call's results file without its referee
    for env, message in [({'KIT_STUDY_WORKERS': '0'}, "KIT_STUDY_WORKERS='0'"), ({'KIT_STUDY_BUDGET': 'ten'}, "KIT_STUDY_BUDGET='ten'"),
                         ({'KIT_STUDY_BUDGET': '700'}, "expected seconds in [1, 560]"), ({'KIT_STUDY_SEEDS': '0,1'}, "KIT_STUDY_SEEDS='0,1'"),
                         ({'KIT_STUDY_RESUME': str(tmp_path/'none.json')}, 'none.json is not a file'),
                         ({'KIT_STUDY_RESUME': str(tmp_path/'old.json')}, 'old_referee.pth is not a file'),
                         ({'KIT_PARTS': 'checks study'}, "expected KIT_PARTS=study alone")]:
        res = run_sh(str(tmp_path/'out'), KIT_DATA=str(data), **{**wheels, **env})
        assert res.returncode == 2 and message in res.stderr and 'installing' not in res.stdout, (env, res.stderr)


@pytest.mark.skipif(FASHION_MNIST is None, reason=f"Fashion-MNIST's files are in none of {FASHION_MNIST_FOLDERS}")
def test_the_study_part_resumes_from_an_earlier_calls_results(tmp_path):
    "A call stopped by its budget keeps its runs; the next call, given that results file, trains only what is missing."
    study = [sys.executable, str(KIT/'fashion_mnist_study.py'), '--data', str(FASHION_MNIST), '--dry-run']
    first = subprocess.run([*study, '--out', str(tmp_path/'first'), '--workers', '1'], capture_output=True, text=True, timeout=600)
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    again = subprocess.run([*study, '--out', str(tmp_path/'again'), '--resume', str(tmp_path/'first'/'result.json')],
                           capture_output=True, text=True, timeout=600)
    assert again.returncode == 0 and 'resumed from' in again.stdout and '7 runs already there' in again.stdout, again.stdout[-3000:] + again.stderr[-3000:]
    assert 'referee (lenet' not in again.stdout and 'seed 0 PGD-AT' not in again.stdout   # nothing trained again
    assert json.loads((tmp_path/'again'/'result.json').read_text()) == json.loads((tmp_path/'first'/'result.json').read_text())
    res = subprocess.run([*study, '--out', str(tmp_path/'x'), '--resume', str(tmp_path/'none.json')], capture_output=True, text=True, timeout=120)
    assert res.returncode != 0 and 'none.json' in res.stderr and 'with its referee beside it' in res.stderr
    res = subprocess.run([*study, '--out', str(tmp_path/'x'), '--workers', '0'], capture_output=True, text=True, timeout=120)
    assert res.returncode == 2 and '--workers 0: expected at least 1' in res.stderr


def test_fetch_wheels_refuses_a_bad_python_version(tmp_path):
    res = subprocess.run(['bash', str(KIT/'fetch_wheels.sh'), str(tmp_path), 'twelve'], capture_output=True, text=True)
    assert res.returncode == 2 and 'PYTHON_VERSION' in res.stderr


def test_wheel_list_pins_every_wheel():
    lines = [l.strip() for l in (KIT/'wheels.txt').read_text().splitlines() if l.strip() and not l.startswith('#')]
    assert len(lines) >= 20 and all(l.count('==') == 1 for l in lines), lines
    names = {l.split('==')[0] for l in lines}
    assert {'fastai', 'fastcore', 'fasttransform', 'fastprogress', 'plum-dispatch', 'mlxtend',
            'adversarial-robustness-toolbox', 'execnb'} <= names


def test_cell_selection():
    assert flags('#| cuda\n#| hide\nx = 1') == {'cuda', 'hide'}
    assert imports('import torch\nx = 1') and imports('#| export\nfrom a import b') and not imports('x = "import y"')
    assert skipped('#| eval: false\nimport x') and skipped('import nbdev; nbdev.nbdev_export()') and not skipped('import torch')
    notebooks = cuda_notebooks()
    assert 'nbs/05_callbacks.ipynb' in {f'nbs/{p.name}' for p in notebooks}
    cells = notebooks[ROOT/'nbs'/'05_callbacks.ipynb']
    assert any(c['id'] == '70fd8728' and 'cuda' in flags(''.join(c['source'])) for c in cells)


def test_outputs_are_merged_as_a_notebook_shows_them(tmp_path):
    assert terminal_text('epoch  loss\n█\r\rEpoch 1/4 : |--| 0% [0/75]\r\rEpoch 1/4 : |██| 100%\r\r0  2.3\n') == 'epoch  loss\n0  2.3\n'
    outs = [{'name': 'stdout', 'output_type': 'stream', 'text': ['a\rb\n']},
            {'name': 'stderr', 'output_type': 'stream', 'text': ['UserWarning: ...\n']}]
    assert for_readers(outs) == [{'name': 'stdout', 'output_type': 'stream', 'text': ['b\n']}]
    nb = {'cells': [{'cell_type': 'code', 'id': 'c1', 'source': ['#| cuda\n'], 'outputs': [], 'metadata': {}, 'execution_count': None}],
          'metadata': {}, 'nbformat': 4, 'nbformat_minor': 5}
    (tmp_path/'nb.ipynb').write_text(json.dumps(nb))
    result = {'checks': [{'ok': True, 'notebook': 'nbs/nb.ipynb', 'outputs': {'c1': outs}},
                         {'ok': False, 'notebook': 'nbs/nb.ipynb', 'outputs': {'c1': [{'output_type': 'stream', 'name': 'stdout', 'text': ['no\n']}]}}]}
    (tmp_path/'r.json').write_text(json.dumps(result))
    merge(tmp_path/'r.json', nbs=tmp_path)
    assert json.loads((tmp_path/'nb.ipynb').read_text())['cells'][0]['outputs'] == for_readers(outs)


def test_a_part_stopped_by_its_budget_keeps_what_it_measured(tmp_path):
    "run.sh ends a part over its budget with SIGINT: the checks done so far stay in result.json, and the exit says so."
    proc = subprocess.Popen([sys.executable, str(KIT/'cuda_checks.py'), '--dry-run', '--no-compile', '--out', str(tmp_path)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    result = tmp_path/'result.json'
    deadline = time.time() + 300
    while time.time() < deadline and proc.poll() is None:
        if result.exists() and json.loads(result.read_text())['checks']: break
        time.sleep(0.5)
    # a SIGINT that lands inside a finalizer is reported by Python as "Exception ignored" and lost: repeat it until it lands
    while proc.poll() is None and time.time() < deadline + 120:
        proc.send_signal(signal.SIGINT)
        try: proc.wait(timeout=1)
        except subprocess.TimeoutExpired: pass
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 130, out[-2000:]
    data = json.loads(result.read_text())
    assert data['meta']['stopped_by_budget'] and data['checks'] and all(c['ok'] for c in data['checks'])
    assert 'stopped by its time budget' in out
