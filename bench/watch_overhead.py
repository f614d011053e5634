"""Overhead of ``fastrelu.torch.watch(model, every=10)`` on a small PyTorch training loop.

Two copies of a 20-64-64-1 ReLU MLP (same seed), MSE, batch 64, Adam (lr 1e-3), train for
``--steps`` steps on the same pre-drawn batches, one plain and one under ``watch``. They
advance in alternating blocks of ``--block`` steps (default 1: step by step, which one goes
first alternating), each block timed, so that the load of a shared machine, which drifts by
tens of percent within seconds, hits both alike. Per repeat
the ratio is (watched time) / (plain time) summed over the blocks; the script prints the
median over ``--repeats`` repeats (target: at most 1.05). It also checks that both copies end
with bit-identical parameters: watching does not change the training.

    python bench/watch_overhead.py [--steps 3000] [--repeats 5] [--block 1] [--every 10] [--threads 1]

torch runs on one thread by default: on the shared 2-core machine, two intra-op threads on
64x64 matrices spent most of their time waiting on each other (70-100 ms per step measured,
against 2.5 ms on one thread), which would drown the overhead being measured.
"""
from __future__ import annotations

import argparse
import platform
import statistics
import time

import torch

import fastrelu.torch as frt


def make_problem(seed: int = 0, n: int = 4096, steps: int = 3000, batch: int = 64):
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(n, 20, generator=g)
    y = X[:, :3].sum(dim=1, keepdim=True) + 0.1 * torch.randn(n, 1, generator=g)
    return X, y, torch.randint(0, n, (steps, batch), generator=g)


def make_model(seed: int = 1):
    torch.manual_seed(seed)
    model = torch.nn.Sequential(torch.nn.Linear(20, 64), torch.nn.ReLU(), torch.nn.Linear(64, 64),
                                torch.nn.ReLU(), torch.nn.Linear(64, 1))
    return model, torch.optim.Adam(model.parameters(), lr=1e-3)


def train_block(model, opt, X, y, batches) -> float:
    start = time.perf_counter()
    for idx in batches:
        loss = torch.nn.functional.mse_loss(model(X[idx]), y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
    return time.perf_counter() - start


def paired_run(X, y, batches, every: int, block: int):
    """(plain seconds, watched seconds, the watch) of one pair of training runs."""
    (plain, opt_p), (watched, opt_w) = make_model(), make_model()
    t_plain = 0.0
    start = time.perf_counter()
    w = frt.watch(watched, every=every).__enter__()  # entering and leaving are timed too
    t_watched = time.perf_counter() - start
    try:
        for k, first in enumerate(range(0, len(batches), block)):
            part = batches[first:first + block]
            if k % 2:
                t_watched += train_block(watched, opt_w, X, y, part)
                t_plain += train_block(plain, opt_p, X, y, part)
            else:
                t_plain += train_block(plain, opt_p, X, y, part)
                t_watched += train_block(watched, opt_w, X, y, part)
    finally:
        start = time.perf_counter()
        w.__exit__(None, None, None)
        t_watched += time.perf_counter() - start
    same = all(torch.equal(a, b) for a, b in zip(plain.parameters(), watched.parameters()))
    assert same, "the watched model trained differently from the plain one"
    assert len(w.records) == -(-len(batches) // every), "the watch did not record every every-th step"
    return t_plain, t_watched, w


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--block", type=int, default=1)
    ap.add_argument("--every", type=int, default=10)
    ap.add_argument("--threads", type=int, default=1, help="torch intra-op threads (default 1)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    X, y, batches = make_problem(steps=args.steps)
    paired_run(X, y, batches[:200], args.every, args.block)  # warm-up: allocator, first-call paths
    runs = [paired_run(X, y, batches, args.every, args.block) for _ in range(args.repeats)]
    ratios = [tw / tp for tp, tw, _ in runs]
    plain = statistics.median(tp for tp, _, _ in runs)
    watched = statistics.median(tw for _, tw, _ in runs)
    print(f"machine: {platform.machine()}, torch {torch.__version__}, {torch.get_num_threads()} torch thread(s)")
    print(f"{args.steps} steps of a 20-64-64-1 MLP, batch 64, Adam, in blocks of {args.block}; "
          f"{args.repeats} repeats; watch every={args.every} ({len(runs[0][2].records)} records per run)")
    print(f"plain:   median {plain:.3f} s ({1e6 * plain / args.steps:.1f} us/step)")
    print(f"watched: median {watched:.3f} s ({1e6 * watched / args.steps:.1f} us/step)")
    print(f"ratio watched/plain per repeat: {[round(r, 3) for r in ratios]}")
    print(f"median ratio: {statistics.median(ratios):.3f} (target <= 1.05); parameters bit-identical: yes")


if __name__ == "__main__":
    main()
