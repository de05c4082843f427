"""Type stubs for the native module (see ``veritoken``'s docstring)."""

from collections.abc import Iterable, Mapping
from logging import Logger
from os import PathLike
from typing import Any, Literal, final, overload

from typing_extensions import Self

__version__: str
ERROR_CODES: tuple[str, ...]
"""Every error code, in the engine's numeric order (``ERROR_CODES[n - 1]`` is code n)."""

Match = Literal["all", "any"]
Scopes = str | Iterable[str]
Headers = Mapping[str, str] | Iterable[tuple[str, str]]

class VeritokenError(Exception):
    """Base of every veritoken error."""

    code: str
    """Stable code, e.g. ``"token_expired"``, the same in every language (docs/design.md §5)."""
    message: str
    claim: str | None
    """The claim concerned (``"exp"``, ``"aud"``, ...), when there is one."""
    status: int
    """The HTTP status a middleware answers with (401, 403, 503, 500)."""

class TokenMissing(VeritokenError): ...
class InvalidToken(VeritokenError): ...
class TokenMalformed(InvalidToken): ...
class SignatureInvalid(InvalidToken): ...
class KeyNotFound(InvalidToken): ...
class TokenExpired(InvalidToken): ...
class ClaimsInvalid(InvalidToken): ...
class TokenInactive(InvalidToken): ...
class DPoPInvalid(InvalidToken): ...
class ScopeInsufficient(VeritokenError): ...
class Unavailable(VeritokenError): ...
class JwksUnavailable(Unavailable): ...
class IntrospectionUnavailable(Unavailable): ...
class ReplayStoreUnavailable(Unavailable): ...
class ConfigInvalid(VeritokenError): ...
class InternalError(VeritokenError): ...

@final
class VerifiedToken:
    """A verified token: claims and header exactly as the engine accepted them."""

    @property
    def claims(self) -> dict[str, Any]:
        """``json.loads(claims_json)``, decoded once (the same dict on every access)."""
    @property
    def header(self) -> dict[str, Any]:
        """``json.loads(header_json)``, decoded once."""
    @property
    def claims_json(self) -> str: ...
    @property
    def header_json(self) -> str: ...
    @property
    def algorithm(self) -> str | None:
        """The signature algorithm; None for an opaque token accepted by introspection."""
    @property
    def kid(self) -> str | None: ...
    @property
    def issuer(self) -> str:
        """``iss`` ("" when absent). Every accessor gives the engine's value (every language)."""
    @property
    def subject(self) -> str | None: ...
    @property
    def jwt_id(self) -> str | None: ...
    @property
    def dpop_jkt(self) -> str | None:
        """The thumbprint of the key a DPoP-bound token is bound to (``cnf.jkt``)."""
    @property
    def audiences(self) -> list[str]:
        """``aud`` as a list: a string becomes one element; an array's non-strings are left out."""
    @property
    def expires_at(self) -> int | None:
        """``exp`` in whole seconds: fraction dropped toward zero, clamped to +/-8.64e12."""
    @property
    def not_before(self) -> int | None: ...
    @property
    def issued_at(self) -> int | None: ...
    def granted_scopes(self) -> list[str]: ...
    def has_scopes(self, scopes: Scopes, match: Match = "all") -> bool: ...
    def require_scopes(self, scopes: Scopes, match: Match = "all") -> None: ...
    def require_roles(self, roles: Scopes, match: Match = "all", claim: str | None = None) -> None:
        """Role policies ``"rn:role"`` or ``"rn:role@tenant"``; ScopeInsufficient otherwise."""
    def check(self, requirement: Requirement) -> None:
        """ScopeInsufficient (naming a failing rule's claim) unless ``requirement`` is met."""

@final
class Requirement:
    """A route requirement: ``scopes``, ``scope_match``, ``roles``, ``role_match``,
    ``role_claim``, ``rules`` (claim rules). ConfigInvalid names a bad field."""

    def __new__(cls, spec: Mapping[str, Any] | str) -> Self: ...

