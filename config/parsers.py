"""The API's JSON parser: DRF's, refusing what the rest of the stack cannot handle.

Every JSON body of the API (the token endpoint included) goes through it, so the
refusals below hold for every field, slug and lookup a body carries, whether or not
a serializer declares it:

- numbers that are not finite (`1e400`);
- nesting deeper than MAX_DEPTH: Python's parser raises RecursionError at about a
  thousand levels, and anything that walks a body again (the Idempotency-Key
  fingerprint, DRF's validation, the error renderer) would hit the same limit at a
  lower depth, with part of the stack already in use;
- text PostgreSQL cannot store or UTF-8 cannot encode, keys included: NUL and
  unpaired surrogates (`"\\ud800"` is valid JSON). A slug looked up with either
  would reach the database and fail there (a 500), and a surrogate breaks even the
  UTF-8 encoding of the fingerprint or of an error message that quotes it.
"""

import codecs
import json
import math
from typing import IO, Any

from rest_framework import parsers
from rest_framework.exceptions import ParseError, ValidationError
from rest_framework.utils.json import strict_constant

from config.text import unstorable_character

# A request body of this API is an object of scalars and lists of ids: 2 or 3 levels.
# Far above that, far below Python's recursion limit.
MAX_DEPTH = 32


def finite_float(text: str) -> float:
    """`1e400` parses as infinity, which DRF's strict mode (NaN, Infinity) lets
    through; as an id it would reach the database as an overflowing integer (500)."""
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text} is out of range")
    return value


def check_body(data: Any) -> None:
    """Raise ParseError past MAX_DEPTH, ValidationError naming the top-level field
    whose text (a key or a value, at any depth) holds an unstorable character.

    Iterative, so that the walk itself needs no stack.
    """
    pending: list[tuple[Any, int, str | None]] = [(data, 1, None)]
    while pending:
        value, depth, field = pending.pop()
        if isinstance(value, dict | list):
            if depth > MAX_DEPTH:
                raise ParseError(f"JSON parse error - nested deeper than {MAX_DEPTH} levels.")
            items = value.items() if isinstance(value, dict) else enumerate(value)
            for key, item in items:
                if isinstance(key, str) and (problem := unstorable_character(key)):
                    raise ValidationError(
                        {field or "non_field_errors": [f"A field name {problem}"]}
                    )
                # Errors name the top-level field (DRF's shape); a list body has none.
                if field is None and isinstance(value, dict):
                    pending.append((item, depth + 1, key))
                else:
                    pending.append((item, depth + 1, field))
        elif isinstance(value, str) and (problem := unstorable_character(value)):
            raise ValidationError({field or "non_field_errors": [f"This value {problem}"]})


class JSONParser(parsers.JSONParser):
    def parse(
        self, stream: IO[bytes], media_type: str | None = None, parser_context: Any = None
    ) -> Any:
        encoding = parsers.get_encoding(parser_context or {})
        try:
            decoded = codecs.getreader(encoding)(stream)
            data = json.load(decoded, parse_constant=strict_constant, parse_float=finite_float)
        except RecursionError as exc:
            raise ParseError(f"JSON parse error - nested deeper than {MAX_DEPTH} levels.") from exc
        except ValueError as exc:
            raise ParseError(f"JSON parse error - {exc}") from exc
        check_body(data)
        return data
