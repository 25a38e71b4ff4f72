"""`model_drift`: a registered model's training statistics vs today's features.

Two "now" samples are compared with the statistics logged at training
(`pitstop.models.drift`):

* the **online snapshot**: a fixed-seed sample of the training model's entity
  rows (so entities are weighted as in training), looked up in the online
  store exactly as `FeatureAwareModel.predict` would;
* a **recent offline window**: the same rows at random moments of the last
  ``window`` before ``as_of``, through the point-in-time join.

The reports (and one HTML page with overlaid histograms) are logged to MLflow
in a run of their own, tagged with the model and version.
"""

from __future__ import annotations

import json
import random
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pitstop.errors import InvalidRequestError

if TYPE_CHECKING:
    from pitstop.models.drift import DriftReport
    from pitstop.online.lookup import OnlineLookup
    from pitstop.project import Project
    from pitstop.registry import Registry

__all__ = ["DriftResult", "model_drift"]


@dataclass
class DriftResult:
    """The drift reports of one model version and where they were logged."""

    name: str
    version: str
    reports: list[DriftReport]
    run_id: str | None
    html: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.name,
            "version": self.version,
            "run_id": self.run_id,
            "reports": [r.to_dict() for r in self.reports],
        }

    def table(self) -> str:
        return "\n\n".join(r.table() for r in self.reports)


def model_drift(
    ref: str,
    project: Project,
    registry: Registry | None = None,
    online: OnlineLookup | None = None,
    *,
    as_of: datetime | None = None,
    window: str = "7d",
    sample: int = 2000,
    seed: int = 0,
    offline: bool = True,
    log_to_mlflow: bool = True,
) -> DriftResult:
    """Drift of model ``ref``'s inputs: online snapshot and recent offline window.

    Args:
        ref: ``NAME@alias`` or ``NAME/VERSION``.
        project: the Pitstop project.
        registry: its registry (default: read from the project).
        online: the online lookup (default: the project's store).
        as_of: "now" (default: the current time, UTC); TTLs are checked and the
            offline window ends here.
        window: length of the offline window, e.g. ``7d`` or ``12h``.
        sample: entity rows drawn from the training model's table.
        seed: the sample's seed (same seed, same rows).
        offline: also compare the offline window.
        log_to_mlflow: log the reports and the HTML page as a run.

    Raises:
        InvalidRequestError: the model was logged without a training frame (no
            statistics), or a bad window.
        ModelNotFoundError, ModelRegistryError, StaleModelError: as `load_model`.
    """
    import pyarrow as pa

    from pitstop.models.catalog import training_stats_of
    from pitstop.models.drift import compare, html_page
    from pitstop.models.feature_model import FeatureAwareModel, default_online
    from pitstop.models.frame import align_dtypes
    from pitstop.models.loading import load_version
    from pitstop.models.tracking import mlflow_settings
    from pitstop.offline.compile import session
    from pitstop.offline.training import training_set
    from pitstop.times import parse_ttl

    if registry is None:
        from pitstop.registry import Registry

        registry = Registry.load(project)
    try:
        span = parse_ttl(window)
    except ValueError as exc:
        raise InvalidRequestError(f"window: {exc}") from None
    if span is None:
        raise InvalidRequestError("window must be a duration such as 7d")
    if sample < 1:
        raise InvalidRequestError(f"sample must be at least 1, got {sample}")
    settings = mlflow_settings(project)
    loaded = load_version(settings, ref)
    spec = loaded.spec
    spec.check_against_registry(registry)
    stats = training_stats_of(settings, loaded.run_id)
    if not stats:
        raise InvalidRequestError(
            f"model {ref} was logged without a training frame: there are no training "
            "statistics to compare with (pass training_set= to log_model)"
        )
    now = as_of or datetime.now(UTC).replace(tzinfo=None)
    if now.tzinfo is not None:
        now = now.astimezone(UTC).replace(tzinfo=None)
    relation = registry.service(spec.service).relation
    wanted = [*spec.key_columns, *(c.column for c in spec.request_columns)]
    with session(project) as con:
        present = [
            str(row[0])
            for row in con.execute(f"describe select * from {relation}").fetchall()  # noqa: S608
        ]
        chosen = [c for c in wanted if c in present]
        missing_keys = [k for k in spec.key_columns if k not in present]
        if missing_keys:
            raise InvalidRequestError(
                f"training model {spec.service} has no key column(s) {', '.join(missing_keys)} "
                "to draw entities from"
            )
        select = ", ".join(f'"{c}"' for c in chosen)
        rows_table = con.sql(
            f"select {select} from {relation} "  # noqa: S608 - dbt's quoted relation
            f"using sample reservoir({int(sample)} rows) repeatable ({int(seed)})"
        ).to_arrow_table()
    rows = rows_table.to_pylist()
    columns = [c for c in spec.columns if c in {f.column for f in spec.features} or c in chosen]
    label = f"{loaded.name}/{loaded.version}"
    reports = []
    lookup = online if online is not None else default_online(project)
    model = FeatureAwareModel(loaded.model, spec, lookup, name=loaded.name, version=loaded.version)
    online_rows = [
        {**row, **{c.column: None for c in spec.request_columns if c.column not in row}}
        for row in rows
    ]
    online_frame = model.features(online_rows, as_of=now)
    reports.append(
        compare(
            stats,
            online_frame,
            model=label,
            source=f"online store as of {now.isoformat()}",
            columns=columns,
        )
    )
    if offline:
        rng = random.Random(seed)
        seconds = span.total_seconds()
        moments = [now - timedelta(seconds=rng.random() * seconds) for _ in rows]
        spine = rows_table.append_column("pitstop_drift_at", pa.array(moments, pa.timestamp("us")))
        frame: Any = training_set(
            project, registry, spine, features=spec.refs, spine_timestamp="pitstop_drift_at"
        )
        for c in spec.request_columns:
            if c.column not in frame.columns:
                frame[c.column] = None
        reports.append(
            compare(
                stats,
                align_dtypes(frame, spec),
                model=label,
                source=f"offline, {window} up to {now.isoformat()}",
                columns=columns,
            )
        )
    page = html_page(reports)
    run_id = _log(settings, loaded.name, loaded.version, reports, page) if log_to_mlflow else None
    return DriftResult(loaded.name, loaded.version, reports, run_id, page)


