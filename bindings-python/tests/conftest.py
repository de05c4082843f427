"""Shared fixtures: the repository's vectors, the test IdP binary, an HS256 verifier."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import pathlib
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
import veritoken

ROOT = pathlib.Path(__file__).resolve().parents[2]
SECRET = "0123456789abcdef0123456789abcdef"
ISSUER = "https://issuer.test"


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def mint(claims: dict[str, Any], header: dict[str, Any] | None = None) -> str:
    """An HS256 token signed with SECRET (the tests' own minimal signer)."""
    head = b64(json.dumps(header or {"alg": "HS256", "typ": "JWT"}).encode())
    body = b64(json.dumps(claims).encode())
    mac = hmac.new(SECRET.encode(), f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{b64(mac)}"


def good_claims(**extra: Any) -> dict[str, Any]:
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": "api", "sub": "alice", "iat": now, "exp": now + 300}
    claims.update({"scope": "read write", **extra})
    return claims


def hs_config(**extra: Any) -> dict[str, Any]:
    issuer = {
        "issuer": ISSUER,
        "audiences": ["api"],
        "algorithms": ["HS256"],
        "keys": [{"secret": {"value": SECRET, "alg": "HS256"}}],
    }
    return {"issuers": [issuer], **extra}


@pytest.fixture
def verifier() -> veritoken.Verifier:
    return veritoken.Verifier(hs_config())


class DPoPClient:
    """A DPoP client key (P-256) that signs proofs; its RFC 7638 thumbprint is computed here,
    independently of the engine."""

    def __init__(self) -> None:
        from cryptography.hazmat.primitives.asymmetric import ec

        self.key = ec.generate_private_key(ec.SECP256R1())
        numbers = self.key.public_key().public_numbers()
        self.jwk = {
            "kty": "EC",
            "crv": "P-256",
            "x": b64(numbers.x.to_bytes(32, "big")),
            "y": b64(numbers.y.to_bytes(32, "big")),
        }
        canonical = json.dumps(self.jwk, sort_keys=True, separators=(",", ":"))
        self.jkt = b64(hashlib.sha256(canonical.encode()).digest())
        self._count = 0

    def proof(self, htm: str, htu: str, token: str, nonce: str | None = None) -> str:
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

        self._count += 1
        claims: dict[str, Any] = {
            "jti": f"proof-{self._count}-{time.time_ns()}",
            "htm": htm,
            "htu": htu,
            "iat": int(time.time()),
            "ath": b64(hashlib.sha256(token.encode()).digest()),
        }
        if nonce is not None:
            claims["nonce"] = nonce
        header = {"typ": "dpop+jwt", "alg": "ES256", "jwk": self.jwk}
        signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}"
        der = self.key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256()))
        r, s = decode_dss_signature(der)
        return f"{signing_input}.{b64(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"


@pytest.fixture
def dpop_client() -> DPoPClient:
    return DPoPClient()


class IdP:
    """The repository's test identity provider (tests/idp), run as a process."""

    def __init__(self, base: str, process: subprocess.Popen[str]) -> None:
        self.base = base
        self.process = process

    def token(self, **form: str) -> str:
        data = urllib.parse.urlencode({"grant_type": "client_credentials", **form}).encode()
        req = urllib.request.Request(f"{self.base}/token", data=data)
        basic = base64.b64encode(b"test-client:test-secret").decode()
        req.add_header("Authorization", f"Basic {basic}")
        with urllib.request.urlopen(req) as resp:
            return json.load(resp)["access_token"]

    def dpop_token(self) -> tuple[str, str]:
        """A token the IdP bound to its test client's DPoP key (the proof sent to the token
        endpoint names the key), and that key's thumbprint."""
        made = self.admin("POST", "/dpop/proof", {"htm": "POST", "htu": f"{self.base}/token"})
        data = urllib.parse.urlencode({"grant_type": "client_credentials"}).encode()
        req = urllib.request.Request(f"{self.base}/token", data=data)
        basic = base64.b64encode(b"test-client:test-secret").decode()
        req.add_header("Authorization", f"Basic {basic}")
        req.add_header("DPoP", made["proof"])
        with urllib.request.urlopen(req) as resp:
            answer = json.load(resp)
        assert answer["token_type"] == "DPoP"
        return answer["access_token"], made["jkt"]

    def dpop_proof(self, htm: str, htu: str, token: str) -> str:
        """A proof by the IdP's test client key for a request with this token."""
        body = {"htm": htm, "htu": htu, "access_token": token}
        return self.admin("POST", "/dpop/proof", body)["proof"]

    def admin(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        data = json.dumps(body or {}).encode()
        req = urllib.request.Request(f"{self.base}{path}", data=data, method=method)
        req.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(req) as resp:
            text = resp.read()
        return json.loads(text) if text else None

    def config(self, **cache: Any) -> dict[str, Any]:
        issuer = {
            "issuer": self.base,
            "audiences": ["api://default"],
            "algorithms": ["RS256", "ES256", "EdDSA"],
            "discovery": True,
            "jwks_cache": {"timeout_ms": 1000, **cache},
        }
        return {"issuers": [issuer]}


@pytest.fixture
def idp() -> Iterator[IdP]:
    target = os.environ.get("CARGO_TARGET_DIR", str(ROOT / "target"))
    binary = os.environ.get("VERITOKEN_TESTIDP_BIN", f"{target}/debug/veritoken-testidp")
    if not os.path.exists(binary):
        if os.environ.get("VERITOKEN_REQUIRE_IDP"):
            pytest.fail(f"test IdP binary missing: {binary}")
        pytest.skip("test IdP not built: cargo build -p veritoken-testidp")
    process = subprocess.Popen([binary, "--port", "0"], stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    base = process.stdout.readline().strip()
    try:
        yield IdP(base, process)
    finally:
        process.kill()
        process.wait()


class Redis:
    """A throwaway redis-server on a free loopback port, without persistence."""

    def __init__(self) -> None:
        import shutil
        import socket

        binary = shutil.which("redis-server") or (
            "/usr/bin/redis-server" if os.path.exists("/usr/bin/redis-server") else None
        )
        if binary is None:
            if os.environ.get("VERITOKEN_REQUIRE_REDIS"):
                pytest.fail("redis-server is required (VERITOKEN_REQUIRE_REDIS) but not installed")
            pytest.skip("redis-server is not installed (make test installs it)")
        self.binary = binary
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.url = f"redis://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None
        self.start()

    def start(self) -> None:
        args = [self.binary, "--port", str(self.port), "--bind", "127.0.0.1"]
        args += ["--save", "", "--appendonly", "no", "--loglevel", "warning"]
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.cli("PING") == "PONG":
                return
            time.sleep(0.02)
        raise RuntimeError(f"redis-server did not start on port {self.port}")

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None

    def cli(self, *args: str) -> str:
        out = subprocess.run(
            ["redis-cli", "-h", "127.0.0.1", "-p", str(self.port), *args],
            capture_output=True,
            text=True,
            check=False,
        )
        return out.stdout.strip()


@pytest.fixture
def redis() -> Iterator[Redis]:
    server = Redis()
    try:
        yield server
    finally:
        server.stop()
