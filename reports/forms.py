"""The register's filters, shared by the pages and the API (one definition, two surfaces)."""

from typing import Any

from django import forms

from scheduling.models import Semester, Specialization


class RegisterFilterForm(forms.Form):
    group = forms.ModelChoiceField(queryset=None, required=False, empty_label="All groups")
    specialization = forms.ModelChoiceField(
        queryset=Specialization.objects.order_by("code"),
        required=False,
        to_field_name="code",
        empty_label="All specializations",
    )

    def __init__(self, *args: Any, semester: Semester, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # A group of another semester is an invalid choice, not an empty register.
        self.fields["group"].queryset = semester.groups.order_by("name")
