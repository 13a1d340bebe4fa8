"""Checks every API response a test receives against the generated OpenAPI schema.

The test clients in the root conftest.py call `check_response()`: the status
code must be documented for the operation, and a JSON body must match the
documented schema. Objects are checked strictly (an undocumented property is an
error), so the schema cannot drift from what the API actually sends.

The schema is generated once per test run by drf-spectacular, from the code,
and validated with `jsonschema` (OpenAPI 3.0's `nullable` turned into JSON
Schema's `null` type first).
"""

import functools
import json
import re
from typing import Any

from django.http import HttpResponse
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match

API_PREFIX = "/api/v1/"


class SchemaMismatch(AssertionError):
    pass


def _to_json_schema(node: Any, *, strict: bool = True) -> Any:
    """OpenAPI 3.0 Schema Object -> JSON Schema: `nullable` becomes a null alternative,
    and objects with declared properties refuse undeclared ones."""
    if isinstance(node, list):
        return [_to_json_schema(item, strict=strict) for item in node]
    if not isinstance(node, dict):
        return node
    converted = {}
    for key, value in node.items():
        if key == "allOf":
            # Members of an allOf each see the whole object: none may be closed.
            converted[key] = _to_json_schema(value, strict=False)
        elif key in {"properties", "patternProperties"}:
            converted[key] = {name: _to_json_schema(sub) for name, sub in value.items()}
        elif key == "nullable":
            continue
        else:
            converted[key] = _to_json_schema(value)
    if strict and "properties" in converted and "additionalProperties" not in converted:
        converted["additionalProperties"] = False
    if node.get("nullable"):
        return {"anyOf": [converted, {"type": "null"}]}
    return converted


@functools.cache
def openapi_document() -> dict[str, Any]:
    """The schema `/api/schema/` serves, as plain JSON (lazy strings rendered)."""
    schema = SchemaGenerator().get_schema(request=None, public=True)
    return json.loads(OpenApiJsonRenderer().render(schema, renderer_context={}))


@functools.cache
def _components() -> dict[str, Any]:
    return _to_json_schema(openapi_document().get("components", {}))


@functools.cache
def _path_patterns() -> list[tuple[re.Pattern[str], str]]:
    patterns = []
    for template in openapi_document()["paths"]:
        regex = re.sub(r"\\{[^}/]+\\}", "[^/]+", re.escape(template))
        patterns.append((re.compile(f"^{regex}$"), template))
    # A literal segment beats a parameter: /credits/grant/ is not /credits/{id}/.
    patterns.sort(key=lambda pair: pair[1].count("{"))
    return patterns


def operation_for(method: str, path: str) -> tuple[str, dict[str, Any]] | None:
    for pattern, template in _path_patterns():
        if pattern.match(path):
            operation = openapi_document()["paths"][template].get(method.lower())
            if operation is None:
                raise SchemaMismatch(
                    f"{method} {path}: the schema documents no {method} on {template}."
                )
            return template, operation
    if path.startswith(API_PREFIX):
        raise SchemaMismatch(f"{method} {path}: no path of the schema matches it.")
    return None


def check_response(response: HttpResponse) -> None:
    """Raise SchemaMismatch unless the response is what the schema documents."""
    method = response.request["REQUEST_METHOD"]
    path = response.request["PATH_INFO"]
    found = operation_for(method, path)
    if found is None:
        return
    template, operation = found
    where = f"{method} {path} (operation {operation.get('operationId')}, path {template})"
    responses = operation.get("responses", {})
    code = str(response.status_code)
    documented = responses.get(code) or responses.get(f"{code[0]}XX") or responses.get("default")
    if documented is None:
        raise SchemaMismatch(
            f"{where} answered {code}, which the schema does not document "
            f"(documented: {', '.join(sorted(responses))}). Body: {response.content[:500]!r}"
        )
    content = documented.get("content")
    if not response.content:
        if content and code != "204":
            raise SchemaMismatch(f"{where} answered {code} with no body; the schema documents one.")
        return
    if not content:
        raise SchemaMismatch(
            f"{where} answered {code} with a body the schema does not document: "
            f"{response.content[:500]!r}"
        )
    media_type = response.get("Content-Type", "").split(";")[0].strip()
    if media_type not in content:
        raise SchemaMismatch(
            f"{where} answered {code} as {media_type!r}; documented: {', '.join(content)}."
        )
    if media_type != "application/json":
        return
    schema = {**_to_json_schema(content[media_type]["schema"]), "components": _components()}
    body = json.loads(response.content)
    validator = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
    error = best_match(validator.iter_errors(body))
    if error is not None:
        location = "".join(f"[{part!r}]" for part in error.absolute_path) or "(the body)"
        raise SchemaMismatch(
            f"{where} answered {code} with a body that does not match the schema at "
            f"{location}: {error.message}\nschema path: {'/'.join(map(str, error.schema_path))}"
            f"\nbody: {json.dumps(body)[:1000]}"
        )
