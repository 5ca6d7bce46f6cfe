"""The upstream OpenAPI document and validators for the request bodies it defines.

CI clones the repository with `shared/` beside it; the copy in `tests/data/` keeps the contract tests
running anywhere else (and a test checks the two are identical when both exist).
"""

from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft7Validator

SPEC_NAME = "acedata-kling-openapi.json"
SHARED_SPEC = Path(__file__).resolve().parents[2] / "shared" / "reference" / SPEC_NAME
LOCAL_SPEC = Path(__file__).resolve().parent / "data" / SPEC_NAME


@cache
def spec() -> dict[str, Any]:
    path = SHARED_SPEC if SHARED_SPEC.exists() else LOCAL_SPEC
    loaded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return loaded


#: `/kling/videos` features the upstream document predates, exactly as the newest guide describes them
#: (kling-api.md §1.4): the kling-v3-turbo model and multi-shot storyboards. Nothing else is added, and
#: a body that uses none of them is held to the unmodified document (`uses_newest_guide`).
NEWEST_GUIDE_MODELS = ("kling-v3-turbo",)
NEWEST_GUIDE_PROPERTIES: dict[str, Any] = {
    "multi_shot": {"type": "boolean"},
    "shot_type": {"type": "string", "enum": ["intelligence", "customize"]},
    "multi_prompt": {
        "type": "array",
        "minItems": 1,
        "maxItems": 6,
        "items": {
            "type": "object",
            "required": ["index", "prompt", "duration"],
            "additionalProperties": False,
            "properties": {
                "index": {"type": "integer", "minimum": 1},
                "prompt": {"type": "string", "maxLength": 512},
                "duration": {"type": "integer", "minimum": 1},
            },
        },
    },
}


def uses_newest_guide(body: dict[str, Any]) -> bool:
    return body.get("model") in NEWEST_GUIDE_MODELS or bool(set(body) & set(NEWEST_GUIDE_PROPERTIES))


def request_validator(path: str, *, newest_guide: bool = False) -> Draft7Validator:
    """A validator for the JSON request body of `POST path` (e.g. "/kling/videos"); with
    `newest_guide`, `/kling/videos` also takes the §1.4 additions above."""
    schema = copy.deepcopy(
        spec()["paths"][path]["post"]["requestBody"]["content"]["application/json"]["schema"]
    )
    if newest_guide and path == "/kling/videos":
        schema["properties"]["model"]["enum"] += list(NEWEST_GUIDE_MODELS)
        schema["properties"].update(copy.deepcopy(NEWEST_GUIDE_PROPERTIES))
    Draft7Validator.check_schema(schema)
    return Draft7Validator(schema, format_checker=Draft7Validator.FORMAT_CHECKER)


def body_errors(body: dict[str, Any]) -> list[str]:
    """A `/kling/videos` body against the upstream document, plus §1.4 only when it uses §1.4."""
    return schema_errors(_videos_validator(uses_newest_guide(body)), body)


@cache
def _videos_validator(newest_guide: bool) -> Draft7Validator:
    return request_validator("/kling/videos", newest_guide=newest_guide)


def schema_errors(validator: Draft7Validator, body: Any) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(body)]
