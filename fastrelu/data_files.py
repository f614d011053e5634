"""``load_data``: a data file as ``(X, y)``, read as data (``.npz`` without pickles, ``.csv``).

============  ====================================================================================
suffix        layout
============  ====================================================================================
``.npz``      arrays ``X`` (rows, features) and optionally ``y``; read with ``allow_pickle=False``
``.csv``      a header row naming the columns, then one row per example of numbers; ``target``
              names the target column (default: a column called ``y`` or ``target``, if any)
============  ====================================================================================

A CSV has no types: a target column whose values are all integers is returned as int64
(class labels), any other as float64. An ``.npz`` keeps its arrays' dtypes. A file that cannot be read gets one ValueError naming it and what was expected.

Examples
--------
>>> import tempfile, pathlib
>>> path = pathlib.Path(tempfile.mkdtemp()) / "data.csv"
>>> _ = path.write_text("a,b,label\\n0.5,1,0\\n-1,2,1\\n")
>>> X, y = load_data(path, target="label")
>>> X.shape, y.tolist(), y.dtype.name
((2, 2), [0, 1], 'int64')
"""
from __future__ import annotations

import csv
import os
import zipfile
from pathlib import Path

import numpy as np

from fastrelu import _validation as v

__all__ = ["load_data", "DATA_SUFFIXES"]

#: Suffixes :func:`load_data` reads.
DATA_SUFFIXES = (".npz", ".csv")
#: Target column names tried, in order, when a CSV's target is not named.
DEFAULT_TARGETS = ("y", "target")


def _targets(y: np.ndarray) -> np.ndarray:
    y = np.asarray(y)
    if y.dtype.kind == "f" and y.size and np.all(np.isfinite(y)) and np.all(y == np.round(y)) and y.ndim == 1:
        return y.astype(np.int64)
    return y if y.dtype.kind in "iu" else y.astype(np.float64)


def _read_npz(path: Path) -> tuple[np.ndarray, np.ndarray | None]:
    try:
        with np.load(path, allow_pickle=False) as f:
            if "X" not in f.files:
                raise ValueError(f"{path} holds arrays {', '.join(f.files) or '(none)'}; expected an array named X "
                                 "(and optionally y)")
            X, y = f["X"], (f["y"] if "y" in f.files else None)
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise ValueError(f"{path} is not a readable .npz archive ({type(exc).__name__}: {exc}); expected arrays "
                         "X and y saved with numpy.savez") from None
    except ValueError as exc:
        if str(exc).startswith(str(path)):
            raise
        raise ValueError(f"{path} holds data that needs pickle ({exc}); expected plain numeric arrays X and y") from None
    if X.dtype.kind not in "biuf":
        raise ValueError(f"{path}: X has dtype {X.dtype}; expected numbers")
    if y is not None and y.dtype.kind not in "biuf":
        raise ValueError(f"{path}: y has dtype {y.dtype}; expected numbers")
    return X, y


def _read_csv(path: Path, target: str | None) -> tuple[np.ndarray, np.ndarray | None]:
    try:
        with open(path, newline="") as fh:
            rows = list(csv.reader(fh))
    except UnicodeDecodeError:
        raise ValueError(f"{path} is not a text CSV file; expected a header row and rows of numbers") from None
    if len(rows) < 2:
        raise ValueError(f"{path} has {len(rows)} lines; expected a header row and at least one row of numbers")
    header = [h.strip() for h in rows[0]]
    if target is None:
        target = next((t for t in DEFAULT_TARGETS if t in header), None)
    elif target not in header:
        raise v.reject(ValueError, "target", target, f"a column of {path}: {', '.join(header)}")
    try:
        values = np.array([[float(c) for c in r] for r in rows[1:] if r], dtype=np.float64)
    except ValueError as exc:
        raise ValueError(f"{path} holds a value that is not a number ({exc}); expected numbers below the header") from None
    if values.ndim != 2 or values.shape[1] != len(header):
        raise ValueError(f"{path}: rows do not all have the header's {len(header)} columns")
    if target is None:
        return values, None
    k = header.index(target)
    return np.delete(values, k, axis=1), _targets(values[:, k])


def load_data(path, target: str | None = None) -> tuple[np.ndarray, np.ndarray | None]:
    """Read ``(X, y)`` from ``path`` (``.npz`` or ``.csv``; ``y`` None when the file has none).

    Raises FileNotFoundError for a missing file and ValueError naming the file otherwise.

    Examples
    --------
    >>> import tempfile, pathlib, numpy as np
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "data.npz"
    >>> np.savez(path, X=np.zeros((3, 2)), y=np.arange(3.0))
    >>> X, y = load_data(path)
    >>> X.shape, y.dtype.name
    ((3, 2), 'float64')
    """
    if not isinstance(path, (str, os.PathLike)):
        raise v.reject(TypeError, "path", path, "a path to a .npz or .csv file")
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in DATA_SUFFIXES:
        raise v.reject(ValueError, "data", str(path), "a file ending in .npz (arrays X, y) or .csv (with a header)")
    if not path.is_file():
        raise FileNotFoundError(f"data file {path} does not exist")
    if path.stat().st_size == 0:
        raise ValueError(f"{path} is empty; expected {'arrays X and y' if suffix == '.npz' else 'a CSV with a header'}")
    if suffix == ".npz":
        if target is not None:
            raise v.reject(ValueError, "target", target, "no target name for a .npz file (it holds X and y)")
        return _read_npz(path)
    return _read_csv(path, target)
