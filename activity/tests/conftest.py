"""A temporary subscriber that records what it received, forgotten after the test."""

from collections.abc import Callable, Iterator

import pytest

from activity import subscribers


@pytest.fixture
def subscribed() -> Iterator[Callable[..., list]]:
    """`subscribed(pattern, raises=None, in_transaction=False)` -> the list of calls received."""
    handlers = []

    def register(pattern: str, *, raises: Exception | None = None, in_transaction: bool = False):
        received: list = []

        def handler(item) -> None:
            received.append(item)
            if raises is not None:
                raise raises

        handlers.append(handler)
        if in_transaction:
            subscribers.subscribe_in_transaction(pattern, handler)
        else:
            subscribers.subscribe(pattern, handler)
        return received

    yield register
    for handler in handlers:
        subscribers.unsubscribe(handler)
