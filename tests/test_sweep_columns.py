"""sweeps.columns.encode: Python values of a field as its column, constant chunks included."""
from __future__ import annotations

import numpy as np
import pytest

from fastrelu.sweeps.columns import encode


@pytest.mark.parametrize("name, value", [("seed", 7), ("lr", 0.1), ("lr", 1), ("init", "rai"),
                                         ("residual", True), ("final_loss", None), ("diverged_at", None)])
def test_a_constant_chunk_encodes_like_its_values_one_by_one(name, value):
    col = encode(name, [value] * 5)
    one = encode(name, [value])
    assert col.dtype == one.dtype and col.shape == (5,)
    assert col.tobytes() == np.concatenate([one] * 5).tobytes()


def test_equal_values_of_different_types_are_not_taken_as_one_value():
    # True == 1, but a bool field accepts no int (the shortcut for one repeated value must
    # not let it through)
    with pytest.raises(ValueError, match="residual"):
        encode("residual", [True, 1])
    with pytest.raises(ValueError, match="init"):
        encode("init", ["he", "nope"])
    assert encode("lr", [1, 1.0]).tolist() == [1.0, 1.0]
