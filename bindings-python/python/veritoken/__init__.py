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

The engine's events (key fetches, fetch failures, skipped keys) go to the ``logging`` logger
``"veritoken"``; ``veritoken.prometheus`` exports its counters to ``prometheus_client``.
"""

import atexit as _atexit
import logging as _logging

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
    Requirement,
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
    _set_logger,
    error_response,
)

# A library adds no handler of its own: the application's logging configuration decides.
_logging.getLogger("veritoken").addHandler(_logging.NullHandler())
_set_logger(_logging.getLogger("veritoken"))
# No record is sent to an interpreter that is shutting down.
_atexit.register(_set_logger, None)

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
    "Requirement",
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
