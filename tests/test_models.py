"""`pitstop.models` on the real demo project and a real MLflow SQLite store.

The project is copied, built and materialized once for the module (its own
DuckDB, online SQLite and MLflow store under .pitstop/ of the copy), and one
fraud classifier is trained, logged and promoted once (`champion` fixture).
The key check: predictions from entity keys (online store) equal the model's
predictions on the point-in-time training set for the same entities at the
same moment, so training-serving skew is zero by test. The test that edits
the project (a stale model) runs last.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from click.testing import CliRunner
from conftest import copy_project, isolated

from pitstop.cli import cli
from pitstop.errors import (
    InvalidEntityKeyError,
    InvalidRequestError,
    ModelNotFoundError,
    ModelRegistryError,
    StaleModelError,
)
from pitstop.models import alias_version, load_model
from pitstop.models.catalog import list_models, promote, show_model
from pitstop.models.demo import MODEL_NAME, REQUEST_COLUMNS, SERVICE, fraud_pipeline
from pitstop.models.exposures import write_exposures
from pitstop.models.frame import align_dtypes
from pitstop.models.log import LoggedModel, log_model
from pitstop.models.monitor import model_drift
from pitstop.models.scoring import score
from pitstop.offline.compile import session
from pitstop.offline.training import training_set
from pitstop.registry import column_name
from pitstop.store import FeatureStore

AS_OF = datetime(2025, 7, 1)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FeatureStore]:
    """A built, materialized copy of the project; MLflow in its .pitstop/."""
    root = copy_project(tmp_path_factory.mktemp("models") / "project")
    with isolated(root), pytest.MonkeyPatch.context() as patch:
        for name in ("MLFLOW_TRACKING_URI", "PITSTOP_ONLINE_STORE"):
            patch.delenv(name, raising=False)
        built = FeatureStore(root)
        # in a subprocess: dbt in this process would keep the DuckDB file open
        # read-write, and materialize opens it read-only
        profiles = built.project.profiles_dir
        subprocess.run(
            [str(Path(sys.executable).with_name("dbt")), "build", "--quiet", "--exclude",
             "resource_type:test", "--project-dir", str(root), "--profiles-dir", str(profiles)],
            check=True,
            env={**os.environ, **built.project.dbt_env()},
        )  # fmt: skip
        built.materialize(as_of=AS_OF)
        yield built


@pytest.fixture(scope="module")
def train(store: FeatureStore) -> pd.DataFrame:
    relation = store.registry.service(SERVICE).relation
    with session(store.project) as con:
        frame: pd.DataFrame = con.sql(f"select * from {relation} order by transacted_at").df()
    return frame


def _columns(store: FeatureStore) -> list[str]:
    return [column_name(ref) for ref in store.registry.service(SERVICE).features] + REQUEST_COLUMNS


@pytest.fixture(scope="module")
def champion(store: FeatureStore, train: pd.DataFrame) -> LoggedModel:
    """One trained, logged, registered fraud model promoted to @champion."""
    columns = _columns(store)
    pipeline = fraud_pipeline(train, columns).fit(train[columns], train["is_fraud"])
    logged = log_model(
        pipeline,
        service=SERVICE,
        training_set=train,
        registered_model_name=MODEL_NAME,
        request_columns=REQUEST_COLUMNS,
        predict_method="predict_proba",
        project=store.project,
        registry=store.registry,
    )
    promote(MODEL_NAME, str(logged.version), "champion", store.project)
    return logged


def _entities(store: FeatureStore, n: int = 40) -> list[dict[str, Any]]:
    """Recent transactions' keys and amounts, plus an unknown customer and a NULL key."""
    schema = store.registry.service(SERVICE).relation.rsplit(".", 1)[0]
    with session(store.project) as con:
        rows: list[dict[str, Any]] = (
            con.sql(
                "select customer_id, merchant_id, amount from "
                f"{schema}.stg_payments__transactions order by transacted_at desc limit {n}"
            )
            .to_arrow_table()
            .to_pylist()
        )
    rows.append({"customer_id": 987654321, "merchant_id": rows[0]["merchant_id"], "amount": 5.0})
    rows.append({"customer_id": None, "merchant_id": rows[1]["merchant_id"], "amount": 7.5})
    return rows


