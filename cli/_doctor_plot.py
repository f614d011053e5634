"""PNG of a diagnosis: dead fraction and mean square per layer against theory, and the fixes."""
from __future__ import annotations


def save_plot(report, path: str) -> None:
    """Save the report's per-layer panels (and, with measured fixes, P(collapse) per candidate)."""
    import matplotlib   # the command checked it is installed (require_matplotlib)

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = 3 if report.fixes else 2
    fig, axes = plt.subplots(1, panels, figsize=(6.2 * panels, 4.2), squeeze=False)
    axes = axes[0]
    layers = [s.name or str(s.layer) for s in report.layers]
    x = list(range(len(layers)))
    axes[0].bar(x, [s.dead_fraction for s in report.layers], color="#c62828")
    axes[0].set_ylim(0, 1.02)
    axes[0].set_title("dead units per hidden layer")
    axes[1].semilogy(x, [max(s.mean_sq_activation, 1e-300) for s in report.layers], "o-", label="measured")
    theory = [s.predicted_mean_sq for s in report.layers]
    if any(t is not None for t in theory):
        axes[1].semilogy([i for i, t in zip(x, theory) if t is not None], [t for t in theory if t is not None],
                         "k--", label="variance recursion")
    axes[1].set_title("mean squared activation")
    axes[1].legend()
    for ax in axes[:2]:
        ax.set_xticks(x, layers, rotation=45 if len(layers) > 8 else 0)
        ax.set_xlabel("hidden layer")
    if report.fixes:
        names = [c.name for c in report.fixes]
        axes[2].barh(names, [c.p_collapsed for c in report.fixes], color="#1565c0")
        axes[2].invert_yaxis()
        axes[2].set_xlim(0, 1)
        axes[2].set_title(f"P(collapsed), {report.fixes[0].seeds} seeds each")
    verdict = "COLLAPSED" if report.collapsed else "not collapsed"
    fig.suptitle(f"fastrelu doctor: {report.model}: {verdict}")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
