"""What "fits an 80-column terminal" means for the CLI's human output (tables included)."""
from __future__ import annotations

#: The environment a CliRunner test passes to render at 80 columns (rich reads COLUMNS).
COLUMNS_80 = {"COLUMNS": "80"}


def assert_fits_80_columns(text: str) -> None:
    """Every line at most 80 characters and nothing cut short with an ellipsis."""
    assert "\u2026" not in text, "a header or cell was truncated with '\u2026':\n" + text
    long = [line for line in text.splitlines() if len(line) > 80]
    assert not long, f"{len(long)} lines over 80 columns, e.g. {long[0]!r}"
