"""The engine's events reach the ``logging`` logger "veritoken": levels, fields, no token."""

from __future__ import annotations

import logging
import socket

import pytest
import veritoken
from conftest import ISSUER, good_claims, mint


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def unreachable_verifier() -> veritoken.Verifier:
    jwks = f"http://user:hunter2@127.0.0.1:{closed_port()}/jwks?secret=s3"
    config = {
        "issuers": [
            {
                "issuer": ISSUER,
                "audiences": ["api"],
                "algorithms": ["RS256"],
                "jwks_uri": jwks,
                "jwks_cache": {"timeout_ms": 2000, "allow_http": True},
            }
        ]
    }
    return veritoken.Verifier(config)


def test_fetch_failure_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="veritoken")
    token = mint(good_claims(), {"alg": "RS256", "kid": "k"})
    with pytest.raises(veritoken.JwksUnavailable):
        unreachable_verifier().verify(token)
    mine = [r for r in caplog.records if r.name == "veritoken"]
    failed = [r for r in mine if "key fetch failed" in r.getMessage()]
    assert failed, [r.getMessage() for r in mine]
    record = failed[0]
    assert record.levelno == logging.WARNING
    assert record.veritoken_fields["issuer"] == ISSUER  # type: ignore[attr-defined]
    assert "cannot be reached" in record.veritoken_fields["error"]  # type: ignore[attr-defined]
    assert record.veritoken_target.startswith("veritoken::")  # type: ignore[attr-defined]
    assert any(r.levelno == logging.DEBUG and "fetching keys" in r.getMessage() for r in mine)
    for r in mine:
        text = r.getMessage()
        assert token not in text and "hunter2" not in text and "s3" not in text, text


def test_logger_level_is_respected(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="veritoken")
    with pytest.raises(veritoken.JwksUnavailable):
        unreachable_verifier().verify(mint(good_claims(), {"alg": "RS256", "kid": "k"}))
    levels = {r.levelno for r in caplog.records if r.name == "veritoken"}
    assert levels == {logging.WARNING}


def test_a_failing_handler_does_not_break_verification() -> None:
    class Boom(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            raise RuntimeError("handler broke")

        def handleError(self, record: logging.LogRecord) -> None:  # noqa: N802
            raise RuntimeError("handleError broke too")

    logger = logging.getLogger("veritoken")
    handler = Boom()
    logger.addHandler(handler)
    try:
        with pytest.raises(veritoken.JwksUnavailable):
            unreachable_verifier().verify(mint(good_claims(), {"alg": "RS256", "kid": "k"}))
    finally:
        logger.removeHandler(handler)
