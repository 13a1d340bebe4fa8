"""What the test mailbox (Django's locmem outbox) received; booking through the API."""

from django.core import mail

from bookings.models import Booking


def emails_to(user) -> list:
    return [message for message in mail.outbox if message.to == [user.email]]


def only(user):
    """The one email `user` got; fails if anybody else got any."""
    assert {tuple(message.to) for message in mail.outbox} == {(user.email,)}, [
        (m.to, m.subject) for m in mail.outbox
    ]
    [message] = mail.outbox
    return message


def html(message) -> str:
    [(content, mimetype)] = message.alternatives
    assert mimetype == "text/html"
    return content


def book(token_client, user, session):
    response = token_client(user).post("/api/v1/bookings/", {"session": session.pk}, format="json")
    assert response.status_code == 201, response.json()
    return Booking.objects.get(pk=response.json()["id"])
