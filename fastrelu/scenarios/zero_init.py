"""zero-init: all-zero weights give identical outputs; He initialization fixes it.

With every weight at 0 (and biases 0), every hidden unit outputs ``relu(0) = 0`` for every
input, the output is its bias, and backprop gives every hidden weight the same gradient: zero,
because the output weights are 0 and ReLU's derivative at 0 is 0. Only the output bias learns,
and it learns the mean of the targets.
"""
from __future__ import annotations

from fastrelu.network import MLP
from fastrelu.optim import SGD
from fastrelu.scenarios._base import TEACHER_DATA, Arm, teacher_data

NAME = "zero-init"
SUMMARY = "all-zero weights: every unit computes the same value and never moves; fix: He init"
DEFAULT_STEPS = 300
SIZES = [8, 32, 32, 1]
DATA = TEACHER_DATA
data = teacher_data


def arms() -> list[Arm]:

    return [
        Arm("zeros init", "broken", lambda s: MLP(SIZES, init="zeros", seed=s), lambda: SGD(0.05)),
        Arm("He init", "fix", lambda s: MLP(SIZES, init="he", seed=s), lambda: SGD(0.05)),
    ]
