"""Reproducible failure modes of ReLU networks, each next to its fixes.

>>> import fastrelu as fr
>>> fr.scenarios.names()
['zero-init', 'small-init', 'lr-explosion', 'deep-plain', 'born-dead']
>>> result = fr.scenarios.run("zero-init", seed=0)             # doctest: +SKIP
>>> [(a.name, a.role, a.collapsed) for a in result.arms]        # doctest: +SKIP
[('zeros init', 'broken', True), ('He init', 'fix', False)]

Every scenario trains each arm with real backprop (:func:`fastrelu.fit`) on the same synthetic
data (:mod:`fastrelu.data`), deterministic for a seed, and diagnoses it with
:func:`fastrelu.diagnose`. Roles: ``"broken"`` reproduces the failure, ``"fix"`` removes it,
``"partial"`` lowers its probability (its outcome depends on the seed).
"""
from __future__ import annotations

import difflib
import importlib
from typing import Callable

from fastrelu import _validation as v
from fastrelu.scenarios._base import ROLES, Arm, ArmResult, ScenarioResult, run_arm

__all__ = ["names", "summaries", "get", "run", "closest", "Arm", "ArmResult", "ScenarioResult", "ROLES"]

_MODULES = {
    "zero-init": "zero_init",
    "small-init": "small_init",
    "lr-explosion": "lr_explosion",
    "deep-plain": "deep_plain",
    "born-dead": "born_dead",
}


def names() -> list[str]:
    """Scenario names, in the order of the article's causes."""
    return list(_MODULES)


def get(name: str):
    """The module implementing scenario ``name``.

    Raises
    ------
    ValueError
        For an unknown name; the message lists the real names, closest first.
    """
    if not isinstance(name, str) or name not in _MODULES:
        raise v.reject(ValueError, "scenario", name, "one of " + ", ".join(closest(str(name))))
    return importlib.import_module(f"fastrelu.scenarios.{_MODULES[name]}")


def summaries() -> dict[str, str]:
    """``{name: one-line summary}`` for every scenario."""
    return {n: get(n).SUMMARY for n in names()}


def closest(name: str) -> list[str]:
    """All scenario names, the ones most similar to ``name`` first."""
    scored = sorted(names(), key=lambda n: -difflib.SequenceMatcher(None, name.lower(), n).ratio())
    return scored


@v.validated(seed=v.Int(minimum=0), steps=v.Int(minimum=1, none=True),
             record_every=v.Int(minimum=1, none=True), record=v.Bool())
def run(name: str, *, seed: int = 0, steps: int | None = None, record_every: int | None = None,
        record: bool = True, progress: Callable[[str, int, int], None] | None = None) -> ScenarioResult:
    """Run scenario ``name``: train and diagnose every arm.

    Parameters
    ----------
    name : str
        One of :func:`names`.
    seed : int, default 0
        Seeds the data, every arm's initialization and minibatch order.
    steps : int, optional
        Minibatch steps per arm (default: the scenario's ``DEFAULT_STEPS``).
    record_every : int, optional
        Record loss / dead fraction / output std every this many steps (for plots); default
        ``max(1, steps // 40)``.
    record : bool, default True
        False skips the records (faster; ``ArmResult.records`` is then empty).
    progress : callable, optional
        Called as ``progress(arm_name, index, n_arms)`` before each arm.

    Returns
    -------
    ScenarioResult
    """
    mod = get(name)
    if steps is None:
        steps = mod.DEFAULT_STEPS
    if not record:
        record_every = None
    elif record_every is None:
        record_every = max(1, steps // 40)
    X, y = mod.data(seed)
    arms = mod.arms()
    results = []
    for i, arm in enumerate(arms):
        if progress is not None:
            progress(arm.name, i, len(arms))
        results.append(run_arm(arm, X, y, seed=seed, steps=steps, record_every=record_every))
    measurements = mod.measure(seed, X) if hasattr(mod, "measure") else {}
    return ScenarioResult(scenario=name, seed=seed, summary=mod.SUMMARY, arms=results, steps=steps,
                          data=mod.DATA, measurements=measurements)
