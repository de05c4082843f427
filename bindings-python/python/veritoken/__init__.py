"""veritoken: strict JWT/JWKS verification, the same engine in every language.

    from veritoken import Verifier, VeritokenError
    verifier = Verifier.from_file("veritoken.toml")     # once; thread-safe
    token = verifier.verify(raw)                         # or: await verifier.verify_async(raw)
    token.require_scopes(["orders:read"])
    token.claims["sub"]

Every rejection is a ``VeritokenError`` subclass with ``.code`` (a stable name shared by
every veritoken language), ``.message``, ``.claim`` and ``.status`` (the HTTP status).
Integrations: ``veritoken.fastapi``, ``veritoken.starlette``, ``veritoken.flask``,
``veritoken.django``.
"""

from ._veritoken import (
    ERROR_CODES,
    ClaimsInvalid,
    ConfigInvalid,
    DPoPInvalid,
    InternalError,
    IntrospectionUnavailable,
    InvalidToken,
    JwksUnavailable,
    KeyNotFound,
    ReplayStoreUnavailable,
    ScopeInsufficient,
    SignatureInvalid,
    TokenExpired,
    TokenInactive,
    TokenMalformed,
    TokenMissing,
    Unavailable,
    VerifiedToken,
    Verifier,
    VeritokenError,
    __version__,
    error_response,
)

__all__ = [
    "ERROR_CODES",
    "ClaimsInvalid",
    "ConfigInvalid",
    "DPoPInvalid",
    "InternalError",
    "IntrospectionUnavailable",
    "InvalidToken",
    "JwksUnavailable",
    "KeyNotFound",
    "ReplayStoreUnavailable",
    "ScopeInsufficient",
    "SignatureInvalid",
    "TokenExpired",
    "TokenInactive",
    "TokenMalformed",
    "TokenMissing",
    "Unavailable",
    "VerifiedToken",
    "Verifier",
    "VeritokenError",
    "__version__",
    "error_response",
]
