"""``save`` / ``load``: a network as a plain ``.npz`` file of arrays (never pickles)."""
from __future__ import annotations

import os
import zipfile
from pathlib import Path

import numpy as np

from fastrelu import _validation as v
from fastrelu.network import MLP

FORMAT = 1
_KEYS = ("format", "sizes", "params", "running", "residual", "residual_scale", "batchnorm", "init")


def save(net: MLP, path) -> None:
    """Write ``net`` to ``path`` (.npz): parameters, running statistics and architecture, bit-exact.

    The file is written to a temporary name and renamed, so a crash never leaves half a file.

    Examples
    --------
    >>> import os, tempfile, numpy as np, fastrelu as fr
    >>> net = fr.MLP([3, 8, 1], seed=0)
    >>> path = os.path.join(tempfile.mkdtemp(), "net.npz")
    >>> fr.save(net, path)
    >>> bool(np.array_equal(fr.load(path).params, net.params))
    True
    """
    if not isinstance(net, MLP):
        raise v.reject(TypeError, "net", net, "a fastrelu.MLP")
    path = Path(os.fspath(path))
    if path.suffix != ".npz":
        path = path.with_name(path.name + ".npz")
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as fh:
        np.savez(fh, format=np.int64(FORMAT), sizes=np.asarray(net.sizes, np.int64), params=net.params,
                 running=net.running, residual=np.bool_(net.residual),
                 residual_scale=np.float64(net.residual_scale), batchnorm=np.bool_(net.batchnorm),
                 init=np.str_(net.init))
    os.replace(tmp, path)


def load(path) -> MLP:
    """Read a network written by :func:`save`. A malformed file raises ValueError.

    Files are data: read with ``np.load(..., allow_pickle=False)``.

    >>> import os, tempfile, fastrelu as fr
    >>> path = os.path.join(tempfile.mkdtemp(), "net.npz")
    >>> fr.save(fr.MLP([2, 4, 1], residual=True, seed=1), path)
    >>> fr.load(path)
    MLP([2, 4, 1], init='he', dtype='float32', residual=True)
    """
    path = Path(os.fspath(path))
    if not path.exists():
        raise FileNotFoundError(f"path={str(path)!r} does not exist")
    try:
        f = np.load(path, allow_pickle=False)
        if not isinstance(f, np.lib.npyio.NpzFile):
            raise ValueError("it holds a single array, not a .npz archive")
        with f:
            missing = [k for k in _KEYS if k not in f.files]
            if missing:
                raise ValueError(f"missing arrays {missing}")
            d = {k: f[k] for k in _KEYS}
    except ValueError as exc:
        raise ValueError(f"{path} is not a fastrelu network file: {exc}") from None
    except (OSError, zipfile.BadZipFile, EOFError, KeyError) as exc:
        raise ValueError(f"{path} is not a fastrelu network file (.npz): {exc}") from None
    try:
        if int(d["format"]) != FORMAT:
            raise ValueError(f"format {int(d['format'])} is not supported (expected {FORMAT})")
        sizes = v.check_sizes(d["sizes"].tolist())
        params, running = d["params"], d["running"]
        dtype = v.check_dtype("params.dtype", params.dtype)
        net = MLP(sizes, init="zeros", dtype=dtype, residual=bool(d["residual"]),
                  residual_scale=float(d["residual_scale"]), batchnorm=bool(d["batchnorm"]))
        if params.shape != net.params.shape or running.shape != net.running.shape or running.dtype != dtype:
            raise ValueError(f"parameter arrays have shapes {params.shape}, {running.shape}; "
                             f"expected {net.params.shape}, {net.running.shape}")
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{path} is not a valid fastrelu network file: {exc}") from None
    net.params[...] = params
    net.running[...] = running
    net.init = str(d["init"])
    return net
