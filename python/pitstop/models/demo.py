"""The MLflow part of ``make demo`` (``pitstop models demo``).

Trains a scikit-learn fraud classifier on the ``fraud_training_set`` dbt model
(preprocessing inside the pipeline), logs and registers it as ``fraud`` with
its feature spec, promotes it to ``@champion``, writes the dbt exposures,
predicts a few recent transactions from their keys alone (features looked up
in the online store) and prints a drift summary.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

    from pitstop.online.lookup import OnlineLookup
    from pitstop.project import Project
    from pitstop.registry import Registry

__all__ = ["MODEL_NAME", "SERVICE", "as_text", "fraud_pipeline", "run_demo"]

MODEL_NAME = "fraud"
SERVICE = "fraud_training_set"
REQUEST_COLUMNS = ["amount"]


def as_text(frame: Any) -> Any:
    """Categorical inputs as text (NULL -> 'None'), so booleans with NULLs and
    strings encode alike; a module-level function, so the pickled pipeline
    refers to it by name."""
    return frame.astype(str)


def fraud_pipeline(frame: pd.DataFrame, columns: list[str]) -> Any:
    """An unfitted sklearn pipeline for these input columns: numeric ones
    imputed and scaled, the others one-hot encoded, then a logistic regression."""
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline, make_pipeline
    from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

    numeric = [
        c
        for c in columns
        if str(frame[c].dtype).startswith(("int", "float")) and frame[c].dtype != bool
    ]
    categorical = [c for c in columns if c not in numeric]
    prepare = ColumnTransformer(
        [
            ("numeric", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), numeric),
            (
                "categorical",
                make_pipeline(
                    FunctionTransformer(as_text, feature_names_out="one-to-one"),
                    OneHotEncoder(handle_unknown="ignore"),
                ),
                categorical,
            ),
        ]
    )
    return Pipeline(
        [
            ("prepare", prepare),
            ("classify", LogisticRegression(max_iter=2000, class_weight="balanced")),
        ]
    )


def run_demo(
    project: Project,
    registry: Registry,
    online: OnlineLookup,
    as_of: datetime,
    echo: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Run the demo on a built, materialized project; returns what it did.

    Raises:
        PitstopError: any step's error (the project not built, MLflow unreachable, ...).
    """
    from sklearn.metrics import roc_auc_score

    from pitstop.models.catalog import list_models, promote
    from pitstop.models.exposures import write_exposures
    from pitstop.models.feature_model import load_model
    from pitstop.models.log import log_model
    from pitstop.models.monitor import model_drift
    from pitstop.offline.compile import session
    from pitstop.registry import column_name

    started = time.perf_counter()
    service = registry.service(SERVICE)
    # relations are dbt's quoted relation_name from the manifest
    with session(project) as con:
        train = con.sql(
            f"select * from {service.relation} order by transacted_at"  # noqa: S608
        ).to_arrow_table()
    frame = train.to_pandas()
    columns = [column_name(ref) for ref in service.features] + REQUEST_COLUMNS
    label = service.label or "is_fraud"
    cut = int(len(frame) * 0.8)
    fit, holdout = frame.iloc[:cut], frame.iloc[cut:]
    pipeline = fraud_pipeline(frame, columns).fit(fit[columns], fit[label])
    auc = float(roc_auc_score(holdout[label], pipeline.predict_proba(holdout[columns])[:, 1]))
    echo(
        f"trained {type(pipeline[-1]).__name__} on {SERVICE}: {len(fit)} rows, "
        f"{len(columns)} inputs, holdout AUC {auc:.3f}"
    )
    logged = log_model(
        pipeline,
        service=SERVICE,
        training_set=train.slice(0, cut),
        registered_model_name=MODEL_NAME,
        columns=columns,
        request_columns=REQUEST_COLUMNS,
        predict_method="predict_proba",
        params={"classifier": "LogisticRegression", "class_weight": "balanced"},
        metrics={"holdout_auc": auc},
        run_name="fraud demo",
        project=project,
        registry=registry,
    )
    echo(f"logged run {logged.run_id}, registered {MODEL_NAME} v{logged.version}")
    promoted = promote(MODEL_NAME, str(logged.version), "champion", project)
    echo(f"promoted {MODEL_NAME}@champion -> v{promoted['version']}")
    model = load_model(f"{MODEL_NAME}@champion", online=online, project=project)
    with session(project) as con:
        schema = service.relation.rsplit(".", 1)[0]
        recent = con.sql(
            "select transaction_id, customer_id, merchant_id, amount from "  # noqa: S608
            f"{schema}.stg_payments__transactions where transacted_at <= $1 "
            "order by transacted_at desc limit 5",
            params=[as_of],
        ).to_arrow_table()
    rows = recent.to_pylist()
    keyed = [{k: row[k] for k in ("customer_id", "merchant_id", "amount")} for row in rows]
    probabilities = model.predict(keyed, as_of=as_of)
    echo(
        f"fraud@champion v{model.version}, predicted by key (online store, as of {as_of:%Y-%m-%d}):"
    )
    for row, proba in zip(rows, probabilities, strict=True):
        echo(
            f"    transaction {row['transaction_id']}: customer_id={row['customer_id']} "
            f"merchant_id={row['merchant_id']} amount={row['amount']:.2f} -> "
            f"P(fraud)={proba[-1]:.3f}"
        )
    result = model_drift(
        f"{MODEL_NAME}@champion",
        project,
        registry,
        online,
        as_of=as_of,
        sample=1000,
        offline=False,  # `pitstop models drift` adds the offline window (a dbt compile)
    )
    for report in result.reports:
        flagged = ", ".join(report.flagged) or "none"
        echo(
            f"drift vs {report.source}: {len(report.flagged)} of {len(report.columns)} "
            f"inputs flagged ({flagged})"
        )
    # last: the new YAML makes dbt's manifest stale (the next command re-parses)
    path, found, _ = write_exposures(project, registry, list_models(project))
    echo(
        f"wrote {len(found)} dbt exposure(s) to {path.relative_to(project.root)} "
        f"(dbt ls -s +exposure:{found[0]['name'] if found else '...'})"
    )
    echo(
        f"drift report logged to MLflow run {result.run_id}; MLflow part took "
        f"{time.perf_counter() - started:.1f} s (`pitstop models ui` to browse)"
    )
    return {
        "version": logged.version,
        "run_id": logged.run_id,
        "auc": auc,
        "predictions": probabilities,
        "drift_run_id": result.run_id,
    }
