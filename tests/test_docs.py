"The documentation site, checked as far as it can be without Quarto: configuration and links, then the rendered pages."
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT/'tools'))
import check_docs  # noqa: E402


def test_top_level_quarto_yml_is_the_one_nbdev_reads_and_every_link_resolves():
    assert check_docs.check_config() == []


def test_every_cell_announced_with_a_colon_has_an_output():
    assert check_docs.check_announced_outputs() == []


def test_an_announced_cell_without_output_is_reported(tmp_path, monkeypatch):
    "The check can fail: a notebook whose markdown promises an output that its next code cell does not have."
    cell = lambda kind, text, **kw: {'cell_type': kind, 'id': text[:8].replace(' ', '_'), 'metadata': {}, 'source': [text], **kw}
    nb = {'cells': [cell('markdown', 'What a user sees:'), cell('code', 'print(1)', outputs=[], execution_count=None),
                    cell('markdown', 'A call that is not run:'), cell('code', '#| eval: false\nrun()', outputs=[], execution_count=None)],
          'metadata': {}, 'nbformat': 4, 'nbformat_minor': 5}
    (tmp_path/'00_x.ipynb').write_text(json.dumps(nb))
    monkeypatch.setattr(check_docs, 'NBS', tmp_path)
    problems = check_docs.check_announced_outputs()
    assert len(problems) == 1 and 'print(1)'[:8].replace(' ', '_') in problems[0] and '00_x.ipynb' in problems[0]


@pytest.mark.skipif(check_docs.find_chromium() is None, reason="no Chromium binary: install Debian's chromium or set $CHROMIUM")
def test_every_processed_notebook_renders_in_chromium_without_traceback_or_directive(tmp_path):
    "nbdev_proc_nbs (a no-op when _proc/ is current), nbconvert HTML, headless Chromium: tools/check_docs.py end to end."
    res = subprocess.run([sys.executable, str(ROOT/'tools'/'check_docs.py'), '--out', str(tmp_path)], cwd=ROOT,
                         capture_output=True, text=True, timeout=1200)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    assert 'docs check: passed' in res.stdout
    shots = sorted(p.stem for p in (tmp_path/'screenshots').glob('*.png'))
    assert shots == sorted(p.stem for p in (ROOT/'nbs').glob('*.ipynb'))
