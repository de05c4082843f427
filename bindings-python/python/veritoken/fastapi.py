"""FastAPI dependency.

    from veritoken.fastapi import require_token, install
    install(app)                       # answers refusals with veritoken's exact JSON body
    guard = require_token(verifier, scopes=["orders:read"])

    @app.get("/orders")
    async def orders(token: VerifiedToken = Depends(guard)):
        return {"sub": token.subject}

Without ``install(app)`` the status and ``WWW-Authenticate`` header are still right, but
FastAPI wraps the body as ``{"detail": {"error": ...}}``.

Every route guarded by ``require_token`` declares the ``veritoken`` security scheme (HTTP
bearer) in ``/openapi.json``, so Swagger UI's Authorize button sends the token. The scheme is
only documentation: the dependency reads and verifies the request's credentials itself
(DPoP-bound tokens too, sent as ``Authorization: DPoP`` with their ``DPoP`` proof).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine

from fastapi import HTTPException, Request, Security
from fastapi.responses import Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.applications import Starlette

from ._integration import Roles, Rules, Scopes, route_requirement, scope_args, verify_async
from ._veritoken import VerifiedToken, Verifier, VeritokenError

#: The OpenAPI security scheme every guarded route declares. ``auto_error=False``: it never
#: refuses a request itself; the verification below decides, with veritoken's codes.
BEARER = HTTPBearer(
    scheme_name="veritoken",
    bearerFormat="JWT",
    description="An access token (Authorization: Bearer; DPoP-bound tokens use "
    "Authorization: DPoP with a DPoP proof header).",
    auto_error=False,
)


class VeritokenHTTPException(HTTPException):
    """A refusal, carrying veritoken's body and headers."""

    error: VeritokenError
    body: bytes

    def __init__(self, error: VeritokenError, realm: str | None, verifier: Verifier) -> None:
        status, headers, body = verifier.error_response(error, realm)
        super().__init__(status_code=status, detail=json.loads(body), headers=dict(headers))
        self.error = error
        self.body = body


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
) -> Callable[[Request], Coroutine[None, None, VerifiedToken | None]]:
    """A dependency returning the request's VerifiedToken, or refusing the request.

    ``roles`` ("rn:role" or "rn:role@tenant") and claim ``rules`` refuse with 403 as
    scopes do. ``optional=True``: a request without a token gets None (anonymous); a token
    that fails is still refused."""
    required, mode = scope_args(scopes, match)
    requirement = route_requirement(roles, role_match, rules)

    async def dependency(
        request: Request,
        _scheme: HTTPAuthorizationCredentials | None = Security(BEARER),  # noqa: B008
    ) -> VerifiedToken | None:
        try:
            verified = await verify_async(
                verifier,
                request.headers.items(),
                request.url.query or None,
                required,
                mode,
                request.method,
                str(request.url),
                requirement,
                optional,
            )
        except VeritokenError as e:
            raise VeritokenHTTPException(e, realm, verifier) from None
        request.state.veritoken = verified
        return verified

    return dependency


async def _handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, VeritokenHTTPException)
    return Response(
        exc.body, status_code=exc.status_code, headers=exc.headers, media_type="application/json"
    )


def install(app: Starlette) -> None:
    """Registers the handler that answers refusals with veritoken's JSON body."""
    app.add_exception_handler(VeritokenHTTPException, _handler)
