"""The instructor area's pages (SPEC §5)."""

app_name = "instructor"

urlpatterns: list = []
