"""The student pages' forms: what a person types, checked before a service runs."""

from typing import Any

from django import forms

from accounts.models import User

RATING_CHOICES = [(n, f"{n} of 5") for n in range(5, 0, -1)]


class FeedbackForm(forms.Form):
    rating = forms.TypedChoiceField(
        choices=RATING_CHOICES, coerce=int, widget=forms.RadioSelect, label="Your rating"
    )
    comment = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4}), required=False, max_length=2000, label="Comment"
    )


class ProfileForm(forms.ModelForm):
    class Meta:
        model = User
        fields = ["first_name", "last_name", "email", "time_zone"]
        labels = {"time_zone": "Time zone"}
        help_texts = {"time_zone": "Every page shows times in this zone."}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["email"].required = True
        for name in ("first_name", "last_name", "email"):
            self.fields[name].widget.attrs["autocomplete"] = {
                "first_name": "given-name",
                "last_name": "family-name",
                "email": "email",
            }[name]
