"""``Ensemble``: K networks of one architecture, stacked, trained at once by one kernel."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from fastrelu import _validation as v
from fastrelu.init import FUSED_KIND, RAI_SIGMA, FusedInit
from fastrelu.kernels import layout
from fastrelu.network import LOSS_CODES, MLP, check_init
from fastrelu.optim import Optimizer
from fastrelu.training import TRAINING, _schedule, check_optimizer


def _per_member(name: str, value: Any, k: int) -> list:
    if isinstance(value, (list, tuple, np.ndarray)):
        if len(value) != k:
            raise ValueError(f"{name} with {len(value)} entries is not accepted; expected one value "
                             f"or one per member ({k})")
        return list(value)
    return [value] * k


@dataclass
class EnsembleHistory:
    """What ``Ensemble.fit`` measured, one row per member.

    Attributes
    ----------
    loss : ndarray (K, steps)
        Minibatch loss of each step; NaN after a member diverged.
    diverged_at : list of (int or None)
        Step at which each member diverged (it was frozen there), or None.
    steps : ndarray of int (K,)
        Steps each member ran.

    Examples
    --------
    >>> import fastrelu as fr
    >>> X, y = fr.data.teacher(64, 4, seed=0)
    >>> hist = fr.Ensemble([4, 8, 1], seeds=[0, 1]).fit(X, y, optimizer=[fr.SGD(0.01), fr.SGD(1e3)], steps=20)
    >>> hist.steps.tolist(), hist.diverged_at[0], hist.final_loss.shape
    ([20, 3], None, (2,))
    """

    loss: np.ndarray
    diverged_at: list
    steps: np.ndarray

    @property
    def final_loss(self) -> np.ndarray:
        """Each member's last computed loss."""
        idx = np.maximum(self.steps - 1, 0)
        out = self.loss[np.arange(len(idx)), idx] if self.loss.shape[1] else np.full(len(idx), np.nan)
        return np.where(self.steps > 0, out, np.nan)


