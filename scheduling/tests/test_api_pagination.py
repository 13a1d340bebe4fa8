"""config.pagination's rules through the sessions list and the schema that documents them.

Written from the mutation run (README, Mutation testing): the edges of `page_size`
(empty, 1, not a number) and the documented default and cap had no test among the
domain tests.
"""

import pytest

from accounts.tests.factories import StaffFactory
from scheduling.tests.factories import SessionFactory

pytestmark = pytest.mark.django_db

LIST = "/api/v1/sessions/"


@pytest.fixture
def staff_client(token_client):
    SessionFactory.create_batch(3)
    return token_client(StaffFactory())


def test_an_empty_page_size_means_the_default(staff_client):
    body = staff_client.get(f"{LIST}?page_size=").json()
    assert (body["count"], len(body["results"]), body["next"]) == (3, 3, None)


def test_a_page_size_of_one_is_the_smallest(staff_client):
    body = staff_client.get(f"{LIST}?page_size=1&page=3").json()
    assert (body["count"], len(body["results"]), body["next"]) == (3, 1, None)
    assert "page=2" in body["previous"]


@pytest.mark.parametrize("given", ["abc", "0", "1.5"])
def test_a_page_size_that_is_not_a_whole_number_from_1_is_a_400_naming_it(staff_client, given):
    response = staff_client.get(f"{LIST}?page_size={given}")
    assert response.status_code == 400
    assert response.json()["page_size"] == ["Enter a whole number from 1."]


def test_an_empty_list_is_one_empty_page(token_client):
    body = token_client(StaffFactory()).get(f"{LIST}?page=1").json()
    assert (body["count"], body["results"], body["next"], body["previous"]) == (0, [], None, None)


def test_the_schema_documents_the_default_the_cap_and_the_minimum(api_client):
    operation = api_client.get("/api/schema/?format=json").json()["paths"][LIST]["get"]
    parameters = {p["name"]: p for p in operation["parameters"]}
    assert parameters["page_size"]["description"] == (
        "Rows per page: default 50, at most 500 (a larger value is capped)."
    )
    assert parameters["page_size"]["schema"]["minimum"] == 1
    assert parameters["page"]["schema"]["minimum"] == 1
