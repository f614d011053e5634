"""deep-plain: a 20-layer plain ReLU MLP with PyTorch's default init; fixes: residual, batch norm.

``torch.nn.Linear``'s default init draws weights from ``U(+-1/sqrt(fan_in))`` (variance
``1/(3 fan_in)``) and biases likewise. Through a ReLU layer the input-dependent part of the
signal shrinks by a factor 6 in mean square (variance recursion: ``fan_in * 1/(3 fan_in) / 2``)
while the random biases keep adding an input-independent part, so after 20 layers every input
has (to about 1e-9) the same representation (cosine similarity 1) and the network outputs one
value. Gradients to the early layers vanish by the same factor, so training cannot recover.
Scaled residual connections (``h + relu(W h + b) / sqrt(blocks)``) carry the input through the
skip path; batch normalization re-standardizes each layer, restoring the input-dependent part.
"""
from __future__ import annotations

from fastrelu.network import MLP
from fastrelu.optim import SGD
from fastrelu.scenarios._base import TEACHER_DATA, Arm, teacher_data

NAME = "deep-plain"
SUMMARY = "20-layer plain MLP (PyTorch default init): representations converge; fixes: residual, batchnorm"
DEFAULT_STEPS = 300
DEPTH = 20
SIZES = [8] + [32] * DEPTH + [1]
DATA = TEACHER_DATA
data = teacher_data


def arms() -> list[Arm]:

    opt = lambda: SGD(0.01)  # noqa: E731
    return [
        Arm("plain, 20 layers", "broken", lambda s: MLP(SIZES, init="torch_default", seed=s), opt),
        Arm("scaled residual", "fix",
            lambda s: MLP(SIZES, init="torch_default", seed=s, residual=True), opt),
        Arm("batch norm", "fix",
            lambda s: MLP(SIZES, init="torch_default", seed=s, batchnorm=True), opt),
    ]
