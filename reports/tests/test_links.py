"""The way in: a Reports link on the instructor session list for those who have a
register to open, the reports index, and the admin's Semester page links."""

import pytest
from django.urls import reverse

from .world import build_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    return build_world()


@pytest.mark.parametrize(
    ("who", "shown"), [("staff", True), ("master", True), ("coach", True), ("outsider", False)]
)
def test_the_session_list_links_to_reports_for_those_allowed(world, client, who, shown):
    client.force_login(getattr(world, who))
    html = client.get(reverse("instructor:session-list")).content.decode()
    assert (f'href="{reverse("reports:index")}"' in html) is shown


@pytest.mark.parametrize(
    ("who", "register", "dashboard"),
    [
        ("staff", True, True),
        ("master", True, True),
        ("coach", True, False),
        ("outsider", False, False),
    ],
)
def test_the_index_lists_the_semesters_each_may_open(world, client, who, register, dashboard):
    client.force_login(getattr(world, who))
    html = client.get(reverse("reports:index")).content.decode()
    assert (reverse("reports:register", args=[world.semester.pk]) in html) is register
    assert (reverse("reports:dashboard", args=[world.semester.pk]) in html) is dashboard


def test_the_admin_semester_page_links_to_its_reports(world, client):
    client.force_login(world.staff)
    html = client.get(
        reverse("admin:scheduling_semester_change", args=[world.semester.pk])
    ).content.decode()
    assert reverse("reports:register", args=[world.semester.pk]) in html
    assert reverse("reports:dashboard", args=[world.semester.pk]) in html


def test_the_register_page_has_a_print_stylesheet_and_no_inline_style(world, client):
    client.force_login(world.staff)
    html = client.get(reverse("reports:register", args=[world.semester.pk])).content.decode()
    assert "css/reports.css" in html
    assert "style=" not in html
    assert 'class="flagged"' in html
