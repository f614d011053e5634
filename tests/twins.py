"""Plain-NumPy twins of every kernel: slow, obvious, written from the math, not from the kernels."""
from __future__ import annotations

import numpy as np

EPS = 1e-5


def linear_forward(h, W, b):
    return h @ W.T + b


def linear_backward_params(dz, h):
    return dz.T @ h, dz.sum(axis=0)


def linear_backward_input(dz, W):
    return dz @ W


def batchnorm_train(z, gamma, beta):
    mean = z.mean(axis=0)
    var = z.var(axis=0)
    xhat = (z - mean) / np.sqrt(var + EPS)
    return gamma * xhat + beta, xhat, mean, var


def batchnorm_eval(z, gamma, beta, rm, rv):
    return gamma * (z - rm) / np.sqrt(rv + EPS) + beta


def batchnorm_backward(dy, z, gamma):
    """dL/dz, dgamma, dbeta from the textbook formula (recomputing the forward)."""
    n = z.shape[0]
    _, xhat, mean, var = batchnorm_train(z, gamma, np.zeros_like(gamma))
    dxhat = dy * gamma
    dz = (n * dxhat - dxhat.sum(0) - xhat * (dxhat * xhat).sum(0)) / (n * np.sqrt(var + EPS))
    return dz, (dy * xhat).sum(0), dy.sum(0)


def mse(out, y):
    n, m = out.shape
    return np.mean((out - y) ** 2), 2 * (out - y) / (n * m)


def cross_entropy(logits, labels):
    n = logits.shape[0]
    z = logits - logits.max(axis=1, keepdims=True)
    p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    loss = -np.mean(np.log(p[np.arange(n), labels]))
    g = p.copy()
    g[np.arange(n), labels] -= 1
    return loss, g / n


def sgd(p, g, buf, t, lr, momentum=0.0, wd=0.0):
    d = g + wd * p
    if momentum:
        buf = d.copy() if t == 1 else momentum * buf + d
        d = buf
    return p - lr * d, buf


def adam(p, g, m, v, t, lr, b1, b2, eps, wd=0.0):
    g = g + wd * p
    m = b1 * m + (1 - b1) * g
    v = b2 * v + (1 - b2) * g * g
    mhat = m / (1 - b1 ** t)
    vhat = v / (1 - b2 ** t)
    return p - lr * mhat / (np.sqrt(vhat) + eps), m, v


def rmsprop(p, g, sq, buf, lr, alpha, eps, momentum=0.0, wd=0.0):
    g = g + wd * p
    sq = alpha * sq + (1 - alpha) * g * g
    step = g / (np.sqrt(sq) + eps)
    if momentum:
        buf = momentum * buf + step
        step = buf
    return p - lr * step, sq, buf


def clip(g, max_norm):
    norm = np.sqrt(np.sum(g.astype(np.float64) ** 2))
    return g * min(1.0, max_norm / (norm + 1e-6)), norm


class Net:
    """A twin of a whole MLP built from the public views of an ``fr.MLP``."""

    def __init__(self, net):
        self.W = [w.astype(np.float64) for w in net.weights]
        self.b = [b.astype(np.float64) for b in net.biases]
        self.gam = [g.astype(np.float64) for g in net.gammas]
        self.bet = [b.astype(np.float64) for b in net.betas]
        self.rm = [r.astype(np.float64) for r in net.running_means]
        self.rv = [r.astype(np.float64) for r in net.running_vars]
        self.kinds = net.layer_kinds
        self.s = net.residual_scale
        self.bn = net.batchnorm

    def forward(self, X, train=False):
        h = np.asarray(X, np.float64)
        hidden, pre = [], []
        for l, (W, b, kind) in enumerate(zip(self.W, self.b, self.kinds)):
            u = linear_forward(h, W, b)
            if kind == "output":
                return u, hidden, pre
            if self.bn:
                u = (batchnorm_train(u, self.gam[l], self.bet[l])[0] if train
                     else batchnorm_eval(u, self.gam[l], self.bet[l], self.rm[l], self.rv[l]))
            pre.append(u)
            h = h + self.s * np.maximum(u, 0) if kind == "residual" else np.maximum(u, 0)
            hidden.append(h)
        raise AssertionError("no output layer")

    def loss_grad(self, X, y, loss="mse"):
        """Mean loss and (dW, db, dgamma, dbeta) lists by hand-written backprop (training mode)."""
        h = np.asarray(X, np.float64)
        cache = []
        for l, (W, b, kind) in enumerate(zip(self.W, self.b, self.kinds)):
            z = linear_forward(h, W, b)
            u = z
            if kind != "output" and self.bn:
                u = batchnorm_train(z, self.gam[l], self.bet[l])[0]
            cache.append((h, z, u))
            if kind == "output":
                out = u
            elif kind == "residual":
                h = h + self.s * np.maximum(u, 0)
            else:
                h = np.maximum(u, 0)
        value, dh = mse(out, y) if loss == "mse" else cross_entropy(out, y)
        L = len(self.W)
        dW, db, dg, dbe = [None] * L, [None] * L, [None] * (L - 1), [None] * (L - 1)
        for l in range(L - 1, -1, -1):
            h_in, z, u = cache[l]
            kind = self.kinds[l]
            if kind == "output":
                dz = dh
            else:
                du = dh * (u > 0) * (self.s if kind == "residual" else 1.0)
                if self.bn:
                    dz, dg[l], dbe[l] = batchnorm_backward(du, z, self.gam[l])
                else:
                    dz = du
            dW[l], db[l] = linear_backward_params(dz, h_in)
            dh_in = linear_backward_input(dz, self.W[l])
            dh = dh_in + dh if kind == "residual" else dh_in
        return value, dW, db, dg, dbe
