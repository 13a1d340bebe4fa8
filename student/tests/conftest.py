"""The browser fixtures of the instructor pages' tests (Debian's Chromium), and a phone."""

from collections.abc import Iterator

import pytest

from instructor.tests.conftest import artifacts, chromium  # noqa: F401  (fixtures)

PHONE = {"width": 390, "height": 844}


@pytest.fixture
def phone(chromium: object, live_server: object) -> Iterator[object]:  # noqa: F811
    """A fresh browser context (no cookies) the size of a phone, touch and all."""
    context = chromium.new_context(
        viewport=PHONE,
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        base_url=live_server.url,
    )
    context.set_default_timeout(10_000)
    page = context.new_page()
    yield page
    context.close()
