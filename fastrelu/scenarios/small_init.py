"""small-init: N(0, 0.01^2) weights in a 6-layer net make the signal vanish; He fixes it.

Each ReLU layer of width 32 with weight variance 1e-4 multiplies the mean squared activation
by ``32 * 1e-4 / 2 = 1.6e-3`` (variance recursion), so after 6 layers the input's influence on
the output is about 1e-9 of the target scale, and the gradients of the hidden weights, which
carry the same products of tiny weights, vanish too. He init (variance ``2/fan_in``) keeps the
mean square constant; Xavier (``2/(fan_in+fan_out) = 1/32``) halves it per ReLU layer, which
is survivable at this depth but shrinks the signal 64-fold.
"""
from __future__ import annotations

from fastrelu.network import MLP
from fastrelu.optim import SGD
from fastrelu.scenarios._base import TEACHER_DATA, Arm, teacher_data

NAME = "small-init"
SUMMARY = "tiny N(0, 0.01) weights in a 6-layer net: activations vanish; fix: He (Xavier is weaker)"
DEFAULT_STEPS = 300
SIZES = [8] + [32] * 6 + [1]
DATA = TEACHER_DATA
data = teacher_data


def arms() -> list[Arm]:

    opt = lambda: SGD(0.01)  # noqa: E731  (0.05 made the He arm diverge for 5 of 20 seeds)
    return [
        Arm("small init (std 0.01)", "broken", lambda s: MLP(SIZES, init="small", seed=s), opt),
        Arm("He init", "fix", lambda s: MLP(SIZES, init="he", seed=s), opt),
        Arm("Xavier init", "fix", lambda s: MLP(SIZES, init="xavier", seed=s), opt),
    ]