def run(store: FeatureStore, *args: str) -> Any:
    return CliRunner().invoke(cli, ["--project-dir", str(store.project.root), *args])


# --- round trip, zero skew, batch scoring ---------------------------------------------


def test_round_trip_by_alias(store: FeatureStore, champion: LoggedModel) -> None:
    model = load_model("fraud@champion", online=store.online, project=store.project)
    assert (model.name, model.version, model.alias) == ("fraud", champion.version, "champion")
    assert model.feature_spec.service == SERVICE
    assert list(model.feature_spec.columns) == _columns(store)
    assert model.feature_spec.key_columns == ["customer_id", "merchant_id"]
    assert alias_version("fraud", "champion", store.project) == champion.version
    predictions = model.predict(_entities(store, 5), as_of=AS_OF)
    assert len(predictions) == 7
    assert all(len(p) == 2 and 0.0 <= p[1] <= 1.0 for p in predictions)
    assert model.predict([], as_of=AS_OF) == []
    # the facade delegates
    assert store.load_model("models:/fraud@champion").version == champion.version


def test_feature_spec_records_lineage(store: FeatureStore, champion: LoggedModel) -> None:
    spec = champion.spec
    service = store.registry.service(SERVICE)
    assert spec.refs == list(service.features)
    assert spec.label == "is_fraud" and spec.training_rows > 1000
    assert spec.service_unique_id == service.unique_id and spec.service_checksum
    for name, view in spec.views.items():
        assert view.checksum == store.registry.view(name).checksum != ""
    shown = show_model("fraud@champion", store.project)
    assert shown["feature_service"] == SERVICE
    assert set(shown["feature_views"]) == set(spec.views)
    assert shown["git_commit"] is None or len(shown["git_commit"]) == 40
    assert shown["feature_spec"]["columns"] == list(spec.columns)
    from mlflow import MlflowClient

    from pitstop.models.tracking import mlflow_settings

    settings = mlflow_settings(store.project)
    assert settings.tracking_uri == f"sqlite:///{store.project.root}/.pitstop/mlflow.db"
    client = MlflowClient(settings.tracking_uri)
    run = client.get_run(champion.run_id)
    assert run.data.tags["pitstop.feature_service"] == SERVICE
    assert run.info.artifact_uri.startswith(f"file://{store.project.root}/.pitstop/mlartifacts")
    (dataset_input,) = run.inputs.dataset_inputs
    source = json.loads(dataset_input.dataset.source)
    assert dataset_input.dataset.source_type == "dbt_model"
    assert source == {
        "unique_id": service.unique_id,
        "relation": service.relation,
        "checksum": service.checksum,
    }
    version = client.get_model_version("fraud", str(champion.version))
    assert version.tags["pitstop.feature_service"] == SERVICE


def test_predictions_by_key_equal_the_training_set(
    store: FeatureStore, champion: LoggedModel
) -> None:
    """Zero training-serving skew: predict(keys) from the online store equals
    model.predict(training_set(spine at now)) for the same entities, and the
    frame the model sees online equals the point-in-time frame (names, order,
    values, NULLs and dtypes)."""
    model = load_model("fraud@champion", online=store.online, project=store.project)
    entities = _entities(store)
    spine = pd.DataFrame(entities).assign(at=pd.Timestamp(AS_OF))
    spine["customer_id"] = spine["customer_id"].astype("Int64")
    pit = training_set(
        store.project, store.registry, spine, features=model.feature_spec.refs, spine_timestamp="at"
    )
    columns = list(model.feature_spec.columns)
    online_frame = model.features(entities, as_of=AS_OF)
    assert list(online_frame.columns) == columns
    pd.testing.assert_frame_equal(online_frame, align_dtypes(pit, model.feature_spec))
    pd.testing.assert_frame_equal(
        online_frame, pit[columns], check_dtype=False, check_index_type=False
    )
    # the NULL key and the unknown customer: NULL customer features, as the PIT join
    tier = column_name("customer_profile:tier")
    assert online_frame[tier].iloc[-2:].isna().all()
    # some TTL-expired or missing values exist, so NULL handling is exercised
    assert online_frame[columns].isna().any().any()
    expected = model.model.predict_proba(pit[columns]).tolist()
    assert model.predict(entities, as_of=AS_OF) == expected


