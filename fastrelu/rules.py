"""The rules fastrelu measures by, each written once: dead units, collapse, the mean loss.

Every front end (``fr.fit``'s records, ``fr.diagnose``, sweep rows, the scenarios, the PyTorch
bridge) imports these functions, so a sweep row and a diagnosis of the same net agree.

Dead unit
    A hidden unit whose ReLU input is <= 0 on every row of the data: it outputs 0 and passes
    no gradient for any of them (in a residual layer: its ReLU branch is dead). A layer whose
    units are all dead is a *dead layer*; in a plain net the output is then one value for
    every input ("born dead" at initialization, Lu et al. 2019).
Collapse
    The outputs are not all finite, or their standard deviation across rows (mean over output
    columns) is at most :data:`COLLAPSE_RATIO` times the target's (mean over columns; one-hot
    labels for cross-entropy). Such a network varies its output across inputs by less than a
    thousandth of what the task asks for: for any purpose it outputs one value. Non-finite
    outputs count as collapsed because they tell no input apart either.
Loss
    Mean squared error over all entries, or mean softmax cross-entropy of integer labels,
    computed in float64.

Examples
--------
>>> import numpy as np
>>> pre = np.array([[-1.0, 2.0], [-3.0, 0.0]])
>>> dead_fraction(pre)
0.5
>>> is_collapsed(output_std=1e-5, target_std=1.0, finite=True)
True
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

#: Output std at or below this fraction of the target std counts as collapsed.
COLLAPSE_RATIO = 1e-3

#: Losses fastrelu trains and measures with.
LOSSES = ("mse", "cross_entropy")


def is_dead(max_pre):
    """The dead-unit rule on each unit's largest ReLU input over the rows: ``<= 0`` (a NaN
    maximum is not dead: the unit's input is not a number, which the finite checks report)."""
    return np.asarray(max_pre) <= 0


def dead_units(pre: np.ndarray) -> np.ndarray:
    """Boolean per unit: ReLU input ``pre`` (rows, units) is <= 0 on every row."""
    return is_dead(np.max(pre, axis=0))


def dead_fraction(pre: np.ndarray) -> float:
    """Fraction of a layer's units that are dead on the rows of ``pre`` (rows, units)."""
    return float(np.mean(dead_units(pre)))


def dead_fractions(preactivations: Sequence[np.ndarray]) -> list[float]:
    """:func:`dead_fraction` of every hidden layer, in order."""
    return [dead_fraction(p) for p in preactivations]


def has_dead_layer(fractions):
    """Whether some hidden layer has every unit dead (``fractions``: one per hidden layer,
    along the first axis: an array (layers, nets) gives one answer per net)."""
    return np.any(np.asarray(fractions) == 1.0, axis=0)


def output_std(out: np.ndarray) -> float:
    """Standard deviation of the outputs across rows, mean over output columns (float64)."""
    return float(np.std(np.asarray(out, dtype=np.float64), axis=0).mean())


def one_hot(labels: np.ndarray, n_classes: int | None = None) -> np.ndarray:
    """Integer labels as a float64 one-hot matrix (``n_classes`` default: max label + 1)."""
    labels = np.asarray(labels).astype(np.int64).ravel()
    k = int(labels.max()) + 1 if n_classes is None else int(n_classes)
    return np.eye(k)[labels]


def target_std(y: np.ndarray, loss: str) -> float:
    """The collapse rule's yardstick: std of the targets across rows, mean over columns
    (one-hot labels for ``"cross_entropy"``)."""
    if loss == "cross_entropy":
        return float(one_hot(y).std(axis=0).mean())
    y = np.asarray(y, dtype=np.float64)
    return output_std(y.reshape(len(y), -1))


def collapsed(output_std, target_std, finite):
    """The collapse rule (module docstring), elementwise over arrays of networks."""
    return np.logical_not(finite) | (np.asarray(output_std) <= COLLAPSE_RATIO * target_std)


def is_collapsed(output_std: float, target_std: float, finite: bool) -> bool:
    """The collapse rule for one network."""
    return bool(collapsed(output_std, target_std, finite))


def infer_loss(y, n_out: int) -> str:
    """The loss a model's targets call for: ``"cross_entropy"`` for integer labels (1-D) and
    more than one output, else ``"mse"``."""
    if y is not None and np.asarray(y).dtype.kind in "iu" and np.ndim(y) == 1 and n_out > 1:
        return "cross_entropy"
    return "mse"


def mean_loss(out: np.ndarray, y: np.ndarray, loss: str) -> float:
    """Mean loss of outputs ``out`` (rows, k) against ``y``, in float64.

    ``"mse"``: ``y`` of ``out``'s shape (or (rows,) for one output); ``"cross_entropy"``:
    integer labels of shape (rows,).
    """
    out = np.asarray(out, dtype=np.float64)
    if loss == "mse":
        return float(np.mean(np.square(out - np.asarray(y, dtype=np.float64).reshape(out.shape))))
    z = out - out.max(axis=1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    labels = np.asarray(y).astype(np.int64).ravel()
    return float(-np.mean(logp[np.arange(len(labels)), labels]))
