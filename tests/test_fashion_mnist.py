"""The real Fashion-MNIST files, where installed (`.ci/run` installs Debian's dataset-fashion-mnist as root): counts, classes, checksums."""
import gzip, hashlib
from pathlib import Path

import pytest
import torch

from spat_nb.data import FASHION_MNIST_CLASSES, FASHION_MNIST_FOLDERS, FASHION_MNIST_SHA256, get_dls, load_fashion_mnist

FOLDER = next((Path(p).expanduser() for p in FASHION_MNIST_FOLDERS
               if all((Path(p).expanduser()/f).is_file() for f in FASHION_MNIST_SHA256)), None)
pytestmark = pytest.mark.skipif(FOLDER is None, reason=f"Fashion-MNIST's files are in none of {FASHION_MNIST_FOLDERS}")

def test_checksums_of_the_installed_files():
    for fname, sha in FASHION_MNIST_SHA256.items():
        with gzip.open(FOLDER/fname, 'rb') as f: assert hashlib.sha256(f.read()).hexdigest() == sha, fname

def test_counts_and_classes():
    x_train, y_train, x_test, y_test, classes = load_fashion_mnist()
    assert (x_train.shape, x_test.shape) == ((60_000, 1, 28, 28), (10_000, 1, 28, 28))
    assert x_train.dtype == torch.uint8 and int(x_train.max()) == 255
    assert torch.bincount(y_train).tolist() == [6_000] * 10 and torch.bincount(y_test).tolist() == [1_000] * 10
    assert classes == FASHION_MNIST_CLASSES == ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot']

def test_loaders_serve_the_official_split():
    dls = get_dls('fashion_mnist', bs=512, device='cpu')
    xb, yb = dls.one_batch()
    assert (len(dls.train_ds), len(dls.valid_ds)) == (60_000, 10_000)
    assert xb.dtype == torch.float32 and tuple(xb.shape[1:]) == (1, 28, 28) and 0 <= xb.min() and xb.max() <= 1

def test_a_copy_elsewhere_is_checked_too(tmp_path):
    for fname in FASHION_MNIST_SHA256: (tmp_path/fname).write_bytes((FOLDER/fname).read_bytes())
    assert len(load_fashion_mnist(tmp_path)[1]) == 60_000
    damaged = bytearray(gzip.decompress((FOLDER/'t10k-labels-idx1-ubyte.gz').read_bytes())); damaged[-1] = (damaged[-1] + 1) % 10
    (tmp_path/'t10k-labels-idx1-ubyte.gz').write_bytes(gzip.compress(bytes(damaged)))   # one label changed: a valid IDX file, not the official one
    with pytest.raises(ValueError, match="t10k-labels-idx1-ubyte.gz is not the official file"): load_fashion_mnist(tmp_path)
