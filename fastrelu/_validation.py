"""The one argument-checking mechanism of fastrelu.

Every public function states what it accepts as *constraints*, in the spirit of
scikit-learn's ``_parameter_constraints``, and every failure reads the same way::

    <name>=<what was given> is not accepted; expected <what is accepted>

A value of the wrong type raises ``TypeError`` (the message then also names the type given),
a value of the right type outside what is accepted raises ``ValueError``. Constraints are small
objects (:class:`Int`, :class:`Real`, :class:`Bool`, :class:`Choice`, :class:`DType`); a
function declares them with :func:`validated`, or checks one value with :func:`check`.

Examples
--------
>>> check("steps", 3, Int(minimum=0))
3
>>> check("steps", -1, Int(minimum=0))
Traceback (most recent call last):
ValueError: steps=-1 is not accepted; expected an integer >= 0
>>> check("loss", 7, Choice(("mse", "cross_entropy")))
Traceback (most recent call last):
TypeError: loss=7 (int) is not accepted; expected one of 'mse', 'cross_entropy'
"""
from __future__ import annotations

import functools
import inspect
import math
import numbers
from typing import Any, Callable, Iterable, Mapping, TypeVar

import numpy as np

from fastrelu.rules import LOSSES

F = TypeVar("F", bound=Callable[..., Any])

DTYPES = {"float32": np.dtype(np.float32), "float64": np.dtype(np.float64)}

__all__ = ["Int", "Real", "Bool", "Choice", "DType", "Seed", "check", "validate", "validated", "reject",
           "LOSSES", "DTYPES"]


def show(value: Any) -> str:
    """``repr(value)``, cut to 80 characters."""
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def reject(exc: type[Exception], name: str, value: Any, accepted: str) -> Exception:
    """The one error message: ``name``, what was given and what is accepted.

    Returns the exception so callers write ``raise reject(...)``.
    """
    given = show(value)
    if exc is TypeError:
        given += f" ({type(value).__name__})"
    return exc(f"{name}={given} is not accepted; expected {accepted}")


def _is_bool(value: Any) -> bool:
    return isinstance(value, (bool, np.bool_))


class Constraint:
    """What a parameter accepts. Subclasses set ``describe()`` and ``check(name, value)``."""

    none: bool = False

    def describe(self) -> str:
        raise NotImplementedError

    def accepted(self) -> str:
        return self.describe() + (" or None" if self.none else "")

    def check(self, name: str, value: Any) -> Any:
        if value is None and self.none:
            return None
        return self._check(name, value)

    def _check(self, name: str, value: Any) -> Any:
        raise NotImplementedError


class Int(Constraint):
    """An integer (not a bool) in ``[minimum, maximum]``."""

    def __init__(self, minimum: int | None = None, maximum: int | None = None, *, none: bool = False):
        self.minimum, self.maximum, self.none = minimum, maximum, none

    def describe(self) -> str:
        if self.minimum is not None and self.maximum is not None:
            return f"an integer in [{self.minimum}, {self.maximum}]"
        if self.minimum is not None:
            return f"an integer >= {self.minimum}"
        if self.maximum is not None:
            return f"an integer <= {self.maximum}"
        return "an integer"

    def _check(self, name: str, value: Any) -> int:
        if _is_bool(value) or not isinstance(value, numbers.Integral):
            raise reject(TypeError, name, value, self.accepted())
        out = int(value)
        if (self.minimum is not None and out < self.minimum) or (self.maximum is not None and out > self.maximum):
            raise reject(ValueError, name, out, self.accepted())
        return out


class Seed(Int):
    """A seed for ``numpy.random.default_rng``: an integer >= 0, or None."""

    def __init__(self) -> None:
        super().__init__(minimum=0, none=True)


class Real(Constraint):
    """A finite real number (not a bool), optionally > 0, >= 0 or < ``below``."""

    def __init__(self, *, positive: bool = False, nonnegative: bool = False, below: float | None = None,
                 none: bool = False):
        self.positive, self.nonnegative, self.below, self.none = positive, nonnegative, below, none

    def describe(self) -> str:
        parts = ["> 0" if self.positive else ">= 0" if self.nonnegative else None,
                 None if self.below is None else f"< {self.below:g}"]
        bounds = " and ".join(p for p in parts if p)
        return "a finite number" + (f" {bounds}" if bounds else "")

    def _check(self, name: str, value: Any) -> float:
        if _is_bool(value) or not isinstance(value, numbers.Real):
            raise reject(TypeError, name, value, self.accepted())
        out = float(value)
        if (not math.isfinite(out) or (self.positive and out <= 0) or (self.nonnegative and out < 0)
                or (self.below is not None and out >= self.below)):
            raise reject(ValueError, name, value, self.accepted())
        return out


