"""What every part of the GPU kit shares: the machine it ran on, and a report that is written to disk after each entry,
so that a part stopped by its time budget still leaves everything it had measured."""
from __future__ import annotations
import datetime, json, os, platform, subprocess, sys, time, traceback
from pathlib import Path

def environment() -> dict:
    "The device, the library versions and the date: the header of every figure the kit records."
    import torch
    env = {'date': datetime.datetime.now().isoformat(timespec='seconds'), 'python': platform.python_version(),
           'torch': torch.__version__, 'cuda': torch.version.cuda, 'cuda_available': torch.cuda.is_available()}
    if torch.cuda.is_available():
        props = torch.cuda.get_device_properties(0)
        env |= {'device': torch.cuda.get_device_name(0), 'capability': f'{props.major}.{props.minor}',
                'multiprocessors': props.multi_processor_count, 'memory_gib': round(props.total_memory / 2**30, 1),
                'cudnn': torch.backends.cudnn.version(), 'bf16_supported': torch.cuda.is_bf16_supported()}
    else: env['device'] = f'CPU ({platform.machine()}), {torch.get_num_threads()} threads'
    try: env['nvidia_smi'] = subprocess.run(['nvidia-smi', '--query-gpu=name,driver_version,memory.total,clocks.max.sm',
                                             '--format=csv,noheader'], capture_output=True, text=True, timeout=20).stdout.strip()
    except (OSError, subprocess.SubprocessError): env['nvidia_smi'] = None
    for name in ('fastai', 'fastcore', 'art', 'execnb', 'numpy'):
        try: env[name] = __import__(name).__version__
        except ImportError: env[name] = None
    return env

class Report:
    "A part's record: `log` prints and appends to `log.txt`; `check` runs one named check and rewrites `result.json`."
    def __init__(self, out:str|Path, part:str, **meta):
        self.dir = Path(out); self.dir.mkdir(parents=True, exist_ok=True)
        # run.sh tees every part's output into log.txt (so a crash before this point is logged too): then print only
        self.log_file = None if os.environ.get('KIT_TEED_LOG') else open(self.dir/'log.txt', 'a')
        self.data = {'part': part, 'meta': {**environment(), 'command': ' '.join([Path(sys.executable).name] + sys.argv), **meta},
                     'checks': []}
        self.log(f"# {part}: {self.data['meta']['date']}, {self.data['meta']['device']}, torch {self.data['meta']['torch']}")
        self.save()

    def log(self, text:str=''):
        print(text, flush=True)
        if self.log_file: self.log_file.write(text + '\n'); self.log_file.flush()

    def save(self):
        (self.dir/'result.json').write_text(json.dumps(self.data, indent=1, default=float))

    def check(self, name:str, fn, *args, **kwargs):
        """Run `fn(*args, **kwargs)`, which returns a dict of figures and fails by raising, or by listing what failed under
        the key 'failures' (so that its figures are recorded all the same)."""
        start = time.perf_counter()
        entry = {'name': name}
        try:
            figures = fn(*args, **kwargs) or {}
            failures = figures.pop('failures', [])
            entry |= {'ok': not failures, **figures}
            if failures: entry['error'] = '; '.join(failures)
        except Exception as e:   # a failed check is a result to record; the part goes on with the next one
            entry |= {'ok': False, 'error': f'{type(e).__name__}: {e}', 'traceback': traceback.format_exc(limit=6)}
        entry['seconds'] = round(time.perf_counter() - start, 2)
        self.data['checks'].append(entry); self.save()
        figures = ', '.join(f'{k}={_short(v)}' for k, v in entry.items() if k not in ('name', 'ok', 'traceback', 'seconds'))
        self.log(f"{'ok  ' if entry['ok'] else 'FAIL'} {name} ({entry['seconds']} s): {figures}")
        return entry

    @property
    def failed(self): return [c['name'] for c in self.data['checks'] if not c['ok']]

    def close(self):
        self.data['meta']['failed'] = self.failed; self.save()
        self.log(f"{len(self.data['checks']) - len(self.failed)} passed, {len(self.failed)} failed")
        if self.log_file: self.log_file.close()
        return 1 if self.failed else 0

def _short(v):
    if isinstance(v, float): return f'{v:.4g}'
    if isinstance(v, (list, tuple)) and len(v) > 6: return f'[{len(v)} values]'
    return v