class Ensemble:
    """K networks with the same ``sizes``, each with its own init, seed and bias.

    Parameters live in one ``(K, n_params)`` array; ``members[k]`` is an :class:`MLP` whose
    parameters are a view of row ``k``, so everything an ``MLP`` does works on a member.

    Parameters
    ----------
    sizes : sequence of int
    seeds : sequence of int
        One weight seed per member; ``len(seeds)`` is K.
    init, bias : value or sequence of K values
    dtype, residual, residual_scale, batchnorm : as :class:`MLP`

    Examples
    --------
    >>> import numpy as np, fastrelu as fr
    >>> ens = fr.Ensemble([2, 8, 1], seeds=[0, 1, 2], init=["he", "he", "zeros"])
    >>> X = np.random.default_rng(0).normal(size=(64, 2)); y = X[:, :1] * 2
    >>> hist = ens.fit(X, y, optimizer=[fr.SGD(0.01), fr.SGD(0.1), fr.SGD(0.1)], epochs=5)
    >>> hist.loss.shape, hist.diverged_at
    ((3, 10), [None, None, None])
    """

    def __init__(self, sizes, seeds: Sequence[int], *, init: Any = "he", bias: Any = 0.0,
                 dtype: Any = "float32", residual: bool = False, residual_scale: float | None = None,
                 batchnorm: bool = False) -> None:
        accepted = "a non-empty sequence of ints, one seed per member"
        if isinstance(seeds, (int, np.integer)) or not isinstance(seeds, (list, tuple, np.ndarray, range)):
            raise v.reject(TypeError, "seeds", seeds, accepted)
        k = len(seeds)
        if k < 1:
            raise v.reject(ValueError, "seeds", seeds, accepted)
        given = _per_member("init", init, k)
        checked = _check_inits(given, _per_member("bias", bias, k))
        if isinstance(seeds, range):   # a million seeds: check the ends, not every one
            v.check_seed("seeds[0]", min(seeds[0], seeds[-1]))
            self.seeds = list(seeds)
        else:
            self.seeds = v.check_seeds("seeds", seeds)
        # one template net gives the layout; its parameters are drawn again per member
        self._template = MLP(sizes, init="zeros", dtype=dtype, residual=residual,
                             residual_scale=residual_scale, batchnorm=batchnorm)
        if checked.count(checked[0]) == k:   # one (init, bias) for all: no per-member pass
            self.inits, self.biases = [checked[0][1]] * k, [checked[0][2]] * k
        else:
            self.inits = [name for _, name, _ in checked]
            self.biases = [b for _, _, b in checked]
        self.params = np.repeat(self._template.params[None], k, axis=0)
        self.running = np.repeat(self._template.running[None], k, axis=0)
        named = set(map(type, given)) == {str}
        _draw_members(self, [None] * k if named else
                      [None if isinstance(g, str) else scheme for g, (scheme, _, _) in zip(given, checked)])
        self._members: "list[MLP] | None" = None

    def __len__(self) -> int:
        return len(self.seeds)

    @property
    def sizes(self) -> tuple[int, ...]:
        return self._template.sizes

    @property
    def members(self) -> list[MLP]:
        """Member ``k`` as an :class:`MLP` whose parameters are a view of row ``k`` (built on
        first use: an ensemble of a million nets holds one array, not a million objects)."""
        if self._members is None:
            self._members = [self.member(j) for j in range(len(self))]
        return self._members

    def member(self, j: int) -> MLP:
        """Member ``j`` alone, as an :class:`MLP` viewing row ``j`` of the stacked parameters."""
        net = object.__new__(MLP)
        net.__dict__.update(self._template.__dict__)
        net.params, net.running = self.params[j], self.running[j]
        net.init, net.bias_init = self.inits[j], self.biases[j]
        net._make_views()
        return net

    def forward(self, X) -> np.ndarray:
        """Every member's output, shape ``(K, n, sizes[-1])``."""
        return np.stack([m.forward(X) for m in self.members])

    @v.validated(**TRAINING)
    def fit(self, X, y, *, optimizer: Optimizer | Sequence[Optimizer], loss: str = "mse", epochs: int = 1,
            steps: int | None = None, batch_size: int = 32, shuffle: bool = True,
            batch_seeds: Sequence[int] | None = None, clip_norm: float | None = None) -> EnsembleHistory:
        """Train every member in place, as ``fr.fit`` would train each alone.

        Member ``k`` sees the batches of ``fr.minibatches(n, batch_size, seed=batch_seeds[k])``
        (default: its weight seed). Members that diverge are frozen and flagged; they never
        affect the others.
        """
        from fastrelu.kernels import structs
        from fastrelu.kernels.ensemble import stack_workspaces, train_ensemble

        k = len(self)
        opts = [check_optimizer(f"optimizer[{j}]", o) for j, o in enumerate(_per_member("optimizer", optimizer, k))]
        clip = clip_norm
        bseeds = [v.check_seed(f"batch_seeds[{j}]", s)
                  for j, s in enumerate(_per_member("batch_seeds", batch_seeds or self.seeds, k))]
        first = self._template
        X = v.as_matrix("X", X, first.dtype, first.sizes[0])
        yf, yi = v.as_targets(y, loss, X.shape[0], first.sizes[-1], first.dtype)
        n = X.shape[0]
        v.check_batchnorm_batches(first.batchnorm, n, batch_size)
        if not (np.isfinite(self.params).all() and np.isfinite(self.running).all()):
            raise ValueError("some members have non-finite parameters (they diverged); re-initialize them")
        scheds = [_schedule(n, batch_size, epochs, steps, shuffle, s) for s in bseeds]
        starts = scheds[0][1]
        orders = np.stack([o for o, _ in scheds]) if scheds[0][0].size else np.zeros((k, 0), np.int64)
        total = starts.size - 1
        hypers = np.stack([o.hyper for o in opts])
        hypers[:, layout.H_CLIP] = clip or 0.0
        kinds = np.array([o.kind for o in opts], dtype=np.int64)
        states = np.zeros((k, 2, first.n_params), dtype=first.dtype)
        losses = np.full((k, total), np.nan)
        ran = np.zeros(k, np.int64)
        div = np.zeros(k, np.bool_)
        nets = structs.network(self.params, self.running, first._arch, first.residual_scale)
        kernel_data = structs.data(X, yf, yi, LOSS_CODES[loss])
        ws = stack_workspaces(nets, kernel_data, starts)
        train_ensemble(nets, kernel_data, structs.schedule(orders, starts), structs.optimizer(kinds, hypers, states, 0),
                       losses, ran, div, ws)
        return EnsembleHistory(loss=losses, diverged_at=[int(r) - 1 if d else None for r, d in zip(ran, div)],
                               steps=ran)


def _check_inits(inits: list, biases: list) -> list:
    """``check_init`` of every member, once per distinct named (init, bias) pair."""
    keys = list(zip(inits, biases))
    if set(map(type, inits)) <= {str} and set(map(type, biases)) <= {int, float}:   # a sweep's
        done = {key: check_init(key[0], key[1], f"[{keys.index(key)}]") for key in dict.fromkeys(keys)}
        if len(done) == 1:
            return [next(iter(done.values()))] * len(keys)
        return list(map(done.__getitem__, keys))
    seen: dict = {}
    out = []
    for j, (i, b) in enumerate(keys):
        key = (i, b) if isinstance(i, str) and isinstance(b, (int, float)) and not isinstance(b, bool) else None
        if key is None or key not in seen:
            checked = check_init(i, b, f"[{j}]")
            if key is None:
                out.append(checked)
                continue
            seen[key] = checked
        out.append(seen[key])
    return out


