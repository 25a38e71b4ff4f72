"""``pitstop models``: the model registry on MLflow (list, show, promote,
predict, score, exposures, drift, ui, demo).

MLflow takes seconds to import, so this module imports it only inside the
commands (through `pitstop.models`), and `pitstop --help` stays fast.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path
from typing import Any

import click

from pitstop.cli import open_store
from pitstop.cli._options import (
    json_option,
    out_option,
    parse_as_of,
    read_spine,
    spine_option,
    to_json,
    write_parquet,
)
from pitstop.errors import InvalidRequestError

__all__ = ["models"]


def _quiet_mlflow() -> None:
    """MLflow's INFO and WARNING lines (database migrations, pickling notes) are noise here."""
    import logging

    import mlflow  # noqa: F401 - configures its loggers on import; override after

    # its warnings about cloudpickle and an undetectable pip version are noise here
    logging.getLogger("mlflow").setLevel(logging.ERROR)
    logging.getLogger("alembic").setLevel(logging.WARNING)


@click.group()
def models() -> None:
    """Feature-aware models on MLflow: registry, aliases, scoring, lineage, drift.

    \b
    Examples:
      pitstop models list
      pitstop models promote fraud 3 --alias champion
      pitstop models predict fraud@champion customer_id=42 merchant_id=7 amount=120.5
    """
    _quiet_mlflow()


@models.command("list")
@json_option
@click.pass_context
def list_cmd(ctx: click.Context, as_json: bool) -> None:
    """List registered models with their aliases and versions.

    \b
    Example:
      pitstop models list --json
    """
    from pitstop.models.catalog import list_models

    found = list_models(open_store(ctx).project)
    if as_json:
        click.echo(to_json(found))
        return
    if not found:
        click.echo("no registered models (log one with pitstop.models.log_model)")
    for model in found:
        aliases = ", ".join(f"@{a}=v{v}" for a, v in sorted(model["aliases"].items()))
        click.echo(f"{model['name']}  latest=v{model['latest_version']}  {aliases or 'no aliases'}")
        for version in model["versions"]:
            tags = " ".join(f"@{a}" for a in version["aliases"])
            click.echo(
                f"    v{version['version']}  service={version['feature_service']}  "
                f"run={version['run_id']}  {version['created']}  {tags}".rstrip()
            )


@models.command("show")
@click.argument("ref")
@json_option
@click.pass_context
def show_cmd(ctx: click.Context, ref: str, as_json: bool) -> None:
    """Show a model (NAME), or one version (NAME@alias, NAME/VERSION) with its feature spec.

    \b
    Examples:
      pitstop models show fraud
      pitstop models show fraud@champion --json
    """
    from pitstop.models.catalog import show_model

    data = show_model(ref, open_store(ctx).project)
    if as_json:
        click.echo(to_json(data))
        return
    spec = data.pop("feature_spec", None)
    versions = data.pop("versions", None)
    for key, value in data.items():
        click.echo(f"{key:>18}: {value}")
    if versions is not None:
        for version in versions:
            tags = " ".join(f"@{a}" for a in version["aliases"])
            click.echo(
                f"{'':>20}v{version['version']} service={version['feature_service']} "
                f"views={','.join(version['feature_views'])} {tags}".rstrip()
            )
    if spec:
        click.echo(f"{'entity keys':>18}: {', '.join(k for k, _ in spec['entity_keys'])}")
        click.echo(f"{'training rows':>18}: {spec['training_rows']}")
        click.echo(f"{'label':>18}: {spec['label']}")
        click.echo(f"{'inputs':>18}:")
        for feature in spec["features"]:
            click.echo(
                f"{'':>20}{feature['column']} <- {feature['ref']} ({feature['dtype']}, "
                f"{feature['pandas_dtype']})"
            )
        for column in spec["request_columns"]:
            click.echo(f"{'':>20}{column['column']} (request, {column['pandas_dtype']})")


