"""born-dead: a deep narrow ReLU net (width 2, 30 layers) is dead at initialization.

With symmetric weights and zero biases, a hidden layer of width ``N`` whose input is not all
zero has all its units inactive at a given input with probability ``2^-N``; hidden inputs are
non-negative, so a layer whose incoming weights are all negative is inactive for every input.
Stack 30 layers of width 2 and some layer is dead on the whole data set for almost every seed
(Lu et al. 2019): the network is a constant and no gradient reaches the layers below the dead
one. Wider layers make the event vanishingly rare; randomized asymmetric initialization (RAI,
one positive weight per unit) lowers its probability at the same width but does not remove it,
so the RAI arm is "partial" and the scenario measures born-dead probabilities over many seeds.
"""
from __future__ import annotations

from fastrelu import data as datasets
from fastrelu import rules
from fastrelu.network import MLP
from fastrelu.optim import Adam
from fastrelu.scenarios._base import Arm

NAME = "born-dead"
SUMMARY = "30 layers of width 2 are dead at init (Lu et al. 2019); fixes: more width; RAI lowers the odds"
DEFAULT_STEPS = 300
DEPTH = 30
NARROW, WIDE = 2, 16
#: Seeds used for the born-dead probability (fresh networks, no training).
PROBABILITY_SEEDS = 200
DATA = "abs1d: y = |x| on 64 grid points of [-sqrt 3, sqrt 3] (Lu et al. 2019)"


def _sizes(width: int) -> list[int]:
    return [1] + [width] * DEPTH + [1]


def data(seed: int):

    return datasets.abs1d(64, seed=seed)


def arms() -> list[Arm]:

    opt = lambda: Adam(1e-3)  # noqa: E731
    return [
        Arm(f"He, width {NARROW}", "broken", lambda s: MLP(_sizes(NARROW), init="he", seed=s), opt),
        Arm(f"He, width {WIDE}", "fix", lambda s: MLP(_sizes(WIDE), init="he", seed=s), opt),
        Arm(f"RAI, width {NARROW}", "partial", lambda s: MLP(_sizes(NARROW), init="rai", seed=s), opt),
    ]


def born_dead(net, X) -> bool:
    """True if some hidden layer of ``net`` has no unit with a positive ReLU input on any row of X."""
    return bool(rules.has_dead_layer(rules.dead_fractions(net.preactivations(X))))


def born_dead_probability(init: str, width: int, seeds, X) -> float:
    """Fraction of ``seeds`` whose freshly initialized ``width x DEPTH`` net is born dead on X."""

    seeds = list(seeds)
    dead = sum(born_dead(MLP(_sizes(width), init=init, seed=s), X) for s in seeds)
    return dead / len(seeds)


def measure(seed: int, X) -> dict:
    """Born-dead probability at initialization over ``PROBABILITY_SEEDS`` seeds, with theory."""
    from fastrelu import theory

    seeds = range(seed * 100_003 + 1, seed * 100_003 + 1 + PROBABILITY_SEEDS)
    lo, hi = theory.born_dead_bounds([NARROW] * DEPTH)
    lo_w, hi_w = theory.born_dead_bounds([WIDE] * DEPTH)
    return {
        "born_dead_probability": {
            "seeds": PROBABILITY_SEEDS,
            f"he_width_{NARROW}": born_dead_probability("he", NARROW, seeds, X),
            f"rai_width_{NARROW}": born_dead_probability("rai", NARROW, seeds, X),
            f"he_width_{WIDE}": born_dead_probability("he", WIDE, seeds, X),
            f"theory_he_width_{NARROW}": {"lower": lo, "upper": hi},
            f"theory_he_width_{WIDE}": {"lower": lo_w, "upper": hi_w},
        }
    }
