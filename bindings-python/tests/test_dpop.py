"""DPoP (RFC 9449) from Python: proofs by an independent signer and by the test IdP, replay,
nonces through the verifier's error response, argument errors, and the async path."""

from __future__ import annotations

import asyncio

import pytest
import veritoken
from conftest import DPoPClient, good_claims, hs_config, mint

URL = "https://api.example.com/orders"


def bound(client: DPoPClient) -> str:
    return mint(good_claims(cnf={"jkt": client.jkt}))


def test_verify_with_a_proof_then_its_replay(dpop_client: DPoPClient) -> None:
    verifier = veritoken.Verifier(hs_config(dpop={"mode": "required"}))
    token = bound(dpop_client)
    proof = dpop_client.proof("GET", URL, token)
    verified = verifier.verify(token, dpop_proof=proof, method="GET", url=URL)
    assert verified.dpop_jkt == dpop_client.jkt
    with pytest.raises(veritoken.DPoPInvalid) as info:
        verifier.verify(token, dpop_proof=proof, method="GET", url=URL)
    assert (info.value.code, info.value.claim, info.value.status) == ("dpop_invalid", "jti", 401)
    # Required mode: a bearer token (even unbound) is refused.
    with pytest.raises(veritoken.DPoPInvalid):
        verifier.verify(mint(good_claims()))
    assert verifier.metrics()["rejected"]["dpop_invalid"] == 2


def test_a_proof_needs_its_request(dpop_client: DPoPClient) -> None:
    verifier = veritoken.Verifier(hs_config(dpop={"mode": "allowed"}))
    token = bound(dpop_client)
    with pytest.raises(TypeError):
        verifier.verify(token, dpop_proof="x.y.z", method="GET")
    headers = [("Authorization", f"DPoP {token}"), ("DPoP", dpop_client.proof("GET", URL, token))]
    with pytest.raises(veritoken.InternalError):
        verifier.verify_request(headers)
    assert verifier.verify_request(headers, method="GET", url=URL).subject == "alice"


def test_nonce_round_trip(dpop_client: DPoPClient) -> None:
    verifier = veritoken.Verifier(hs_config(dpop={"mode": "allowed", "nonce": True}))
    token = bound(dpop_client)
    with pytest.raises(veritoken.DPoPInvalid) as info:
        proof = dpop_client.proof("GET", URL, token)
        verifier.verify(token, dpop_proof=proof, method="GET", url=URL)
    status, headers, _ = verifier.error_response(info.value, "api")
    named = dict(headers)
    assert status == 401
    assert named["www-authenticate"].startswith('DPoP realm="api", error="use_dpop_nonce"')
    nonce = named["dpop-nonce"]
    proof = dpop_client.proof("GET", URL, token, nonce=nonce)
    assert verifier.verify(token, dpop_proof=proof, method="GET", url=URL).subject == "alice"
    # The module-level error_response knows no verifier: no nonce, a plain DPoP challenge.
    assert "dpop-nonce" not in dict(veritoken.error_response(info.value)[1])


def test_idp_bound_token_async(idp) -> None:  # noqa: ANN001 (the IdP fixture)
    verifier = veritoken.Verifier({**idp.config(), "dpop": {"mode": "required"}})
    token, jkt = idp.dpop_token()
    headers = [("Authorization", f"DPoP {token}"), ("DPoP", idp.dpop_proof("GET", URL, token))]

    async def main() -> veritoken.VerifiedToken:
        return await verifier.verify_request_async(headers, None, method="GET", url=URL)

    verified = asyncio.run(main())  # cold cache: the JWKS fetch runs off the loop
    assert verified.dpop_jkt == jkt
    with pytest.raises(veritoken.DPoPInvalid):
        asyncio.run(main())