def test_batch_scoring_uses_the_point_in_time_path(
    store: FeatureStore, champion: LoggedModel, tmp_path: Path
) -> None:
    spine = pd.DataFrame(_entities(store, 10)[:10]).assign(at=pd.Timestamp(AS_OF))
    scored = score("fraud@champion", spine, store.project, store.registry)
    assert list(scored.columns) == [*spine.columns, "prediction"]
    model = load_model("fraud@champion", online=store.online, project=store.project)
    assert scored["prediction"].tolist() == model.predict(
        spine.drop(columns="at").to_dict("records"), as_of=AS_OF
    )
    # the CLI writes the same to Parquet
    spine_path, out = tmp_path / "spine.parquet", tmp_path / "scored.parquet"
    pq.write_table(pa.Table.from_pandas(spine, preserve_index=False), spine_path)
    result = run(store, "models", "score", "fraud@champion", "--spine", str(spine_path),
                 "--out", str(out))  # fmt: skip
    assert result.exit_code == 0, result.output
    assert pq.read_table(out).column("prediction").to_pylist() == scored["prediction"].tolist()


def test_request_time_values_override_lookups(store: FeatureStore, champion: LoggedModel) -> None:
    model = load_model("fraud@champion", online=store.online, project=store.project)
    row = _entities(store, 1)[0]
    tier = column_name("customer_profile:tier")
    looked_up = model.features([row], as_of=AS_OF)
    by_column = model.features([{**row, tier: "__override__"}], as_of=AS_OF)
    by_ref = model.features([{**row, "customer_profile:tier": "__override__"}], as_of=AS_OF)
    assert by_column[tier].tolist() == by_ref[tier].tolist() == ["__override__"]
    others = [c for c in looked_up.columns if c != tier]
    pd.testing.assert_frame_equal(by_column[others], looked_up[others])


def test_plain_mlflow_loads_it_with_only_the_online_store(
    store: FeatureStore, champion: LoggedModel, tmp_path: Path
) -> None:
    """Outside the project (another folder, no project variables), with only
    PITSTOP_ONLINE_STORE and the tracking URI: mlflow.pyfunc and
    pitstop.models.load_model both predict from keys."""
    entities = _entities(store, 3)[:3]
    expected = load_model("fraud@champion", online=store.online, project=store.project).predict(
        entities, as_of=AS_OF
    )
    code = textwrap.dedent(
        f"""
        import json, sys
        import mlflow.pyfunc, pandas as pd
        from pitstop.models import load_model
        rows = {entities!r}
        pyfunc = mlflow.pyfunc.load_model("models:/fraud@champion")
        a = pyfunc.predict(pd.DataFrame(rows), params={{"as_of": "{AS_OF.isoformat()}"}})
        m = load_model("fraud@champion")
        b = m.predict(rows, as_of=__import__("datetime").datetime({AS_OF.year}, 7, 1))
        print(json.dumps({{"pyfunc": a, "pitstop": b, "version": m.version}}))
        """
    )
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("PITSTOP_", "DBT_", "MLFLOW_"))
    }
    env.update(
        PITSTOP_ONLINE_STORE=f"sqlite:{store.project.root / '.pitstop' / 'online.sqlite'}",
        MLFLOW_TRACKING_URI=f"sqlite:///{store.project.root}/.pitstop/mlflow.db",
        MLFLOW_DISABLE_TELEMETRY="true",
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout.strip().splitlines()[-1])
    assert answer["pyfunc"] == answer["pitstop"] == expected
    assert answer["version"] == champion.version


# --- aliases, CLI, lineage ---------------------------------------------------------------


