"""Lend the dry run's virtualenv the GPU machine's packages that the calling Python already has, without copying them.

    python borrow_packages.py PACKAGE_LIST DEST

For every distribution installed in this interpreter whose name is in PACKAGE_LIST (gpu_machine_packages.txt), each
file its RECORD lists is symlinked into DEST at the same relative path; dry_run.sh then puts DEST on the virtualenv's
path with a .pth file. A fresh copy of torch with its CUDA libraries is 5.5 GB, and the
project's own virtualenv already holds one: a second would double the disk the test needs. Symlinking file by file (rather than
whole top-level folders) keeps namespace folders such as `nvidia/` exact, and anything Python writes lands in DEST,
never in the lending environment. Distributions not on the list (fastai, nbdev, spat_nb, ...) are not lent,
so an import the kit's wheel list forgot still fails. pip and setuptools are the virtualenv's own.
"""
import re
import sys
from importlib.metadata import distributions
from pathlib import Path

OWN = {'pip', 'setuptools'}


def normalized(name): return re.sub(r'[-_.]+', '-', name).lower()


def listed(path):
    return {normalized(l.strip()) for l in Path(path).read_text().splitlines() if l.strip() and not l.startswith('#')}


def lend(wanted, dest):
    "Symlink the files of every installed distribution in `wanted` into `dest`; return the names lent and those skipped."
    dest.mkdir(parents=True, exist_ok=True)
    lent, skipped, seen = [], [], set()
    for dist in distributions():
        name = normalized(dist.metadata['Name'])
        if name not in wanted or name in OWN or name in seen: continue
        seen.add(name)
        if dist.files is None: skipped.append(name); continue  # no RECORD: pip installs it into the virtualenv instead
        for rel in dist.files:
            if '..' in rel.parts: continue  # console scripts in bin/: the kit calls Python modules, not commands
            src = Path(dist.locate_file(rel))
            if not src.exists(): continue
            link = dest/rel
            link.parent.mkdir(parents=True, exist_ok=True)
            if not link.exists(): link.symlink_to(src.resolve())
        lent.append(name)
    return sorted(lent), sorted(skipped)


if __name__ == '__main__':
    if len(sys.argv) != 3: sys.exit('usage: borrow_packages.py PACKAGE_LIST DEST')
    lent, skipped = lend(listed(sys.argv[1]), Path(sys.argv[2]))
    print(f'lent {len(lent)} installed distributions by symlink: {" ".join(lent)}')
    if skipped: print(f'not lent (no RECORD): {" ".join(skipped)}')
