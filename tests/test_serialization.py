"""fr.save / fr.load: bit-exact round trips; malformed files give a clear ValueError."""
from __future__ import annotations

import pickle

import numpy as np
import pytest

import fastrelu as fr


def trained(dtype, **kw):
    rng = np.random.default_rng(0)
    sizes = [4, 6, 6, 6, 3]
    net = fr.MLP(sizes, seed=1, dtype=dtype, bias=0.1, **kw)
    X = rng.normal(size=(40, 4))
    y = rng.integers(0, 3, size=40)
    fr.fit(net, X, y, optimizer=fr.Adam(1e-2), loss="cross_entropy", epochs=2, batch_size=8,
           seed=2)
    return net, X


def assert_same_net(a, b, X):
    assert type(a) is type(b)
    assert tuple(a.sizes) == tuple(b.sizes)
    assert a.dtype == b.dtype
    assert a.params.dtype == b.params.dtype and a.params.tobytes() == b.params.tobytes()
    for wa, wb in zip(a.weights + a.biases, b.weights + b.biases):
        assert wa.tobytes() == wb.tobytes()
    assert np.asarray(a.forward(X)).tobytes() == np.asarray(b.forward(X)).tobytes()
    for ha, hb in zip(a.activations(X), b.activations(X)):
        assert np.asarray(ha).tobytes() == np.asarray(hb).tobytes()


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("kw", [{}, {"residual": True}, {"residual": True, "residual_scale": 0.37},
                                {"batchnorm": True}, {"residual": True, "batchnorm": True}],
                         ids=["plain", "residual", "residual_scale", "bn", "residual_bn"])
def test_round_trip_bit_exact(tmp_path, dtype, kw):
    net, X = trained(dtype, **kw)
    path = tmp_path / "net.npz"
    fr.save(net, path)
    back = fr.load(path)
    assert_same_net(net, back, X)
    if kw.get("batchnorm"):
        for name in ("gammas", "betas", "running_means", "running_vars"):
            for a, b in zip(getattr(net, name), getattr(back, name)):
                assert np.asarray(a).tobytes() == np.asarray(b).tobytes(), name
        # the running stats were trained (not the defaults), so they were really saved
        assert not np.allclose(back.running_means[0], 0.0)
    # the loaded network keeps working as a network: params are views, training works
    back.weights[0][0, 0] += 1.0
    assert back.params.tobytes() != net.params.tobytes()


def test_residual_flag_round_trips(tmp_path):
    """A residual net and a plain net with the same params differ in forward; the
    loaded copy must behave like the residual one."""
    net, X = trained("float64", residual=True)
    plain = fr.MLP(list(net.sizes), dtype="float64")
    plain.params[...] = net.params
    assert not np.array_equal(plain.forward(X), net.forward(X))
    fr.save(net, tmp_path / "r.npz")
    assert np.array_equal(fr.load(tmp_path / "r.npz").forward(X), net.forward(X))


def test_save_accepts_str_path_and_load_does_not_alias(tmp_path):
    net, X = trained("float32")
    path = str(tmp_path / "a.npz")
    fr.save(net, path)
    back = fr.load(path)
    back.params[...] = 0
    assert np.any(net.params)
    assert np.array_equal(fr.load(path).params, net.params)


# --------------------------------------------------------------------------- malformed files
def expect_value_error(path):
    with pytest.raises(ValueError) as info:
        fr.load(path)
    assert str(info.value), "empty error message"
    return str(info.value)


def test_random_bytes(tmp_path):
    path = tmp_path / "junk.npz"
    path.write_bytes(np.random.default_rng(0).bytes(4096))
    expect_value_error(path)


def test_empty_file(tmp_path):
    path = tmp_path / "empty.npz"
    path.write_bytes(b"")
    expect_value_error(path)


def test_plain_npy_not_npz(tmp_path):
    path = tmp_path / "a.npz"
    with open(path, "wb") as f:
        np.save(f, np.arange(5.0))
    expect_value_error(path)


def saved_arrays(tmp_path):
    net, _ = trained("float64", batchnorm=True)
    fr.save(net, tmp_path / "good.npz")
    with np.load(tmp_path / "good.npz", allow_pickle=False) as f:
        return {k: f[k] for k in f.files}


def test_npz_missing_keys(tmp_path):
    arrays = saved_arrays(tmp_path)
    assert len(arrays) >= 2
    for key in arrays:
        broken = {k: v for k, v in arrays.items() if k != key}
        path = tmp_path / f"missing_{key}.npz"
        np.savez(path, **broken)
        msg = expect_value_error(path)
        assert key in msg, f"message does not name the missing key {key!r}: {msg!r}"


def test_npz_unrelated_content(tmp_path):
    path = tmp_path / "other.npz"
    np.savez(path, a=np.arange(3), b=np.ones((2, 2)))
    expect_value_error(path)


def test_pickled_object_array_is_refused(tmp_path):
    """An object array would need pickle to load, i.e. running code from the file:
    load must refuse it (allow_pickle=False), with a ValueError."""
    arrays = saved_arrays(tmp_path)
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    for key in arrays:
        tampered = dict(arrays)
        tampered[key] = np.array([Evil()], dtype=object)
        path = tmp_path / f"pickled_{key}.npz"
        np.savez(path, **tampered)
        expect_value_error(path)
        assert not marker.exists(), "loading executed pickled code"


def test_pickle_file_is_refused(tmp_path):
    net, _ = trained("float32")
    path = tmp_path / "net.npz"
    path.write_bytes(pickle.dumps({"params": np.asarray(net.params)}))
    expect_value_error(path)


def test_inconsistent_params_length(tmp_path):
    arrays = saved_arrays(tmp_path)
    key = "params" if "params" in arrays else max(arrays, key=lambda k: arrays[k].size)
    tampered = dict(arrays)
    tampered[key] = arrays[key].ravel()[:-1]
    path = tmp_path / "short.npz"
    np.savez(path, **tampered)
    expect_value_error(path)


def test_nonexistent_file(tmp_path):
    with pytest.raises((FileNotFoundError, ValueError)):
        fr.load(tmp_path / "does_not_exist.npz")