def test_alias_swap(store: FeatureStore, champion: LoggedModel, train: pd.DataFrame) -> None:
    columns = _columns(store)
    second = fraud_pipeline(train, columns)
    second.set_params(classify__C=0.01).fit(train[columns], train["is_fraud"])
    logged = store.log_model(
        second,
        service=SERVICE,
        training_set=train,
        registered_model_name=MODEL_NAME,
        request_columns=REQUEST_COLUMNS,
        predict_method="predict_proba",
    )
    assert int(logged.version or 0) == int(champion.version or 0) + 1
    result = run(store, "models", "promote", "fraud", str(logged.version), "--alias", "champion")
    assert result.exit_code == 0, result.output
    assert f"fraud@champion -> v{logged.version} (was v{champion.version})" in result.output
    assert alias_version("fraud", "champion", store.project) == logged.version
    assert load_model("fraud@champion", store.online, store.project).version == logged.version
    old = load_model(f"fraud/{champion.version}", store.online, store.project)
    assert (old.version, old.alias) == (champion.version, None)
    entities = _entities(store, 5)
    new = load_model("fraud@champion", store.online, store.project)
    assert new.predict(entities, as_of=AS_OF) != old.predict(entities, as_of=AS_OF)
    promote("fraud", str(champion.version), "champion", store.project)  # back, for what follows
    promote("fraud", str(logged.version), "challenger", store.project)
    listed = list_models(store.project)
    assert [m["name"] for m in listed] == ["fraud"]
    assert listed[0]["aliases"] == {"champion": champion.version, "challenger": logged.version}


def test_cli_list_and_show(store: FeatureStore, champion: LoggedModel) -> None:
    result = run(store, "models", "list", "--json")
    assert result.exit_code == 0, result.output
    (model,) = json.loads(result.stdout)
    assert model["name"] == "fraud" and model["aliases"]["champion"] == champion.version
    result = run(store, "models", "show", "fraud@champion", "--json")
    assert result.exit_code == 0, result.output
    shown = json.loads(result.stdout)
    assert shown["version"] == champion.version and shown["aliases"] == ["champion"]
    assert shown["feature_spec"]["service"] == SERVICE
    result = run(store, "models", "show", "fraud")
    assert result.exit_code == 0 and "latest_version" in result.output
    result = run(store, "models", "predict", "fraud@champion", "customer_id=1", "merchant_id=1",
                 "amount=12.5", "--as-of", "2025-07-01", "--json")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert len(json.loads(result.stdout)["prediction"]) == 2


def test_exposures_parse_with_dbt(store: FeatureStore, champion: LoggedModel) -> None:
    result = run(store, "models", "exposures")
    assert result.exit_code == 0, result.output
    path = store.project.root / "models" / "exposures" / "_ml_models.yml"
    data = yaml.safe_load(path.read_text())
    names = {e["name"] for e in data["exposures"]}
    assert {"ml_fraud_champion", "ml_fraud_challenger"} <= names
    exposure = next(e for e in data["exposures"] if e["name"] == "ml_fraud_champion")
    assert exposure["type"] == "ml" and exposure["depends_on"] == [f"ref('{SERVICE}')"]
    assert exposure["meta"]["version"] == champion.version
    assert exposure["meta"]["run_id"] == champion.run_id
    store.project.run_dbt(["parse"])
    manifest = json.loads(store.project.manifest_path.read_text())
    parsed = manifest["exposures"]["exposure.pitstop.ml_fraud_champion"]
    assert parsed["type"] == "ml"
    assert parsed["depends_on"]["nodes"] == [store.registry.service(SERVICE).unique_id]
    listed = store.project.run_dbt(
        ["ls", "-s", "+exposure:ml_fraud_champion", "--output", "name"]
    ).result
    assert SERVICE in listed and "customer_profile" in listed
    assert "stg_payments__transactions" in listed and "ml_fraud_champion" in listed
    assert any(name.startswith("payments.") or name == "raw_transactions" for name in listed)
    # writing outside the model paths is refused: dbt would never read it
    with pytest.raises(InvalidRequestError, match="outside"):
        write_exposures(store.project, store.registry, [], "elsewhere/x.yml")


def test_features_describe_lists_models(store: FeatureStore, champion: LoggedModel) -> None:
    result = run(store, "features", "describe", "customer_profile", "--json")
    assert result.exit_code == 0, result.output
    models = json.loads(result.stdout)["models"]
    assert {(m["name"], m["version"]) for m in models} >= {("fraud", champion.version)}
    result = run(store, "features", "describe", "customer_profile")
    assert "fraud v" in result.output


