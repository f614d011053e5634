"""What a diagnosis finds: the :class:`Finding` type, its fixed vocabulary, and the ranking.

A finding names one likely cause (or risk) with a code from :data:`FINDING_CODES`, a
severity, the measured numbers that triggered it, and the change to make. Codes are part of
fastrelu's interface: they are added, never renamed (tools match on them).

Severities
----------
``"error"``
    Explains a collapse (or makes the outputs meaningless, like NaN inputs).
``"warning"``
    Will hurt or likely hurts training, without being shown to collapse the outputs now.
``"info"``
    Worth knowing; no action needed by itself.

The rules that make findings live with what they read: :mod:`fastrelu.causes` (the network's
measured layers and training history) and :mod:`fastrelu.data_rules` (the inputs, the
targets, the output activation and the loss, the learning-rate probe).

Examples
--------
>>> f = Finding("zero-init", "error", "hidden weights are exactly zero", {"layers": [1]},
...             "initialize with He init", cause="initialization", score=0.97)
>>> f.to_dict()["code"], f.severity
('zero-init', 'error')
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Iterable

from fastrelu._format import json_clean

__all__ = ["Finding", "FINDING_CODES", "SEVERITIES", "rank"]

#: Every code a finding may carry (append new codes at the end; never rename one).
FINDING_CODES: tuple[str, ...] = (
    "output-activation",     # a ReLU (or a bounded activation) after the last layer
    "single-unit-softmax",   # softmax over one output unit: always 1
    "double-softmax",        # softmax before a loss that applies log-softmax itself
    "target-shape",          # MSE between (n, 1) outputs and (n,) targets learns the mean
    "nonfinite-input",       # NaN or inf in X
    "unscaled-input",        # features far from unit scale
    "constant-input",        # every row of X (or some features) identical
    "zero-init",             # weights exactly zero: symmetry never broken
    "vanishing-init",        # weights far below He's scale, signal vanishes
    "dead-layer",            # a hidden layer in which no unit fires for any input
    "dead-units",            # at least half of a layer's units dead
    "narrow",                # hidden layers so narrow they are born dead (Lu et al. 2019)
    "deep-plain",            # representations converge with depth (arc-cosine map)
    "learning-rate-high",    # the learning rate diverges training or kills units
    "learning-rate-low",     # the learning rate is too small for the loss to move
    "nonfinite-params",      # NaN or inf weights: training diverged
    "class-imbalance",       # one class dominates the labels (and the predictions)
    "vanishing-gradients",   # weight gradients fall by 1000x toward the input
    "unexplained-collapse",  # collapsed, and no rule explains it
)

#: Severities, most severe first.
SEVERITIES: tuple[str, ...] = ("error", "warning", "info")


@dataclass
class Finding:
    """One likely cause or risk, with its evidence and its fix.

    Attributes
    ----------
    code : str
        One of :data:`FINDING_CODES`.
    severity : {"error", "warning", "info"}
    message : str
        What was measured, in plain words.
    evidence : dict
        The measured numbers that triggered the finding.
    fix : str
        The change to make.
    cause : str
        The short cause label of the scenarios' vocabulary (``"initialization"``,
        ``"learning rate"``, ...), shown in scenario tables.
    score : float
        Orders findings of equal severity (1 = certain explanation); not a probability.

    Examples
    --------
    >>> import fastrelu as fr
    >>> X, y = fr.data.teacher(64, 4, seed=0)
    >>> f = fr.diagnose(fr.MLP([4, 8, 1], init="zeros", seed=0), X, y).findings[0]
    >>> f.code, f.severity, f.evidence["zero_layers"]
    ('zero-init', 'error', [1])
    """

    code: str
    severity: str
    message: str
    evidence: dict[str, Any] = field(default_factory=dict)
    fix: str = ""
    cause: str = ""
    score: float = 0.5

    def __post_init__(self) -> None:
        if self.code not in FINDING_CODES:
            raise ValueError(f"code={self.code!r} is not accepted; expected one of {', '.join(FINDING_CODES)}")
        if self.severity not in SEVERITIES:
            raise ValueError(f"severity={self.severity!r} is not accepted; expected one of {', '.join(SEVERITIES)}")

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (non-finite numbers as None)."""
        return json_clean(asdict(self))


def rank(findings: Iterable["Finding | None"]) -> list[Finding]:
    """The findings that fired (``None`` dropped), errors first, then by score, most likely first;
    a code appears once (its first, most severe, finding)."""
    fired = sorted((f for f in findings if f is not None),
                   key=lambda f: (SEVERITIES.index(f.severity), -f.score))
    seen: set[str] = set()
    out = []
    for f in fired:
        if f.code not in seen:
            seen.add(f.code)
            out.append(f)
    return out
