"""PyTorch peers (CPU, float32): eager ``nn.Sequential`` + ``optim.SGD``, and for ensembles
stacked weights with ``baddbmm`` and ``torch.func`` (``stack_module_state`` + ``vmap``); for the
born-dead workload S0, stacked weights and ``torch.matmul`` over a whole cell of nets.

torch is optional: it is imported inside the functions.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from fastrelu_bench.common import RunResult
from fastrelu_bench.s0 import S0Problem, S0Result
from fastrelu_bench.workloads import Problem

__all__ = ["prepare_eager", "prepare_baddbmm", "prepare_func", "prepare_s0", "threads"]


def threads() -> int:
    """Intra-op threads torch uses."""
    import torch

    return int(torch.get_num_threads())


def _sequential(sizes: tuple[int, ...]) -> Any:
    from torch import nn

    layers: list[Any] = []
    for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(fan_in, fan_out))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


def _linears(model: Any) -> list[Any]:
    from torch import nn

    return [m for m in model if isinstance(m, nn.Linear)]


def prepare_eager(problem: Problem) -> Callable[[], RunResult]:
    """Return ``run()``: one ``nn.Sequential`` trained by ``torch.optim.SGD`` (W1, W3)."""
    import torch
    from torch import nn

    w = problem.workload
    model = _sequential(w.sizes)
    linears = _linears(model)
    loss_fn = nn.MSELoss() if w.loss == "mse" else nn.CrossEntropyLoss()
    X = torch.from_numpy(problem.X)
    y = torch.from_numpy(problem.y)
    batches = torch.from_numpy(problem.batches)
    init = [(torch.from_numpy(W), torch.from_numpy(b)) for W, b in problem.params]

    def run() -> RunResult:
        with torch.no_grad():
            for lin, (W, b) in zip(linears, init):
                lin.weight.copy_(W)
                lin.bias.copy_(b)
        opt = torch.optim.SGD(model.parameters(), lr=w.lr)
        loss = None
        for t in range(w.steps):
            rows = batches[t]
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(X[rows]), y[rows])
            loss.backward()
            opt.step()
        params = [(lin.weight.detach().numpy().copy(), lin.bias.detach().numpy().copy())
                  for lin in linears]
        return RunResult(float(loss.detach()) if loss is not None else float("nan"), params)

    return run


def _check_mse(problem: Problem, who: str) -> None:
    if problem.workload.loss != "mse":
        raise ValueError(f"loss: the {who} ensemble peer supports 'mse', got {problem.workload.loss!r}")


def prepare_baddbmm(problem: Problem) -> Callable[[], RunResult]:
    """Return ``run()``: all networks stacked, forward by ``baddbmm``, autograd, SGD by hand (W2)."""
    import torch

    _check_mse(problem, "PyTorch baddbmm")
    w = problem.workload
    X = torch.from_numpy(problem.X)
    y = torch.from_numpy(problem.y)
    batches = torch.from_numpy(np.ascontiguousarray(problem.batches.transpose(1, 0, 2)))
    lrs = torch.from_numpy(problem.lrs)
    init = [(torch.from_numpy(W), torch.from_numpy(b)) for W, b in problem.params]
    lr_w = lrs.view(-1, 1, 1)  # biases are kept as (K, 1, out), so one view serves both
    n_layers = len(init)

    def run() -> RunResult:
        Ws = [W.clone().requires_grad_() for W, _ in init]
        bs = [b.clone().unsqueeze(1).requires_grad_() for _, b in init]  # (K, 1, out)
        per_net = None
        for t in range(w.steps):
            rows = batches[t]
            h = X[rows]  # (K, B, in)
            for i in range(n_layers):
                h = torch.baddbmm(bs[i], h, Ws[i].transpose(1, 2))
                if i < n_layers - 1:
                    h = torch.relu(h)
            per_net = (h - y[rows]).square().mean(dim=(1, 2))
            per_net.sum().backward()
            with torch.no_grad():
                for W, b in zip(Ws, bs):
                    W.sub_(W.grad * lr_w)
                    b.sub_(b.grad * lr_w)
                    W.grad = None
                    b.grad = None
        params = [(W.detach().numpy().copy(), b.detach().squeeze(1).numpy().copy())
                  for W, b in zip(Ws, bs)]
        loss = per_net.detach().numpy().copy() if per_net is not None else np.nan
        return RunResult(loss, params)

    return run


def prepare_func(problem: Problem) -> Callable[[], RunResult]:
    """Return ``run()``: ``torch.func`` with ``stack_module_state`` and ``vmap(grad)`` (W2)."""
    import torch
    from torch.func import functional_call, grad_and_value, stack_module_state, vmap

    _check_mse(problem, "torch.func")
    w = problem.workload
    X = torch.from_numpy(problem.X)
    y = torch.from_numpy(problem.y)
    batches = torch.from_numpy(np.ascontiguousarray(problem.batches.transpose(1, 0, 2)))
    lrs = torch.from_numpy(problem.lrs)

    models = [_sequential(w.sizes) for _ in range(w.n_nets)]
    stacked, _ = stack_module_state(models)
    base = _sequential(w.sizes).to("meta")
    names = [n for n, _ in base.named_parameters()]
    init = {}
    for i, (W, b) in enumerate(problem.params):
        init[names[2 * i]] = torch.from_numpy(W)
        init[names[2 * i + 1]] = torch.from_numpy(b)
    if set(init) != set(stacked):
        raise RuntimeError(f"parameter names differ: {sorted(init)} vs {sorted(stacked)}")
    del models, stacked
    lr_views = {n: lrs.view(-1, *([1] * (p.dim() - 1))) for n, p in init.items()}

    def loss_fn(params: dict, xb: Any, yb: Any) -> Any:
        out = functional_call(base, params, (xb,))
        return (out - yb).square().mean()

    step = vmap(grad_and_value(loss_fn))

    def run() -> RunResult:
        params = {n: p.clone() for n, p in init.items()}
        losses = None
        for t in range(w.steps):
            rows = batches[t]
            grads, losses = step(params, X[rows], y[rows])
            for n, p in params.items():
                p.sub_(grads[n] * lr_views[n])
        out = [(params[names[2 * i]].numpy().copy(), params[names[2 * i + 1]].numpy().copy())
               for i in range(len(problem.params))]
        return RunResult(losses.numpy().copy() if losses is not None else np.nan, out)

    return run


def prepare_s0(problem: S0Problem) -> Callable[[], S0Result]:
    """Return ``run()``: every S0 cell as one stack of nets under ``torch.inference_mode``.

    One ``torch.Generator`` for the whole run; per hidden layer one ``(nets, fan_out, fan_in)``
    ``torch.randn`` scaled to He's std, one batched ``torch.matmul`` (activations
    ``(nets, units, rows)``) and a vectorized dead test. The output layer does not decide
    whether a hidden layer is dead, so it is not drawn.
    """
    import torch

    w = problem.workload
    X_t = torch.from_numpy(np.ascontiguousarray(problem.X.T))   # (1, rows)
    shape = (len(w.depths), len(w.widths))
    n_nets = w.seeds_per_cell

    def cell(gen: Any, width: int, depth: int) -> int:
        h, fan_in = X_t, X_t.shape[0]
        dead = torch.zeros(n_nets, dtype=torch.bool)
        for _ in range(depth):
            W = torch.randn((n_nets, width, fan_in), generator=gen).mul_(float(np.sqrt(2.0 / fan_in)))
            z = torch.matmul(W, h)                                  # (nets, width, rows)
            dead |= z.flatten(1).amax(dim=1) <= 0
            h, fan_in = z.relu_(), width
        return int(dead.sum())

    def run() -> S0Result:
        gen = torch.Generator().manual_seed(w.seed)
        dead = np.zeros(shape, dtype=np.int64)
        with torch.inference_mode():
            for i, j, depth, width in problem.cells:
                dead[i, j] = cell(gen, width, depth)
        return S0Result(dead, np.full(shape, n_nets, dtype=np.int64))

    return run
