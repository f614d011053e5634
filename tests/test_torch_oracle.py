"""PyTorch autograd as an oracle for fastrelu's forward pass and gradients (float64).

The reference model below is written from the specification in issue 2, not from
fastrelu's code: plain layers ``relu(W h + b)``, residual blocks ``h + s * relu(W h + b)``
for hidden layers (except the first) whose input and output widths match, with
``s = 1 / sqrt(number of blocks)`` by default, and ``relu(BN(W h + b))`` with
``torch.nn.BatchNorm1d`` (momentum 0.1, eps 1e-5) when batch norm is on.

``TorchMLP`` and ``torch_trajectory`` are also used by ``test_optim_torch.py``.
"""
from __future__ import annotations

import math

import numpy as np
import pytest

import fastrelu as fr
from _torch import require_torch

REL_TOL = 1e-8


# --------------------------------------------------------------------------- reference model
def residual_flags(sizes, residual):
    """Which hidden layers are residual blocks under the specification."""
    n_hidden = len(sizes) - 2
    if not residual:
        return [False] * n_hidden
    return [i >= 1 and sizes[i] == sizes[i + 1] for i in range(n_hidden)]


class TorchMLP:
    """A float64 torch copy of a fastrelu MLP, built from the specification."""

    def __init__(self, net, *, residual=False, residual_scale=None, batchnorm=False):
        torch = require_torch()
        self.torch = torch
        self.sizes = tuple(net.sizes)
        f64 = torch.float64

        def leaf(a):
            return torch.tensor(np.array(a, dtype=np.float64), dtype=f64, requires_grad=True)

        self.W = [leaf(w) for w in net.weights]
        self.b = [leaf(b) for b in net.biases]
        self.flags = residual_flags(self.sizes, residual)
        n_blocks = sum(self.flags)
        if residual_scale is None:
            residual_scale = 1.0 / math.sqrt(n_blocks) if n_blocks else 1.0
        self.scale = residual_scale
        self.bn = []
        if batchnorm:
            for i, width in enumerate(self.sizes[1:-1]):
                bn = torch.nn.BatchNorm1d(width, eps=1e-5, momentum=0.1, dtype=f64)
                with torch.no_grad():
                    bn.weight.copy_(torch.tensor(np.asarray(net.gammas[i], dtype=np.float64)))
                    bn.bias.copy_(torch.tensor(np.asarray(net.betas[i], dtype=np.float64)))
                    bn.running_mean.copy_(
                        torch.tensor(np.asarray(net.running_means[i], dtype=np.float64)))
                    bn.running_var.copy_(
                        torch.tensor(np.asarray(net.running_vars[i], dtype=np.float64)))
                self.bn.append(bn)

    def parameters(self):
        params = [p for pair in zip(self.W, self.b) for p in pair]
        for bn in self.bn:
            params += [bn.weight, bn.bias]
        return params

    def train(self, mode):
        for bn in self.bn:
            bn.train(mode)

    def _hidden(self, X, train):
        torch = self.torch
        self.train(train)
        h = torch.as_tensor(np.asarray(X, dtype=np.float64))
        out = []
        for i in range(len(self.sizes) - 2):
            z = h @ self.W[i].T + self.b[i]
            if self.bn:
                z = self.bn[i](z)
            a = torch.relu(z)
            h = h + self.scale * a if self.flags[i] else a
            out.append(h)
        return h, out

    def forward(self, X, *, train):
        h, _ = self._hidden(X, train)
        return h @ self.W[-1].T + self.b[-1]

    def activations(self, X, *, train=False):
        return self._hidden(X, train)[1]

    def loss(self, X, y, loss, *, train=True):
        torch = self.torch
        out = self.forward(X, train=train)
        if loss == "mse":
            target = torch.as_tensor(np.asarray(y, dtype=np.float64)).reshape(out.shape)
            return torch.nn.functional.mse_loss(out, target)
        return torch.nn.functional.cross_entropy(out, torch.as_tensor(np.asarray(y, dtype=np.int64)))

    def gradients(self, X, y, loss):
        for p in self.parameters():
            p.grad = None
        value = self.loss(X, y, loss, train=True)
        value.backward()
        return ([w.grad.numpy().copy() for w in self.W], [b.grad.numpy().copy() for b in self.b],
                value.item())


def torch_trajectory(model, X, y, loss, batches, make_optimizer, clip_norm=None):
    """Train ``model`` with a torch.optim optimizer over the given row-index batches.

    Returns the per-step loss (before each update) and the total gradient norms seen.
    """
    torch = model.torch
    params = model.parameters()
    opt = make_optimizer(params)
    losses, norms = [], []
    for idx in batches:
        opt.zero_grad()
        value = model.loss(X[idx], y[idx], loss, train=True)
        losses.append(value.item())
        value.backward()
        if clip_norm is not None:
            norms.append(float(torch.nn.utils.clip_grad_norm_(params, clip_norm)))
        opt.step()
    return np.array(losses), np.array(norms)


