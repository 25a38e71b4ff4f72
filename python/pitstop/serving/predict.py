"""Models served by ``POST /models/{name}/predict``, following an alias.

Each model is loaded at its alias (``@champion`` by default) when the server
starts; a background check asks the model registry which version the alias
points at every few seconds, loads a newly promoted version next to the one
serving, and swaps one reference once it is ready. Requests in flight finish
on the model they started with; none fails because of a promotion. A model
that cannot be loaded (not registered yet, registry down) is retried at each
check while the route answers 503 for it.

No HTTP here; `pitstop.models` (MLflow) is imported only when a model is served.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pitstop.errors import PitstopError
from pitstop.online.lookup import OnlineLookup
from pitstop.project import Project
from pitstop.serving.errors import ModelNotServedError, NotReadyError, PredictionError

__all__ = ["ModelSet", "ServedModel"]

log = logging.getLogger("pitstop.serving")


@dataclass(frozen=True)
class ServedModel:
    """A loaded model and the registry version it is."""

    name: str
    version: str
    alias: str
    model: Any  # pitstop.models.FeatureAwareModel

    @property
    def views(self) -> tuple[str, ...]:
        """The feature views the model reads (its feature spec's)."""
        spec = getattr(self.model, "feature_spec", None)
        return tuple(spec.feature_views) if spec is not None else ()

    def predict(self, rows: Sequence[dict[str, Any]], as_of: datetime | None) -> dict[str, Any]:
        """Predictions for ``rows`` with the model's name, version and alias."""
        try:
            predictions = self.model.predict(list(rows), as_of=as_of)
        except PitstopError:
            raise
        except Exception as exc:
            # the user's model refused the input (NaN for a missing feature, a
            # value out of its domain): the request's entities, not the server
            raise PredictionError(
                f"model {self.name} version {self.version} could not predict for these "
                f"entities: {type(exc).__name__}: {exc}"
            ) from None
        if hasattr(predictions, "tolist"):
            predictions = predictions.tolist()
        return {
            "model": self.name,
            "version": self.version,
            "alias": self.alias,
            "predictions": list(predictions),
        }


class ModelSet:
    """The served models by name; `refresh` follows their alias.

    Args:
        names: the models to serve.
        alias: the alias each follows.
        project: the project (passed to the model loader).
        online: builds the lookup state a model reads its features with.
    """

    def __init__(
        self,
        names: Sequence[str],
        alias: str,
        project: Project,
        online: Callable[[], OnlineLookup],
    ) -> None:
        self.names = tuple(dict.fromkeys(names))
        self.alias = alias
        self.project = project
        self.online = online
        self.models: dict[str, ServedModel] = {}
        self.errors: dict[str, str] = {}

    def get(self, name: str) -> ServedModel:
        """The model serving ``name`` now.

        Raises:
            ModelNotServedError: the server does not serve ``name``.
            NotReadyError: it does, but could not load it (yet).
        """
        model = self.models.get(name)
        if model is not None:
            return model
        if name not in self.names:
            served = ", ".join(self.names) or "none"
            raise ModelNotServedError(f"model '{name}' is not served here (served: {served})")
        raise NotReadyError(
            f"model '{name}@{self.alias}' is not loaded: {self.errors.get(name, 'loading')}"
        )

    def describe(self) -> list[dict[str, Any]]:
        """Name, alias, version (or the load error) of every served model."""
        out = []
        for name in self.names:
            model = self.models.get(name)
            out.append(
                {
                    "name": name,
                    "alias": self.alias,
                    "version": model.version if model else None,
                    "error": None if model else self.errors.get(name, "loading"),
                }
            )
        return out

    def refresh(self) -> list[str]:
        """Load every model whose alias points at another version than the one
        serving (or that is not loaded yet). Blocking: run it off the event loop.

        Returns:
            ``name@version`` of each model swapped in.
        """
        if not self.names:
            return []
        from pitstop.models import alias_version, load_model

        swapped = []
        for name in self.names:
            current = self.models.get(name)
            try:
                version = str(alias_version(name, self.alias, project=self.project))
                if current is not None and current.version == version:
                    continue
                model = load_model(
                    f"{name}@{self.alias}", online=self.online(), project=self.project
                )
                loaded = str(getattr(model, "version", version))
            except (PitstopError, Exception) as exc:  # registry down, model missing
                message = f"{type(exc).__name__}: {exc}"
                if self.errors.get(name) != message:
                    log.warning("model %s@%s not (re)loaded: %s", name, self.alias, message)
                self.errors[name] = message
                continue
            self.models[name] = ServedModel(name, loaded, self.alias, model)
            self.errors.pop(name, None)
            swapped.append(f"{name}@{loaded}")
            log.info("serving model %s version %s (@%s)", name, loaded, self.alias)
        return swapped
