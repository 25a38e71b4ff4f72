"""Drift: how far today's feature values are from the ones a model trained on.

At logging time `training_stats` summarises every input column of the
training frame (row count, null rate; numeric columns: decile bin edges, bin
shares and a fixed-seed sample of values; other columns: category shares).
`compare` then measures a current sample against it, per column:

* **PSI** (population stability index) over the training bins (numeric) or
  categories (others): ``sum((cur - ref) * ln(cur / ref))`` with shares
  floored at `EPSILON` so an empty bin stays finite;
* **null rate**, training and now;
* **KS** (two-sample Kolmogorov-Smirnov, `scipy.stats.ks_2samp`) between the
  training sample and the current values, numeric columns only.

A column is flagged when ``PSI > PSI_THRESHOLD`` (0.25, the usual "significant
shift" line), its null rate moved by more than ``NULL_RATE_THRESHOLD`` (0.10
absolute), or ``KS statistic > KS_THRESHOLD`` (0.2) with p-value below
``KS_PVALUE`` (0.01). `to_html` draws one overlaid histogram per column
(training vs now) as inline SVG: no plotting library, one self-contained file.
"""

from __future__ import annotations

import html
import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

__all__ = [
    "EPSILON",
    "KS_PVALUE",
    "KS_THRESHOLD",
    "NULL_RATE_THRESHOLD",
    "PSI_THRESHOLD",
    "ColumnDrift",
    "DriftReport",
    "compare",
    "html_page",
    "psi",
    "training_stats",
]

PSI_THRESHOLD = 0.25
NULL_RATE_THRESHOLD = 0.10
KS_THRESHOLD = 0.2
KS_PVALUE = 0.01
EPSILON = 1e-4
BINS = 10
SAMPLE_SIZE = 2000
TOP_CATEGORIES = 30
OTHER = "__other__"


def _is_numeric(series: pd.Series) -> bool:
    import pandas as pd

    dtype = series.dtype
    return bool(pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype))


def _numeric_values(series: pd.Series) -> np.ndarray:
    import numpy as np

    values: np.ndarray = series.to_numpy(dtype="float64", na_value=np.nan)
    present: np.ndarray = values[~np.isnan(values)]
    return present


def _category(value: Any) -> str:
    return str(value)


def training_stats(frame: pd.DataFrame, seed: int = 0) -> dict[str, Any]:
    """Per-column statistics of a training frame, JSON-ready.

    Returns:
        ``{"rows": n, "columns": {column: {...}}}``; numeric columns carry
        ``kind="numeric"``, ``edges`` (inner bin edges), ``shares`` (per bin,
        the outer bins open-ended), ``sample``, ``mean``/``std``/``min``/``max``;
        others ``kind="categorical"`` and ``shares`` per category.
    """
    import numpy as np

    rows = len(frame)
    columns: dict[str, Any] = {}
    rng = np.random.default_rng(seed)
    for column in frame.columns:
        series = frame[column]
        nulls = int(series.isna().sum())
        stats: dict[str, Any] = {
            "null_rate": nulls / rows if rows else 0.0,
            "count": rows,
            "dtype": str(series.dtype),
        }
        if _is_numeric(series):
            values = _numeric_values(series)
            stats["kind"] = "numeric"
            if len(values):
                edges = np.unique(np.quantile(values, np.linspace(0, 1, BINS + 1)[1:-1]))
                stats["edges"] = edges.tolist()
                stats["shares"] = _bin_shares(values, edges).tolist()
                sample = (
                    values
                    if len(values) <= SAMPLE_SIZE
                    else rng.choice(values, SAMPLE_SIZE, replace=False)
                )
                stats["sample"] = np.sort(sample).tolist()
                stats.update(
                    mean=float(values.mean()),
                    std=float(values.std()),
                    min=float(values.min()),
                    max=float(values.max()),
                )
            else:
                stats.update(edges=[], shares=[], sample=[])
        else:
            present = series.dropna().map(_category)
            counts = present.value_counts()
            top = counts.iloc[:TOP_CATEGORIES]
            total = int(counts.sum())
            shares = {str(k): int(v) / total for k, v in top.items()} if total else {}
            rest = total - int(top.sum())
            if rest:
                shares[OTHER] = rest / total
            stats["kind"] = "categorical"
            stats["shares"] = shares
        columns[str(column)] = stats
    return {"rows": rows, "columns": columns}


