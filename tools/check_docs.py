"""Check the documentation site as far as it can be checked without Quarto.

    python tools/check_docs.py [--skip-proc] [--out DIR]

1. Configuration: the top-level `_quarto.yml` is the site's configuration and `nbs/_quarto.yml` links to it (nbdev reads
   the one in nbs/); every page the navbar and the sidebar link to exists, the "Tutorial" link is the tutorial, and the
   sidebar lists every notebook.
2. `nbdev_proc_nbs` (skipped with --skip-proc, to reuse an existing `_proc/`): `_proc/` then holds every notebook.
3. Each processed notebook, as Quarto displays it (leading `#|` cell options stripped, the code of `echo: false` cells
   hidden), is rendered to HTML with nbconvert and opened in headless Chromium: the rendered page must show
   no traceback, no raw `#|` directive, and every image its notebook holds, each a decodable image. A screenshot of the
   top of each page is written to DIR/screenshots for a person to look at.

4. Outputs: every code cell whose preceding markdown cell ends with a colon ("What a user sees:") has an output
   (`#| export` cells, which show code, and `#| eval: false` cells excepted), so that no page announces what it does not show.

Exit status 0 when every check passes; each failure is printed on its own line. Needs nbconvert (the dev extra) and,
for step 3, a Chromium binary (`chromium`, Debian's package; or $CHROMIUM).
"""
from __future__ import annotations

import argparse
import base64
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from html.parser import HTMLParser
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
NBS = ROOT/'nbs'


def _hrefs(node):
    "Every local page a Quarto navbar or sidebar entry points to."
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ('href', 'contents') and isinstance(value, str) and not value.startswith(('http', '#')): yield value
            else: yield from _hrefs(value)
    elif isinstance(node, list):
        for item in node:
            if isinstance(item, str) and not item.startswith(('http', '#')): yield item
            else: yield from _hrefs(item)


def check_config() -> list[str]:
    problems = []
    top, linked = ROOT/'_quarto.yml', NBS/'_quarto.yml'
    if not top.is_file() or top.is_symlink(): problems.append("_quarto.yml is not a file at the top level")
    if not (linked.is_symlink() and linked.resolve() == top.resolve()):
        problems.append("nbs/_quarto.yml is not a symbolic link to ../_quarto.yml (nbdev reads nbs/_quarto.yml)")
    quarto, sidebar = yaml.safe_load(top.read_text()), yaml.safe_load((NBS/'sidebar.yml').read_text())
    site = quarto.get('website', {})
    for page in list(_hrefs([site.get('navbar', {}), site.get('sidebar', {})])) + list(_hrefs(sidebar)):
        if not (NBS/page).is_file(): problems.append(f"a link in the site's configuration points at {page}, which is not in nbs/")
    tutorial = [item.get('href') for item in quarto['website']['navbar']['left'] if item.get('text') == 'Tutorial']
    if tutorial != ['09_tutorial.ipynb']: problems.append(f"the navbar's Tutorial link points at {tutorial}, not 09_tutorial.ipynb")
    listed = set(_hrefs(sidebar))
    for nb in sorted(p.name for p in NBS.glob('*.ipynb')):
        if nb not in listed: problems.append(f"{nb} is not in nbs/sidebar.yml")
    return problems


def check_announced_outputs() -> list[str]:
    "Code cells announced by a markdown cell that ends with a colon, but committed without an output."
    problems = []
    for nb_path in sorted(NBS.glob('*.ipynb')):
        cells = json.loads(nb_path.read_text())['cells']
        for before, cell in zip(cells, cells[1:]):
            if before['cell_type'] != 'markdown' or cell['cell_type'] != 'code': continue
            if not ''.join(before['source']).rstrip().endswith(':'): continue
            options = [line.replace(' ', '') for line in ''.join(cell['source']).splitlines() if line.startswith('#|')]
            if {'#|eval:false', '#|export', '#|exports'} & set(options) or cell.get('outputs'): continue
            problems.append(f"{nb_path.name}: cell {cell.get('id')} follows a sentence ending with ':' but has no output")
    return problems


def run_proc():
    "nbdev_proc_nbs, with a stand-in `quarto` that only reports a version where Quarto is not installed."
    env = dict(os.environ)
    if not shutil.which('quarto'):
        shim = Path(tempfile.mkdtemp())
        (shim/'quarto').write_text('#!/bin/sh\necho 1.6.0\n'); (shim/'quarto').chmod(0o755)
        env['PATH'] = f"{shim}{os.pathsep}{env['PATH']}"
    subprocess.run([str(Path(sys.executable).parent/'nbdev_proc_nbs')], cwd=ROOT, env=env, check=True)


def check_proc() -> list[str]:
    proc = ROOT/'_proc'
    missing = [p.name for p in NBS.glob('*.ipynb') if not (proc/p.name).is_file()]
    problems = [f"_proc/ lacks {name}" for name in missing]
    if (proc/'_quarto.yml').read_text() != (ROOT/'_quarto.yml').read_text(): problems.append("_proc/_quarto.yml differs from _quarto.yml")
    return problems


