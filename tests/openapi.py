"""The upstream OpenAPI document and validators for the request bodies it defines.

CI clones the repository with `shared/` beside it; the copy in `tests/data/` keeps the contract tests
running anywhere else (and a test checks the two are identical when both exist).
"""

from __future__ import annotations

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


def request_validator(path: str) -> Draft7Validator:
    """A validator for the JSON request body of `POST path` (e.g. "/kling/videos")."""
    schema = spec()["paths"][path]["post"]["requestBody"]["content"]["application/json"]["schema"]
    Draft7Validator.check_schema(schema)
    return Draft7Validator(schema, format_checker=Draft7Validator.FORMAT_CHECKER)


def schema_errors(validator: Draft7Validator, body: Any) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(body)]
