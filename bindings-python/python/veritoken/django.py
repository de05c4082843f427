"""Django middleware.

    # settings.py
    MIDDLEWARE = [..., "veritoken.django.VeritokenMiddleware"]
    VERITOKEN = {
        "config_file": "veritoken.toml",     # or "config": {...}
        "scopes": ["orders:read"],           # optional; "match": "any" for any-of
        "realm": "orders",                   # optional
        "exempt_paths": ["/healthz"],        # optional, exact paths
        "roles": ["orders:admin"],           # optional; "role_match": "any"
        "rules": [{"claim": "tenant", "equals": "t-1"}],  # optional claim rules
        "optional": False,                   # True: no token -> request.veritoken is None
    }

The verified token is ``request.veritoken``. Refusals are answered with 401/403/503, the
RFC 6750 challenge and veritoken's JSON error body.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponse

from ._integration import route_requirement, scope_args
from ._veritoken import Requirement, Verifier, VeritokenError

if TYPE_CHECKING:
    from ._veritoken import Match


def _verifier(options: dict[str, Any]) -> Verifier:
    if "config_file" in options:
        return Verifier.from_file(options["config_file"])
    if "config" in options:
        return Verifier(options["config"])
    raise ImproperlyConfigured('settings.VERITOKEN needs "config_file" or "config"')


class VeritokenMiddleware:
    get_response: Callable[[HttpRequest], HttpResponse]
    verifier: Verifier
    scopes: list[str] | None
    match: Match
    realm: str | None
    exempt: frozenset[str]
    requirement: Requirement | None
    optional: bool

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        options = getattr(settings, "VERITOKEN", None)
        if not isinstance(options, dict):
            raise ImproperlyConfigured("settings.VERITOKEN must be a dict")
        self.get_response = get_response
        self.verifier = _verifier(options)
        self.scopes, self.match = scope_args(options.get("scopes"), options.get("match", "all"))
        self.requirement = route_requirement(
            options.get("roles"), options.get("role_match", "all"), options.get("rules")
        )
        self.optional = bool(options.get("optional", False))
        self.realm = options.get("realm")
        self.exempt = frozenset(options.get("exempt_paths", ()))

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path in self.exempt:
            return self.get_response(request)
        try:
            request.veritoken = self.verifier.verify_request(  # type: ignore[attr-defined]
                list(request.headers.items()),
                request.META.get("QUERY_STRING") or None,
                self.scopes,
                self.match,
                method=request.method,
                url=request.build_absolute_uri(),
                requirement=self.requirement,
                optional=self.optional,
            )
        except VeritokenError as e:
            status, headers, body = self.verifier.error_response(e, self.realm)
            response = HttpResponse(body, status=status, content_type="application/json")
            for name, value in headers:
                response[name] = value
            return response
        return self.get_response(request)
