"""Is the learning rate too high or too low? Measured, not guessed: train copies of the model.

Given the user's learning rate ``lr`` and optimizer, :func:`run_probe` trains copies of the
network from its current weights for ``steps`` minibatch steps at each of :data:`FACTORS`
times ``lr`` on the user's data, and records each copy's full-data loss before and after (and
whether it diverged). The model itself is not modified. The two rules read that table:

* ``learning-rate-high``: at ``lr`` training diverges, or the loss rises above both
  :data:`RISE` times its start and half the loss of the best constant prediction (the
  targets' variance for mse, their entropy for cross-entropy: where a dead network ends),
  while at a smaller factor it does not (the fix names the largest such learning rate).
* ``learning-rate-low``: at ``lr`` the loss falls by less than :data:`STALL` of its start while
  at a larger factor it falls by more than :data:`MOVES` without diverging: a converged model
  does not fire, because larger steps cannot improve it either.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from fastrelu import rules
from fastrelu._format import fmt as _g
from fastrelu.causes import Evidence
from fastrelu.findings import Finding
from fastrelu.optim import from_name
from fastrelu.training import fit

__all__ = ["Probe", "run_probe", "LR_RULES"]

#: Factors of the user's learning rate the probe trains at.
FACTORS = (0.01, 0.1, 1.0, 10.0, 100.0, 1000.0)
#: Loss rising above this multiple of its start counts as blowing up.
RISE = 2.0
#: A relative decrease below this counts as "nothing moves".
STALL = 0.01
#: A relative decrease above this counts as "moves".
MOVES = 0.1


@dataclass
class Probe:
    """Full-data loss before and after ``steps`` steps at each factor of ``lr``."""

    lr: float
    optimizer: str
    steps: int
    start_loss: float
    constant_loss: float
    final_loss: dict = field(default_factory=dict)
    diverged: dict = field(default_factory=dict)

    def decrease(self, factor: float) -> float:
        """Relative decrease of the loss at ``factor * lr`` (negative: it rose; NaN: diverged)."""
        final = self.final_loss[factor]
        return (self.start_loss - final) / self.start_loss if self.start_loss > 0 else float("nan")

    def to_dict(self) -> dict:
        return {"lr": self.lr, "optimizer": self.optimizer, "steps": self.steps, "start_loss": self.start_loss,
                "constant_loss": self.constant_loss,
                "final_loss": {str(k): v for k, v in self.final_loss.items()},
                "diverged": {str(k): v for k, v in self.diverged.items()}}


def run_probe(net, X, y, *, loss: str, lr: float, optimizer: str = "sgd", steps: int = 100,
              batch_size: int = 64, seed: int = 0) -> Probe:
    """Train copies of ``net`` at :data:`FACTORS` times ``lr`` (arguments already checked)."""
    with np.errstate(all="ignore"):
        start = rules.mean_loss(net.forward(X), y, loss)
    probe = Probe(float(lr), optimizer, int(steps), float(start), _constant_loss(y, loss))
    for factor in FACTORS:
        copy = net.copy()
        with np.errstate(all="ignore"):
            hist = fit(copy, X, y, optimizer=from_name(optimizer, lr * factor), loss=loss, steps=steps,
                       batch_size=min(batch_size, len(X)), seed=seed)
            out = copy.forward(X)
            final = rules.mean_loss(out, y, loss) if np.isfinite(out).all() else float("nan")
        probe.diverged[factor] = hist.diverged_at is not None or not np.isfinite(final)
        probe.final_loss[factor] = float(final)
    return probe


def _constant_loss(y, loss: str) -> float:
    """The loss of the best constant prediction: a dead network's loss after training its output bias."""
    if loss == "cross_entropy":
        counts = np.bincount(np.asarray(y).astype(np.int64).ravel())
        p = counts[counts > 0] / counts.sum()
        return float(-(p * np.log(p)).sum())
    y = np.asarray(y, dtype=np.float64)
    return float(np.mean(np.var(y.reshape(len(y), -1), axis=0)))


def _blows_up(p: Probe, factor: float) -> bool:
    return p.diverged[factor] or p.final_loss[factor] > max(RISE * p.start_loss, 0.5 * p.constant_loss)


def learning_rate_high(e: Evidence, fired: list) -> Finding | None:
    p = e.probe
    if p is None or not _blows_up(p, 1.0):
        return None
    stable = next((f for f in sorted(FACTORS, reverse=True) if f < 1 and not _blows_up(p, f)), None)
    if stable is None:
        return None
    what = ("diverges" if p.diverged[1.0] else
            f"raises the loss from {_g(p.start_loss)} to {_g(p.final_loss[1.0])}")
    severity = "error" if e.report.collapsed and not any(f.severity == "error" for f in fired) else "warning"
    return Finding("learning-rate-high", severity, f"training copies of this model for {p.steps} steps at "
                   f"{p.optimizer} lr={_g(p.lr)} {what}, while lr={_g(stable * p.lr)} takes the loss to "
                   f"{_g(p.final_loss[stable])}", p.to_dict(), f"lower the learning rate (lr={_g(stable * p.lr)} "
                   "was stable here), or use Adam, or clip gradients", "learning rate", 0.85)


def learning_rate_low(e: Evidence, fired: list) -> Finding | None:
    p = e.probe
    if p is None or p.diverged[1.0] or not np.isfinite(p.decrease(1.0)) or p.decrease(1.0) >= STALL:
        return None
    better = next((f for f in FACTORS if f > 1 and not p.diverged[f] and p.decrease(f) > MOVES), None)
    if better is None:
        return None
    severity = "error" if e.report.collapsed and not any(f.severity == "error" for f in fired) else "warning"
    return Finding("learning-rate-low", severity, f"training copies of this model for {p.steps} steps at "
                   f"{p.optimizer} lr={_g(p.lr)} lowers the loss by only {100 * p.decrease(1.0):.2f}% (from "
                   f"{_g(p.start_loss)}), while lr={_g(better * p.lr)} lowers it by {100 * p.decrease(better):.0f}%: "
                   "nothing moves at this learning rate", p.to_dict(), f"raise the learning rate "
                   f"(lr={_g(better * p.lr)} moved the loss here), or use Adam", "learning rate", 0.7)


#: The rules that read the probe.
LR_RULES = (learning_rate_high, learning_rate_low)
