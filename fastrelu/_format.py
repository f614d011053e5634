"""Turning numbers into text and JSON: short human numbers, and NaN/inf as JSON ``null``."""
from __future__ import annotations

import math
from typing import Any

import numpy as np


def fmt(x: float | None, decimals: int | None = None) -> str:
    """Short human number: ``decimals`` fixed places if given, else 3 significant digits.

    >>> fmt(0.000123), fmt(12.3456), fmt(None), fmt(0.5, 2), fmt(float("nan"))
    ('1.23e-04', '12.3', '-', '0.50', 'nan')
    """
    if x is None:
        return "-"
    x = float(x)
    if not math.isfinite(x):
        return str(x)
    if decimals is not None:
        return f"{x:.{decimals}f}"
    if x == 0:
        return "0"
    return f"{x:.3g}" if 1e-3 <= abs(x) < 1e4 else f"{x:.2e}"


def finite_or_none(x: Any) -> float | None:
    """``float(x)``, or None when ``x`` is None, NaN or infinite."""
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


def json_clean(obj: Any) -> Any:
    """A JSON-ready copy: dict keys as str, tuples as lists, NumPy scalars as Python ones,
    non-finite floats as None.

    >>> json_clean({"a": (np.float32(1.5), float("inf")), 2: np.int64(3)})
    {'a': [1.5, None], '2': 3}
    """
    if isinstance(obj, dict):
        return {str(k): json_clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_clean(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return json_clean(obj.tolist())
    if isinstance(obj, (float, np.floating)):
        return finite_or_none(obj)
    if isinstance(obj, np.bool_):
        return bool(obj)
    if isinstance(obj, np.integer):
        return int(obj)
    return obj
