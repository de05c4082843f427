"""The Python API: exceptions, attributes, threads, asyncio, fork, extraction, metrics."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import os
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
import veritoken
from conftest import ISSUER, SECRET, DPoPClient, b64, good_claims, hs_config, mint


def test_verify_and_accessors(verifier: veritoken.Verifier) -> None:
    token = verifier.verify(mint(good_claims(jti="j1")))
    assert token.subject == "alice" and token.issuer == ISSUER and token.jwt_id == "j1"
    assert token.audiences == ["api"] and token.algorithm == "HS256" and token.kid is None
    assert token.claims["scope"] == "read write"
    assert token.claims is token.claims  # decoded once
    assert token.header == {"alg": "HS256", "typ": "JWT"}
    assert json.loads(token.claims_json) == token.claims
    assert token.expires_at == token.claims["exp"]
    assert token.granted_scopes() == ["read", "write"]
    assert token.has_scopes(["read", "write"]) and token.has_scopes("read")
    assert not token.has_scopes(["read", "admin"])
    assert token.has_scopes(["admin", "read"], match="any")
    with pytest.raises(veritoken.ScopeInsufficient) as info:
        token.require_scopes(["admin"])
    assert info.value.code == "scope_insufficient" and info.value.status == 403
    with pytest.raises(ValueError):
        token.has_scopes(["read"], match="some")
    assert "alice" in repr(token) and "HS256" in repr(token)


@pytest.mark.parametrize(
    ("claims", "cls", "code", "claim"),
    [
        ({"exp": 1}, veritoken.TokenExpired, "token_expired", "exp"),
        ({"aud": "other"}, veritoken.ClaimsInvalid, "audience_invalid", "aud"),
        ({"iss": "https://evil"}, veritoken.ClaimsInvalid, "issuer_invalid", "iss"),
        ({"nbf": 4102444800}, veritoken.ClaimsInvalid, "token_not_yet_valid", "nbf"),
    ],
)
def test_rejections_map_to_classes(
    verifier: veritoken.Verifier, claims: dict, cls: type, code: str, claim: str
) -> None:
    with pytest.raises(cls) as info:
        verifier.verify(mint(good_claims(**claims)))
    e = info.value
    assert isinstance(e, veritoken.InvalidToken) and isinstance(e, veritoken.VeritokenError)
    assert (e.code, e.claim, e.status) == (code, claim, 401)
    assert str(e) == e.message


def test_structure_and_signature_errors(verifier: veritoken.Verifier) -> None:
    good = mint(good_claims())
    with pytest.raises(veritoken.TokenMalformed):
        verifier.verify("not-a-jwt")
    with pytest.raises(veritoken.TokenMalformed):
        verifier.verify(good + "\x00junk")
    with pytest.raises(veritoken.SignatureInvalid) as info:
        verifier.verify(good[:-4] + ("AAAA" if not good.endswith("AAAA") else "BBBB"))
    assert info.value.code == "signature_invalid" and info.value.claim is None
    with pytest.raises(veritoken.SignatureInvalid) as info:
        verifier.verify(mint(good_claims(), {"alg": "HS512"}))
    assert info.value.code == "algorithm_not_allowed"
    with pytest.raises(TypeError):
        verifier.verify(b"bytes")  # type: ignore[arg-type]


def test_config_errors_name_the_path_and_hide_secrets() -> None:
    with pytest.raises(veritoken.ConfigInvalid) as info:
        veritoken.Verifier({"issuers": []})
    assert info.value.code == "config_invalid" and "issuer" in info.value.message
    bad = hs_config()
    bad["issuers"][0]["keys"][0]["secret"]["value"] = "hunter2-xyzzy"
    with pytest.raises(veritoken.ConfigInvalid) as info:
        veritoken.Verifier(bad)
    assert "xyzzy" not in str(info.value)
    with pytest.raises(veritoken.ConfigInvalid) as info:
        veritoken.Verifier({**hs_config(), "bogus": 1})
    assert "bogus" in info.value.message
    with pytest.raises(veritoken.ConfigInvalid):
        veritoken.Verifier({"issuers": [object()]})
    with pytest.raises(veritoken.ConfigInvalid):
        veritoken.Verifier.from_file("/nonexistent/veritoken.toml")
    assert veritoken.Verifier(json.dumps(hs_config())).verify(mint(good_claims()))


def test_from_file(tmp_path) -> None:
    path = tmp_path / "veritoken.json"
    path.write_text(json.dumps(hs_config()))
    assert veritoken.Verifier.from_file(path).verify(mint(good_claims())).subject == "alice"


def test_extract_token() -> None:
    sources = [{"cookie": {"name": "session"}}, {"query": {"name": "access_token"}}]
    verifier = veritoken.Verifier(hs_config(token_sources=sources))
    assert verifier.extract_token({"Cookie": "a=1; session=x.y.z"}) == "x.y.z"
    assert verifier.extract_token([], "a=1&access_token=q.r.s") == "q.r.s"
    with pytest.raises(veritoken.TokenMissing) as info:
        verifier.extract_token([("Authorization", "Bearer a.b.c")])
    assert info.value.status == 401
    default = veritoken.Verifier(hs_config())
    assert default.extract_token([("authorization", "Bearer a.b.c")]) == "a.b.c"
    token = mint(good_claims())
    assert (
        default.verify_request({"Authorization": f"Bearer {token}"}, None, ["read"]).subject
        == "alice"
    )
    with pytest.raises(veritoken.ScopeInsufficient):
        default.verify_request({"Authorization": f"Bearer {token}"}, None, ["admin"])


def test_extraction_reads_only_the_named_headers() -> None:
    sources = [
        {"header": {"name": "X-Api-Token", "prefix": "Token "}},
        {"cookie": {"name": "session"}},
    ]
    verifier = veritoken.Verifier(hs_config(token_sources=sources))
    noise = [("Host", "api.test"), ("Accept", "*/*"), ("X-Api-Tokens", "Token not-this")]
    for found in ([("X-API-TOKEN", "Token a.b.c")], [("cookie", "x=1; session=a.b.c")]):
        assert verifier.extract_token(noise + found) == "a.b.c"
        assert verifier.extract_token(dict(noise + found)) == "a.b.c"
    with pytest.raises(veritoken.TokenMissing):
        verifier.extract_token(noise)
    # A source sent twice is still ambiguous, whatever else the request has.
    with pytest.raises(veritoken.TokenMalformed):
        twice = [("x-api-token", "Token a.b.c"), ("X-Api-Token", "Token d.e.f")]
        verifier.extract_token(noise + twice)
    # Headers the engine does not read are still checked to be strings, never ignored.
    with pytest.raises(TypeError):
        verifier.extract_token([("X-Other", 42), ("X-Api-Token", "Token a.b.c")])
    with pytest.raises(TypeError):
        verifier.extract_token([(b"X-Other", "v")])


def test_error_response() -> None:
    verifier = veritoken.Verifier(hs_config())
    with pytest.raises(veritoken.VeritokenError) as info:
        verifier.verify(mint(good_claims(exp=1)))
    status, headers, body = veritoken.error_response(info.value, "orders")
    headers = dict(headers)
    assert status == 401
    assert headers["www-authenticate"].startswith(
        'Bearer realm="orders", error="invalid_token", error_description="'
    )
    assert headers["content-type"] == "application/json"
    assert json.loads(body) == {
        "error": {"code": "token_expired", "message": info.value.message, "claim": "exp"}
    }


def test_metrics(verifier: veritoken.Verifier) -> None:
    verifier.verify(mint(good_claims()))
    with pytest.raises(veritoken.TokenExpired):
        verifier.verify(mint(good_claims(exp=1)))
    m = verifier.metrics()
    assert m["verified"] == 1 and m["rejected"] == {"token_expired": 1}
    assert verifier.is_ready()


def test_threads_hammer_one_verifier(verifier: veritoken.Verifier) -> None:
    tokens = [mint(good_claims(sub=f"user{i}")) for i in range(8)]

    def work(i: int) -> int:
        ok = 0
        for _ in range(500):
            ok += verifier.verify(tokens[i % 8]).subject == f"user{i % 8}"
        return ok

    with ThreadPoolExecutor(8) as pool:
        assert sum(pool.map(work, range(8))) == 4000
    assert verifier.metrics()["verified"] == 4000


@pytest.mark.parametrize("alg", ["RS256", "HS256"])
def test_gil_is_released_while_waiting_for_keys(alg: str) -> None:
    """A verification waiting on a slow key fetch must not stop other Python threads. Also
    for an HMAC header this thread has verified before, which the engine otherwise checks
    without releasing the GIL: its issuer here has no keys yet."""
    # A JWKS URL on a port that accepts but never answers: the fetch waits for its timeout.
    import socket

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    port = server.getsockname()[1]
    config = {
        "issuers": [
            {
                "issuer": ISSUER,
                "audiences": ["api"],
                "algorithms": ["RS256"],
                "jwks_uri": f"http://127.0.0.1:{port}/jwks",
                "jwks_cache": {"timeout_ms": 800},
            }
        ]
    }
    verifier = veritoken.Verifier(config)
    header = {"alg": "RS256", "kid": "k"} if alg == "RS256" else {"alg": "HS256", "typ": "JWT"}
    token = mint(good_claims(), header)
    if alg == "HS256":
        veritoken.Verifier(hs_config()).verify(token)
    ticks = 0
    done = threading.Event()

    def ticker() -> None:
        nonlocal ticks
        while not done.is_set():
            ticks += 1
            time.sleep(0.001)

    t = threading.Thread(target=ticker)
    t.start()
    started = time.monotonic()
    with pytest.raises(veritoken.JwksUnavailable) as info:
        verifier.verify(token)
    elapsed = time.monotonic() - started
    done.set()
    t.join()
    server.close()
    assert info.value.status == 503 and isinstance(info.value, veritoken.Unavailable)
    assert 0.5 < elapsed < 3
    assert ticks > 100, f"the other thread ran only {ticks} times in {elapsed:.2f}s"


def test_verify_async(verifier: veritoken.Verifier) -> None:
    async def main() -> None:
        token = await verifier.verify_async(mint(good_claims()))
        assert token.subject == "alice"
        with pytest.raises(veritoken.TokenExpired):
            await verifier.verify_async(mint(good_claims(exp=1)))
        calls = (verifier.verify_async(mint(good_claims())) for _ in range(50))
        results = await asyncio.gather(*calls)
        assert all(r.subject == "alice" for r in results)

    asyncio.run(main())


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_verifier_made_before_fork_works_in_the_child(verifier: veritoken.Verifier) -> None:
    token = mint(good_claims())
    assert verifier.verify(token)
    pid = os.fork()
    if pid == 0:  # the child: exit code says whether it verified
        try:
            ok = verifier.verify(token).subject == "alice"
            os._exit(0 if ok else 1)
        except BaseException:
            os._exit(2)
    _, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0


def test_claims_convert_every_json_type(verifier: veritoken.Verifier) -> None:
    extra = {
        "nested": {"a": [1, 2.5, True, False, None, "x"], "b": {}},
        "big": 2**63 + 5,
        "neg": -(2**62),
        "ratio": 0.125,
        "unicode": "zoë ☃",
    }
    token = verifier.verify(mint(good_claims(**extra)))
    assert token.claims == json.loads(token.claims_json)
    assert token.claims["big"] == 2**63 + 5 and isinstance(token.claims["big"], int)
    assert token.claims["nested"]["a"][2] is True and token.claims["nested"]["a"][4] is None


def test_a_panic_is_internal_error_not_panic_exception(verifier: veritoken.Verifier) -> None:
    """DESIGN: a panic is `internal`. pyo3's PanicException is a BaseException that
    `except Exception` misses; every entry point turns it into InternalError."""
    from veritoken import _veritoken

    with pytest.raises(veritoken.InternalError) as info:
        _veritoken._panic_for_tests(False)
    assert info.value.code == "internal" and info.value.status == 500
    token = mint(good_claims())
    for call in (
        lambda: verifier.verify(token),
        lambda: verifier.verify_request({"authorization": f"Bearer {token}"}),
        lambda: veritoken.Verifier(hs_config()),
        lambda: verifier.verify(token).require_scopes(["read"]),
    ):
        _veritoken._panic_for_tests(True)
        try:
            call()
        except Exception as e:  # what applications write: it must catch the panic
            assert isinstance(e, veritoken.InternalError), repr(e)
            assert "panic" in e.message
        else:
            pytest.fail("the panic did not surface")
    assert verifier.verify(token).subject == "alice"  # and the verifier still works


def test_signatures_show_real_defaults() -> None:
    import inspect

    for method in (
        veritoken.Verifier.verify_request,
        veritoken.VerifiedToken.require_scopes,
        veritoken.VerifiedToken.has_scopes,
    ):
        sig = inspect.signature(method)
        assert sig.parameters["match"].default == "all", (method, sig)
        assert "Ellipsis" not in str(sig)
    verify = inspect.signature(veritoken.Verifier.verify)
    assert verify.parameters["now"].default is None


def test_headers_are_read_once(verifier: veritoken.Verifier, dpop_client: DPoPClient) -> None:
    """Headers may be a one-shot iterator (a generator, a WSGI environ walk): every entry
    point reads them once, also on an optional route and for a DPoP proof."""
    token = mint(good_claims())
    bearer = [("Host", "api.test"), ("authorization", f"Bearer {token}")]

    def once() -> Iterator[tuple[str, str]]:
        return iter(bearer)

    async def main() -> None:
        for optional in (False, True):
            verified = await verifier.verify_request_async(once(), optional=optional)
            assert verified is not None and verified.subject == "alice", optional
        assert await verifier.verify_request_async(iter([("Host", "x")]), optional=True) is None
        with pytest.raises(veritoken.TokenMissing):
            await verifier.verify_request_async(iter([("Host", "x")]))

    asyncio.run(main())
    assert verifier.extract_token(once()) == token
    for optional in (False, True):
        verified = verifier.verify_request(once(), optional=optional)
        assert verified is not None and verified.subject == "alice", optional
    assert verifier.verify_request(iter([("Host", "x")]), optional=True) is None

    dpop = veritoken.Verifier(hs_config(dpop={"mode": "allowed"}))
    url = "https://api.example.com/orders"
    bound = mint(good_claims(cnf={"jkt": dpop_client.jkt}))

    def proven() -> Iterator[tuple[str, str]]:
        proof = dpop_client.proof("GET", url, bound)
        return iter([("Authorization", f"DPoP {bound}"), ("DPoP", proof)])

    async def main_dpop() -> None:
        for optional in (False, True):
            got = await dpop.verify_request_async(
                proven(), method="GET", url=url, optional=optional
            )
            assert got is not None and got.dpop_jkt == dpop_client.jkt, optional

    asyncio.run(main_dpop())
    for optional in (False, True):
        got = dpop.verify_request(proven(), method="GET", url=url, optional=optional)
        assert got is not None and got.dpop_jkt == dpop_client.jkt, optional


def mint_text(payload: str, header: str = '{"alg":"HS256","typ":"JWT"}') -> str:
    """An HS256 token whose payload and header are exactly these JSON texts."""
    head, body = b64(header.encode()), b64(payload.encode())
    mac = hmac.new(SECRET.encode(), f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{b64(mac)}"


def same_json(a: object, b: object) -> bool:
    """Equal with the same types all the way down (0 == -0.0 == False for `==`), floats
    bit for bit (so -0.0 is not 0.0, and one ULP apart is a difference), keys in order."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return repr(a) == repr(b)
    if isinstance(a, dict) and isinstance(b, dict):
        return list(a) == list(b) and all(same_json(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same_json(x, y) for x, y in zip(a, b, strict=True))
    return a == b


@pytest.mark.parametrize(
    "number",
    [
        # Integers beyond i64 / u64: ints for json.loads, floats for serde_json.
        "18446744073709551616",
        "123456789012345678901234567890",
        "-9223372036854775809",
        "-123456789012345678901234567890",
        "18446744073709551615",
        "-9223372036854775808",
        # -0 is the int 0 for json.loads; -0.0 is a float.
        "-0",
        "-0.0",
        "0.0",
        "1.0",
        "1E2",
        "1e2",
        "1e+2",
        "1E-2",
        "100e-2",
        "1e308",
        "1.7976931348623157e308",
        "5e-324",
        "1e-400",
        "-1e-400",
        # Shortest-repr floats serde_json's default (not correctly rounded) parse gets one
        # ULP off; Python's float() never does.
        "991958774.3934609",
        "2.7715077941825975e-163",
        "0.1",
        '[1, -0, 18446744073709551616, {"x": [2.5, -0]}]',
        # Beyond the f64 range json.loads gives inf: the engine refuses such a token.
        "1e400",
        "-1e400",
    ],
)
def test_claims_are_what_json_loads_gives(verifier: veritoken.Verifier, number: str) -> None:
    exp = int(time.time()) + 300
    payload = f'{{"iss":"{ISSUER}","aud":"api","exp":{exp},"n":{number},"after":[{number}]}}'
    try:
        token = verifier.verify(mint_text(payload, f'{{"alg":"HS256","typ":"JWT","n":{number}}}'))
    except veritoken.TokenMalformed:
        assert "e400" in number, number  # only what no f64 holds is refused
        return
    assert token.claims_json == payload
    assert same_json(token.claims, json.loads(payload)), (token.claims["n"], number)
    assert token.claims is token.claims
    assert same_json(token.header, json.loads(token.header_json)), (token.header["n"], number)
    assert token.expires_at == exp and token.issuer == ISSUER
