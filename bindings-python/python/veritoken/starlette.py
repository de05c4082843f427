"""ASGI middleware (Starlette, FastAPI, any ASGI app).

    from veritoken.starlette import VeritokenMiddleware
    app.add_middleware(VeritokenMiddleware, verifier=verifier, scopes=["orders:read"])

The verified token is at ``request.state.veritoken`` (``scope["state"]["veritoken"]``);
with ``optional=True`` a request without a token goes on with it set to None.
Refusals are answered like every veritoken middleware: 401/403/503 with the RFC 6750
``WWW-Authenticate`` challenge and ``{"error": {"code", "message"[, "claim"]}}``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import TYPE_CHECKING, Any

from starlette.datastructures import URL

from ._integration import Roles, Rules, Scopes, route_requirement, scope_args, verify_async
from ._veritoken import Requirement, Verifier, VeritokenError

if TYPE_CHECKING:
    from ._veritoken import Match

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class VeritokenMiddleware:
    """Verifies every HTTP request except paths in ``exclude_paths`` (exact matches)."""

    app: ASGIApp
    verifier: Verifier
    scopes: list[str] | None
    match: Match
    realm: str | None
    exclude_paths: frozenset[str]
    requirement: Requirement | None
    optional: bool

    def __init__(
        self,
        app: ASGIApp,
        verifier: Verifier,
        scopes: Scopes = None,
        match: str = "all",
        realm: str | None = None,
        exclude_paths: Iterable[str] = (),
        *,
        roles: Roles = None,
        role_match: str = "all",
        rules: Rules = None,
        optional: bool = False,
    ) -> None:
        self.app = app
        self.verifier = verifier
        self.scopes, self.match = scope_args(scopes, match)
        self.requirement = route_requirement(roles, role_match, rules)
        self.optional = optional
        self.realm = realm
        self.exclude_paths = frozenset(exclude_paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path") in self.exclude_paths:
            await self.app(scope, receive, send)
            return
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]]
        query = scope.get("query_string", b"").decode("latin-1") or None
        url = str(URL(scope=scope))
        try:
            verified = await verify_async(
                self.verifier,
                headers,
                query,
                self.scopes,
                self.match,
                scope["method"],
                url,
                self.requirement,
                self.optional,
            )
        except VeritokenError as e:
            status, response_headers, body = self.verifier.error_response(e, self.realm)
            await send(
                {
                    "type": "http.response.start",
                    "status": status,
                    "headers": [(k.encode(), v.encode("latin-1")) for k, v in response_headers]
                    + [(b"content-length", str(len(body)).encode())],
                }
            )
            await send({"type": "http.response.body", "body": body})
            return
        scope.setdefault("state", {})["veritoken"] = verified
        await self.app(scope, receive, send)
