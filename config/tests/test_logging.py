"""What the console shows for ordinary client errors: one line each, no traceback."""

import io
import logging

import pytest
from django.urls import reverse

from accounts.tests.factories import StudentFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def console():
    """The settings' console handler (on the root logger), writing into a buffer."""
    (handler,) = [h for h in logging.getLogger().handlers if type(h) is logging.StreamHandler]
    buffer = io.StringIO()
    previous = handler.setStream(buffer)
    yield buffer
    handler.setStream(previous)


@pytest.mark.parametrize("debug", [True, False])  # `make run` serves with DEBUG on
def test_a_403_and_a_404_are_one_line_each_without_a_traceback(client, console, settings, debug):
    settings.DEBUG = debug
    client.force_login(StudentFactory())
    assert client.get(reverse("instructor:session-list")).status_code == 403
    assert client.get("/no/such/page/").status_code == 404

    lines = console.getvalue().splitlines()
    assert lines.count("Forbidden (Permission denied): /sessions/") == 1
    assert lines.count("Not Found: /no/such/page/") == 1
    assert "Traceback" not in console.getvalue()


def test_a_server_error_keeps_its_traceback(console):
    logger = logging.getLogger("django.request")
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        logger.error("Internal Server Error: /x", exc_info=True, extra={"status_code": 500})
    assert "Traceback" in console.getvalue() and "RuntimeError: boom" in console.getvalue()
    assert console.getvalue().count("Internal Server Error: /x") == 1


def test_djangos_records_reach_the_console_once():
    # Django's default config gives "django" a console handler of its own besides the
    # root's: with DEBUG on (`make run`) every line of runserver came out twice.
    assert logging.getLogger("django").handlers == []
    assert logging.getLogger("django").propagate