def _log(settings: Any, name: str, version: str, reports: list[DriftReport], page: str) -> str:
    import mlflow

    from pitstop.models.tracking import mlflow_errors, using

    metrics: dict[str, float] = {}
    for index, report in enumerate(reports):
        kind = "online" if index == 0 else "offline"
        metrics[f"{kind}.flagged"] = float(len(report.flagged))
        for c in report.columns:
            if c.psi is not None:
                metrics[f"{kind}.psi.{c.column}"] = c.psi
            metrics[f"{kind}.null_rate.{c.column}"] = c.null_rate_current
            if c.ks_statistic is not None:
                metrics[f"{kind}.ks.{c.column}"] = c.ks_statistic
    with (
        mlflow_errors("logging the drift report"),
        using(settings) as experiment_id,
        tempfile.TemporaryDirectory() as tmp,
    ):
        with mlflow.start_run(
            experiment_id=experiment_id, run_name=f"drift {name} v{version}"
        ) as run:
            mlflow.set_tags(
                {"pitstop.kind": "drift", "pitstop.model": name, "pitstop.model_version": version}
            )
            mlflow.log_metrics(metrics)
            html_path = Path(tmp) / "drift.html"
            html_path.write_text(page)
            json_path = Path(tmp) / "drift.json"
            json_path.write_text(json.dumps([r.to_dict() for r in reports], indent=2))
            mlflow.log_artifact(str(html_path), "drift")
            mlflow.log_artifact(str(json_path), "drift")
        return str(run.info.run_id)
