"""Peak memory and speed of a large init-only sweep written to a journal (issue 13, point 3).

The born-dead grid at initialization, width [2, 3] x depth [4, 9] x ``--seeds`` seeds on
``abs1d`` (``--seeds 2500000``: 10,000,000 points), with ``out=`` a journal. Every phase runs
in a fresh Python process that reports its own peak RSS (``resource.getrusage``, which counts
file pages the process touched as well as its heap):

* ``sweep``: the sweep from an empty journal, then, in the same process, reading every row
  back (all columns, in grid order, by column: no dicts) and ``pivot("depth", "width",
  "dead_layer")``;
* ``resume``: the same call again on the finished journal (every point resumed, none
  computed), then the same read-back and pivot (with ``--exports``, then ``to_parquet``,
  ``to_csv`` and ``to_pandas`` of three columns, each timed, with the peak RSS after it).

    python bench/sweep_memory.py --seeds 250000            # 1M points
    python bench/sweep_memory.py --seeds 2500000 --json    # 10M points, one JSON document

The journal is left in ``--dir`` (default: a temporary folder, removed at the end).
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time

WIDTHS, DEPTHS = [2, 3], [4, 9]


def _rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def _exports(res, folder: str) -> dict:
    """Seconds and rows/s of to_parquet, to_csv and to_pandas (three columns) of ``res``."""
    doc = {}
    for name, call in (("to_parquet", lambda: res.to_parquet(os.path.join(folder, "x.parquet"))),
                       ("to_csv", lambda: res.to_csv(os.path.join(folder, "x.csv"))),
                       ("to_pandas_3_columns", lambda: res.to_pandas(["depth", "width", "dead_layer"]))):
        t0 = time.perf_counter()
        call()
        doc[name + "_s"] = time.perf_counter() - t0
        doc[name + "_rows_per_s"] = len(res) / doc[name + "_s"]
        doc[name + "_rss_peak_mib"] = _rss_mib()
    for f in ("x.parquet", "x.csv"):
        os.remove(os.path.join(folder, f))
    return doc


def _child(out: str, seeds: int, chunk_size: "int | None", exports: bool = False) -> dict:
    """One phase in this process: sweep (or resume), read back, pivot; numbers as a dict."""
    import numpy as np

    import fastrelu as fr
    from fastrelu.sweeps.columns import FIELDS

    fr.sweep({"width": [2], "depth": [4], "seed": range(64)}, data="abs1d", steps=0)  # load kernels
    doc = {"rss_after_warmup_mib": _rss_mib()}
    grid = {"width": WIDTHS, "depth": DEPTHS, "seed": range(seeds)}
    t0 = time.perf_counter()
    res = fr.sweep(grid, data="abs1d", steps=0, out=out, chunk_size=chunk_size)
    doc.update(points=len(res), resumed=res.n_resumed, sweep_s=time.perf_counter() - t0,
               rss_after_sweep_mib=_rss_mib())
    t0 = time.perf_counter()
    rows, checksum = 0, 0
    for b in res.batches(FIELDS):
        rows += len(b)
        checksum += int(b.cols["seed"].sum()) + int(np.count_nonzero(b.cols["dead_layer"]))
    doc.update(read_rows=rows, read_s=time.perf_counter() - t0, read_checksum=checksum)
    doc["read_rows_per_s"] = rows / doc["read_s"]
    t0 = time.perf_counter()
    p = res.pivot("depth", "width", "dead_layer")
    doc["pivot_s"] = time.perf_counter() - t0
    doc["pivot"] = p.to_dict()
    doc["rss_peak_mib"] = _rss_mib()
    doc["journal_bytes"] = os.path.getsize(out)
    if exports:
        doc["exports"] = _exports(res, os.path.dirname(out))
    return doc


def run_phase(out: str, seeds: int, chunk_size: "int | None", exports: bool = False) -> dict:
    """Run :func:`_child` in a fresh interpreter and return its numbers."""
    cmd = [sys.executable, os.path.abspath(__file__), "--child", out, "--seeds", str(seeds)]
    if chunk_size:
        cmd += ["--chunk-size", str(chunk_size)]
    if exports:
        cmd += ["--exports"]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"phase failed ({done.returncode}): {done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: "list[str] | None" = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=250_000, help="seeds per cell (4 cells)")
    ap.add_argument("--suffix", default=".arrows", choices=[".arrows", ".jsonl"])
    ap.add_argument("--chunk-size", type=int, default=None)
    ap.add_argument("--dir", default=None, help="folder of the journal (kept)")
    ap.add_argument("--json", action="store_true", help="one JSON document on stdout")
    ap.add_argument("--exports", action="store_true",
                    help="also time to_parquet, to_csv and to_pandas (3 columns) after the resume")
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        print(json.dumps(_child(args.child, args.seeds, args.chunk_size, args.exports)))
        return
    folder = args.dir or tempfile.mkdtemp(prefix="fastrelu-sweep-memory-")
    out = os.path.join(folder, f"born-dead-{4 * args.seeds}{args.suffix}")
    try:
        doc = {"points": 4 * args.seeds, "suffix": args.suffix, "chunk_size": args.chunk_size,
               "cpus": os.cpu_count(), "phases": {}}
        for phase in ("sweep", "resume"):
            doc["phases"][phase] = run_phase(out, args.seeds, args.chunk_size,
                                             args.exports and phase == "resume")
    finally:
        if args.dir is None:
            shutil.rmtree(folder, ignore_errors=True)
    if args.json:
        print(json.dumps(doc, indent=2))
        return
    print(f"{doc['points']:,} points, out=*{args.suffix}, chunk_size={args.chunk_size or 'default'}")
    for phase, d in doc["phases"].items():
        print(f"{phase:>7}: {d['sweep_s']:8.1f} s ({d['points'] / d['sweep_s']:,.0f} points/s), "
              f"read back {d['read_rows_per_s']:,.0f} rows/s, pivot {d['pivot_s']:.2f} s, "
              f"peak RSS {d['rss_peak_mib']:,.0f} MiB (after sweep {d['rss_after_sweep_mib']:,.0f}, "
              f"after warm-up {d['rss_after_warmup_mib']:,.0f}), journal {d['journal_bytes'] / 2**20:,.0f} MiB")
        for key, value in d.get("exports", {}).items():
            print(f"         {key}: {value:,.2f}")


if __name__ == "__main__":
    main()
