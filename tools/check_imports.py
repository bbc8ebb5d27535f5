"""The package's modules import one way: core → data → models → masks → attacks → callbacks → evaluate → study → cli → testing.

    python tools/check_imports.py      # prints each module's imports of the package; exits 1 on an import of a module at or above it
"""
import re, sys
from pathlib import Path

ORDER = ['core', 'data', 'models', 'masks', 'attacks', 'callbacks', 'evaluate', 'study', 'cli', 'testing']
ROOT = Path(__file__).resolve().parents[1]/'spat_nb'

def package_imports(module:str) -> set:
    "The modules of `ORDER` that `spat_nb/<module>.py` imports, at the top or inside a function."
    src = (ROOT/f'{module}.py').read_text()
    found = re.findall(r'^\s*from \.(\w+) import', src, re.M) + re.findall(r'^\s*(?:from|import) spat_nb\.(\w+)', src, re.M)
    found += [m.strip() for names in re.findall(r'^\s*from (?:\.|spat_nb) import ([\w, ]+)', src, re.M) for m in names.split(',')]
    return set(found) & set(ORDER)

def main() -> int:
    missing = sorted(p.stem for p in ROOT.glob('[a-z]*.py') if p.stem not in ORDER)
    upward = []
    for m in ORDER:
        deps = sorted(package_imports(m), key=ORDER.index)
        print(f"{m:10s} imports {', '.join(deps) or '-'}")
        upward += [f"{m} imports {d}" for d in deps if ORDER.index(d) >= ORDER.index(m)]
    for problem in upward + [f"spat_nb/{m}.py has no place in the import order" for m in missing]: print(f"check_imports: {problem}")
    return 1 if upward or missing else 0

if __name__ == '__main__': sys.exit(main())
