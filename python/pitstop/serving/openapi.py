"""The hand-written OpenAPI 3.1 document and the ``/docs`` page.

Written by hand because the lookup routes bypass any validation framework;
`pitstop.serving.lookups` validates exactly what these schemas say (the
schemathesis test fuzzes one against the other). ``/docs`` is one
self-contained HTML page rendered from the document: no CDN, no JavaScript.
"""

from __future__ import annotations

import html
import json
from typing import Any

__all__ = ["docs_page", "openapi"]

_KEY = {"type": ["integer", "string", "null"], "description": "an entity key value"}
_ERROR_REF = {"$ref": "#/components/responses/Error"}
_TIMESTAMP = {"type": ["string", "null"], "format": "date-time"}


def _errors(*codes: int) -> dict[str, Any]:
    return {str(code): _ERROR_REF for code in codes}


def openapi(
    auth: bool, version: str = "0.1.0", example: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The OpenAPI document; with ``auth`` every route but health, readiness
    and the docs requires a bearer token (and documents 401/403).

    Args:
        auth: whether tokens are required.
        version: the package version.
        example: ``{"view", "features", "entities", "row"}`` of a real online
            view, used as the request examples (clients and fuzzers then reach
            real lookups).
    """
    secured: dict[str, Any] = {"security": [{"bearer": []}]} if auth else {}
    auth_errors = (401, 403) if auth else ()

    lookup_errors = _errors(400, *auth_errors, 404, 405, 408, 413, 503)
    schemas: dict[str, Any] = {
        "Error": {
            "type": "object",
            "required": ["error"],
            "properties": {
                "error": {
                    "type": "object",
                    "required": ["type", "message"],
                    "properties": {
                        "type": {"type": "string", "description": "the PitstopError class"},
                        "message": {"type": "string"},
                    },
                }
            },
        },
        "EntityColumns": {
            "type": "object",
            "description": "key column -> array of values (column form), all of one length",
            "additionalProperties": {"type": "array", "items": _KEY},
        },
        "FeastRequest": {
            "type": "object",
            "description": (
                "Feast's GetOnlineFeaturesRequest. feature_service wins over features when "
                "both are given (as in Feast); unknown fields are ignored (as in Feast)."
            ),
            "required": ["entities"],
            "properties": {
                "entities": {"$ref": "#/components/schemas/EntityColumns"},
                "features": {
                    "type": ["array", "null"],
                    "minItems": 1,
                    "items": {"type": "string"},
                    "description": "'view:feature' or 'view' (all its features)",
                },
                "feature_service": {"type": ["string", "null"]},
                "full_feature_names": {
                    "type": "boolean",
                    "default": False,
                    "description": "names as view__feature instead of feature",
                },
                "as_of": {
                    "type": ["string", "null"],
                    "description": (
                        "Pitstop's extension: the clock TTLs are checked against, ISO-8601 "
                        "(default now)"
                    ),
                },
            },
        },
        "FeastResponse": {
            "type": "object",
            "required": ["metadata", "results"],
            "properties": {
                "metadata": {
                    "type": "object",
                    "required": ["feature_names"],
                    "properties": {"feature_names": {"type": "array", "items": {"type": "string"}}},
                },
                "results": {
                    "type": "array",
                    "description": "one per feature_names entry; values per entity row",
                    "items": {
                        "type": "object",
                        "required": ["values", "statuses", "event_timestamps"],
                        "properties": {
                            "values": {"type": "array"},
                            "statuses": {
                                "type": "array",
                                "items": {
                                    "enum": [
                                        "PRESENT",
                                        "NOT_FOUND",
                                        "NULL_VALUE",
                                        "OUTSIDE_MAX_AGE",
                                    ]
                                },
                            },
                            "event_timestamps": {
                                "type": "array",
                                "items": {"type": "string", "format": "date-time"},
                            },
                        },
                    },
                },
            },
        },
        "OnlineRequest": {
            "type": "object",
            "additionalProperties": False,
            "description": "exactly one of features/service and of entity_rows/entities",
            "properties": {
                "features": {"type": "array", "minItems": 1, "items": {"type": "string"}},
                "service": {"type": "string", "description": "a feature service (training set)"},
                "entity_rows": {
                    "type": "array",
                    "items": {"type": "object", "additionalProperties": _KEY},
                },
                "entities": {"$ref": "#/components/schemas/EntityColumns"},
                "as_of": {"type": ["string", "null"], "description": "ISO-8601; default now"},
            },
        },
        "OnlineResponse": {
            "type": "object",
            "required": ["features", "results"],
            "properties": {
                "features": {"type": "array", "items": {"type": "string"}},
                "results": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["entity", "features"],
                        "properties": {
                            "entity": {"type": "object"},
                            "features": {
                                "type": "object",
                                "additionalProperties": {
                                    "type": "object",
                                    "required": ["value", "status", "timestamp"],
                                    "properties": {
                                        "value": {},
                                        "status": {
                                            "enum": ["PRESENT", "NOT_FOUND", "NULL", "EXPIRED"]
                                        },
                                        "timestamp": _TIMESTAMP,
                                    },
                                },
                            },
                        },
                    },
                },
            },
        },
        "FeatureView": {
            "type": "object",
            "required": ["name", "entity", "keys", "features", "online", "access"],
            "properties": {
                "name": {"type": "string"},
                "entity": {"type": "string"},
                "keys": {"type": "array", "items": {"type": "string"}},
                "ttl_seconds": {"type": ["integer", "null"]},
                "owner": {"type": "string"},
                "description": {"type": "string"},
                "online": {"type": "boolean"},
                "materialized": {"type": "boolean"},
                "materialized_at": _TIMESTAMP,
                "features": {"type": "array", "items": {"type": "object"}},
                "access": {"type": "object"},
                "lineage": {"type": "object"},
                "services": {"type": "array", "items": {"type": "string"}},
                "models": {"type": "array", "items": {"type": "object"}},
            },
        },
        "Registry": {
            "type": "object",
            "required": ["entities", "feature_views", "services"],
            "properties": {
                "entities": {"type": "object"},
                "feature_views": {
                    "type": "object",
                    "additionalProperties": {"$ref": "#/components/schemas/FeatureView"},
                },
                "services": {"type": "object"},
            },
        },
        "PredictRequest": {
            "type": "object",
            "additionalProperties": False,
            "description": (
                "exactly one of entity_rows/entities; besides the entity keys a row may "
                "give the model's request columns and feature overrides (view__feature)"
            ),
            "properties": {
                "entity_rows": {"type": "array", "items": {"type": "object"}},
                "entities": {
                    "type": "object",
                    "additionalProperties": {"type": "array"},
                },
                "as_of": {"type": ["string", "null"]},
            },
        },
        "PredictResponse": {
            "type": "object",
            "required": ["model", "version", "alias", "predictions"],
            "properties": {
                "model": {"type": "string"},
                "version": {"type": "string"},
                "alias": {"type": "string"},
                "predictions": {"type": "array"},
            },
        },
        "Models": {
            "type": "object",
            "required": ["models"],
            "properties": {"models": {"type": "array", "items": {"type": "object"}}},
        },
        "Health": {"type": "object", "properties": {"status": {"type": "string"}}},
        "Ready": {
            "type": "object",
            "required": ["ready"],
            "properties": {"ready": {"type": "boolean"}, "checks": {"type": "object"}},
        },
    }

    def ok(schema: str, description: str = "OK") -> dict[str, Any]:
        return {
            "200": {
                "description": description,
                "content": {
                    "application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}
                },
            }
        }

    def body(schema: str, sample: dict[str, Any] | None = None) -> dict[str, Any]:
        media: dict[str, Any] = {"schema": {"$ref": f"#/components/schemas/{schema}"}}
        if sample is not None:
            media["example"] = sample
        return {"required": True, "content": {"application/json": media}}

    feast_example = online_example = None
    view_param: dict[str, Any] = {"type": "string"}
    if example is not None:
        feast_example = {"features": example["features"], "entities": example["entities"]}
        online_example = {"features": example["features"], "entity_rows": [example["row"]]}
        view_param["example"] = example["view"]

    paths: dict[str, Any] = {
        "/get-online-features": {
            "post": {
                "operationId": "getOnlineFeatures",
                "summary": "Latest feature values in Feast's exact JSON (a Feast client only "
                "changes the URL)",
                "description": "Statuses map NULL -> NULL_VALUE and EXPIRED -> OUTSIDE_MAX_AGE; "
                "entity columns and missing values carry 1970-01-01T00:00:00Z like Feast.",
                "requestBody": body("FeastRequest", feast_example),
                "responses": {**ok("FeastResponse"), **lookup_errors},
                **secured,
            }
        },
        "/features/online": {
            "post": {
                "operationId": "getFeaturesOnline",
                "summary": "Latest feature values, one record per entity with value, status "
                "(PRESENT|NOT_FOUND|NULL|EXPIRED) and feature timestamp",
                "requestBody": body("OnlineRequest", online_example),
                "responses": {**ok("OnlineResponse"), **lookup_errors},
                **secured,
            }
        },
        "/features": {
            "get": {
                "operationId": "listFeatures",
                "summary": "The registry: entities, feature views and services this token may read",
                "responses": {**ok("Registry"), **_errors(*auth_errors, 503)},
                **secured,
            }
        },
        "/features/{view}": {
            "get": {
                "operationId": "describeFeatureView",
                "summary": "One feature view: contract, features, TTL, owner, access, lineage",
                "parameters": [
                    {"name": "view", "in": "path", "required": True, "schema": view_param}
                ],
                "responses": {**ok("FeatureView"), **_errors(*auth_errors, 404, 503)},
                **secured,
            }
        },
        "/models": {
            "get": {
                "operationId": "listModels",
                "summary": "The served models: name, alias and the version answering now",
                "responses": {**ok("Models"), **_errors(*auth_errors)},
                **secured,
            }
        },
        "/models/{name}/predict": {
            "post": {
                "operationId": "predict",
                "summary": "Predictions from a served model; features are looked up online",
                "parameters": [
                    {"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}
                ],
                "requestBody": body("PredictRequest"),
                "responses": {
                    **ok("PredictResponse"),
                    **_errors(400, *auth_errors, 404, 405, 408, 413, 422, 503),
                },
                **secured,
            }
        },
        "/health": {
            "get": {
                "operationId": "health",
                "summary": "Liveness: the process answers",
                "responses": ok("Health"),
            }
        },
        "/ready": {
            "get": {
                "operationId": "ready",
                "summary": "Readiness: registry loaded and online store reachable (503 if not)",
                "responses": {
                    **ok("Ready"),
                    "503": {
                        "description": "not ready",
                        "content": {
                            "application/json": {"schema": {"$ref": "#/components/schemas/Ready"}}
                        },
                    },
                },
            }
        },
        "/metrics": {
            "get": {
                "operationId": "metrics",
                "summary": "Prometheus metrics (text format)",
                "responses": {
                    "200": {
                        "description": "OK",
                        "content": {"text/plain": {"schema": {"type": "string"}}},
                    },
                    **_errors(*auth_errors),
                },
                **secured,
            }
        },
    }
    document: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {
            "title": "Pitstop feature server",
            "version": version,
            "description": "Online feature lookups (Feast-compatible and Pitstop's own shape), "
            "the feature registry and model predictions.",
        },
        "paths": paths,
        "components": {
            "schemas": schemas,
            "responses": {
                "Error": {
                    "description": "An error: its type (a PitstopError class) and message",
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}
                    },
                }
            },
        },
    }
    if auth:
        document["components"]["securitySchemes"] = {
            "bearer": {
                "type": "http",
                "scheme": "bearer",
                "description": "an API token; the server knows only its SHA-256",
            }
        }
    return document


def docs_page(document: dict[str, Any]) -> bytes:
    """A self-contained HTML page listing every operation of ``document`` with
    its request and response schemas."""
    esc = html.escape
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>{esc(document['info']['title'])}</title>",
        "<style>body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;"
        "padding:0 1rem;color:#222}h2{border-bottom:1px solid #ddd;padding-bottom:.3rem}"
        ".op{margin:1.2rem 0;padding:.6rem 1rem;border:1px solid #ddd;border-radius:6px}"
        ".m{font-weight:bold;display:inline-block;min-width:4rem}"
        "pre{background:#f6f8fa;padding:.6rem;overflow:auto;font-size:.85rem}"
        "details summary{cursor:pointer}</style></head><body>",
        f"<h1>{esc(document['info']['title'])} <small>{esc(document['info']['version'])}</small>"
        "</h1>",
        f"<p>{esc(document['info'].get('description', ''))}</p>",
        "<p>Machine-readable: <a href='/openapi.json'>/openapi.json</a></p><h2>Operations</h2>",
    ]
    for path, item in document["paths"].items():
        for method, op in item.items():
            parts.append(f"<div class='op' id='{esc(op.get('operationId', ''))}'>")
            parts.append(f"<span class='m'>{esc(method.upper())}</span> <code>{esc(path)}</code>")
            parts.append(f"<p>{esc(op.get('summary', ''))}</p>")
            if op.get("description"):
                parts.append(f"<p>{esc(op['description'])}</p>")
            if op.get("security"):
                parts.append("<p><em>Requires <code>Authorization: Bearer &lt;token&gt;</code>"
                             "</em></p>")  # fmt: skip
            request = op.get("requestBody", {}).get("content", {}).get("application/json")
            if request:
                parts.append(_schema_block("Request body", request["schema"], document))
            codes = ", ".join(sorted(op.get("responses", {})))
            parts.append(f"<p>Responses: {esc(codes)}</p>")
            success = op.get("responses", {}).get("200", {}).get("content", {})
            for media in success.values():
                parts.append(_schema_block("Response (200)", media["schema"], document))
            parts.append("</div>")
    parts.append("<h2>Schemas</h2>")
    for name, schema in document["components"]["schemas"].items():
        parts.append(_schema_block(name, schema, document, open_=False))
    parts.append("</body></html>")
    return "".join(parts).encode()


def _schema_block(
    title: str, schema: dict[str, Any], document: dict[str, Any], open_: bool = True
) -> str:
    ref = schema.get("$ref")
    if ref:
        name = ref.rsplit("/", 1)[-1]
        schema = document["components"]["schemas"][name]
        title = f"{title}: {name}"
    text = html.escape(json.dumps(schema, indent=2))
    attr = " open" if open_ else ""
    return f"<details{attr}><summary>{html.escape(title)}</summary><pre>{text}</pre></details>"
