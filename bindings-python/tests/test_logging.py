"""The engine's events reach the ``logging`` logger "veritoken": levels, fields, no token."""

from __future__ import annotations

import logging
import os
import pathlib
import socket
import subprocess
import sys

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


# A child whose engine logs key fetch failures from its I/O thread while the interpreter
# shuts down: 60 verifiers, each fetching from a port that accepts and never answers, give
# up one after the other from 100 ms on, while the main thread has already returned.
# `veritoken` unsets its logger at exit (atexit); the child unregisters that hook, standing
# for a record already on its way to the logger when the hook ran.
SHUTDOWN_CHILD = """
import asyncio, atexit, logging, socket, sys, time
import veritoken
from conftest import ISSUER, good_claims, mint

atexit.unregister(veritoken._set_logger)
logging.basicConfig(level=logging.DEBUG, stream=sys.stdout)
server = socket.socket()
server.bind(("127.0.0.1", 0))
server.listen(128)
port = server.getsockname()[1]
token = mint(good_claims(), {"alg": "RS256", "kid": "k"})


def config(ms):
    cache = {"timeout_ms": ms, "allow_http": True}
    jwks = f"http://127.0.0.1:{port}/jwks"
    issuer = {"issuer": ISSUER, "audiences": ["api"], "algorithms": ["RS256"],
              "jwks_uri": jwks, "jwks_cache": cache}
    return {"issuers": [issuer]}


verifiers = [veritoken.Verifier(config(100 + 5 * i)) for i in range(60)]


async def main():
    return [v.verify_async(token) for v in verifiers]  # the fetches run on the I/O thread


pending = asyncio.run(main())
time.sleep(0.09)
print("exiting", flush=True)
"""


def test_a_record_during_interpreter_shutdown_is_dropped() -> None:
    """DESIGN: a record the engine's I/O thread logs once the interpreter is finalizing is
    dropped: no panic (pyo3's `Python::attach` panics there), no abort, exit code 0."""
    path = [str(pathlib.Path(__file__).resolve().parent), os.environ.get("PYTHONPATH")]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in path if p)}
    for _ in range(3):
        child = subprocess.run(
            [sys.executable, "-c", SHUTDOWN_CHILD],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert child.returncode == 0, child.stderr
        assert "exiting" in child.stdout and "fetching keys" in child.stdout, child.stdout
        assert "panic" not in child.stderr, child.stderr
        assert "FATAL" not in child.stderr, child.stderr
