"""What every integration shares: how scopes are required and how a refusal is answered."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from ._veritoken import VerifiedToken, Verifier

if TYPE_CHECKING:
    from ._veritoken import Match

Scopes = str | Iterable[str] | None


def scope_args(scopes: Scopes, match: str) -> tuple[list[str] | None, Match]:
    """Normalizes the `scopes` option once, at setup time."""
    if match not in ("all", "any"):
        raise ValueError(f'match must be "all" or "any", not {match!r}')
    mode: Match = "all" if match == "all" else "any"
    if scopes is None:
        return None, mode
    return ([scopes] if isinstance(scopes, str) else list(scopes)) or None, mode


async def verify_async(
    verifier: Verifier,
    headers: Iterable[tuple[str, str]],
    query: str | None,
    scopes: list[str] | None,
    match: Match,
    method: str,
    url: str,
) -> VerifiedToken:
    """extract (Bearer, or DPoP with its proof) + verify (never blocking the loop) + scopes."""
    verified = await verifier.verify_request_async(headers, query, method=method, url=url)
    if scopes:
        verified.require_scopes(scopes, match)
    return verified


__all__ = ["Scopes", "scope_args", "verify_async"]
