"""What :func:`fastrelu.diagnose` returns: per-layer measurements, the verdict and the causes."""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from fastrelu._format import fmt, json_clean
from fastrelu.causes import Cause
from fastrelu.rules import COLLAPSE_RATIO

__all__ = ["LayerStats", "Report"]


@dataclass
class LayerStats:
    """Measurements of one hidden layer (``layer`` counts from 1)."""

    layer: int
    width: int
    dead_fraction: float
    mean_sq_activation: float
    predicted_mean_sq: float | None
    cosine: float
    predicted_cosine: float | None
    weight_norm: float
    weight_rms: float
    he_rms: float
    bias_norm: float
    bias_mean: float
    grad_weight_norm: float | None = None
    grad_bias_norm: float | None = None


@dataclass
class Report:
    """Result of :func:`diagnose`; ``rich`` renders it as a table, ``to_dict``/``to_json`` export it.

    Examples
    --------
    >>> import fastrelu as fr
    >>> X, y = fr.data.teacher(64, 4, seed=0)
    >>> report = fr.diagnose(fr.MLP([4, 8, 8, 1], seed=0), X, y)
    >>> report.collapsed, len(report.layers), sorted(report.to_dict())[:3]
    (False, 2, ['causes', 'collapsed', 'finite'])
    """

    layers: list[LayerStats]
    output_std: float
    target_std: float
    target_kind: str
    output_std_ratio: float
    collapsed: bool
    finite: bool
    loss: float | None
    output_weight_norm: float
    output_grad_norm: float | None
    input_mean_sq: float
    theory_basis: str
    n_rows: int
    n_pairs: int
    causes: list[Cause] = field(default_factory=list)

    @property
    def dead_fraction(self) -> list[float]:
        """Dead fraction per hidden layer."""
        return [s.dead_fraction for s in self.layers]

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict; non-finite floats become ``None``."""
        return json_clean(asdict(self))

    def to_json(self, **kwargs: Any) -> str:
        """The dict of :meth:`to_dict` as a JSON string (strict: no NaN)."""
        return json.dumps(self.to_dict(), allow_nan=False, **kwargs)

    def to_table(self):
        """A ``rich.table.Table`` with one row per hidden layer and the verdict as caption."""
        from rich import box
        from rich.table import Table

        verdict = "[bold red]COLLAPSED[/]" if self.collapsed else "[bold green]not collapsed[/]"
        table = Table(
            title=f"fastrelu diagnosis ({self.n_rows} rows): {verdict}",
            caption=(
                f"output std {fmt(self.output_std)} / {self.target_kind} std "
                f"{fmt(self.target_std)} = ratio {fmt(self.output_std_ratio)} "
                f"(collapsed if <= {COLLAPSE_RATIO:g}); theory: {self.theory_basis}. "
                "act^2: mean squared activation; cos: mean cosine similarity of the rows' "
                "representations; th.: the theory's prediction of the column before; W/He: "
                "weight RMS over He's sqrt(2/fan_in); |dW|: weight-gradient norm"
            ),
            box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, collapse_padding=True,
        )
        for col in ("#", "width", "dead%", "act^2", "th.", "cos", "th.", "W/He", "mean b", "|dW|"):
            table.add_column(col, justify="right", no_wrap=True)
        for s in self.layers:
            table.add_row(
                str(s.layer), str(s.width), f"{100 * s.dead_fraction:.0f}",
                fmt(s.mean_sq_activation), fmt(s.predicted_mean_sq), fmt(s.cosine, 4),
                fmt(s.predicted_cosine, 4), fmt(s.weight_rms / s.he_rms if s.he_rms else None),
                fmt(s.bias_mean), fmt(s.grad_weight_norm),
            )
        return table

    def __rich__(self):
        from rich.console import Group
        from rich.text import Text

        lines = [self.to_table()]
        if self.causes:
            lines.append(Text("Likely causes, most likely first:", style="bold"))
            for i, c in enumerate(self.causes, 1):
                lines.append(Text(f" {i}. [{c.cause}] {c.evidence}"))
        else:
            lines.append(Text("No cause of collapse detected."))
        return Group(*lines)
