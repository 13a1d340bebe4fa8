"""The API's JSON parser: DRF's, refusing numbers that are not finite."""

import codecs
import json
import math
from typing import IO, Any

from rest_framework import parsers
from rest_framework.exceptions import ParseError
from rest_framework.utils.json import strict_constant


def finite_float(text: str) -> float:
    """`1e400` parses as infinity, which DRF's strict mode (NaN, Infinity) lets
    through; as an id it would reach the database as an overflowing integer (500)."""
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text} is out of range")
    return value


class JSONParser(parsers.JSONParser):
    def parse(
        self, stream: IO[bytes], media_type: str | None = None, parser_context: Any = None
    ) -> Any:
        encoding = parsers.get_encoding(parser_context or {})
        try:
            decoded = codecs.getreader(encoding)(stream)
            return json.load(decoded, parse_constant=strict_constant, parse_float=finite_float)
        except ValueError as exc:
            raise ParseError(f"JSON parse error - {exc}") from exc
