"""The MLflow pyfunc a feature-aware model is logged as (imports MLflow).

`PitstopModel` wraps the user's fitted model together with its feature spec.
Loaded by plain MLflow (``mlflow.pyfunc.load_model("models:/fraud@champion")``)
it takes a DataFrame of entity keys (plus request columns and optional
feature overrides) and answers from the online store named by
``PITSTOP_ONLINE_STORE``: nothing of the dbt project is needed.
`pitstop.models.load_model` goes through `pitstop.models.loading` and hands the same
pieces to a `FeatureAwareModel` with the caller's online lookup.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

import pandas as pd
from mlflow.pyfunc.model import PythonModel

from pitstop.errors import InvalidRequestError
from pitstop.models.spec import ModelFeatureSpec

if TYPE_CHECKING:
    from pitstop.models.feature_model import FeatureAwareModel

__all__ = ["PitstopModel"]


class PitstopModel(PythonModel):  # type: ignore[misc]
    """A user's model plus its feature spec, predicting from entity keys.

    Args:
        model: the fitted model (e.g. an sklearn ``Pipeline``, preprocessing included).
        spec_json: the `ModelFeatureSpec` as JSON text.
    """

    def __init__(self, model: Any, spec_json: str) -> None:
        self.model = model
        self.spec_json = spec_json
        self._served: FeatureAwareModel | None = None

    def __getstate__(self) -> dict[str, Any]:
        # the online connection is per process, never pickled with the model
        state = dict(self.__dict__)
        state["_served"] = None
        return state

    @property
    def spec(self) -> ModelFeatureSpec:
        return ModelFeatureSpec.loads(self.spec_json)

    # MLflow reads the annotation of model_input (a plain `Any` or none at all
    # makes it warn); a DataFrame is what it hands over anyway
    def predict(
        self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None
    ) -> Any:
        """Predictions for a DataFrame (or list of dicts) of entity keys; param
        ``as_of`` (ISO-8601 text or datetime) sets the TTL clock."""
        from pitstop.models.feature_model import FeatureAwareModel

        served = self._served
        if served is None:
            served = self._served = FeatureAwareModel(self.model, self.spec, None)
        given: Any = model_input  # a DataFrame from MLflow; a list of dicts when called directly
        rows: list[Any] = (
            given.to_dict(orient="records") if hasattr(given, "to_dict") else list(given)
        )
        as_of = (params or {}).get("as_of")
        if isinstance(as_of, str):
            try:
                as_of = datetime.fromisoformat(as_of)
            except ValueError:
                raise InvalidRequestError(f"as_of {as_of!r} is not ISO-8601") from None
        return served.predict(rows, as_of=as_of)
