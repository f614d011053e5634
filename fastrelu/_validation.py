"""Declarative argument checks. Every error names the argument, what was given and what is accepted."""
from __future__ import annotations

import numbers
from typing import Any, Iterable

import numpy as np

DTYPES = {"float32": np.dtype(np.float32), "float64": np.dtype(np.float64)}
LOSSES = ("mse", "cross_entropy")


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def check_choice(name: str, value: Any, choices: Iterable[str]) -> str:
    choices = tuple(choices)
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{name}={_show(value)} is not accepted; expected one of {', '.join(map(repr, choices))}")
    return value


def check_int(name: str, value: Any, *, minimum: int | None = None, allow_none: bool = False) -> int | None:
    if value is None and allow_none:
        return None
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {_show(value)} ({type(value).__name__})")
    value = int(value)
    if minimum is not None and value < minimum:
        raise ValueError(f"{name}={value} is not accepted; expected an integer >= {minimum}")
    return value


def check_float(name: str, value: Any, *, positive: bool = False, nonnegative: bool = False,
                below: float | None = None, allow_none: bool = False) -> float | None:
    if value is None and allow_none:
        return None
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {_show(value)} ({type(value).__name__})")
    value = float(value)
    if not np.isfinite(value):
        raise ValueError(f"{name}={value} is not accepted; expected a finite number")
    if positive and value <= 0:
        raise ValueError(f"{name}={value} is not accepted; expected a number > 0")
    if nonnegative and value < 0:
        raise ValueError(f"{name}={value} is not accepted; expected a number >= 0")
    if below is not None and value >= below:
        raise ValueError(f"{name}={value} is not accepted; expected a number < {below}")
    return value


def check_bool(name: str, value: Any) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {_show(value)}")
    return bool(value)


def check_dtype(name: str, value: Any) -> np.dtype:
    try:
        dt = np.dtype(value)
    except TypeError:
        dt = None
    if dt is None or dt.name not in DTYPES:
        raise ValueError(f"{name}={_show(value)} is not accepted; expected 'float32' or 'float64'")
    return DTYPES[dt.name]


def check_seed(name: str, value: Any) -> int | None:
    if value is None:
        return None
    return check_int(name, value, minimum=0)


def check_sizes(sizes: Any) -> tuple[int, ...]:
    if isinstance(sizes, (str, bytes)) or not isinstance(sizes, Iterable):
        raise TypeError(f"sizes must be a sequence of layer widths such as [10, 64, 1], got {_show(sizes)}")
    sizes = list(sizes)
    if len(sizes) < 2:
        raise ValueError(f"sizes={_show(sizes)} is not accepted; expected at least two widths (input and output)")
    out = []
    for i, s in enumerate(sizes):
        if isinstance(s, (bool, np.bool_)) or not isinstance(s, numbers.Integral):
            raise TypeError(f"sizes[{i}] must be an integer width, got {_show(s)}")
        if s < 1:
            raise ValueError(f"sizes={_show(sizes)} is not accepted; every width must be >= 1 (sizes[{i}]={s})")
        out.append(int(s))
    return tuple(out)


def as_matrix(name: str, X: Any, dtype: np.dtype, width: int | None = None) -> np.ndarray:
    """A finite, non-empty, 2-D C-contiguous array of ``dtype`` (a copy only when needed)."""
    if isinstance(X, (str, bytes)) or X is None:
        raise TypeError(f"{name} must be a 2-D array of numbers, got {_show(X)}")
    try:
        arr = np.asarray(X)
    except Exception as exc:  # ragged lists and the like
        raise TypeError(f"{name} must be a 2-D array of numbers: {exc}") from None
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{name} must hold real numbers, got dtype {arr.dtype}")
    if arr.ndim != 2:
        raise ValueError(f"{name} must be 2-D (rows, features), got shape {arr.shape}")
    if arr.shape[0] == 0:
        raise ValueError(f"{name} is empty (shape {arr.shape}); expected at least one row")
    if width is not None and arr.shape[1] != width:
        raise ValueError(f"{name} has {arr.shape[1]} columns, expected {width} (the network's input width)")
    arr = _writable_contiguous(arr, dtype)
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} contains NaN or inf; expected finite values")
    return arr


def _writable_contiguous(arr: np.ndarray, dtype) -> np.ndarray:
    """C-contiguous and writeable: read-only arrays would make numba compile new kernel versions."""
    arr = np.ascontiguousarray(arr, dtype=dtype)
    return arr if arr.flags.writeable else arr.copy()


def as_targets(y: Any, loss: str, n_rows: int, n_out: int, dtype: np.dtype) -> tuple[np.ndarray, np.ndarray]:
    """Targets as the kernels want them: ``(yf (n, n_out) float, yi (n,) int64)``.

    For "mse" ``yi`` is a zero dummy; for "cross_entropy" ``yf`` has zero columns.
    """
    if y is None or isinstance(y, (str, bytes)):
        raise TypeError(f"y must be an array of targets, got {_show(y)}")
    arr = np.asarray(y)
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"y must hold numbers, got dtype {arr.dtype}")
    if arr.shape[:1] != (n_rows,):
        raise ValueError(f"y has {arr.shape[0] if arr.ndim else 0} rows but X has {n_rows}; they must match")
    if loss == "mse":
        if arr.ndim == 1 and n_out == 1:
            arr = arr[:, None]
        if arr.shape != (n_rows, n_out):
            raise ValueError(f"y has shape {arr.shape}; loss='mse' expects ({n_rows}, {n_out}) like the output")
        yf = _writable_contiguous(arr, dtype)
        if not np.isfinite(yf).all():
            raise ValueError("y contains NaN or inf; expected finite values")
        return yf, np.zeros(n_rows, np.int64)
    if arr.ndim != 1:
        raise ValueError(f"y has shape {arr.shape}; loss='cross_entropy' expects integer labels of shape ({n_rows},)")
    if arr.dtype.kind == "f":
        if not np.isfinite(arr).all() or not np.all(arr == np.round(arr)):
            raise TypeError("y must hold integer class labels for loss='cross_entropy', got non-integer values")
    labels = arr.astype(np.int64)
    if labels.min() < 0 or labels.max() >= n_out:
        raise ValueError(f"y holds labels in [{labels.min()}, {labels.max()}]; loss='cross_entropy' accepts "
                         f"0..{n_out - 1} for a network with {n_out} outputs")
    return np.empty((n_rows, 0), dtype), _writable_contiguous(labels, np.int64)
