"""lr-explosion: SGD with learning rate 10 (the article's value) and its fixes.

Plain SGD at lr 10 on a mean-squared-error loss is unstable in the output layer alone (the
output bias update multiplies its error by ``1 - 2 * lr = -19`` per step), so the run
overflows within a few steps while killing many hidden units on the way. Clipping the gradient
norm to 1 bounds every step at ``lr * 1 = 10``: the run no longer overflows, but those big
steps drive every unit of a hidden layer into the region where ReLU is 0 on all inputs, after
which no gradient reaches them again and the network outputs one constant (the target mean).
A sane SGD rate, Adam, RMSprop, or a clip small enough that ``lr * clip_norm`` is a sane step
all train.
"""
from __future__ import annotations

from fastrelu.network import MLP
from fastrelu.optim import SGD, Adam, RMSprop
from fastrelu.scenarios._base import TEACHER_DATA, Arm, teacher_data

NAME = "lr-explosion"
SUMMARY = "SGD with lr=10 (the article's value): divergence or dead units; fixes: sane lr, Adam, RMSprop, clipping"
DEFAULT_STEPS = 300
SIZES = [8, 32, 32, 1]
DATA = TEACHER_DATA
data = teacher_data


def arms() -> list[Arm]:

    net = lambda s: MLP(SIZES, init="he", seed=s)  # noqa: E731
    return [
        Arm("SGD lr=10", "broken", net, lambda: SGD(10.0)),
        Arm("SGD lr=10 clip=1", "broken", net, lambda: SGD(10.0), clip_norm=1.0),
        Arm("SGD lr=0.05", "fix", net, lambda: SGD(0.05)),
        Arm("Adam lr=1e-3", "fix", net, lambda: Adam(1e-3)),
        Arm("RMSprop lr=1e-3", "fix", net, lambda: RMSprop(1e-3)),
        Arm("SGD lr=10 clip=0.01", "fix", net, lambda: SGD(10.0), clip_norm=0.01),
    ]