class Bool(Constraint):
    """True or False (NumPy bools included; 0 and 1 are not booleans)."""

    def describe(self) -> str:
        return "True or False"

    def _check(self, name: str, value: Any) -> bool:
        if not _is_bool(value):
            raise reject(TypeError, name, value, self.accepted())
        return bool(value)


class Choice(Constraint):
    """One of a fixed set of strings."""

    def __init__(self, options: Iterable[str], *, none: bool = False):
        self.options, self.none = tuple(options), none

    def describe(self) -> str:
        return "one of " + ", ".join(map(repr, self.options))

    def _check(self, name: str, value: Any) -> str:
        if not isinstance(value, str):
            raise reject(TypeError, name, value, self.accepted())
        if value not in self.options:
            raise reject(ValueError, name, value, self.accepted())
        return value


class DType(Constraint):
    """``"float32"`` or ``"float64"`` (any spelling NumPy reads as one of them)."""

    def describe(self) -> str:
        return "'float32' or 'float64'"

    def _check(self, name: str, value: Any) -> np.dtype:
        try:
            dt = np.dtype(value)
        except TypeError:
            dt = None
        if dt is None or dt.name not in DTYPES:
            raise reject(ValueError, name, value, self.accepted())
        return DTYPES[dt.name]


def check(name: str, value: Any, constraint: Constraint) -> Any:
    """``value`` checked against ``constraint`` (and normalized: ints, floats, dtypes)."""
    return constraint.check(name, value)


def validate(values: Mapping[str, Any], constraints: Mapping[str, Constraint]) -> dict[str, Any]:
    """Check every entry of ``values`` that has a constraint; return the checked dict."""
    out = dict(values)
    for name, constraint in constraints.items():
        if name in out:
            out[name] = constraint.check(name, out[name])
    return out


def validated(**constraints: Constraint) -> Callable[[F], F]:
    """Declare the constraints of a function's parameters; they are checked on every call,
    in the order declared, before the body runs (which then sees the normalized values)."""

    def decorate(func: F) -> F:
        sig = inspect.signature(func)
        unknown = set(constraints) - set(sig.parameters)
        if unknown:
            raise AssertionError(f"{func.__qualname__} has no parameters {sorted(unknown)}")

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            bound = sig.bind(*args, **kwargs)
            bound.apply_defaults()
            checked = validate(bound.arguments, constraints)
            return func(**checked)

        wrapper.__validated__ = constraints  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorate


# --------------------------------------------------------------------------------------------
# the older one-value helpers, kept as thin spellings of the constraints above


def check_choice(name: str, value: Any, choices: Iterable[str]) -> str:
    return Choice(choices).check(name, value)


def check_int(name: str, value: Any, *, minimum: int | None = None, allow_none: bool = False) -> int | None:
    return Int(minimum, none=allow_none).check(name, value)


def check_float(name: str, value: Any, *, positive: bool = False, nonnegative: bool = False,
                below: float | None = None, allow_none: bool = False) -> float | None:
    return Real(positive=positive, nonnegative=nonnegative, below=below, none=allow_none).check(name, value)


def check_bool(name: str, value: Any) -> bool:
    return Bool().check(name, value)


def check_dtype(name: str, value: Any) -> np.dtype:
    return DType().check(name, value)


def check_seed(name: str, value: Any) -> int | None:
    return Seed().check(name, value)


def check_seeds(name: str, seeds: Any) -> list[int]:
    """One :class:`Seed` per member, as a list: checked in bulk when they are all integers >= 0
    (a sweep passes thousands), else one by one so that an error names the entry ``name[j]``."""
    if isinstance(seeds, np.ndarray) and seeds.dtype.kind in "iu" and seeds.ndim == 1:
        if seeds.size == 0 or seeds.min() >= 0:
            return seeds.tolist()
    elif set(map(type, seeds)) <= {int} and min(seeds, default=0) >= 0:
        return list(seeds)
    seed = Seed()
    return [seed.check(f"{name}[{j}]", s) for j, s in enumerate(seeds)]


# --------------------------------------------------------------------------------------------
# structured values: layer widths, data matrices, targets


def check_sizes(sizes: Any) -> tuple[int, ...]:
    """Layer widths such as ``[10, 64, 1]``: at least two integers >= 1."""
    accepted = "a sequence of at least two layer widths >= 1, such as [10, 64, 1]"
    if isinstance(sizes, (str, bytes)) or not isinstance(sizes, Iterable):
        raise reject(TypeError, "sizes", sizes, accepted)
    sizes = list(sizes)
    if len(sizes) < 2:
        raise reject(ValueError, "sizes", sizes, accepted)
    for i, s in enumerate(sizes):
        Int(minimum=1).check(f"sizes[{i}]", s)
    return tuple(int(s) for s in sizes)