def _bin_shares(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Shares of ``values`` in the bins ``(-inf, e0), [e0, e1), ..., [ek, inf)``."""
    import numpy as np

    counts = np.bincount(np.searchsorted(edges, values, side="right"), minlength=len(edges) + 1)
    total = counts.sum()
    return counts / total if total else counts.astype("float64")


def psi(reference: Sequence[float], current: Sequence[float], epsilon: float = EPSILON) -> float:
    """Population stability index of two share vectors over the same bins
    (shares floored at ``epsilon``)."""
    total = 0.0
    for ref, cur in zip(reference, current, strict=True):
        ref = max(float(ref), epsilon)
        cur = max(float(cur), epsilon)
        total += (cur - ref) * math.log(cur / ref)
    return total


@dataclass
class ColumnDrift:
    """Drift of one input column."""

    column: str
    kind: str
    psi: float | None
    null_rate_training: float
    null_rate_current: float
    ks_statistic: float | None = None
    ks_pvalue: float | None = None
    flagged: bool = False
    reasons: list[str] = field(default_factory=list)
    # for the histograms: bin labels and shares, training vs now
    labels: list[str] = field(default_factory=list)
    training_shares: list[float] = field(default_factory=list)
    current_shares: list[float] = field(default_factory=list)


@dataclass
class DriftReport:
    """Per-column drift of one current sample against the training statistics."""

    model: str
    source: str
    rows_training: int
    rows_current: int
    columns: list[ColumnDrift]
    thresholds: dict[str, float] = field(
        default_factory=lambda: {
            "psi": PSI_THRESHOLD,
            "null_rate": NULL_RATE_THRESHOLD,
            "ks_statistic": KS_THRESHOLD,
            "ks_pvalue": KS_PVALUE,
        }
    )

    @property
    def flagged(self) -> list[str]:
        return [c.column for c in self.columns if c.flagged]

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["flagged"] = self.flagged
        return data

    def table(self) -> str:
        """A plain-text table, one line per column."""
        header = (
            f"{'column':<48} {'psi':>7} {'null train':>10} {'null now':>9} {'ks':>6} "
            f"{'ks p':>8}  flag"
        )
        lines = [
            f"drift of {self.model} vs {self.source}: {self.rows_current} rows now, "
            f"{self.rows_training} in training",
            header,
        ]
        for c in self.columns:
            ks = f"{c.ks_statistic:6.3f}" if c.ks_statistic is not None else f"{'-':>6}"
            p = f"{c.ks_pvalue:8.2g}" if c.ks_pvalue is not None else f"{'-':>8}"
            value = f"{c.psi:7.3f}" if c.psi is not None else f"{'-':>7}"
            flag = "DRIFT " + "; ".join(c.reasons) if c.flagged else ""
            lines.append(
                f"{c.column:<48} {value} {c.null_rate_training:10.3f} {c.null_rate_current:9.3f} "
                f"{ks} {p}  {flag}".rstrip()
            )
        lines.append(
            f"{len(self.flagged)} of {len(self.columns)} columns drifted (PSI > {PSI_THRESHOLD}, "
            f"null rate moved > {NULL_RATE_THRESHOLD}, KS > {KS_THRESHOLD} with p < {KS_PVALUE})"
        )
        return "\n".join(lines)

    def to_html(self) -> str:
        """A self-contained HTML page: the table and one overlaid histogram per column."""
        return html_page([self])

    def html_section(self) -> str:
        """This report's table and histograms (a part of `html_page`)."""
        parts = [
            f"<h2>Now: {html.escape(self.source)}</h2>",
            f"<p>{self.rows_current} rows now; {self.rows_training} rows in training.</p>",
            "<table><tr><th>column</th><th>PSI</th><th>null rate training</th>"
            "<th>null rate now</th><th>KS</th><th>KS p</th><th></th></tr>",
        ]
        for c in self.columns:
            flag = (
                "<span class='drift'>drift</span> " + html.escape("; ".join(c.reasons))
                if c.flagged
                else ""
            )
            parts.append(
                f"<tr><td>{html.escape(c.column)}</td><td>{_fmt(c.psi)}</td>"
                f"<td>{c.null_rate_training:.3f}</td><td>{c.null_rate_current:.3f}</td>"
                f"<td>{_fmt(c.ks_statistic)}</td><td>{_fmt(c.ks_pvalue, 'g')}</td>"
                f"<td>{flag}</td></tr>"
            )
        parts.append("</table><p>Training (blue) vs now (orange):</p>")
        parts.extend(_histogram_svg(c) for c in self.columns)
        return "\n".join(parts)


def html_page(reports: Sequence[DriftReport]) -> str:
    """One self-contained HTML page for several reports of the same model
    (e.g. the online snapshot and an offline window)."""
    model = reports[0].model if reports else ""
    parts = [
        "<!doctype html><meta charset='utf-8'>",
        f"<title>Drift: {html.escape(model)}</title>",
        "<style>body{font:14px system-ui,sans-serif;margin:2em}"
        "table{border-collapse:collapse}td,th{padding:2px 8px;border-bottom:1px solid #ddd;"
        "text-align:right}td:first-child,th:first-child{text-align:left}"
        ".drift{color:#b00020;font-weight:bold}.chart{display:inline-block;margin:1em}"
        "</style>",
        f"<h1>Drift of {html.escape(model)}</h1>",
        f"<p>A column is flagged when PSI &gt; {PSI_THRESHOLD}, its null rate moved by more "
        f"than {NULL_RATE_THRESHOLD}, or KS &gt; {KS_THRESHOLD} with p &lt; {KS_PVALUE}.</p>",
    ]
    parts.extend(report.html_section() for report in reports)
    return "\n".join(parts) + "\n"


def _fmt(value: float | None, spec: str = ".3f") -> str:
    return "-" if value is None else format(value, spec)


def _histogram_svg(c: ColumnDrift, width: int = 420, height: int = 180) -> str:
    """One overlaid bar chart (training vs now) as inline SVG."""
    n = len(c.labels)
    title = html.escape(c.column) + (" (drift)" if c.flagged else "")
    if not n:
        return f"<div class='chart'><b>{title}</b><br>no values</div>"
    top = max([*c.training_shares, *c.current_shares, 1e-9])
    plot_h = height - 40
    slot = (width - 20) / n
    bars = []
    for i, (ref, cur) in enumerate(zip(c.training_shares, c.current_shares, strict=True)):
        x = 10 + i * slot
        for value, colour, offset in ((ref, "#1f77b4", 0.1), (cur, "#ff7f0e", 0.3)):
            h = plot_h * value / top
            bars.append(
                f"<rect x='{x + offset * slot:.1f}' y='{10 + plot_h - h:.1f}' "
                f"width='{slot * 0.6:.1f}' height='{h:.1f}' fill='{colour}' fill-opacity='0.55'>"
                f"<title>{html.escape(c.labels[i])}: {value:.3f}</title></rect>"
            )
    first, last = html.escape(c.labels[0]), html.escape(c.labels[-1])
    return (
        f"<div class='chart'><b>{title}</b><br><svg width='{width}' height='{height}' "
        f"xmlns='http://www.w3.org/2000/svg'>{''.join(bars)}"
        f"<text x='10' y='{height - 8}' font-size='11'>{first}</text>"
        f"<text x='{width - 10}' y='{height - 8}' font-size='11' text-anchor='end'>{last}</text>"
        "</svg></div>"
    )


def compare(
    stats: Mapping[str, Any],
    current: pd.DataFrame,
    model: str = "",
    source: str = "",
    columns: Sequence[str] | None = None,
) -> DriftReport:
    """Drift of ``current`` (a frame with the model's input columns) against
    training ``stats`` (from `training_stats`)."""
    import numpy as np
    from scipy import stats as scipy_stats

    known = stats.get("columns", {})
    out: list[ColumnDrift] = []
    rows = len(current)
    for column in columns if columns is not None else list(known):
        ref = known.get(column)
        if ref is None or column not in current.columns:
            continue
        series = current[column]
        null_now = float(series.isna().mean()) if rows else 0.0
        drift = ColumnDrift(
            column=column,
            kind=str(ref["kind"]),
            psi=None,
            null_rate_training=float(ref["null_rate"]),
            null_rate_current=null_now,
        )
        if ref["kind"] == "numeric":
            values = _numeric_values(series)
            edges = np.asarray(ref.get("edges", []), dtype="float64")
            if len(values) and ref.get("shares"):
                shares = _bin_shares(values, edges)
                drift.psi = psi(ref["shares"], shares.tolist())
                drift.training_shares = [float(v) for v in ref["shares"]]
                drift.current_shares = shares.tolist()
                drift.labels = _bin_labels(edges)
            if len(values) and ref.get("sample"):
                result = scipy_stats.ks_2samp(np.asarray(ref["sample"]), values)
                drift.ks_statistic = float(result.statistic)
                drift.ks_pvalue = float(result.pvalue)
        else:
            present = series.dropna().map(_category)
            ref_shares: dict[str, float] = dict(ref.get("shares", {}))
            if len(present) and ref_shares:
                counts = present.value_counts()
                total = int(counts.sum())
                labels = list(ref_shares)
                cur = {label: 0.0 for label in labels}
                for value, count in counts.items():
                    key = str(value) if str(value) in cur else OTHER
                    cur[key] = cur.get(key, 0.0) + int(count) / total
                if OTHER in cur and OTHER not in ref_shares:
                    labels.append(OTHER)
                drift.labels = labels
                drift.training_shares = [ref_shares.get(label, 0.0) for label in labels]
                drift.current_shares = [cur.get(label, 0.0) for label in labels]
                drift.psi = psi(drift.training_shares, drift.current_shares)
        if drift.psi is not None and drift.psi > PSI_THRESHOLD:
            drift.reasons.append(f"PSI {drift.psi:.3f} > {PSI_THRESHOLD}")
        if abs(null_now - drift.null_rate_training) > NULL_RATE_THRESHOLD:
            drift.reasons.append(f"null rate {drift.null_rate_training:.3f} -> {null_now:.3f}")
        if (
            drift.ks_statistic is not None
            and drift.ks_pvalue is not None
            and drift.ks_statistic > KS_THRESHOLD
            and drift.ks_pvalue < KS_PVALUE
        ):
            drift.reasons.append(f"KS {drift.ks_statistic:.3f} (p {drift.ks_pvalue:.2g})")
        drift.flagged = bool(drift.reasons)
        out.append(drift)
    return DriftReport(
        model=model,
        source=source,
        rows_training=int(stats.get("rows", 0)),
        rows_current=rows,
        columns=out,
    )


def _bin_labels(edges: np.ndarray) -> list[str]:
    if not len(edges):
        return ["all"]
    labels = [f"< {edges[0]:.4g}"]
    labels += [f"[{a:.4g}, {b:.4g})" for a, b in itertools.pairwise(edges)]
    labels.append(f">= {edges[-1]:.4g}")
    return labels