# --------------------------------------------------------------------------- comparison helpers
def rel_err(got, ref, floor):
    """Relative error ``||got - ref|| / max(||ref||, floor)`` in the 2-norm."""
    got = np.asarray(got, dtype=np.float64)
    ref = np.asarray(ref, dtype=np.float64)
    assert got.shape == ref.shape
    return float(np.linalg.norm(got - ref) / max(np.linalg.norm(ref), floor))


def assert_grads_close(got, ref, tol=REL_TOL):
    """Each array within ``tol`` relative error; arrays whose true gradient is ~0 (the
    bias in front of a batch norm) are compared against the overall gradient scale."""
    scale = math.sqrt(sum(float(np.sum(np.square(r))) for r in ref))
    assert scale > 0, "reference gradient is identically zero: the test checks nothing"
    floor = 1e-6 * scale
    for i, (g, r) in enumerate(zip(got, ref)):
        err = rel_err(g, r, floor)
        assert err < tol, f"array {i}: relative error {err:.3e} >= {tol:.0e}"


def randomize_biases(net, rng):
    """Random biases (and batch-norm scale and shift): the init leaves them constant."""
    for b in net.biases:
        b[...] = rng.normal(0.0, 0.2, size=b.shape)
    for g, be in zip(getattr(net, "gammas", None) or [], getattr(net, "betas", None) or []):
        g[...] = rng.uniform(0.5, 1.5, size=g.shape)
        be[...] = rng.normal(0.0, 0.3, size=be.shape)


def random_problem(seed, *, loss, residual, batchnorm):
    """A random architecture, a float64 net with randomized biases (and BN affine) and data."""
    rng = np.random.default_rng(seed)
    n_hidden = int(rng.integers(1, 5))
    widths = [int(rng.choice([3, 5, 8])) for _ in range(n_hidden)]
    if residual and n_hidden >= 2:
        widths[1] = widths[0]  # guarantee at least one residual block
    d_in = int(rng.integers(1, 7))
    n_out = int(rng.integers(2, 5)) if loss == "cross_entropy" else int(rng.integers(1, 4))
    sizes = [d_in, *widths, n_out]
    n = int(rng.integers(4, 17))
    net = fr.MLP(sizes, init="he", seed=seed, dtype="float64",
                 residual=residual, batchnorm=batchnorm)
    randomize_biases(net, rng)
    X = rng.normal(size=(n, d_in))
    if loss == "mse":
        y = rng.normal(size=(n, n_out))
    else:
        y = rng.integers(0, n_out, size=n)
    return sizes, net, X, y


CONFIGS = [(loss, residual, batchnorm)
           for loss in ("mse", "cross_entropy")
           for residual in (False, True)
           for batchnorm in (False, True)]


# --------------------------------------------------------------------------- tests
@pytest.mark.torch
@pytest.mark.parametrize("loss,residual,batchnorm", CONFIGS)
def test_gradients_match_torch_autograd(loss, residual, batchnorm):
    require_torch()
    n_blocks_seen = 0
    for seed in range(6):
        sizes, net, X, y = random_problem(seed, loss=loss, residual=residual, batchnorm=batchnorm)
        model = TorchMLP(net, residual=residual, batchnorm=batchnorm)
        n_blocks_seen += sum(model.flags)
        dW, db = net.gradients(X, y, loss=loss)
        tW, tb, _ = model.gradients(X, y, loss)
        assert len(dW) == len(tW) and len(db) == len(tb)
        assert_grads_close(list(dW) + list(db), tW + tb)
    if residual:
        assert n_blocks_seen > 0, "no residual block was exercised"


@pytest.mark.torch
def test_explicit_residual_scale_matches_torch():
    require_torch()
    sizes = [3, 6, 6, 6, 2]
    net = fr.MLP(sizes, seed=4, dtype="float64", residual=True, residual_scale=0.3)
    rng = np.random.default_rng(2)
    X, y = rng.normal(size=(9, 3)), rng.normal(size=(9, 2))
    model = TorchMLP(net, residual=True, residual_scale=0.3)
    assert sum(model.flags) == 2
    dW, db = net.gradients(X, y, loss="mse")
    tW, tb, _ = model.gradients(X, y, "mse")
    assert_grads_close(list(dW) + list(db), tW + tb)
    ref = model.forward(X, train=False).detach().numpy()
    assert rel_err(net.forward(X), ref, 1e-12) < REL_TOL


@pytest.mark.torch
@pytest.mark.parametrize("residual", [False, True])
def test_forward_and_activations_match_torch(residual):
    require_torch()
    for seed in range(4):
        sizes, net, X, y = random_problem(100 + seed, loss="mse", residual=residual,
                                          batchnorm=False)
        model = TorchMLP(net, residual=residual)
        ref = model.forward(X, train=False).detach().numpy()
        assert rel_err(net.forward(X), ref, 1e-12) < REL_TOL
        acts = net.activations(X)
        refs = model.activations(X)
        assert len(acts) == len(sizes) - 2
        for a, r in zip(acts, refs):
            assert rel_err(a, r.detach().numpy(), 1e-12) < REL_TOL


