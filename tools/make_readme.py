"""Regenerate README.md from nbs/index.ipynb without Quarto (which `nbdev_readme` needs).

Markdown cells are copied, with links to notebooks pointed into nbs/; code cells become fenced Python without their `#|`
directives; hidden cells are dropped and `echo: false` cells show their output only; text outputs become fenced blocks,
HTML tables (fastai's results table) are kept, and images are written to nbs/images/ and linked."""
import base64, json, re
from pathlib import Path

root = Path(__file__).resolve().parent.parent
images = root/'nbs'/'images'

def _src(cell): return ''.join(cell['source'])

def _output_md(out, name):
    if out['output_type'] == 'stream':
        return f"```\n{''.join(out['text']).rstrip()}\n```" if out.get('name') == 'stdout' else ''
    data = out.get('data', {})
    if 'image/png' in data:
        images.mkdir(exist_ok=True)
        (images/f'{name}.png').write_bytes(base64.b64decode(''.join(data['image/png'])))
        return f"![](nbs/images/{name}.png)"
    html = ''.join(data.get('text/html', ''))
    if '<table' in html: return html.strip()
    text = ''.join(data.get('text/plain', ''))
    return f"```\n{text.rstrip()}\n```" if text and not text.startswith(('<IPython', '<Figure')) else ''

def notebook_to_markdown(nb_path) -> str:
    nb = json.loads(Path(nb_path).read_text())
    parts = [f"<!-- Generated from {Path(nb_path).relative_to(root)} by tools/make_readme.py: edit the notebook, not this file. -->"]
    for cell in nb['cells']:
        src = _src(cell)
        if cell['cell_type'] == 'markdown':
            parts.append(re.sub(r'\]\((\d\d_\w+\.ipynb)\)', r'](nbs/\1)', src.strip())); continue
        lines = src.split('\n')
        options = [l.strip().replace(' ', '') for l in lines if l.lstrip().startswith('#|')]
        if '#|hide' in options: continue
        code = '\n'.join(l for l in lines if not l.lstrip().startswith('#|')).strip()
        if code and '#|echo:false' not in options: parts.append(f"```python\n{code}\n```")
        outputs = [_output_md(out, f"readme_{cell['id']}_{i}") for i, out in enumerate(cell.get('outputs', []))]
        parts += [md for md in outputs if md]
    return '\n\n'.join(parts) + '\n'

if __name__ == '__main__':
    (root/'README.md').write_text(notebook_to_markdown(root/'nbs'/'index.ipynb'))
    print("README.md written from nbs/index.ipynb")
