"""A view removed from the project or switched to ``online: false`` is dropped
from the online store by the next materialize (atomically with the run), and
the command says so: no stale ``PRESENT`` values are served for it."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import pytest
from _online_project import build_project, t, write_view
from click.testing import CliRunner

from pitstop import FeatureStore, UnknownFeatureViewError
from pitstop.cli import cli
from pitstop.online.base import get_online_store, online_store_config
from pitstop.online.materialize import materialize
from pitstop.registry import Registry

AS_OF = t("2025-06-01")
VIEWS = ("typed_features", "customer_v", "merchant_v", "pair_v", "account_v", "customer_scd2")


def _fill(db: Path) -> None:
    for view in VIEWS:
        write_view(db, view, [])
    write_view(
        db,
        "customer_v",
        [{"customer_id": 1, "feature_at": t("2025-05-01"), "ingested_at": t("2025-05-01"),
          "version": 10, "tag": "a"}],
    )  # fmt: skip
    write_view(db, "merchant_v", [{"merchant_id": 7, "feature_at": t("2025-05-30"), "version": 7}])


def _without(registry: Registry, offline: str = "", removed: str = "") -> Registry:
    """The registry as it reads after the YAML switched ``offline`` to
    ``online: false`` and deleted ``removed``."""
    views = {
        name: dataclasses.replace(view, online=False) if name == offline else view
        for name, view in registry.views.items()
        if name != removed
    }
    services = {
        name: service
        for name, service in registry.services.items()
        if not any(ref.split(":")[0] == removed for ref in service.features)
    }
    return Registry(entities=registry.entities, views=views, services=services)


def _stored_views(fs: FeatureStore) -> set[str]:
    online = get_online_store(online_store_config(fs.project.vars, fs.project.root))
    try:
        meta = online.metadata()
        assert meta.snapshot is not None
        assert set(meta.snapshot["views"]) == set(meta.watermarks)
        return set(meta.snapshot["views"])
    finally:
        online.close()


def test_removed_and_offline_views_are_dropped(online_env: dict[str, str]) -> None:
    db = Path(online_env["duckdb"])
    _fill(db)
    fs = FeatureStore(online_env["project"])
    first = fs.materialize(as_of=AS_OF)
    assert first.dropped == []
    assert {"customer_v", "merchant_v"} <= _stored_views(fs)
    found = fs.get_online_features(features=["merchant_v"], entities={"merchant_id": [7]},
                                   as_of=AS_OF)  # fmt: skip
    assert found.status("merchant_v:version") == "PRESENT"

    # merchant_v switched to online: false, pair_v removed from the project; a
    # run that selects another view still drops them
    changed = _without(fs.registry, offline="merchant_v", removed="pair_v")
    result = materialize(fs.project, changed, select=["customer_v"], as_of=AS_OF)
    assert result.dropped == ["merchant_v", "pair_v"]
    assert "dropped 2 view(s) no longer online: merchant_v, pair_v" in result.summary()
    assert result.to_dict()["dropped"] == ["merchant_v", "pair_v"]
    assert _stored_views(fs) == set(VIEWS) - {"merchant_v", "pair_v"}

    fs.reload()
    with pytest.raises(UnknownFeatureViewError, match="'merchant_v' is not in the online store"):
        fs.get_online_features(features=["merchant_v"], entities={"merchant_id": [7]},
                               as_of=AS_OF)  # fmt: skip
    # the values are gone from the store too, not only from its metadata
    online = get_online_store(online_store_config(fs.project.vars, fs.project.root))
    try:
        with online.writer() as writer:
            assert writer.missing(["merchant_v", "pair_v", "customer_v"]) == [
                "merchant_v",
                "pair_v",
            ]
    finally:
        online.close()
    # and the next run has nothing more to drop
    assert materialize(fs.project, changed, as_of=AS_OF).dropped == []


def test_cli_says_which_views_it_dropped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """End to end: the YAML says online: false, `pitstop materialize` drops it."""
    root = build_project(tmp_path / "project")
    db = tmp_path / "offline.duckdb"
    monkeypatch.setenv("DBT_PROFILES_DIR", str(root))
    monkeypatch.delenv("DBT_TARGET_PATH", raising=False)
    monkeypatch.setenv("PITSTOP_DUCKDB_PATH", str(db))
    monkeypatch.setenv("PITSTOP_ONLINE_STORE", f"sqlite:{tmp_path / 'online.sqlite'}")
    _fill(db)
    runner = CliRunner()
    base = ["--project-dir", str(root)]
    done = runner.invoke(cli, [*base, "materialize", "--as-of", "2025-06-01"])
    assert done.exit_code == 0, done.output
    assert "dropped" not in done.output

    yml = root / "models" / "merchant_v.yml"
    yml.write_text(yml.read_text().replace("online: true", "online: false"))
    service = root / "models" / "fraud_model.yml"
    service.write_text(service.read_text().replace("                - merchant_v:version\n", ""))
    done = runner.invoke(cli, [*base, "materialize", "--as-of", "2025-06-01", "--json"])
    assert done.exit_code == 0, done.output
    assert json.loads(done.output)["dropped"] == ["merchant_v"]
    got = runner.invoke(cli, [*base, "get", "merchant_id=7", "-f", "merchant_v",
                              "--as-of", "2025-06-01"])  # fmt: skip
    assert got.exit_code == 1
    assert "UnknownFeatureViewError" in got.output

    (root / "models" / "customer_v.yml").unlink()
    (root / "models" / "customer_v.sql").unlink()
    service.write_text(service.read_text().replace("                - customer_v:version\n", ""))
    done = runner.invoke(cli, [*base, "materialize", "--as-of", "2025-06-01"])
    assert done.exit_code == 0, done.output
    assert "dropped 1 view(s) no longer online: customer_v" in done.output
    shutil.rmtree(root)
