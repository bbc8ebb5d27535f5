"""Regenerate README.md from nbs/index.ipynb without Quarto (which `nbdev_readme` needs).

Markdown cells are copied; code cells become fenced Python without their `#|` directives; hidden cells
are dropped; text outputs become fenced blocks and HTML tables (fastai's results table) are kept."""
import json
from pathlib import Path

root = Path(__file__).resolve().parent.parent

def _src(cell): return ''.join(cell['source'])

def _output_md(out):
    if out['output_type'] == 'stream':
        return f"```\n{''.join(out['text']).rstrip()}\n```" if out.get('name') == 'stdout' else ''
    data = out.get('data', {})
    html = ''.join(data.get('text/html', ''))
    if '<table' in html: return html.strip()
    text = ''.join(data.get('text/plain', ''))
    return f"```\n{text.rstrip()}\n```" if text and not text.startswith('<IPython') else ''

def notebook_to_markdown(nb_path) -> str:
    nb = json.loads(Path(nb_path).read_text())
    parts = [f"<!-- Generated from {Path(nb_path).relative_to(root)} by tools/make_readme.py: edit the notebook, not this file. -->"]
    for cell in nb['cells']:
        src = _src(cell)
        if cell['cell_type'] == 'markdown': parts.append(src.strip()); continue
        lines = src.split('\n')
        if any(l.strip() in ('#| hide', '#|hide') for l in lines): continue
        code = '\n'.join(l for l in lines if not l.lstrip().startswith('#|')).strip()
        if code: parts.append(f"```python\n{code}\n```")
        parts += [md for md in map(_output_md, cell.get('outputs', [])) if md]
    return '\n\n'.join(parts) + '\n'

if __name__ == '__main__':
    (root/'README.md').write_text(notebook_to_markdown(root/'nbs'/'index.ipynb'))
    print("README.md written from nbs/index.ipynb")
