"""A schemathesis check for `make fuzz` (SCHEMATHESIS_HOOKS=ops.fuzz_hooks): what one
user reached through an object's id, the other user of the same role must not.

Every request on a path with an `{id}` that succeeded (2xx) for the fuzzed user is
sent again, unchanged, with the peer's token (FUZZ_PEER_TOKEN). The peer must get
403 or 404, except:

- a plain read (`GET /things/{id}/`) of an object the peer can list itself
  (`GET /things/`): shared by design (sessions, the catalogue);
- a role whose users may read and change everything (FUZZ_PEER_SEES_ALL=1: staff):
  there is no boundary between two of them to check.

A write that the peer's replay is refused is refused before the body is validated,
so a 400 is a finding too: authorization comes first.

schemathesis' own `object_level_authorization` only probes reads of objects it saw
created or listed, and found nothing when a booking was made readable by any student
in a trial run; this check did.
"""

import os
import re
from typing import Any

import requests
import schemathesis

PEER_TOKEN = os.environ.get("FUZZ_PEER_TOKEN", "")
PEER_SEES_ALL = os.environ.get("FUZZ_PEER_SEES_ALL") == "1"
REFUSED = {403, 404}
METHODS = {"GET", "POST", "PUT", "PATCH", "DELETE"}
DETAIL = re.compile(r"^(?P<collection>.*/)(?P<id>[^/]+)/$")


def _peer_get(url: str) -> requests.Response:
    return requests.get(url, headers={"Authorization": f"Token {PEER_TOKEN}"}, timeout=15)


def _peer_lists(collection_url: str, object_id: str) -> bool:
    """Whether the peer's own list of the collection (every page) shows the object."""
    url: str | None = f"{collection_url}?page_size=500"
    while url:
        listed = _peer_get(url)
        if listed.status_code != 200:
            return False
        body: Any = listed.json()
        if any(str(row.get("id")) == object_id for row in body.get("results", [])):
            return True
        url = body.get("next")
    return False


@schemathesis.check
def peer_cannot_reach_the_object(ctx: Any, response: Any, case: Any) -> None:
    # The schema's methods only: OPTIONS (sent by `unsupported_method`) answers any
    # caller with the endpoint's description, and no object's data.
    if not PEER_TOKEN or PEER_SEES_ALL or case.method.upper() not in METHODS:
        return
    if "{id}" not in case.operation.path or not 200 <= response.status_code < 300:
        return
    is_read = case.method.upper() == "GET"
    sent = response.request
    url = sent.url.split("?", 1)[0]
    detail = DETAIL.match(url)
    plain_read = is_read and case.operation.path.endswith("/{id}/") and detail
    if plain_read and _peer_lists(detail["collection"], detail["id"]):
        return
    headers = {
        name: value
        for name, value in sent.headers.items()
        if name.lower() not in {"authorization", "cookie", "content-length"}
    }
    headers["Authorization"] = f"Token {PEER_TOKEN}"
    replay = requests.request(sent.method, sent.url, data=sent.body, headers=headers, timeout=15)
    if replay.status_code not in REFUSED:
        raise AssertionError(
            f"The peer got {replay.status_code} for {sent.method} {sent.url}, which the fuzzed "
            f"user got {response.status_code} for; expected 403 or 404.\n"
            f"Peer's body: {replay.text[:500]}"
        )
