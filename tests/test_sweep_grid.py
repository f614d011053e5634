"""Sweep grids: validation before any work, canonical order, lazy expansion, grouping."""
from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from fastrelu.sweeps.grid import ARCH_KEYS, DEFAULTS, KEYS, Grid, canonical_key


@pytest.mark.parametrize("grid, exc, message", [
    ({"foo": [1]}, ValueError, "grid key='foo' is not accepted; expected one of 'width', "),
    ({"width": []}, ValueError, "grid['width']=[] is not accepted; expected a non-empty list"),
    ({"width": [0]}, ValueError, "grid['width']=0 is not accepted; expected an integer >= 1"),
    ({"width": [2.5]}, TypeError, "grid['width']=2.5 (float) is not accepted; expected an integer >= 1"),
    ({"width": [True]}, TypeError, "grid['width']=True (bool) is not accepted; expected an integer >= 1"),
    ({"depth": ["3"]}, TypeError, "grid['depth']='3' (str) is not accepted; expected an integer >= 1"),
    ({"seed": [-1]}, ValueError, "grid['seed']=-1 is not accepted; expected an integer >= 0"),
    ({"seed": [1, 1]}, ValueError, "grid['seed']=[1, 1] is not accepted; expected distinct values (1 is repeated)"),
    ({"lr": [0.0]}, ValueError, "grid['lr']=0.0 is not accepted; expected a finite number > 0"),
    ({"lr": [float("nan")]}, ValueError, "grid['lr']=nan is not accepted; expected a finite number > 0"),
    ({"lr": ["0.1"]}, TypeError, "grid['lr']='0.1' (str) is not accepted; expected a finite number > 0"),
    ({"bias": [math.inf]}, ValueError, "grid['bias']=inf is not accepted; expected a finite number"),
    ({"init": ["kaiming"]}, ValueError, "grid['init']='kaiming' is not accepted; expected one of 'zeros', "),
    ({"init": [lambda rng, i, o: np.zeros((o, i))]}, TypeError, "callables cannot be swept"),
    ({"optimizer": ["lbfgs"]}, ValueError,
     "grid['optimizer']='lbfgs' is not accepted; expected one of 'sgd', 'adam', 'rmsprop'"),
    ({"residual": [1]}, TypeError, "grid['residual']=1 (int) is not accepted; expected True or False"),
    ({"width": 3}, TypeError, "grid['width']=3 (int) is not accepted; expected a list of values (write [3])"),
    ({"init": "he"}, TypeError, "grid['init']='he' (str) is not accepted; expected a list of values"),
    ({"init": ["rai"], "bias": [0.0, 0.1]}, ValueError, "that init draws its own biases"),
    ([("width", [2])], TypeError, "grid=[('width', [2])] (list) is not accepted; expected a dict of lists"),
])
def test_invalid_grids_raise_named_errors(grid, exc, message):
    with pytest.raises(exc) as info:
        Grid(grid)
    assert type(info.value) is exc and message in str(info.value)


def test_defaults_fill_missing_keys_and_values_are_canonical():
    g = Grid({"width": np.array([2, 3]), "lr": [1, 0.5], "init": ["HE"], "seed": range(2)},
             optimizer="adam")
    assert g.size == 2 * 2 * 2
    assert g.values["lr"] == [1.0, 0.5] and all(type(v) is float for v in g.values["lr"])
    assert all(type(v) is int for v in g.values["width"])
    assert g.values["init"] == ["he"]
    assert g.values["optimizer"] == ["adam"]
    for key in ("depth", "residual", "batchnorm", "bias"):
        assert g.values[key] == [DEFAULTS[key]]
    assert g.varying == ("width", "lr", "seed")


def test_points_cover_the_product_once_in_index_order():
    grid = {"width": [2, 4], "depth": [1, 3], "init": ["he", "rai"], "lr": [0.1, 0.01],
            "seed": [0, 1, 2], "batchnorm": [False, True]}
    g = Grid(grid)
    points = list(g.points())
    assert [i for i, _ in points] == list(range(g.size))
    keys = [canonical_key(p) for _, p in points]
    assert len(set(keys)) == g.size
    expected = {canonical_key({**DEFAULTS, **dict(zip(grid, combo))})
                for combo in itertools.product(*grid.values())}
    assert set(keys) == expected
    for i, p in points:
        assert g.index_of(p) == i
        assert list(p) == list(KEYS)
    assert g.index_of({**points[0][1], "width": 3}) is None


def test_chunks_group_by_architecture_and_respect_size_and_done():
    g = Grid({"width": [2, 3], "residual": [False, True], "init": ["he", "xavier"],
              "seed": range(5)})
    chunks = list(g.chunks(4))
    for c in chunks:
        assert 1 <= len(c.points) <= 4
        assert all({k: p[k] for k in ARCH_KEYS} == c.arch for p in c.points)
        assert [g.index_of(p) for p in c.points] == list(c.indices)
    assert sorted(i for c in chunks for i in c.indices) == list(range(g.size))
    assert len({tuple(sorted(c.arch.items())) for c in chunks}) == 4
    done = bytearray(g.size)
    done[0] = done[7] = done[g.size - 1] = 1
    left = [i for c in g.chunks(4, done) for i in c.indices]
    assert left == [i for i in range(g.size) if not done[i]]
    with pytest.raises(ValueError, match="chunk_size"):
        next(g.chunks(0))


def test_a_huge_grid_is_expanded_lazily():
    # 1e12 points: building the grid and taking the first chunk must be instant and small
    g = Grid({"width": list(range(1, 101)), "depth": list(range(1, 101)),
              "seed": range(10 ** 8)})
    assert g.size == 10 ** 12
    first = next(g.chunks(256))
    assert len(first.points) == 256 and first.indices == tuple(range(256))
    last = {**DEFAULTS, "width": 100, "depth": 100, "seed": 10 ** 8 - 1}
    assert g.index_of(last) == g.size - 1
    arch, point = next(g.first_points())
    assert arch["width"] == 1 and point["seed"] == 0
