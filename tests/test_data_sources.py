"The CIFAR acquisition paths (unpack, download, checksum, no network) and bad arguments to get_dls."
import hashlib
import os
import pickle

import pytest
import torch

from spat_nb import data
from spat_nb.data import get_dls, write_cifar_fixture


@pytest.fixture
def cifar10_archive(tmp_path):
    "A CIFAR-10 archive in the official format, 5 x 30 training and 30 test images, outside the data folder."
    (tmp_path/'archives').mkdir()
    return write_cifar_fixture(tmp_path/'archives', 'cifar10', n_per_file=30)


def _with_source(monkeypatch, name, **changes):
    monkeypatch.setitem(data.CIFAR_SOURCES, name, {**data.CIFAR_SOURCES[name], **changes})


def test_download_is_verified_and_unpacked(tmp_path, monkeypatch, cifar10_archive):
    md5 = hashlib.md5(cifar10_archive.read_bytes()).hexdigest()
    _with_source(monkeypatch, 'cifar10', url=cifar10_archive.as_uri(), md5=md5)
    root = tmp_path/'data'
    dls = get_dls('cifar10', bs=32, path=root, device='cpu')
    assert (root/'cifar-10-batches-py').is_dir()
    assert (len(dls.train_ds), len(dls.valid_ds), dls.c) == (150, 30, 10)
    xb, yb = dls.one_batch()
    assert xb.dtype == torch.float32 and xb.shape == (32, 3, 32, 32) and 0 <= xb.min() and xb.max() <= 1


def test_corrupt_download_is_deleted(tmp_path, monkeypatch, cifar10_archive):
    _with_source(monkeypatch, 'cifar10', url=cifar10_archive.as_uri(), md5='0'*32)
    with pytest.raises(OSError, match='MD5 mismatch'):
        get_dls('cifar10', path=tmp_path/'data', device='cpu')
    assert not (tmp_path/'data'/'cifar-10-python.tar.gz').exists()


def test_no_network_says_where_to_put_the_files(tmp_path, monkeypatch):
    # port 9 on loopback refuses at once: the same failure as a machine without a network, without waiting
    _with_source(monkeypatch, 'cifar10', url='http://127.0.0.1:9/cifar-10-python.tar.gz')
    root = tmp_path/'data'
    with pytest.raises(FileNotFoundError) as e:
        get_dls('cifar10', path=root, device='cpu')
    msg = str(e.value)
    assert 'Could not download cifar10' in msg and str(root) in msg and 'cifar-10-python.tar.gz' in msg and 'cifar-10-batches-py' in msg


def test_no_download_allowed(tmp_path):
    with pytest.raises(FileNotFoundError, match='download=False'):
        get_dls('cifar100', path=tmp_path, download=False, device='cpu')


def test_refuses_code_in_pickles(tmp_path):
    folder = tmp_path/'cifar-10-batches-py'
    folder.mkdir()
    class Evil:
        def __reduce__(self): return (os.system, ('echo pwned',))
    (folder/'batches.meta').write_bytes(pickle.dumps({'label_names': Evil()}))
    with pytest.raises(pickle.UnpicklingError, match='refusing to load'):
        data.load_cifar('cifar10', tmp_path, download=False)


@pytest.mark.parametrize('kwargs, message', [
    (dict(name='svhn'), "name='svhn'; expected one of: mnist5k, digits, cifar10, cifar100"),
    (dict(name='digits', bs=0), 'bs=0 is out of range'),
    (dict(name='digits', valid_pct=0.0), 'valid_pct=0.0 is out of range'),
    (dict(name='digits', n_train=5), 'n_train=5 is out of range; expected an integer in [10, 1437]'),
    (dict(name='mnist5k', n_valid=1001), 'n_valid=1001 is out of range'),
])
def test_bad_arguments_name_the_argument(kwargs, message):
    with pytest.raises(ValueError) as e:
        get_dls(device='cpu', **kwargs)
    assert message in str(e.value)
