"""Flask decorator.

from veritoken.flask import require_token
@app.get("/orders")
@require_token(verifier, scopes=["orders:read"])
def orders():
    return {"sub": flask.g.veritoken.subject}
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Response, g, request

from ._integration import Roles, Rules, Scopes, route_requirement, scope_args
from ._veritoken import Verifier, VeritokenError

F = TypeVar("F", bound=Callable[..., Any])


def require_token(
    verifier: Verifier,
    scopes: Scopes = None,
    match: str = "all",
    realm: str | None = None,
    *,
    roles: Roles = None,
    role_match: str = "all",
    rules: Rules = None,
    optional: bool = False,
) -> Callable[[F], F]:
    """Verifies the request's token before the view runs; the token is ``flask.g.veritoken``
    (None on an ``optional`` route when no token was sent)."""
    required, mode = scope_args(scopes, match)
    requirement = route_requirement(roles, role_match, rules)

    def decorate(view: F) -> F:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                g.veritoken = verifier.verify_request(
                    list(request.headers.items()),
                    request.query_string.decode("latin-1") or None,
                    required,
                    mode,
                    method=request.method,
                    url=request.url,
                    requirement=requirement,
                    optional=optional,
                )
            except VeritokenError as e:
                status, headers, body = verifier.error_response(e, realm)
                return Response(body, status=status, headers=headers)
            return view(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate
