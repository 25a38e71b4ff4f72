"""The registry in dbt docs: owner and tags from dbt's own fields, the generated
docs blocks and overview (`pitstop docs`), the committed file kept current, and
the feature-quality tests failing with the feature's name."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from _docs_site import docs_site  # noqa: F401  (a session fixture)
from click.testing import CliRunner
from conftest import ROOT, copy_project, isolated

from pitstop.cli import cli
from pitstop.errors import ContractError, DbtError
from pitstop.offline.compile import connect
from pitstop.project import Project
from pitstop.registry import Registry
from pitstop.registry.contract import GENERATED_MARKER, own_description
from pitstop.registry.docs import DOCS_FILE, OVERVIEW_FILE, ensure_blocks, referenced_blocks

ENTITIES = {"customer": {"keys": [{"name": "customer_id", "type": "bigint"}]}}
GROUPS = {
    "group.demo.risk": {
        "name": "risk",
        "owner": {"name": "Risk team", "email": "risk@example.com"},
    }
}


def _node(**config: Any) -> dict[str, Any]:
    meta = {"entity": "customer", "timestamp": "at", **config.pop("meta", {})}
    return {
        "unique_id": "model.demo.profile",
        "resource_type": "model",
        "name": "profile",
        "original_file_path": "models/profile.sql",
        "description": "Profiles.\n***\n" + GENERATED_MARKER + "\n\n| TTL | 7d |",
        "group": config.get("group"),
        "tags": config.get("tags", []),
        "config": {"meta": {"pitstop": meta}, **config},
        "columns": {
            c: {"name": c, "description": c, "data_type": "bigint"}
            for c in ("customer_id", "at", "score")
        },
    }


def _registry(node: dict[str, Any]) -> Registry:
    manifest = {"nodes": {node["unique_id"]: node}, "groups": GROUPS}
    return Registry.from_manifest(manifest, {"pitstop_entities": ENTITIES})


def test_owner_and_tags_come_from_dbts_own_fields() -> None:
    view = _registry(_node(group="risk", tags=["customer", "scores"])).view("profile")
    assert view.owner == "risk@example.com"
    assert view.tags == ("customer", "scores")
    # the block `pitstop docs` renders into the description is not the description
    assert view.description == "Profiles."


def test_owner_or_tags_written_twice_is_a_contract_error() -> None:
    with pytest.raises(ContractError, match=r"field owner: set twice: by dbt group 'risk'"):
        _registry(_node(group="risk", meta={"owner": "someone@example.com"}))
    with pytest.raises(ContractError, match=r"field tags: set twice: dbt tags \['a'\]"):
        _registry(_node(group="risk", tags=["a"], meta={"tags": ["b"]}))
    with pytest.raises(ContractError, match="field owner: missing; put the model in a dbt group"):
        _registry(_node())


def test_meta_owner_and_tags_remain_for_models_without_a_group() -> None:
    view = _registry(_node(meta={"owner": "me@example.com", "tags": ["x"]})).view("profile")
    assert (view.owner, view.tags) == ("me@example.com", ("x",))


def test_own_description_without_a_generated_block() -> None:
    assert own_description({"description": "Plain text."}) == "Plain text."
    assert own_description({"description": f"Text.\n***\n{GENERATED_MARKER}\nrest"}) == "Text."


def test_missing_blocks_get_placeholders_so_dbt_can_parse(tmp_path: Path) -> None:
    root = tmp_path / "p"
    (root / "models").mkdir(parents=True)
    (root / "dbt_project.yml").write_text("name: p\nprofile: p\n")
    (root / "models" / "a.yml").write_text(
        "models:\n  - name: a\n    description: \"x {{ doc('pitstop__a') }}\"\n"
    )
    project = Project(root)
    assert referenced_blocks(project) == {"pitstop__a"}
    assert ensure_blocks(project) is True
    text = (root / DOCS_FILE).read_text()
    assert re.search(r"\{% docs pitstop__a %\}\n\*\*\*\n.*\n\{% enddocs %\}", text)
    assert ensure_blocks(project) is False


@pytest.mark.slow
def test_docs_site_shows_the_registry(docs_site: Path) -> None:  # noqa: F811
    manifest = json.loads((docs_site / "target" / "manifest.json").read_text())
    node = manifest["nodes"]["model.pitstop.merchant_daily_stats"]
    description = node["description"]
    for row in (
        "| Entity | **merchant**, key `merchant_id` (bigint) |",
        "| Feature timestamp | `window_end_at` |",
        "| TTL | 7d |",
        "| Online | yes",
        "| Kind | event |",
        "| Owner | merchant-risk@pitstop.dev (dbt group `merchant_risk`) |",
        "#### Column lineage",
        "[feature_freshness](#!/test/",
    ):
        assert row in description, row
    # dbt docs' own OWNER and TAGS read the group and the tags
    assert node["group"] == "merchant_risk" and node["tags"] == ["merchant", "activity"]
    service = manifest["nodes"]["model.pitstop.fraud_training_set"]["description"]
    assert "#### Feature service `fraud_training_set`" in service
    assert "| `tier` | varchar | [customer_profile](#!/model/model.pitstop.customer_profile) |" in (
        service
    )
    overview = (docs_site / OVERVIEW_FILE).read_text()
    registry = Registry.load(Project(docs_site), parse_if_stale=False)
    for name in registry.views:
        assert f"[{name}](#!/model/model.pitstop.{name})" in overview
    row = "| [merchant_daily_stats](#!/model/model.pitstop.merchant_daily_stats) | merchant | 7d |"
    assert row in overview
    assert "newest 2025-07-01 00:00:00; tested: ≤ 1d behind stg_payments__transactions" in overview
    assert manifest["docs"]["doc.pitstop.__overview__"]["block_contents"].startswith("# pitstop")
    assert (docs_site / "target" / "static_index.html").stat().st_size > 1_000_000


@pytest.mark.slow
def test_committed_docs_file_is_current(docs_site: Path) -> None:  # noqa: F811
    """models/_pitstop_docs.md is generated but committed (dbt cannot parse a
    fresh clone without it): after changing a feature view, run `pitstop docs`."""
    generated = (docs_site / DOCS_FILE).read_text()
    committed = (ROOT / DOCS_FILE).read_text()
    assert committed == generated, "models/_pitstop_docs.md is stale: run `pitstop docs`"


@pytest.mark.slow
def test_docs_again_changes_nothing_and_check_passes(docs_site: Path) -> None:  # noqa: F811
    runner = CliRunner()
    base = ["--project-dir", str(docs_site), "docs"]
    with isolated(docs_site):
        again = runner.invoke(cli, [*base, "--no-exposures"])
        check = runner.invoke(cli, [*base, "check"])
    assert again.exit_code == 0, again.output
    assert "wrote" not in again.output
    assert "docs site:" in again.output and "5 feature views, 1 feature services" in again.output
    assert check.exit_code == 0 and "is current" in check.output


@pytest.mark.slow
def test_a_fresh_copy_without_the_docs_file_is_repaired(tmp_path: Path) -> None:
    root = copy_project(tmp_path / "project")
    (root / DOCS_FILE).unlink()
    with isolated(root):
        with pytest.raises(DbtError, match="pitstop__"):
            Project(root).run_dbt(["parse"])
        done = CliRunner().invoke(cli, ["--project-dir", str(root), "docs", "--no-exposures"])
        check = CliRunner().invoke(cli, ["--project-dir", str(root), "docs", "check"])
    assert done.exit_code == 0, done.output
    assert f"wrote {root / DOCS_FILE}" in done.output
    assert check.exit_code == 0, check.output


@pytest.mark.slow
def test_failing_quality_tests_name_the_feature(tmp_path: Path) -> None:
    root = copy_project(tmp_path / "project")
    stats = root / "models/features/merchant/merchant_daily_stats.yml"
    windows = root / "models/features/merchant/merchant_chargeback_windows.yml"
    with isolated(root):
        project = Project(root)
        project.run_dbt(["seed"])
        project.run_dbt(
            [
                "run",
                "--select",
                "+merchant_daily_stats +merchant_chargeback_windows stg_payments__merchants",
            ]
        )
        # break each rule on purpose: the data stays, the thresholds change
        text = stats.read_text()
        text = text.replace(
            "relative_to: ref('stg_payments__transactions')\n"
            "            relative_to_column: transacted_at\n",
            "as_of: '2030-01-01 00:00:00'\n",
        )
        text = re.sub(
            r"(- name: amount_sum_1d\n(?:.*\n)*?\s+- feature_range:\n\s+arguments:\n"
            r"\s+min_value: 0\n)",
            r"\1                max_value: 1\n",
            text,
        )
        stats.write_text(text)
        windows.write_text(windows.read_text().replace("max_rate: 0.05", "max_rate: 0"))
        with pytest.raises(DbtError) as failed:
            project.run_dbt(
                [
                    "test",
                    "--select",
                    "merchant_daily_stats merchant_chargeback_windows",
                    "--store-failures",
                ]
            )
        message = str(failed.value)
        assert "feature_range_merchant_daily_stats_amount_sum_1d" in message
        assert "feature_null_rate_merchant_chargeback_windows_chargeback_rate_7d" in message
        assert "feature_freshness_merchant_daily_stats" in message
        results = json.loads((project.target_path / "run_results.json").read_text())
        failures = {
            r["unique_id"].split(".")[2]: r for r in results["results"] if r["status"] == "fail"
        }
        assert len(failures) == 3, sorted(failures)
        con = connect(project)  # shares dbt's open DuckDB instance in this process
        try:
            texts = []
            for result in failures.values():
                rows = con.execute(
                    f"select failure from {result['relation_name']} limit 1"
                ).fetchall()
                texts.append(rows[0][0])
        finally:
            con.close()
    joined = "\n".join(texts)
    assert "feature merchant_daily_stats:amount_sum_1d = " in joined and "outside [0, 1]" in joined
    assert "feature merchant_chargeback_windows:chargeback_rate_7d is NULL in 1 of" in joined
    assert "feature view merchant_daily_stats: newest window_end_at 2025-07-01" in joined
