"""Where each role lands: after login, and from the brand link on every page."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponseRedirect
from django.shortcuts import redirect


def landing_url_name(user: object) -> str:
    """Students their schedule; instructors and staff their sessions (staff also get
    the admin link in the navigation)."""
    if getattr(user, "is_staff", False) or getattr(user, "is_instructor", False):
        return "instructor:session-list"
    return "student:schedule"


@login_required
def home(request: HttpRequest) -> HttpResponseRedirect:
    """LOGIN_REDIRECT_URL: one login for everyone, then the page the role can use."""
    return redirect(landing_url_name(request.user))