@models.command("promote")
@click.argument("name")
@click.argument("version")
@click.option("--alias", default="champion", show_default=True, help="The alias to set.")
@click.pass_context
def promote_cmd(ctx: click.Context, name: str, version: str, alias: str) -> None:
    """Point an alias (default champion) at a version of a registered model.

    \b
    Example:
      pitstop models promote fraud 3 --alias champion
    """
    from pitstop.models.catalog import promote

    done = promote(name, version, alias, open_store(ctx).project)
    was = f" (was v{done['previous']})" if done["previous"] else ""
    click.echo(f"{done['name']}@{done['alias']} -> v{done['version']}{was}")


def _typed_value(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


@models.command("predict")
@click.argument("ref")
@click.argument("keys", nargs=-1, required=True, metavar="KEY=VALUE...")
@click.option("--as-of", help="Clock for TTLs, ISO-8601 UTC (default: now).")
@json_option
@click.pass_context
def predict_cmd(
    ctx: click.Context, ref: str, keys: tuple[str, ...], as_of: str | None, as_json: bool
) -> None:
    """Predict for one entity from its keys (features looked up online).

    Entity keys are typed as the entities declare them; other KEY=VALUE
    pairs are request columns or feature overrides (view__feature=...),
    read as JSON when they parse (120.5, true, null) and as text otherwise.

    \b
    Example:
      pitstop models predict fraud@champion customer_id=42 merchant_id=7 amount=120.5
    """
    from pitstop.cli.keys import parse_key_args, split_key_args
    from pitstop.models import load_model

    when = parse_as_of(as_of)
    raw = split_key_args(keys)
    store = open_store(ctx)
    model = load_model(ref, online=store.online, project=store.project)
    key_types = dict(model.feature_spec.entity_keys)
    row = parse_key_args({k: v for k, v in raw.items() if k in key_types}, key_types)
    row.update({k: _typed_value(v) for k, v in raw.items() if k not in key_types})
    prediction = model.predict([row], as_of=when)[0]
    if as_json:
        click.echo(
            to_json(
                {
                    "model": model.name,
                    "version": model.version,
                    "entity": row,
                    "prediction": prediction,
                }
            )
        )
        return
    click.echo(f"{model.name} v{model.version}: {prediction}")


@models.command("score")
@click.argument("ref")
@spine_option("Parquet file with the entity keys, a timestamp and the request columns.")
@out_option("Parquet file to write: the spine plus a prediction column.")
@click.option("--timestamp", "spine_timestamp", help="The spine's timestamp column.")
@click.pass_context
def score_cmd(
    ctx: click.Context, ref: str, spine_path: Path, out: Path, spine_timestamp: str | None
) -> None:
    """Score a spine with point-in-time features (the offline path, no online store).

    \b
    Example:
      pitstop models score fraud@champion --spine spine.parquet --out scored.parquet
    """
    import pyarrow as pa

    from pitstop.models.scoring import score

    spine = read_spine(spine_path, out)
    store = open_store(ctx)
    scored = score(ref, spine, store.project, store.registry, spine_timestamp=spine_timestamp)
    write_parquet(pa.Table.from_pandas(scored, preserve_index=False), out)
    click.echo(f"scored {len(scored)} rows with {ref} -> {out}")


@models.command("exposures")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="YAML file to write (default: models/exposures/_ml_models.yml in the project).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the exposures as JSON.")
@click.pass_context
def exposures_cmd(ctx: click.Context, out: Path | None, as_json: bool) -> None:
    """Write dbt exposures (type ml) for every registered model and alias.

    Then `dbt ls -s +exposure:ml_fraud_champion` lists everything the model
    depends on, from the sources to the training set.

    \b
    Example:
      pitstop models exposures && dbt ls -s +exposure:ml_fraud_champion
    """
    from pitstop.models.catalog import list_models
    from pitstop.models.exposures import write_exposures

    store = open_store(ctx)
    path, found, skipped = write_exposures(
        store.project, store.registry, list_models(store.project), out
    )
    if as_json:
        click.echo(to_json({"path": str(path), "exposures": found, "skipped": skipped}))
        return
    click.echo(f"wrote {len(found)} exposure(s) to {path}")
    for exposure in found:
        click.echo(f"    exposure:{exposure['name']} <- {exposure['depends_on'][0]}")
    for line in skipped:
        click.echo(f"    skipped {line}", err=True)