def test_drift_end_to_end(store: FeatureStore, champion: LoggedModel, tmp_path: Path) -> None:
    result = model_drift(
        "fraud@champion", store.project, store.registry, store.online, as_of=AS_OF, sample=300
    )
    online, offline = result.reports
    assert online.rows_current == offline.rows_current == 300
    assert {c.column for c in online.columns} == set(champion.spec.columns)
    assert all(c.psi is not None for c in online.columns if c.column != "amount")
    assert result.run_id is not None
    from mlflow import MlflowClient

    from pitstop.models.tracking import mlflow_settings

    client = MlflowClient(mlflow_settings(store.project).tracking_uri)
    listed = {f.path for f in client.list_artifacts(result.run_id, "drift")}
    assert listed == {"drift/drift.html", "drift/drift.json"}
    assert client.get_run(result.run_id).data.tags["pitstop.model_version"] == champion.version
    html = tmp_path / "drift.html"
    cli_result = run(store, "models", "drift", "fraud@champion", "--as-of", "2025-07-01",
                     "--online-only", "--no-log", "--json", "--html", str(html))  # fmt: skip
    assert cli_result.exit_code == 0, cli_result.output
    data = json.loads(cli_result.stdout)
    assert data["run_id"] is None and len(data["reports"]) == 1
    assert html.read_text().count("<svg") == len(champion.spec.columns)


# --- bad input -----------------------------------------------------------------------------


def _one_line_error(result: Any, kind: str) -> None:
    assert result.exit_code != 0
    assert "Traceback" not in result.output
    lines = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert len(lines) == 1 and lines[0].startswith(f"Error: {kind}: "), result.output


def test_unknown_model_alias_or_version(store: FeatureStore, champion: LoggedModel) -> None:
    for ref in ("nope@champion", "fraud@nope", "fraud/99"):
        with pytest.raises(ModelNotFoundError):
            load_model(ref, store.online, store.project)
    with pytest.raises(ModelNotFoundError):
        alias_version("fraud", "nope", store.project)
    with pytest.raises(InvalidRequestError, match="names no version"):
        load_model("fraud", store.online, store.project)
    with pytest.raises(ModelNotFoundError):
        promote("fraud", "99", "champion", store.project)
    _one_line_error(run(store, "models", "show", "nope@champion"), "ModelNotFoundError")
    _one_line_error(run(store, "models", "promote", "fraud", "99"), "ModelNotFoundError")
    _one_line_error(run(store, "models", "show", "fraud/x"), "InvalidRequestError")


def test_bad_keys(store: FeatureStore, champion: LoggedModel, tmp_path: Path) -> None:
    model = load_model("fraud@champion", store.online, store.project)
    with pytest.raises(InvalidEntityKeyError, match="customer_id"):
        model.predict([{"customer_id": "abc", "merchant_id": 1, "amount": 1.0}], as_of=AS_OF)
    with pytest.raises(InvalidEntityKeyError, match="merchant_id"):
        model.predict([{"customer_id": 1, "amount": 1.0}], as_of=AS_OF)
    with pytest.raises(InvalidRequestError, match="amount"):
        model.predict([{"customer_id": 1, "merchant_id": 1}], as_of=AS_OF)
    with pytest.raises(InvalidRequestError, match="amount"):
        model.predict([{"customer_id": 1, "merchant_id": 1, "amount": "lots"}], as_of=AS_OF)
    with pytest.raises(InvalidRequestError, match="unknown column"):
        model.predict([{"customer_id": 1, "merchant_id": 1, "amount": 1.0, "x": 1}])
    with pytest.raises(InvalidRequestError):
        model.predict("customer_id=1")  # type: ignore[arg-type]
    _one_line_error(
        run(store, "models", "predict", "fraud@champion", "customer_id=abc", "merchant_id=1"),
        "InvalidEntityKeyError",
    )
    spine = pd.DataFrame({"customer_id": [1], "amount": [1.0], "at": [pd.Timestamp(AS_OF)]})
    with pytest.raises(InvalidEntityKeyError, match="merchant_id"):
        score("fraud@champion", spine, store.project, store.registry)
    typed = spine.assign(merchant_id=["7"])
    with pytest.raises(InvalidEntityKeyError, match="merchant_id must hold integers"):
        score("fraud@champion", typed, store.project, store.registry)
    path = tmp_path / "spine.parquet"
    pq.write_table(pa.Table.from_pandas(spine, preserve_index=False), path)
    _one_line_error(
        run(store, "models", "score", "fraud@champion", "--spine", str(path),
            "--out", str(tmp_path / "o.parquet")),
        "InvalidEntityKeyError",
    )  # fmt: skip


