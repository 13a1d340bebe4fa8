"""Property-based fuzzing of the whole API with schemathesis, through the WSGI app.

Every operation of the OpenAPI schema gets generated requests, valid and invalid,
each sent as a student, an instructor or staff (token header), and every response
must pass schemathesis' default checks: no 5xx, a documented status code, content
type and headers, a body matching the documented schema, invalid input refused
(negative data rejection), valid input not refused with an unexpected status
(positive data acceptance), and the credentials enforced (ignored_auth replays
without them). Stateful sequences (ids from one answer fed to the next call) add
use_after_free and ensure_resource_availability.

Deterministic (`derandomize`) and bounded (MAX_EXAMPLES per operation), to stay
fast. The object-level authorization check needs two users of one role, each owning
objects, and the engine's run: `make fuzz` (ops/fuzz.py) runs it against gunicorn
on loopback, with two users per role (README, Fuzzing).
"""

import zlib

import pytest
import schemathesis
from django.core import signals
from django.db import close_old_connections, transaction
from hypothesis import HealthCheck, settings
from rest_framework.authtoken.models import Token
from schemathesis.config import SchemathesisConfig

from accounts.tests.factories import InstructorFactory, StaffFactory, StudentFactory
from bookings.tests.factories import BookingFactory, CreditGrantFactory
from config.tests.openapi_contract import openapi_document
from config.wsgi import application
from scheduling.tests.factories import SemesterFactory, SessionFactory

pytestmark = pytest.mark.django_db

MAX_EXAMPLES = 12
STATEFUL_EXAMPLES = 25

CONFIG = SchemathesisConfig.from_dict(
    {
        "checks": {
            # A schema-valid request may still break a rule the schema cannot express
            # (an id that does not exist, a session already started, a wrong password):
            # DRF answers those 400, as SPEC §4 says; and a locked-out login is a 429. An
            # If-None-Match that matches (`*` always does) is a 304 on the sync lists.
            "positive_data_acceptance": {
                "expected-statuses": ["2xx", "304", "400", "401", "403", "404", "409", "422", "429"]
            },
        }
    }
)

schema = schemathesis.openapi.from_dict(openapi_document(), config=CONFIG)
schema.app = application


ROLES = ("student", "instructor", "staff")


@pytest.fixture(autouse=True)
def _keep_the_test_connection():
    """The real WSGI handler closes "old" database connections around each request,
    which on PostgreSQL would close the test's own, inside its transaction; Django's
    test client stops that the same way."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def world(settings):
    # The WSGI client sends `Host: localhost`.
    settings.ALLOWED_HOSTS = ["localhost"]
    master = InstructorFactory()
    session = SessionFactory(semester=SemesterFactory(master_instructor=master))
    student = StudentFactory()
    CreditGrantFactory(user=student, amount=5)
    BookingFactory(student=student, session=session)
    return {"student": student, "instructor": master, "staff": StaffFactory()}


def role_for(case) -> str:
    """Each generated request goes out as one of the roles, picked from its own content:
    every operation meets all three, and a failing example keeps its role while it shrinks."""
    content = repr((case.path_parameters, case.query, case.headers, case.body))
    return ROLES[zlib.crc32(content.encode()) % len(ROLES)]


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_every_operation_survives_fuzzing(case, world):
    token, _ = Token.objects.get_or_create(user=world[role_for(case)])
    case.call_and_validate(headers={"Authorization": f"Token {token.key}"})


@pytest.mark.parametrize("role", ROLES)
def test_stateful_sequences_as_each_role(role, world):
    """Chains of calls linked by the ids they return (create, then read, update, delete
    what was created): `use_after_free` and `ensure_resource_availability` join the
    checks above."""
    token, _ = Token.objects.get_or_create(user=world[role])

    headers = {"Authorization": f"Token {token.key}"}

    class Workflow(schema.as_state_machine()):
        def setup(self):
            # Each sequence starts from the same data: Hypothesis replays sequences
            # and must see the same answers.
            self._rows = transaction.atomic()
            self._rows.__enter__()

        def teardown(self):
            transaction.set_rollback(True)
            self._rows.__exit__(None, None, None)

        def get_call_kwargs(self, case):
            return {"headers": headers}

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            # Named here too, so that `ignored_auth` knows these are real credentials.
            case.validate_response(
                response,
                additional_checks=additional_checks,
                headers=headers,
                transport_kwargs=kwargs or None,
                recorder=self.recorder,
            )

    Workflow.run(
        settings=settings(
            max_examples=STATEFUL_EXAMPLES,
            stateful_step_count=6,
            derandomize=True,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
    )
