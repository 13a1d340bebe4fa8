"""Text the database cannot store: one test shared by the parser, headers and query strings."""

import re

# Python strings may hold NUL and, from JSON's `\ud800` escapes, unpaired surrogates
# (a valid pair is joined into one character by the parser). PostgreSQL refuses NUL in
# text, and no surrogate can be encoded as UTF-8: either would fail in the database
# driver, or in any later encoding, as a 500.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def unstorable_character(text: str) -> str | None:
    """What is wrong with `text` ("contains a NUL character."), or None when it can be stored."""
    found = _UNSTORABLE.search(text)
    if found is None:
        return None
    if found.group() == "\x00":
        return "contains a NUL character."
    return "contains an unpaired surrogate character."
