"The documentation site, checked as far as it can be without Quarto: configuration and links, then the rendered pages."
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT/'tools'))
import check_docs  # noqa: E402


def test_top_level_quarto_yml_is_the_one_nbdev_reads_and_every_link_resolves():
    assert check_docs.check_config() == []


@pytest.mark.skipif(check_docs.find_chromium() is None, reason="no Chromium binary: install Debian's chromium or set $CHROMIUM")
def test_every_processed_notebook_renders_in_chromium_without_traceback_or_directive(tmp_path):
    "nbdev_proc_nbs (a no-op when _proc/ is current), nbconvert HTML, headless Chromium: tools/check_docs.py end to end."
    res = subprocess.run([sys.executable, str(ROOT/'tools'/'check_docs.py'), '--out', str(tmp_path)], cwd=ROOT,
                         capture_output=True, text=True, timeout=1200)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    assert 'docs check: passed' in res.stdout
    shots = sorted(p.stem for p in (tmp_path/'screenshots').glob('*.png'))
    assert shots == sorted(p.stem for p in (ROOT/'nbs').glob('*.ipynb'))
