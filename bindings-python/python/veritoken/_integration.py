"""What every integration shares: how scopes, roles and claim rules are required."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from ._veritoken import Requirement, VerifiedToken, Verifier

if TYPE_CHECKING:
    from ._veritoken import Match

Scopes = str | Iterable[str] | None
Roles = str | Iterable[str] | None
Rules = Iterable[dict[str, Any]] | None


def scope_args(scopes: Scopes, match: str) -> tuple[list[str] | None, Match]:
    """Normalizes the `scopes` option once, at setup time."""
    if match not in ("all", "any"):
        raise ValueError(f'match must be "all" or "any", not {match!r}')
    mode: Match = "all" if match == "all" else "any"
    if scopes is None:
        return None, mode
    return ([scopes] if isinstance(scopes, str) else list(scopes)) or None, mode


def route_requirement(roles: Roles, role_match: str, rules: Rules) -> Requirement | None:
    """The route's roles and claim rules as one engine Requirement, built at setup time (a
    bad role or rule raises ConfigInvalid there, naming it)."""
    spec: dict[str, Any] = {}
    if roles:
        spec["roles"] = [roles] if isinstance(roles, str) else list(roles)
        spec["role_match"] = role_match
    if rules:
        spec["rules"] = list(rules)
    return Requirement(spec) if spec else None


async def verify_async(
    verifier: Verifier,
    headers: Iterable[tuple[str, str]],
    query: str | None,
    scopes: list[str] | None,
    match: Match,
    method: str,
    url: str,
    requirement: Requirement | None = None,
    optional: bool = False,
) -> VerifiedToken | None:
    """extract (Bearer, or DPoP with its proof) + verify (never blocking the loop) + scopes
    + requirement. None: no token on an optional route (anonymous)."""
    verified = await verifier.verify_request_async(
        headers, query, method=method, url=url, optional=optional
    )
    if verified is None:
        return None
    if scopes:
        verified.require_scopes(scopes, match)
    if requirement is not None:
        verified.check(requirement)
    return verified


__all__ = ["Roles", "Rules", "Scopes", "route_requirement", "scope_args", "verify_async"]
