"""`FeatureStore`: the one object users hold, a facade over the project.

It owns nothing heavy: each capability lives in its own module and is
imported when first used, so that an online lookup never pays for dbt or the
offline machinery (and vice versa).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache, cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pitstop.project import Project

if TYPE_CHECKING:
    from pitstop.registry import Registry

__all__ = ["FeatureStore"]


@cache
def _lookup() -> Callable[..., Any]:
    # a function-level import costs ~3.5 µs per call, a seventh of a lookup
    from pitstop.lookup import get_online_features

    return get_online_features


class FeatureStore:
    """Entry point to a Pitstop project (a dbt project directory).

    Args:
        project_dir: the dbt project root; defaults to the current directory or
            the nearest parent holding a ``dbt_project.yml``.
        target: the dbt target to use (``dev`` unless given).
    """

    def __init__(self, project_dir: str | Path | None = None, target: str | None = None) -> None:
        self.project = Project.find(project_dir, target=target)

    @cached_property
    def registry(self) -> Registry:
        """The feature registry read from the dbt manifest (parsed when stale)."""
        from pitstop.registry import Registry

        return Registry.load(self.project)

    def training_set(self, spine: Any, **kwargs: Any) -> Any:
        """Point-in-time correct training set; see `pitstop.training.training_set`."""
        from pitstop.training import training_set

        return training_set(self, spine, **kwargs)

    def materialize(self, **kwargs: Any) -> Any:
        """Write latest feature values online; see `pitstop.materialize.materialize`."""
        from pitstop.materialize import materialize

        return materialize(self, **kwargs)

    def get_online_features(self, **kwargs: Any) -> Any:
        """Look up online feature values; see `pitstop.lookup.get_online_features`."""
        return _lookup()(self, **kwargs)

    def feature_history(self, view: str, **kwargs: Any) -> Any:
        """Validity intervals of feature values; see `pitstop.history.feature_history`."""
        from pitstop.history import feature_history

        return feature_history(self, view, **kwargs)
