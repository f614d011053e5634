"""What :func:`fastrelu.diagnose` returns: per-layer measurements, the verdict, the findings."""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from fastrelu._format import fmt, json_clean
from fastrelu.causes import Cause, as_causes
from fastrelu.findings import Finding
from fastrelu.rules import COLLAPSE_RATIO

__all__ = ["LayerStats", "Report"]


@dataclass
class LayerStats:
    """Measurements of one hidden layer (``layer`` counts from 1). A model measured through
    hooks (not MLP-shaped) has a ``name`` per ReLU call and no weight, theory or cosine columns."""

    layer: int
    width: int
    dead_fraction: float
    mean_sq_activation: float
    predicted_mean_sq: float | None = None
    cosine: float | None = None
    predicted_cosine: float | None = None
    weight_norm: float | None = None
    weight_rms: float | None = None
    he_rms: float | None = None
    bias_norm: float | None = None
    bias_mean: float | None = None
    grad_weight_norm: float | None = None
    grad_bias_norm: float | None = None
    name: str = ""


@dataclass
class Report:
    """Result of :func:`diagnose`; ``rich`` renders it as a table, ``to_dict``/``to_json`` export it.

    Examples
    --------
    >>> import fastrelu as fr
    >>> X, y = fr.data.teacher(64, 4, seed=0)
    >>> report = fr.diagnose(fr.MLP([4, 8, 8, 1], seed=0), X, y)
    >>> report.collapsed, len(report.layers), sorted(report.to_dict())[:3]
    (False, 2, ['causes', 'collapsed', 'finding_codes'])
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
    params_finite: bool = True
    loss_name: str = "mse"
    output_activation: str | None = None
    model: str = "fastrelu.MLP"
    findings: list[Finding] = field(default_factory=list)
    fixes: list | None = None
    probe: dict | None = None
    weights: list | None = None

    @property
    def dead_fraction(self) -> list[float]:
        """Dead fraction per hidden layer."""
        return [s.dead_fraction for s in self.layers]

    @property
    def causes(self) -> list[Cause]:
        """The findings with a cause label (errors and warnings), as the scenarios show them."""
        return as_causes(self.findings)

    @property
    def finding_codes(self) -> list[str]:
        """The codes of :attr:`findings`, in rank order."""
        return [f.code for f in self.findings]

    @property
    def errors(self) -> list[Finding]:
        """The findings of severity ``"error"``."""
        return [f for f in self.findings if f.severity == "error"]

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict; non-finite floats become ``None``."""
        d = asdict(self)
        d["causes"] = [asdict(c) for c in self.causes]
        d["finding_codes"] = self.finding_codes
        return json_clean(d)

    def to_json(self, **kwargs: Any) -> str:
        """The dict of :meth:`to_dict` as a JSON string (strict: no NaN)."""
        return json.dumps(self.to_dict(), allow_nan=False, **kwargs)

    def to_table(self):
        """A ``rich.table.Table`` with one row per hidden layer and the verdict as caption."""
        from rich import box
        from rich.table import Table

        verdict = "[bold red]COLLAPSED[/]" if self.collapsed else "[bold green]not collapsed[/]"
        table = Table(
            title=f"fastrelu diagnosis of {self.model} ({self.n_rows} rows): {verdict}",
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
                s.name or str(s.layer), str(s.width), f"{100 * s.dead_fraction:.0f}",
                fmt(s.mean_sq_activation), fmt(s.predicted_mean_sq), fmt(s.cosine, 4),
                fmt(s.predicted_cosine, 4), fmt(s.weight_rms / s.he_rms if s.he_rms and s.weight_rms is not None else None),
                fmt(s.bias_mean), fmt(s.grad_weight_norm),
            )
        return table

    def __rich__(self):
        from rich.console import Group
        from rich.text import Text

        lines = [self.to_table()]
        if self.findings:
            lines.append(Text("Findings, most likely cause first:", style="bold"))
            style = {"error": "bold red", "warning": "yellow", "info": "dim"}
            for i, f in enumerate(self.findings, 1):
                line = Text(f" {i}. ")
                line.append(f"{f.severity} {f.code}", style=style[f.severity])
                line.append(f": {f.message}")
                if f.fix:
                    line.append(f"\n    fix: {f.fix}", style="green")
                lines.append(line)
        else:
            lines.append(Text("No cause of collapse detected."))
        if self.fixes:
            lines.append(fixes_table(self.fixes))
        return Group(*lines)


def fixes_table(fixes: list):
    """The measured fixes as a ``rich`` table, best first (as-is baseline included)."""
    from rich import box
    from rich.table import Table

    first = fixes[0]
    table = Table(title=f"Measured fixes ({first.seeds} fresh seeds x {first.steps} steps each)",
                  box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, collapse_padding=True,
                  caption="P(coll.): share of nets collapsed; P(div.): share diverged; loss: median final loss")
    for col, justify in (("candidate", "left"), ("P(coll.)", "right"), ("P(div.)", "right"), ("loss", "right"),
                         ("change", "left")):
        table.add_column(col, justify=justify, no_wrap=col != "change")
    for c in fixes:
        measured = c.p_collapsed is not None
        table.add_row(c.name, fmt(c.p_collapsed, 2) if measured else "-", fmt(c.p_diverged, 2) if measured else "-",
                      fmt(c.median_loss), c.change + ("" if measured or not c.note else f" ({c.note})"))
    return table
