"""Building blocks shared by the scenarios: arm specifications and results, and one runner.

An *arm* is one network + optimizer trained on the scenario's data with real backprop through
:func:`fastrelu.fit`, then measured with :func:`fastrelu.diagnose`. Its ``role`` is ``"broken"``
(reproduces a failure), ``"fix"`` (the same task with one change that removes the failure) or
``"partial"`` (a change that lowers the probability of the failure without removing it; its
outcome depends on the seed, so the scenario also reports the probability over many seeds).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from fastrelu import _validation as v
from fastrelu import data as datasets
from fastrelu._format import finite_or_none, json_clean
from fastrelu.diagnostics import diagnose
from fastrelu.training import fit

ROLES = ("broken", "fix", "partial")

#: The regression task of the teacher-data scenarios.
TEACHER_DATA = "teacher: 256 rows, 8 Gaussian features, y from a random ReLU teacher (std 1)"


def teacher_data(seed: int):
    """``fr.data.teacher(256, 8, seed=seed)``: the data of the teacher-data scenarios."""

    return datasets.teacher(256, 8, seed=seed)


@dataclass
class Arm:
    """How to build and train one arm.

    Parameters
    ----------
    name : str
        Short human label, e.g. ``"SGD lr=10"``.
    role : {"broken", "fix", "partial"}
    make_net : callable
        ``seed -> fastrelu.MLP``.
    make_optimizer : callable
        ``() -> optimizer`` (a fresh optimizer per run).
    clip_norm : float, optional
        Passed to :func:`fastrelu.fit`.
    batch_size : int
    """

    name: str
    role: str
    make_net: Callable[[int], Any]
    make_optimizer: Callable[[], Any]
    clip_norm: float | None = None
    batch_size: int = 32

    def __post_init__(self) -> None:
        v.check("role", self.role, v.Choice(ROLES))


@dataclass
class ArmResult:
    """The measured outcome of one arm (see :meth:`to_dict` for the JSON form)."""

    name: str
    role: str
    collapsed: bool
    final_loss: float | None
    diverged_at: int | None
    dead_fraction: list[float]
    output_std_ratio: float | None
    causes: list[dict]
    steps: int
    records: list[dict] = field(default_factory=list)
    report: Any = None
    findings: list[dict] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        """True if the arm collapsed or its training diverged."""
        return bool(self.collapsed or self.diverged_at is not None)

    def to_dict(self) -> dict:
        """JSON-ready dict with the fields of the CLI's ``--json`` (non-finite -> None)."""
        return {
            "name": self.name,
            "role": self.role,
            "collapsed": bool(self.collapsed),
            "final_loss": finite_or_none(self.final_loss),
            "diverged_at": self.diverged_at,
            "dead_fraction": [finite_or_none(d) for d in self.dead_fraction],
            "output_std_ratio": finite_or_none(self.output_std_ratio),
            "causes": self.causes,
            "findings": self.findings,
        }


@dataclass
class ScenarioResult:
    """All arms of one scenario run, plus scenario-level measurements."""

    scenario: str
    seed: int
    summary: str
    arms: list[ArmResult]
    steps: int
    data: str
    measurements: dict = field(default_factory=dict)

    def arm(self, name: str) -> ArmResult:
        """The arm called ``name``."""
        for a in self.arms:
            if a.name == name:
                return a
        raise KeyError(f"arm {name!r} is not in this result; expected one of {[a.name for a in self.arms]}")

    def to_dict(self) -> dict:
        """``{"scenario", "seed", "arms": [...], ...}`` as printed by ``--json``."""
        return {
            "scenario": self.scenario,
            "seed": self.seed,
            "steps": self.steps,
            "data": self.data,
            "summary": self.summary,
            "arms": [a.to_dict() for a in self.arms],
            "measurements": json_clean(self.measurements),
        }


def run_arm(arm: Arm, X, y, *, seed: int, steps: int, record_every: int | None) -> ArmResult:
    """Train ``arm`` on ``(X, y)`` for ``steps`` minibatch steps and diagnose the result."""

    net = arm.make_net(seed)
    hist = fit(net, X, y, optimizer=arm.make_optimizer(), steps=steps, batch_size=arm.batch_size,
                  seed=seed, clip_norm=arm.clip_norm, record_every=record_every)
    with np.errstate(all="ignore"):
        report = diagnose(net, X, y, history=hist, seed=seed)
    return ArmResult(
        name=arm.name,
        role=arm.role,
        collapsed=report.collapsed,
        final_loss=report.loss,
        diverged_at=hist.diverged_at,
        dead_fraction=report.dead_fraction,
        output_std_ratio=report.output_std_ratio,
        causes=[{"cause": c.cause, "evidence": c.evidence} for c in report.causes],
        findings=[f.to_dict() for f in report.findings],
        steps=int(hist.steps),
        records=list(hist.records),
        report=report,
    )