@models.command("drift")
@click.argument("ref")
@click.option("--as-of", help="'Now', ISO-8601 UTC (default: the current time).")
@click.option("--window", default="7d", show_default=True, help="Offline window length.")
@click.option("--sample", default=2000, show_default=True, help="Entity rows to sample.")
@click.option("--online-only", is_flag=True, help="Skip the offline window.")
@click.option("--no-log", is_flag=True, help="Do not log the report to MLflow.")
@json_option
@click.option(
    "--html",
    "html_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write an HTML report with overlaid histograms.",
)
@click.pass_context
def drift_cmd(
    ctx: click.Context,
    ref: str,
    as_of: str | None,
    window: str,
    sample: int,
    online_only: bool,
    no_log: bool,
    as_json: bool,
    html_path: Path | None,
) -> None:
    """Compare a model's training statistics with the online snapshot and a recent
    offline window: PSI, null rate and KS per input column; drifted ones flagged.

    Thresholds: PSI > 0.25, null rate moved by more than 0.10, or KS statistic
    > 0.2 with p < 0.01.

    \b
    Examples:
      pitstop models drift fraud@champion --as-of 2025-07-01
      pitstop models drift fraud@champion --json --html drift.html
    """
    from pitstop.models.monitor import model_drift

    store = open_store(ctx)
    result = model_drift(
        ref,
        store.project,
        store.registry,
        store.online,
        as_of=parse_as_of(as_of),
        window=window,
        sample=sample,
        offline=not online_only,
        log_to_mlflow=not no_log,
    )
    if html_path is not None:
        try:
            html_path.parent.mkdir(parents=True, exist_ok=True)
            html_path.write_text(result.html)
        except OSError as exc:
            raise InvalidRequestError(f"cannot write --html {html_path}: {exc.strerror}") from None
    if as_json:
        click.echo(to_json(result.to_dict()))
        return
    click.echo(result.table())
    if result.run_id:
        click.echo(f"logged to MLflow run {result.run_id}")
    if html_path is not None:
        click.echo(f"wrote {html_path}")


@models.command("ui")
@click.option("--port", default=5000, show_default=True, help="Port on 127.0.0.1.")
@click.pass_context
def ui_cmd(ctx: click.Context, port: int) -> None:
    """Run the MLflow UI on the project's store (mlflow server, 127.0.0.1, one worker).

    \b
    Example:
      pitstop models ui --port 5000
    """
    from pitstop.models.tracking import mlflow_settings, server_command

    settings = mlflow_settings(open_store(ctx).project)
    command = server_command(settings, port)
    if shutil.which(command[0]) is None and not Path(command[0]).exists():
        raise InvalidRequestError(f"{command[0]} not found; is MLflow installed?")
    click.echo(f"MLflow UI on http://127.0.0.1:{port} ({settings.tracking_uri})", err=True)
    sys.stdout.flush()
    # MLflow's job runner (GenAI scorers) starts seven worker processes; a
    # registry UI needs none of them
    os.environ.setdefault("MLFLOW_SERVER_ENABLE_JOB_EXECUTION", "false")
    os.execv(command[0], command)


@models.command("demo")
@click.option("--as-of", default="2025-07-01", show_default=True, help="'Now' of the demo data.")
@click.pass_context
def demo_cmd(ctx: click.Context, as_of: str) -> None:
    """Train, log, register and promote a fraud classifier; write the exposures;
    predict by key from the online store; print a drift summary.

    \b
    Example:
      pitstop models demo
    """
    from pitstop.models.demo import run_demo

    when = parse_as_of(as_of)
    assert when is not None
    store = open_store(ctx)
    run_demo(store.project, store.registry, store.online, as_of=when, echo=click.echo)
