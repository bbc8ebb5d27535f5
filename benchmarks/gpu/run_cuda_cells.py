"""Run the notebooks' `#| cuda` cells with execnb, the engine under `nbdev_test`, and keep their outputs.

For each notebook with `#| cuda` cells, its imports and `#| export` definitions run, and its `#| cuda` cells, in notebook
order; nothing else runs, so the CPU demos and tests of the notebook cost no GPU time.
The outputs go to `OUT/result.json`, keyed by notebook and cell id; `--merge` writes them into the notebooks, where
`nbdev_clean` keeps them, so readers see what the cells printed on a GPU.

    python benchmarks/gpu/run_cuda_cells.py --out results/cells             # on a GPU
    python benchmarks/gpu/run_cuda_cells.py --out /tmp/cells --dry-run      # the CPU: run the import cells, compile the cuda cells
    python benchmarks/gpu/run_cuda_cells.py --merge results/cells/result.json
"""
from __future__ import annotations
import argparse, ast, builtins, json, re, signal, sys, time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from kitlib import Report

NBS = Path(__file__).parents[2]/'nbs'
FLAG = re.compile(r'^\s*#\|\s*(.*)$')

def flags(source:str) -> set:
    "The words of a cell's `#|` directives."
    return {w for line in source.splitlines() if (m := FLAG.match(line)) for w in m.group(1).split()}

def imports(source:str) -> bool:
    "Whether the cell has an import statement at its top level (nbdev's docs build runs such cells whatever their flags)."
    try: tree = ast.parse(source)
    except SyntaxError: return False
    return any(isinstance(node, (ast.Import, ast.ImportFrom)) for node in tree.body)

def free_names(source:str) -> set:
    "Names a cell reads at its top level without assigning them first (a cheap stand-in for running it)."
    tree = ast.parse(source)
    bound = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, (ast.Store, ast.Del))}
    bound |= {a.asname or a.name.split('.')[0] for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom)) for a in n.names}
    bound |= {n.name for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))}
    bound |= {a.arg for n in ast.walk(tree) if isinstance(n, ast.arguments) for a in n.args + n.kwonlyargs}
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)} - bound

def skipped(source:str) -> bool:
    "Cells that never run here: `#| eval: false` ones, and the footer that calls `nbdev_export` (it regenerates the library)."
    return bool(re.search(r'#\|\s*eval:\s*false', source)) or 'nbdev_export' in source

def cuda_notebooks(nbs:Path=NBS) -> dict:
    "Notebook path -> its cells, for every notebook with at least one `#| cuda` cell."
    found = {}
    for path in sorted(nbs.glob('*.ipynb')):
        cells = json.loads(path.read_text())['cells']
        if any(c['cell_type'] == 'code' and 'cuda' in flags(''.join(c['source'])) for c in cells): found[path] = cells
    return found

def run_notebook(path, cells, dry:bool) -> dict:
    "Run the import cells and the `#| cuda` cells of one notebook; returns `{cell id: outputs}` of the cuda cells."
    from execnb.nbio import dict2nb
    from execnb.shell import CaptureShell
    shell = CaptureShell(path.parent)
    selected = [c for c in cells if c['cell_type'] == 'code'
                and (flags(src := ''.join(c['source'])) & {'cuda', 'export'} or imports(src)) and not skipped(src)]
    outputs = {}
    for cell in selected:
        src = ''.join(cell['source'])
        if 'cuda' in flags(src):
            if dry:   # no GPU: the cell must parse, and every name it reads must exist once the cells before it have run
                missing = sorted(free_names(src) - set(shell.user_ns) - set(dir(builtins)))
                if missing: raise NameError(f"{path.name}, cell {cell['id']}: {', '.join(missing)} not defined by the cells the kit runs")
                outputs[cell['id']] = 'compiled (dry run)'; continue
        nb = dict2nb({'cells': [{**cell, 'source': src, 'outputs': []}], 'metadata': {}, 'nbformat': 4, 'nbformat_minor': 5})
        shell.run_all(nb, exc_stop=True)
        if 'cuda' in flags(src): outputs[cell['id']] = [dict(o) for o in nb.cells[0].outputs]
    return outputs

def terminal_text(text:str) -> str:
    "What a terminal ends up showing: of each line, the part after its last carriage return (progress bars redraw that way)."
    lines = (line.rsplit('\r', 1)[-1] for line in text.split('\n'))
    return '\n'.join(line for line in lines if line.strip() and set(line.strip()) != {'█'}) + '\n'

def for_readers(outputs:list) -> list:
    "The outputs as a notebook shows them: progress-bar frames collapsed, stderr (library warnings) left out."
    kept = []
    for o in outputs:
        if o.get('output_type') == 'stream':
            if o.get('name') == 'stderr': continue
            o = {**o, 'text': terminal_text(''.join(o['text'])).splitlines(True)}
        kept.append(o)
    return kept

def merge(result_file:str|Path, nbs:Path=NBS):
    "Write the outputs recorded in `result_file` into the notebooks' `#| cuda` cells."
    results = json.loads(Path(result_file).read_text())
    for check in results['checks']:
        if not check['ok'] or not isinstance(check.get('outputs'), dict): continue
        path = nbs/Path(check['notebook']).name
        nb = json.loads(path.read_text())
        for cell in nb['cells']:
            if isinstance(check['outputs'].get(cell.get('id')), list): cell['outputs'] = for_readers(check['outputs'][cell['id']])
        path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + '\n')
        print(f"merged {len(check['outputs'])} cell output(s) into {path}")

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--out', help='folder for result.json and log.txt')
    p.add_argument('--dry-run', action='store_true', help='run the import cells and only compile the cuda cells (no GPU needed)')
    p.add_argument('--merge', help='write the outputs of this result.json into the notebooks, then stop')
    args = p.parse_args(argv)
    signal.signal(signal.SIGINT, signal.default_int_handler)   # SIGINT may arrive ignored from a shell without job control
    if args.merge: return merge(args.merge)
    if not args.out: p.error('--out is required (or --merge)')
    import torch
    if not args.dry_run and not torch.cuda.is_available(): p.error("no CUDA device is available; use --dry-run on a CPU")
    report = Report(args.out, 'cuda_cells', dry_run=args.dry_run)
    try:
        for path, cells in cuda_notebooks().items():
            def one():
                start = time.perf_counter()
                outputs = run_notebook(path, cells, args.dry_run)
                for cid, outs in outputs.items():
                    for o in (outs if isinstance(outs, list) else []):
                        if o.get('output_type') == 'stream': report.log(terminal_text(''.join(o['text'])).rstrip())
                return {'notebook': f'nbs/{path.name}', 'outputs': outputs, 'cells_s': time.perf_counter() - start}
            report.check(f'cuda_cells/{path.name}', one)
    except KeyboardInterrupt:   # run.sh's time budget ends a part with SIGINT
        report.log('stopped by its time budget'); report.data['meta']['stopped_by_budget'] = True
    failed = report.close()
    return 130 if report.data['meta'].get('stopped_by_budget') else failed

if __name__ == '__main__': sys.exit(main())
