"""`FeatureStore`: the one object users hold, a facade over the capabilities.

It owns the project, the registry and the online lookup state, and hands each
capability (`pitstop.offline`, `pitstop.online`) only what it needs; none of
them imports this module back. Capabilities are imported when first used, so
an online lookup never pays for dbt or the offline machinery (and vice versa).
"""

from __future__ import annotations

import builtins
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pitstop.project import Project

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

    from pitstop.models.feature_model import FeatureAwareModel
    from pitstop.models.log import LoggedModel
    from pitstop.online.base import OnlineStore, WaitCallback
    from pitstop.online.lookup import OnlineFeatures, OnlineLookup
    from pitstop.online.materialize import MaterializeResult, Progress
    from pitstop.registry import Registry

__all__ = ["FeatureStore"]

_get_online: Callable[..., OnlineFeatures] | None = None


class FeatureStore:
    """Entry point to a Pitstop project (a dbt project directory).

    Args:
        project_dir: the dbt project root; defaults to ``PITSTOP_PROJECT_DIR``,
            or the current directory or the nearest parent holding a
            ``dbt_project.yml``.
        target: the dbt target to use (``dev`` unless given).
        warm: load dbt and parse the project in a background thread now, so
            that the first training set or history of a new shape compiles
            in a tenth of a second instead of paying for dbt's import and
            parse. Default: only in an interactive session (IPython, Jupyter,
            ``python -i``), where the store is created well before the first
            call; never in servers and scripts that only look features up.
    """

    def __init__(
        self,
        project_dir: str | Path | None = None,
        target: str | None = None,
        *,
        warm: bool | None = None,
    ) -> None:
        self.project = Project.find(project_dir, target=target)
        self._online: OnlineLookup | None = None
        self._online_lock = threading.Lock()
        if warm if warm is not None else _interactive():
            from pitstop.offline.compile import warm as warm_compiler

            warm_compiler(self.project)

    def __repr__(self) -> str:
        return f"FeatureStore({str(self.project.root)!r}, target={self.project.target!r})"

    @cached_property
    def registry(self) -> Registry:
        """The feature registry read from the dbt manifest (parsed when stale)."""
        from pitstop.registry import Registry

        return Registry.load(self.project)

    def reload(self) -> None:
        """Forget the cached registry and online snapshot (after `dbt build`)."""
        self.__dict__.pop("registry", None)
        if self._online is not None:
            self._online.reload()

    def training_set(
        self,
        spine: pd.DataFrame | pa.Table | str,
        features: Sequence[str] | None = None,
        service: str | None = None,
        spine_timestamp: str | None = None,
        key_map: Mapping[str, Mapping[str, str]] | None = None,
        ttl: Mapping[str, str | None] | None = None,
        exclude_late_rows: bool = True,
        naming: Literal["prefixed", "short"] = "prefixed",
        impl: Literal["default"] | None = None,
        output: Literal["pandas", "arrow"] = "pandas",
    ) -> pd.DataFrame | pa.Table:
        """Point-in-time correct training set; see `pitstop.offline.training.training_set`."""
        from pitstop.offline.training import training_set

        return training_set(
            self.project,
            self.registry,
            spine,
            features=features,
            service=service,
            spine_timestamp=spine_timestamp,
            key_map=key_map,
            ttl=ttl,
            exclude_late_rows=exclude_late_rows,
            naming=naming,
            impl=impl,
            output=output,
        )

    def feature_history(
        self,
        view: str,
        keys: Any = None,
        start: datetime | date | str | None = None,
        end: datetime | date | str | None = None,
        features: Sequence[str] | None = None,
    ) -> pd.DataFrame:
        """Validity intervals of feature values; see `pitstop.offline.history.feature_history`."""
        from pitstop.offline.history import feature_history

        return feature_history(
            self.project, self.registry, view, keys=keys, start=start, end=end, features=features
        )

    def materialize(
        self,
        select: Sequence[str] | None = None,
        full_refresh: bool = False,
        progress: Progress | None = None,
        as_of: datetime | None = None,
        lock_timeout: float | None = None,
        on_wait: WaitCallback | None = None,
    ) -> MaterializeResult:
        """Write latest feature values online; see `pitstop.online.materialize.materialize`."""
        from pitstop.online.materialize import materialize

        result = materialize(
            self.project,
            self.registry,
            select=select,
            full_refresh=full_refresh,
            progress=progress,
            as_of=as_of,
            lock_timeout=lock_timeout,
            on_wait=on_wait,
        )
        if self._online is not None:
            self._online.reload()
        return result

    @property
    def online(self) -> OnlineLookup:
        """The online store's lookup state (opened on first use, then shared)."""
        online = self._online
        if online is None:
            with self._online_lock:
                if self._online is None:
                    from pitstop.online.lookup import OnlineLookup

                    self._online = OnlineLookup.for_project(self.project)
                online = self._online
        return online

    @property
    def online_store(self) -> OnlineStore:
        """The online store lookups read (and `materialize` writes)."""
        return self.online.store

    def get_online_features(
        self,
        features: Sequence[str] | None = None,
        service: str | None = None,
        entities: Mapping[str, Sequence[Any]] | None = None,
        entity_rows: Sequence[Mapping[str, Any]] | None = None,
        as_of: datetime | date | None = None,
    ) -> OnlineFeatures:
        """Look up online feature values; see `pitstop.online.lookup.get_online_features`."""
        global _get_online
        get = _get_online
        if get is None:
            # imported once: a function-level import costs a seventh of a lookup
            from pitstop.online.lookup import get_online_features

            get = _get_online = get_online_features
        online = self._online or self.online
        return get(online, features, service, entities, entity_rows, as_of)

    def log_model(self, model: Any, *, service: str, **options: Any) -> LoggedModel:
        """Log (and register) a feature-aware model; see `pitstop.models.log.log_model`."""
        from pitstop.models.log import log_model

        return log_model(
            model, service=service, project=self.project, registry=self.registry, **options
        )

    def load_model(self, ref: str) -> FeatureAwareModel:
        """A registered model that predicts from entity keys, checked against this
        project; see `pitstop.models.load_model`."""
        from pitstop.models import load_model

        return load_model(ref, online=self.online, project=self.project)

    def score(self, ref: str, spine: pd.DataFrame | pa.Table, **options: Any) -> pd.DataFrame:
        """Batch-score a spine with point-in-time features; see `pitstop.models.scoring.score`."""
        from pitstop.models.scoring import score

        return score(ref, spine, self.project, self.registry, **options)


def _interactive() -> bool:
    """True in a Python prompt, IPython or a Jupyter kernel."""
    return hasattr(sys, "ps1") or hasattr(builtins, "__IPYTHON__")