@final
class Verifier:
    """Verifies tokens with one configuration and one key cache; thread-safe."""

    def __new__(cls, config: Mapping[str, Any] | str) -> Self: ...
    @staticmethod
    def from_file(path: str | PathLike[str]) -> Verifier: ...
    def verify(
        self,
        token: str,
        *,
        now: int | None = None,
        dpop_proof: str | None = None,
        method: str | None = None,
        url: str | None = None,
    ) -> VerifiedToken:
        """A DPoP token also needs ``dpop_proof`` (the ``DPoP`` header), ``method`` and ``url``."""
    async def verify_async(
        self,
        token: str,
        *,
        now: int | None = None,
        dpop_proof: str | None = None,
        method: str | None = None,
        url: str | None = None,
    ) -> VerifiedToken: ...
    def extract_token(self, headers: Headers, query: str | None = None) -> str: ...
    @overload
    def verify_request(
        self,
        headers: Headers,
        query: str | None = None,
        scopes: Scopes | None = None,
        match: Match = "all",
        *,
        method: str | None = None,
        url: str | None = None,
        now: int | None = None,
        requirement: Requirement | None = None,
        optional: Literal[False] = False,
    ) -> VerifiedToken:
        """Bearer or DPoP; ``method`` and ``url`` (absolute) are needed for DPoP proofs."""
    @overload
    def verify_request(
        self,
        headers: Headers,
        query: str | None = None,
        scopes: Scopes | None = None,
        match: Match = "all",
        *,
        method: str | None = None,
        url: str | None = None,
        now: int | None = None,
        requirement: Requirement | None = None,
        optional: Literal[True],
    ) -> VerifiedToken | None:
        """``optional=True``: None when the request carries no token."""
    @overload
    def verify_request(
        self,
        headers: Headers,
        query: str | None = None,
        scopes: Scopes | None = None,
        match: Match = "all",
        *,
        method: str | None = None,
        url: str | None = None,
        now: int | None = None,
        requirement: Requirement | None = None,
        optional: bool = False,
    ) -> VerifiedToken | None:
        """``optional`` known only at run time (a middleware's setting)."""
    @overload
    async def verify_request_async(
        self,
        headers: Headers,
        query: str | None = None,
        *,
        method: str | None = None,
        url: str | None = None,
        now: int | None = None,
        optional: Literal[False] = False,
    ) -> VerifiedToken: ...
    @overload
    async def verify_request_async(
        self,
        headers: Headers,
        query: str | None = None,
        *,
        method: str | None = None,
        url: str | None = None,
        now: int | None = None,
        optional: Literal[True],
    ) -> VerifiedToken | None: ...
    @overload
    async def verify_request_async(
        self,
        headers: Headers,
        query: str | None = None,
        *,
        method: str | None = None,
        url: str | None = None,
        now: int | None = None,
        optional: bool = False,
    ) -> VerifiedToken | None: ...
    def error_response(
        self, error: VeritokenError, realm: str | None = None
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        """Like ``error_response``, plus this verifier's DPoP challenge and ``DPoP-Nonce``."""
    def metrics(self) -> dict[str, Any]: ...
    def is_ready(self) -> bool: ...
    def _metric_values(self) -> list[tuple[str, int]]: ...

def error_response(
    error: VeritokenError, realm: str | None = None
) -> tuple[int, list[tuple[str, str]], bytes]:
    """(status, headers, body) as every veritoken middleware answers."""

def _set_logger(logger: Logger | None) -> None:
    """Where the engine's records go (``veritoken`` sets ``logging.getLogger("veritoken")``)."""

def _metric_families() -> list[tuple[str, str, str, str, str]]:
    """Core's metric families: (name, help, type, sample name, "engine" | "sidecar")."""

def _claim_accessors_json(claims_json: str) -> str:
    """Test hook: the engine's accessor values for claims text, as JSON."""

def _error_for_code(code: str, message: str) -> VeritokenError:
    """Test hook: the exception the binding raises for ``code``."""

def _panic_for_tests(next_call: bool) -> None:
    """Test hook: panics inside the native module (now, or in the next call)."""
