"""Compile fastrelu's kernels ahead of time: for CI images, Docker layers and Dask workers.

The first use of each kernel family after an install compiles it into the kernel cache (see
the README's "How the core is built"); :func:`warmup` runs a tiny workload of each family so
that later processes only load them. Each part reports how long it took and whether its
kernels were already cached, so ``fastrelu warmup`` doubles as a measurement of the first run.

Parts
-----
``fit``
    ``fr.fit`` and the passes of ``fr.MLP`` (forward, activations, gradients) in float32:
    SGD/Adam/RMSprop, mse and cross-entropy, plain, residual and batch-norm nets. This is
    what the scenarios use.
``fit-float64``
    The same in float64.
``parallel``
    The parallel chunked gradient of batches of 256 rows or more.
``wide``
    The BLAS path of wide layers (at least 2^21 multiply-adds per batch).
``ensemble``
    ``fr.Ensemble.fit`` and the sweep engine's measurement kernel (``fr.sweep``).
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from fastrelu import _validation as v
from fastrelu.network import MLP
from fastrelu.optim import SGD, Adam, RMSprop
from fastrelu.training import fit

__all__ = ["warmup", "WarmupPart", "PARTS"]


@dataclass
class WarmupPart:
    """One part of :func:`warmup`: its name, the seconds it took, whether it was cached before."""

    name: str
    seconds: float
    cached: bool


def _data(n: int, d: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, d)), rng.normal(size=(n, 2)), rng.integers(0, 3, size=n)


def _fit_family(dtype: str) -> None:
    X, y, labels = _data(40, 3)
    for kw in ({}, {"residual": True}, {"batchnorm": True}):
        net = MLP([3, 8, 8, 2], seed=0, dtype=dtype, **kw)
        for opt in (SGD(0.01, momentum=0.9), Adam(1e-3), RMSprop(1e-3, momentum=0.5)):
            fit(net, X, y, optimizer=opt, epochs=1, batch_size=8, seed=0, clip_norm=1.0)
        net.forward(X)
        net.activations(X)
        net.gradients(X, y)
        net3 = MLP([3, 8, 8, 3], seed=0, dtype=dtype, **kw)
        fit(net3, X, labels, optimizer=SGD(0.01), loss="cross_entropy", batch_size=8, seed=0)
        net3.gradients(X, labels, loss="cross_entropy")


def _parallel() -> None:
    X, y, _ = _data(512, 3)
    for dtype in ("float32", "float64"):
        fit(MLP([3, 8, 8, 2], seed=0, dtype=dtype), X, y, optimizer=SGD(0.01), steps=2, batch_size=256, seed=0)


def _wide() -> None:
    X, y, _ = _data(16, 512)
    for dtype in ("float32", "float64"):
        net = MLP([512, 512, 2], seed=0, dtype=dtype)
        fit(net, X, y, optimizer=SGD(0.01), steps=2, batch_size=8, seed=0)
        net.forward(X)


def _ensemble() -> None:
    from fastrelu.sweeps import sweep

    X, y, _ = _data(40, 3)
    sweep({"width": [8], "seed": [0, 1]}, data=(X, y), steps=2, batch_size=8)
    # at initialization: both measurement paths (narrow and wide nets) and both compiled
    # generators (fused draws, rai)
    sweep({"width": [8, 32], "init": ["he", "rai"], "seed": [0, 1]}, data=(X, y), steps=0)


#: Every part, in the order :func:`warmup` runs them, with the cache entry that shows it is cached.
PARTS: dict[str, tuple[Callable[[], None], str]] = {
    "fit": (lambda: _fit_family("float32"), "fit"),
    "fit-float64": (lambda: _fit_family("float64"), "fit"),
    "parallel": (_parallel, "fit"),
    "wide": (_wide, "fit"),
    "ensemble": (_ensemble, "ensemble"),
}


def warmup(parts: Sequence[str] | None = None, *, progress: Callable[[str, int, int], None] | None = None
           ) -> list[WarmupPart]:
    """Compile (or load) the kernels of ``parts`` (default: all of :data:`PARTS`), in order.

    ``progress(name, done, total)`` is called before each part (the library never prints).
    ``cached`` says whether the part's main cache entry existed before (a hint: a part can
    still compile a specialization the entry does not cover).

    Examples
    --------
    >>> import fastrelu as fr
    >>> [p.name for p in fr.warmup(["fit"])]
    ['fit']
    """
    if parts is None:
        parts = list(PARTS)
    if isinstance(parts, str) or not isinstance(parts, (list, tuple)):
        raise v.reject(TypeError, "parts", parts, "a list of part names: " + ", ".join(PARTS))
    for name in parts:
        v.check_choice("parts", name, PARTS)
    from fastrelu.runtime import kernels_cached

    done = []
    for i, name in enumerate(parts):
        if progress is not None:
            progress(name, i, len(parts))
        run, entry = PARTS[name]
        cached = kernels_cached(entry)
        start = time.perf_counter()
        with np.errstate(all="ignore"):
            run()
        done.append(WarmupPart(name, time.perf_counter() - start, cached))
    return done
