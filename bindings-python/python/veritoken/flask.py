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

from ._integration import Scopes, scope_args
from ._veritoken import Verifier, VeritokenError

F = TypeVar("F", bound=Callable[..., Any])


def require_token(
    verifier: Verifier, scopes: Scopes = None, match: str = "all", realm: str | None = None
) -> Callable[[F], F]:
    """Verifies the request's token before the view runs; the token is ``flask.g.veritoken``."""
    required, mode = scope_args(scopes, match)

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
                )
            except VeritokenError as e:
                status, headers, body = verifier.error_response(e, realm)
                return Response(body, status=status, headers=headers)
            return view(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate
