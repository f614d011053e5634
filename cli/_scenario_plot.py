"""PNG of how the collapse unfolds: loss, dead fraction and output std over steps, per arm."""
from __future__ import annotations

import math


def save_plot(results, path: str) -> None:
    """Save one row of three panels per scenario result to ``path`` (PNG)."""
    import matplotlib   # the command checked it is installed (require_matplotlib)

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = len(results)
    fig, axes = plt.subplots(rows, 3, figsize=(18.5, 3.8 * rows), squeeze=False)
    colors = {"broken": ["#c62828", "#ef6c00", "#6a1b9a"], "fix": ["#2e7d32", "#1565c0", "#00838f", "#558b2f"],
              "partial": ["#f9a825"]}
    for r, res in enumerate(results):
        used = {k: 0 for k in colors}
        ax_loss, ax_dead, ax_std = axes[r]
        for arm in res.arms:
            pal = colors[arm.role]
            color = pal[used[arm.role] % len(pal)]
            used[arm.role] += 1
            style = "-" if arm.role == "broken" else ("--" if arm.role == "fix" else ":")
            recs = arm.records
            steps = [rec["step"] for rec in recs]
            label = f"{arm.name} ({arm.role})"
            ax_loss.plot(steps, [_clip(rec["loss"], LOSS_CAP) for rec in recs], style, color=color, label=label, lw=2)
            ax_dead.plot(steps, [_worst(rec["dead_fraction"]) for rec in recs], style, color=color, label=label, lw=2)
            target = arm.report.target_std if arm.report is not None and arm.report.target_std > 0 else 1.0
            ax_std.plot(steps, [_clip(_div(rec["output_std"], target), STD_CAP, STD_FLOOR) for rec in recs],
                        style, color=color, label=label, lw=2)
            if arm.diverged_at is not None:
                ax_loss.axvline(arm.diverged_at, color=color, alpha=0.4, lw=1)
        ax_loss.set_yscale("log")
        ax_loss.set_title(f"{res.scenario}: loss (MSE on the data; capped at {LOSS_CAP:g})")
        ax_dead.set_title(f"{res.scenario}: dead units, worst hidden layer")
        ax_dead.set_ylim(-0.03, 1.03)
        ax_dead.yaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
        ax_std.set_yscale("log")
        ax_std.set_title(f"{res.scenario}: output std / target std")
        ax_std.set_ylabel(f"ratio (0 drawn at {STD_FLOOR:g})")
        ax_std.axhline(1e-3, color="grey", ls=":", lw=1)
        ax_std.annotate("collapsed below this line (1e-3)", (0, 1e-3), textcoords="offset points",
                        xytext=(4, 4), fontsize=8, color="grey")
        for ax in (ax_loss, ax_dead, ax_std):
            ax.set_xlabel("step")
            ax.grid(alpha=0.3)
        ax_std.legend(fontsize=9, loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0,
                      title=res.scenario, title_fontsize=9)
    fig.suptitle("fastrelu scenario: broken (solid) vs fixed (dashed) arms, seed "
                 f"{results[0].seed}", fontsize=13)
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.35 / (3.8 * rows)))
    fig.savefig(path, dpi=90)
    plt.close(fig)


LOSS_CAP = 1e6
STD_CAP = 1e4
STD_FLOOR = 1e-12


def _clip(x, cap, floor=None):
    """Values for a log axis: non-finite -> gap, above ``cap`` -> ``cap``, 0 -> ``floor``."""
    if x is None or math.isnan(x):
        return float("nan")
    if x > cap:
        return cap
    if x <= 0 or (floor is not None and x < floor):
        return floor if floor is not None else float("nan")
    return x


def _div(a, b):
    return float("nan") if a is None else a / b


def _worst(fracs):
    vals = [f for f in fracs if f is not None and math.isfinite(f)]
    return max(vals) if vals else float("nan")