@pytest.mark.torch
@pytest.mark.parametrize("residual", [False, True])
def test_batchnorm_eval_forward_after_fit_matches_torch(residual):
    """After fit, net.forward (eval mode) uses running stats updated like BatchNorm1d's:
    momentum 0.1, eps 1e-5, unbiased running variance, over the same batches."""
    torch = require_torch()
    rng = np.random.default_rng(7)
    sizes = [4, 6, 6, 5, 2]
    n, batch_size, steps = 27, 6, 11  # last batch of each epoch has 3 rows (never 1)
    X = rng.normal(size=(n, 4))
    y = rng.normal(size=(n, 2))
    net = fr.MLP(sizes, seed=3, dtype="float64", batchnorm=True, residual=residual)
    model = TorchMLP(net, residual=residual, batchnorm=True)
    batches = list(fr.minibatches(n, batch_size, steps=steps, shuffle=True, seed=5))
    assert len(batches) == steps
    hist = fr.fit(net, X, y, optimizer=fr.SGD(0.05, momentum=0.9), loss="mse", steps=steps,
                  batch_size=batch_size, shuffle=True, seed=5)
    t_losses, _ = torch_trajectory(model, X, y, "mse", batches,
                                   lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9))
    assert hist.diverged_at is None
    np.testing.assert_allclose(hist.loss, t_losses, rtol=1e-9, atol=0)
    for i, bn in enumerate(model.bn):
        np.testing.assert_allclose(net.running_means[i], bn.running_mean.numpy(),
                                   rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(net.running_vars[i], bn.running_var.numpy(),
                                   rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(net.gammas[i], bn.weight.detach().numpy(), rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(net.betas[i], bn.bias.detach().numpy(), rtol=1e-9, atol=1e-12)
    # the running stats really moved away from their (0, 1) start
    assert not np.allclose(net.running_means[0], 0.0)
    X_test = rng.normal(size=(13, 4))
    ref = model.forward(X_test, train=False).detach().numpy()
    assert rel_err(net.forward(X_test), ref, 1e-12) < 1e-8
    ref_acts = model.activations(X_test, train=False)
    for a, r in zip(net.activations(X_test), ref_acts):
        assert rel_err(a, r.detach().numpy(), 1e-12) < 1e-8


# Shapes that take the library's other code paths (see fastrelu.kernels._config): a batch
# of >= 256 rows with small layers is reduced over fixed parallel chunks; a layer with
# >= 2**21 multiply-adds per batch goes to BLAS.
PATH_CASES = {
    "chunked": ([6, 16, 16, 3], 600, {}),
    "chunked_residual": ([6, 16, 16, 16, 3], 600, {"residual": True}),
    "blas": ([30, 300, 300, 4], 64, {}),
    "blas_residual": ([30, 300, 300, 4], 64, {"residual": True}),
    "large_batchnorm": ([6, 16, 16, 3], 600, {"batchnorm": True}),
}


@pytest.mark.torch
@pytest.mark.parametrize("case", sorted(PATH_CASES))
@pytest.mark.parametrize("loss", ["mse", "cross_entropy"])
def test_gradients_match_torch_on_large_shapes(case, loss):
    require_torch()
    sizes, n, kw = PATH_CASES[case]
    rng = np.random.default_rng(len(case))
    net = fr.MLP(sizes, seed=1, dtype="float64", **kw)
    for b in net.biases:
        b[...] = rng.normal(0.0, 0.1, size=b.shape)
    X = rng.normal(size=(n, sizes[0]))
    y = rng.normal(size=(n, sizes[-1])) if loss == "mse" else rng.integers(0, sizes[-1], size=n)
    model = TorchMLP(net, **kw)
    dW, db = net.gradients(X, y, loss=loss)
    tW, tb, _ = model.gradients(X, y, loss)
    assert_grads_close(list(dW) + list(db), tW + tb)
    if not kw.get("batchnorm"):
        ref = model.forward(X, train=False).detach().numpy()
        assert rel_err(net.forward(X), ref, 1e-12) < REL_TOL


@pytest.mark.torch
@pytest.mark.parametrize("case", ["chunked", "blas"])
def test_float32_gradients_close_to_torch_float64(case):
    """The float32 paths agree with the float64 oracle to float32 accuracy."""
    require_torch()
    sizes, n, kw = PATH_CASES[case]
    rng = np.random.default_rng(3)
    net32 = fr.MLP(sizes, seed=2, dtype="float32", **kw)
    net64 = fr.MLP(sizes, seed=2, dtype="float64", **kw)
    net64.params[...] = net32.params  # the same (float32-representable) parameters
    X = rng.normal(size=(n, sizes[0]))
    y = rng.normal(size=(n, sizes[-1]))
    model = TorchMLP(net64, **kw)
    dW, db = net32.gradients(X, y, loss="mse")
    tW, tb, _ = model.gradients(X, y, "mse")
    assert_grads_close(list(dW) + list(db), tW + tb, tol=1e-4)
    ref = model.forward(X, train=False).detach().numpy()
    assert rel_err(net32.forward(X), ref, 1e-12) < 1e-5