def test_unreachable_tracking_server(
    store: FeatureStore, champion: LoggedModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # nothing listens here once closed
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"http://127.0.0.1:{port}")
    with pytest.raises(ModelRegistryError, match=r"unreachable|Connection|connect"):
        alias_version("fraud", "champion", store.project)
    with pytest.raises(ModelRegistryError):
        load_model("fraud@champion", store.online, store.project)
    _one_line_error(run(store, "models", "list"), "ModelRegistryError")


# --- last: edits the project --------------------------------------------------------------


def test_stale_model_is_refused_at_load(store: FeatureStore, champion: LoggedModel) -> None:
    """A changed feature type, a removed feature and a changed view SQL are each
    named; the online store's snapshot is checked too."""
    model = load_model("fraud@champion", store.online, store.project)
    snapshot = store.online.reload()
    spec = snapshot.views["customer_profile"]
    changed = replace(
        snapshot,
        views={
            **snapshot.views,
            "customer_profile": replace(
                spec,
                features=tuple(
                    replace(f, dtype="bigint") if f.name == "credit_limit" else f
                    for f in spec.features
                ),
            ),
        },
    )
    with pytest.raises(StaleModelError, match="customer_profile:credit_limit' changed type"):
        model.feature_spec.check_against_online(changed)

    root = store.project.root
    yml = root / "models" / "features" / "customer" / "customer_transaction_windows.yml"
    sql = root / "models" / "features" / "merchant" / "merchant_daily_stats.sql"
    profile = root / "models" / "features" / "customer" / "customer_profile.yml"
    service = root / "models" / "training" / f"{SERVICE}.yml"
    saved = {p: p.read_text() for p in (yml, sql, profile, service)}
    removed = "customer_transaction_windows:customer_txn_count_1h"
    try:
        # a feature removed from its view (and so from the training set's list)
        data = yaml.safe_load(saved[yml])
        view = data["models"][0]
        view["columns"] = [c for c in view["columns"] if c["name"] != "customer_txn_count_1h"]
        yml.write_text(yaml.safe_dump(data, sort_keys=False))
        service_data = yaml.safe_load(saved[service])
        listed = service_data["models"][0]["config"]["meta"]["pitstop"]["training_set"]
        listed["features"] = [f for f in listed["features"] if f != removed]
        service.write_text(yaml.safe_dump(service_data, sort_keys=False))
        sql.write_text(saved[sql] + "\n-- an edit\n")
        profile_data = yaml.safe_load(saved[profile])
        for column in profile_data["models"][0]["columns"]:
            if column["name"] == "credit_limit":
                column["data_type"] = "decimal(18,2)"
        profile.write_text(yaml.safe_dump(profile_data, sort_keys=False))
        with pytest.raises(StaleModelError) as caught:
            load_model("fraud@champion", store.online, store.project)
        message = str(caught.value)
        assert "feature 'customer_transaction_windows:customer_txn_count_1h' was removed" in message
        assert "feature view 'merchant_daily_stats' changed (dbt checksum" in message
        assert "feature 'customer_profile:credit_limit' changed type double -> decimal(18,2)" in (
            message
        )
        _one_line_error(
            run(store, "models", "predict", "fraud@champion", "customer_id=1", "merchant_id=1",
                "amount=1"),
            "StaleModelError",
        )  # fmt: skip
    finally:
        for path, text in saved.items():
            path.write_text(text)
