"Attacks under mixed precision and channels_last on a CIFAR-sized ResNet, on the CPU and (where there is one) the GPU."
import pytest
import torch

from spat_nb.attacks import pgd, spat_attack, trades_attack
from spat_nb.masks import assert_model_unchanged, model_snapshot
from spat_nb.models import get_model

ATTACKS = {
    'pgd': lambda m, x, y: pgd(m, x, y, eps=8/255, alpha=2/255, steps=2),
    'trades': lambda m, x, y: trades_attack(m, x, eps=8/255, alpha=2/255, steps=2),
    'spat-topk-refresh': lambda m, x, y: spat_attack(m, x, y, eps=8/255, alpha=2/255, steps=2, top_k=3, refresh=True, per='pixel'),
    'spat-l2': lambda m, x, y: spat_attack(m, x, y, eps=0.5, alpha=0.1, steps=2, norm='l2', loss='kl', top_k=10),
}

devices = ['cpu'] + (['cuda'] if torch.cuda.is_available() else [])
dtypes = {'cpu': [torch.bfloat16, torch.float16], 'cuda': [torch.bfloat16, torch.float16]}


@pytest.mark.parametrize('device,dtype', [(d, t) for d in devices for t in dtypes[d]])
@pytest.mark.parametrize('name', list(ATTACKS))
def test_autocast_channels_last(name, device, dtype):
    torch.manual_seed(0)
    model = get_model('preact_resnet18', 'cifar100').to(device).to(memory_format=torch.channels_last).train()
    x = torch.rand(4, 3, 32, 32, device=device).contiguous(memory_format=torch.channels_last)
    y = torch.randint(0, 100, (4,), device=device)
    before = model_snapshot(model)
    with torch.autocast(device, dtype=dtype):
        x_adv = ATTACKS[name](model, x, y)
    assert_model_unchanged(model, before)
    assert x_adv.dtype == torch.float32 and x_adv.shape == x.shape
    assert torch.isfinite(x_adv).all() and 0 <= x_adv.min() and x_adv.max() <= 1
    assert (x_adv != x).any(), "the attack did not move"
    if name != 'spat-l2':
        assert (x_adv - x).abs().max() <= 8/255 + 1e-6
