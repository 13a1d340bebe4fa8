"""The API's token scheme, as DRF has it, with one kindness: a `Bearer` header (what most
HTTP clients send by habit) is told which scheme to use instead of being ignored as if no
credentials had come."""

from rest_framework import authentication, exceptions
from rest_framework.request import Request


class TokenAuthentication(authentication.TokenAuthentication):
    def authenticate(self, request: Request):
        scheme = authentication.get_authorization_header(request).split()[:1]
        if scheme and scheme[0].lower() == b"bearer":
            raise exceptions.AuthenticationFailed(
                'Send the token as "Authorization: Token <key>": this API uses the Token '
                "scheme, not Bearer."
            )
        return super().authenticate(request)
