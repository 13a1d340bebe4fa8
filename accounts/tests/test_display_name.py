"""`User.display_name`: the full name, or the username without one; the SQL form agrees."""

import pytest
from django.db.models.expressions import RawSQL

from accounts.models import DISPLAY_NAME_SQL, User
from accounts.tests.factories import InstructorFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("first", "last", "expected"),
    [
        ("Ada", "Coach", "Ada Coach"),
        ("Ada", "", "Ada"),
        ("", "Coach", "Coach"),
        ("", "", "coach7"),
        ("  ", "", "coach7"),
    ],
)
def test_display_name_is_the_full_name_or_the_username(first, last, expected):
    user = InstructorFactory(username="coach7", first_name=first, last_name=last)
    sql = DISPLAY_NAME_SQL.format(table=User._meta.db_table)
    in_sql = User.objects.annotate(name=RawSQL(sql, [])).values_list("name", flat=True)

    assert user.display_name == expected
    assert in_sql.get(pk=user.pk) == expected