def _compiled_seeds(seeds: list) -> bool:
    """True when the compiled generators can stand in for ``np.random.default_rng(seed)``."""
    return None not in seeds and max(seeds) < 2 ** 64


def _indices(rows: Sequence[int]) -> np.ndarray:
    """``rows`` as int64 (a range without going through Python ints)."""
    if isinstance(rows, range):
        return np.arange(rows.start, rows.stop, rows.step, dtype=np.int64)
    return np.array(rows, dtype=np.int64)


def _write_rai(arch: np.ndarray, seeds: list, params: np.ndarray, rows: list) -> None:
    """``fastrelu.init.rai``'s draws from ``default_rng(seed)`` into ``params[row]`` for every
    member, in compiled code (:func:`fastrelu.kernels.rai.draw_rai`, the same bits)."""
    from fastrelu.kernels import rai

    layers = np.stack([arch[:, layout.IN], arch[:, layout.OUT], arch[:, layout.W_OFF], arch[:, layout.B_OFF]], axis=1)
    factors = np.array([RAI_SIGMA / np.sqrt(int(fan_in)) for fan_in in arch[:, layout.IN]])
    rai.draw_rai(params, _indices(rows), np.array(seeds, dtype=np.uint64), layers, factors)


def _write_fused(fused: FusedInit, seeds: list, params: np.ndarray, rows: list) -> None:
    """``fused.apply(fused.draw(np.random.default_rng(seed)), params[row])`` for every member:
    in compiled code (:func:`fastrelu.kernels.pcg64.draw_into`, the same bits) for integer
    seeds below 2**64."""
    if _compiled_seeds(seeds):
        from fastrelu.kernels import pcg64

        pcg64.draw_into(params, _indices(rows), np.array(seeds, dtype=np.uint64),
                        fused.kind == "normal", fused.dest, fused.loc, fused.scale)
        return
    block = params[rows]
    fused.apply(np.stack([fused.draw(np.random.default_rng(s)) for s in seeds]), block)
    params[rows] = block


def _groups(inits: list, callables: list) -> "dict[str, Sequence[int]]":
    """Members by how they are drawn: a name of :data:`FUSED_KIND`, "zeros" or "rai" (compiled
    draws for the whole group), or "" (an ``MLP`` of their own: callables, other names)."""
    def key(j, name):
        return name if callables[j] is None and (name in FUSED_KIND or name in ("zeros", "rai")) else ""

    if callables.count(None) == len(callables):   # a sweep's: named inits only
        names = set(inits)
        if len(names) == 1:
            return {key(0, inits[0]): range(len(inits))}
        codes = np.array(inits)   # one C pass; rows of each name ascending
        found: dict[str, list] = {}
        for name in sorted(names):
            found.setdefault(key(0, name), []).append(np.flatnonzero(codes == name))
        return {g: (parts[0] if len(parts) == 1 else np.sort(np.concatenate(parts))) for g, parts in found.items()}
    groups: dict[str, list[int]] = {}
    for j, name in enumerate(inits):
        groups.setdefault(key(j, name), []).append(j)
    return groups


def _draw_members(ens: Ensemble, callables: list) -> None:
    """Every member's initial parameters, the bits ``fr.MLP(sizes, init, bias, seed)`` draws.

    Members whose init has a fused plan (:data:`fastrelu.init.FUSED_KIND`) and ``rai`` members
    are drawn in compiled code, one call per group (NumPy's generator, ported bit for bit:
    :mod:`fastrelu.kernels.pcg64`); callables (given in ``callables``, else None) and seeds the
    port does not cover (None, or 2**64 and above) are drawn by an ``MLP`` of their own.
    """
    t = ens._template
    arch = t._arch
    w_off, b_off = arch[:, layout.W_OFF], arch[:, layout.B_OFF]
    biases = np.asarray(ens.biases, dtype=np.float64)
    if (biases != 0).any() or np.signbit(biases).any():   # else the template's +0 biases stand
        for l in range(arch.shape[0]):
            ens.params[:, b_off[l]:b_off[l] + arch[l, layout.OUT]] = biases[:, None]
    for name, rows in _groups(ens.inits, callables).items():
        if name == "zeros":
            continue   # weights stay 0 (the template's), no draws
        seeds = ens.seeds if len(rows) == len(ens.seeds) else [ens.seeds[j] for j in rows]
        if name == "rai" and _compiled_seeds(seeds):
            _write_rai(arch, seeds, ens.params, rows)
            continue
        if name in FUSED_KIND:
            _write_fused(FusedInit(name, t.sizes, w_off, b_off), seeds, ens.params, rows)
            continue
        for j in rows:
            net = MLP(t.sizes, init=callables[j] or ens.inits[j], bias=ens.biases[j], seed=ens.seeds[j], dtype=t.dtype,
                      residual=t.residual, residual_scale=t.residual_scale, batchnorm=t.batchnorm)
            ens.params[j] = net.params
