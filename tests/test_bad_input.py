"Bad input to the library's entry points fails at once with a message that names the argument and the expected range."
import pytest
import torch

from spat_nb.attacks import Attack, pgd, spat_attack
from spat_nb.evaluate import evaluate_robustness
from spat_nb.masks import shared_pixel_mask
from spat_nb.models import get_model

model = get_model('small_cnn', 'mnist5k').eval()
x, y = torch.rand(4, 1, 28, 28), torch.tensor([0, 1, 2, 3])


@pytest.mark.parametrize('call, message', [
    (lambda: pgd(model, x, y, eps=-1, alpha=0.1), 'eps=-1 is out of range'),
    (lambda: pgd(model, x, y, eps=0.1, alpha=0.1, restarts=0), 'restarts=0 is out of range'),
    (lambda: pgd(model, x, y, eps=0.1, alpha=0.1, start='gaussian'), "start='gaussian' is invalid"),
    (lambda: spat_attack(model, x, y, eps=0.1, alpha=0.1, per='channel'), "per='channel' is invalid"),
    (lambda: shared_pixel_mask(model, x, y, threshold=-0.5), 'threshold=-0.5 is out of range'),
    (lambda: evaluate_robustness(model, (x, y), eps=0.1, n=10), 'n=10 is out of range'),
    (lambda: evaluate_robustness(model, (x, y), eps=-0.1, n=4), 'eps=-0.1 is out of range'),
    (lambda: Attack(0.1, 0.1, steps=2.5), 'steps=2.5 is out of range'),
])
def test_bad_input_names_the_argument(call, message):
    with pytest.raises(ValueError) as e: call()
    assert message in str(e.value)
