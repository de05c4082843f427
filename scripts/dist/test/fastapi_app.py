"""The README's FastAPI example against the installed wheel, through FastAPI's test client.

A fresh HS256 token (minted here with the standard library) passes; a missing one, a bad
signature and a missing scope are refused with the engine's codes and statuses.
"""

import base64
import hashlib
import hmac
import json
import time

import veritoken
from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient
from veritoken.fastapi import install, require_token

SECRET = b"dist-test-secret-of-at-least-32-bytes!"
ISSUER, AUDIENCE = "https://idp.example.com/", "api://default"


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def mint(scope: str, key: bytes = SECRET) -> str:
    now = int(time.time())
    head = b64(json.dumps({"alg": "HS256", "kid": "k", "typ": "JWT"}).encode())
    body = b64(
        json.dumps(
            {
                "iss": ISSUER,
                "aud": AUDIENCE,
                "sub": "alice",
                "scope": scope,
                "iat": now,
                "exp": now + 300,
            }
        ).encode()
    )
    sig = hmac.new(key, f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{b64(sig)}"


verifier = veritoken.Verifier(
    {
        "issuers": [
            {
                "issuer": ISSUER,
                "audiences": [AUDIENCE],
                "algorithms": ["HS256"],
                "keys": [
                    {"jwks": {"keys": [{"kty": "oct", "kid": "k", "k": b64(SECRET)}]}}
                ],
            }
        ],
    }
)
app = FastAPI()
install(app)


@app.get("/orders")
async def orders(
    token: veritoken.VerifiedToken = Depends(
        require_token(verifier, scopes=["orders:read"])
    ),
):
    return {"sub": token.subject}


client = TestClient(app)
ok = client.get("/orders", headers={"Authorization": f"Bearer {mint('orders:read')}"})
assert ok.status_code == 200 and ok.json() == {"sub": "alice"}, ok.text
missing = client.get("/orders")
assert missing.status_code == 401, missing.text
forged = client.get(
    "/orders", headers={"Authorization": f"Bearer {mint('orders:read', b'x' * 40)}"}
)
assert forged.status_code == 401, forged.text
scope = client.get("/orders", headers={"Authorization": f"Bearer {mint('profile')}"})
assert scope.status_code == 403, scope.text
print("fastapi: 200 with a valid token; 401 missing, 401 forged, 403 without the scope")
