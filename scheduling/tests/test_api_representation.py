"""The session list's direct rendering must equal DRF's generic rendering, field by field."""

import pytest
from django.utils import timezone
from rest_framework.test import APIRequestFactory

from accounts.tests.factories import InstructorFactory, StudentFactory
from bookings.tests.factories import BookingFactory
from engagement.tests.factories import FeedbackFactory
from scheduling.api.serializers import SESSION_REPRESENTATION, SessionSerializer
from scheduling.models import Session
from scheduling.tests.factories import PastSessionFactory, SessionFactory, SpecializationFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("zone", ["UTC", "Asia/Tokyo", "America/St_Johns"])
def test_direct_rendering_equals_the_declared_fields_for_every_kind_of_session(zone):
    target = SpecializationFactory(code="LFA_COACH")
    sessions = [
        SessionFactory(session_type="virtual", target_specialization=target),
        SessionFactory(session_type="hybrid", mixed_specialization=True),
        # No first or last name: the name falls back to the username, as get_full_name() does.
        SessionFactory(instructor=InstructorFactory(first_name="", last_name="")),
        PastSessionFactory(status="cancelled"),
    ]
    booking = BookingFactory(session=sessions[0])
    FeedbackFactory(session=sessions[2], rating=4)
    request = APIRequestFactory().get("/api/v1/sessions/")

    names = set()
    for viewer in (booking.student, StudentFactory(), sessions[0].instructor):
        request.user = viewer
        rows = (
            Session.objects.with_stats()
            .with_viewer_booking(viewer)
            .select_related("instructor", "target_specialization", "semester")
        )
        # A serializer lives within one request, hence within one active time zone.
        with timezone.override(zone):
            serializer = SessionSerializer(context={"request": request})
            for row in rows:
                assert serializer.to_representation(row) == serializer.represent_with_fields(row)
                names.add(serializer.to_representation(row)["instructor_name"])
    assert any(name.startswith("instructor") for name in names)  # the username fallback
    assert set(SessionSerializer.Meta.fields) == set(serializer.to_representation(row))


def test_every_session_field_is_in_the_representation_table():
    # A new Session field goes into SESSION_REPRESENTATION: the API shows every field (§4).
    listed = [name for name, _ in SESSION_REPRESENTATION]
    assert {field.name for field in Session._meta.concrete_fields} <= set(listed)
    assert len(listed) == len(set(listed))