class _Page(HTMLParser):
    "The visible text and the images of a rendered page."
    def __init__(self):
        super().__init__(); self.text, self.images, self._skip = [], [], 0
    def handle_starttag(self, tag, attrs):
        if tag in ('script', 'style'): self._skip += 1
        if tag == 'img': self.images.append(dict(attrs).get('src', ''))
    def handle_endtag(self, tag):
        if tag in ('script', 'style'): self._skip -= 1
    def handle_data(self, data):
        if not self._skip: self.text.append(data)


def _image_ok(src: str) -> bool:
    "A data URI holding a PNG, JPEG or SVG."
    m = re.match(r'data:image/(png|jpeg|svg\+xml)(;base64)?,(.*)', src, re.S)
    if not m: return False
    if m.group(2) is None: return '<svg' in m.group(3)
    raw = base64.b64decode(m.group(3))
    return raw.startswith(b'\x89PNG') or raw.startswith(b'\xff\xd8') or b'<svg' in raw[:500]


def _n_images(nb_path: Path) -> int:
    nb = json.loads(nb_path.read_text())
    return sum(any(k.startswith('image/') for k in out.get('data', {}))
               for cell in nb['cells'] for out in cell.get('outputs', []))


def find_chromium() -> str|None:
    "$CHROMIUM, or the first Chromium or Chrome binary on the PATH."
    names = ('chromium', 'chromium-browser', 'google-chrome', 'google-chrome-stable')
    return os.environ.get('CHROMIUM') or next((p for p in map(shutil.which, names) if p), None)


def _as_quarto_shows(nb_path: Path, dest: Path) -> Path:
    "A copy of a processed notebook as Quarto displays it: leading `#|` option lines stripped, `echo: false` cells' code hidden."
    nb = json.loads(nb_path.read_text())
    for cell in nb['cells']:
        for key in [k for k in cell if k not in ('cell_type', 'execution_count', 'id', 'metadata', 'outputs', 'source', 'attachments')]:
            del cell[key]   # nbdev's own marks (e.g. has_sd), which the notebook schema does not allow
        if cell['cell_type'] != 'code': continue
        lines = ''.join(cell['source']).splitlines(True)
        n_options = next((i for i, line in enumerate(lines) if not line.startswith('#|')), len(lines))
        options, code = lines[:n_options], lines[n_options:]
        cell['source'] = '' if any(re.match(r'#\|\s*echo:\s*false', o) for o in options) else ''.join(code)
    dest.write_text(json.dumps(nb))
    return dest


def check_html(out: Path) -> list[str]:
    chromium = find_chromium()
    if not chromium: return ["no Chromium binary found (install Debian's chromium, or set $CHROMIUM)"]
    html_dir, shots, shown_nbs = out/'html', out/'screenshots', out/'as_quarto_shows'
    for d in (html_dir, shots, shown_nbs): d.mkdir(parents=True, exist_ok=True)
    notebooks = sorted((ROOT/'_proc').glob('*.ipynb'))
    copies = [_as_quarto_shows(nb, shown_nbs/nb.name) for nb in notebooks]
    subprocess.run([sys.executable, '-m', 'nbconvert', '--to', 'html', '--output-dir', str(html_dir), '--log-level', 'WARN',
                    *map(str, copies)], check=True)
    flags = ['--headless', '--no-sandbox', '--disable-gpu', '--hide-scrollbars', '--allow-file-access-from-files']
    problems = []
    for nb in notebooks:
        page = html_dir/f'{nb.stem}.html'
        dom = subprocess.run([chromium, *flags, '--virtual-time-budget=5000', '--dump-dom', page.as_uri()],
                             capture_output=True, text=True, timeout=120).stdout
        subprocess.run([chromium, *flags, '--window-size=1200,1600', f'--screenshot={shots/nb.stem}.png', page.as_uri()],
                       capture_output=True, timeout=120)
        parsed = _Page(); parsed.feed(dom)
        text = ''.join(parsed.text)
        if not dom.strip(): problems.append(f"{nb.name}: Chromium rendered nothing"); continue
        if 'Traceback (most recent call last)' in text: problems.append(f"{nb.name}: the page shows a traceback")
        directives = [line.strip() for line in text.splitlines() if line.strip().startswith('#|')]
        if directives: problems.append(f"{nb.name}: the page shows raw directives, e.g. {directives[0]!r}")
        expected, shown = _n_images(nb), [src for src in parsed.images if _image_ok(src)]
        if len(shown) < expected: problems.append(f"{nb.name}: {len(shown)} of its {expected} images render")
        if not (shots/f'{nb.stem}.png').is_file(): problems.append(f"{nb.name}: no screenshot was written")
        print(f"{nb.name}: {len(shown)} images, {len(text.split())} words, screenshot {shots/nb.stem}.png")
    return problems


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--skip-proc', action='store_true', help="reuse _proc/ instead of running nbdev_proc_nbs")
    parser.add_argument('--skip-html', action='store_true', help="only the configuration and _proc/ checks")
    parser.add_argument('--out', default='_docs_check', help="folder for the HTML pages and the screenshots")
    args = parser.parse_args()
    problems = check_config() + check_announced_outputs()
    if not args.skip_proc: run_proc()
    problems += check_proc()
    if not args.skip_html: problems += check_html(Path(args.out).resolve())
    for p in problems: print(f"FAIL: {p}")
    print("docs check: " + ("passed" if not problems else f"{len(problems)} problem(s)"))
    sys.exit(1 if problems else 0)


if __name__ == '__main__':
    main()
