"""The browser fixtures of the instructor pages' tests (Debian's Chromium), at a phone's
size or a desk's."""

from collections.abc import Callable, Iterator

import pytest

from instructor.tests.conftest import artifacts, chromium  # noqa: F401  (fixtures)

PHONE = {"width": 390, "height": 844}
DESK = {"width": 1280, "height": 860}


@pytest.fixture
def student_page(chromium: object, live_server: object) -> Iterator[Callable[[dict], object]]:  # noqa: F811
    """`student_page(PHONE)`: a page in a fresh browser context (no cookies) of that size;
    a phone's with touch. One live server for all; every context closed afterwards."""
    contexts = []

    def open_page(viewport: dict) -> object:
        phone = viewport == PHONE
        context = chromium.new_context(
            viewport=viewport,
            device_scale_factor=2 if phone else 1,
            is_mobile=phone,
            has_touch=phone,
            base_url=live_server.url,
        )
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()