def check_batchnorm_batches(batchnorm: bool, n_rows: int, batch_size: int) -> None:
    """Batch normalization cannot normalize a batch of one row (as in PyTorch): refuse a
    ``batch_size`` that leaves one."""
    if batchnorm and (batch_size == 1 or n_rows == 1 or n_rows % batch_size == 1):
        raise reject(ValueError, "batch_size", batch_size,
                     f"a batch size that leaves no one-row batch with {n_rows} rows: batch "
                     "normalization cannot normalize a single row (as in PyTorch)")


def as_matrix(name: str, X: Any, dtype: np.dtype, width: int | None = None) -> np.ndarray:
    """A finite, non-empty, 2-D C-contiguous array of ``dtype`` (a copy only when needed)."""
    accepted = "a 2-D array (rows, features) of finite real numbers" + (
        "" if width is None else f" with {width} columns (the network's input width)")
    if isinstance(X, (str, bytes)) or X is None:
        raise reject(TypeError, name, X, accepted)
    try:
        arr = np.asarray(X)
    except Exception as exc:  # ragged lists and the like
        raise TypeError(f"{name} is not accepted ({exc}); expected {accepted}") from None
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{name} of dtype {arr.dtype} is not accepted; expected {accepted}")
    if arr.ndim != 2 or arr.shape[0] == 0 or (width is not None and arr.shape[1] != width):
        raise ValueError(f"{name} of shape {arr.shape} is not accepted; expected {accepted}")
    arr = _writable_contiguous(arr, dtype)
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} containing NaN or inf is not accepted; expected {accepted}")
    return arr


def _writable_contiguous(arr: np.ndarray, dtype) -> np.ndarray:
    """C-contiguous and writeable: read-only arrays would make numba compile new kernel versions."""
    arr = np.ascontiguousarray(arr, dtype=dtype)
    return arr if arr.flags.writeable else arr.copy()


def check_targets(y: Any, loss: str, n_rows: int, n_out: int) -> "np.ndarray | None":
    """``y`` checked as :func:`as_targets` checks it (None passes), returned as an array of its
    own shape and dtype (a measurement keeps (n,) targets apart from (n, 1) ones)."""
    if y is None:
        return None
    as_targets(y, loss, n_rows, n_out, np.float64)
    return np.asarray(y)


def as_targets(y: Any, loss: str, n_rows: int, n_out: int, dtype: np.dtype) -> tuple[np.ndarray, np.ndarray]:
    """Targets as the kernels want them: ``(y_float (n, n_out), y_labels (n,) int64)``.

    For "mse" the labels are a zero dummy; for "cross_entropy" the float targets have zero columns.
    """
    if loss == "mse":
        accepted = f"finite float targets of shape ({n_rows}, {n_out}) like the output" + (
            f" or ({n_rows},)" if n_out == 1 else "")
    else:
        accepted = f"integer class labels 0..{n_out - 1} of shape ({n_rows},) for loss='cross_entropy'"
    if y is None or isinstance(y, (str, bytes)):
        raise reject(TypeError, "y", y, accepted)
    arr = np.asarray(y)
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"y of dtype {arr.dtype} is not accepted; expected {accepted}")
    if loss == "mse":
        if arr.ndim == 1 and n_out == 1:
            arr = arr[:, None]
        if arr.shape != (n_rows, n_out):
            raise ValueError(f"y of shape {np.shape(y)} is not accepted; expected {accepted}")
        y_float = _writable_contiguous(arr, dtype)
        if not np.isfinite(y_float).all():
            raise ValueError(f"y containing NaN or inf is not accepted; expected {accepted}")
        return y_float, np.zeros(n_rows, np.int64)
    if arr.shape != (n_rows,):
        raise ValueError(f"y of shape {arr.shape} is not accepted; expected {accepted}")
    if arr.dtype.kind == "f" and not (np.isfinite(arr).all() and np.all(arr == np.round(arr))):
        raise TypeError(f"y holding non-integer values is not accepted; expected {accepted}")
    labels = arr.astype(np.int64)
    if labels.min() < 0 or labels.max() >= n_out:
        raise ValueError(f"y holding labels in [{labels.min()}, {labels.max()}] is not accepted; "
                         f"expected {accepted}")
    return np.empty((n_rows, 0), dtype), _writable_contiguous(labels, np.int64)
