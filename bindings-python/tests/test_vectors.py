"""Every shared conformance case gives the same verdict, code and claim as Rust."""

from __future__ import annotations

import json
from typing import Any

import pytest
import veritoken
from conftest import ROOT

CASES = [
    case
    for path in sorted((ROOT / "tests" / "vectors").glob("*.json"))
    for case in json.loads(path.read_text())["cases"]
]


def run(case: dict[str, Any]) -> veritoken.VerifiedToken | None:
    """The verdict: the token, None for an anonymous request on an optional route, or raises."""
    verifier = veritoken.Verifier(case["config"])
    requirement = veritoken.Requirement(case["require"]) if "require" in case else None
    if "token" in case:
        verified = verifier.verify(case["token"], now=case["now"])
    else:
        request = case["request"]
        maybe = verifier.verify_request(
            [tuple(h) for h in request["headers"]],
            request.get("query"),
            method=request.get("method"),
            url=request.get("url"),
            now=case["now"],
            optional=bool(case.get("optional", False)),
        )
        if maybe is None:
            return None
        verified = maybe
    if "require_scopes" in case:
        spec = case["require_scopes"]
        verified.require_scopes(spec["scopes"], spec.get("match", "all"))
    if requirement is not None:
        verified.check(requirement)
    return verified


def test_there_are_enough_cases() -> None:
    assert len(CASES) >= 150


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_vector(case: dict[str, Any]) -> None:
    expect = case["expect"]
    if expect.get("anonymous"):
        assert run(case) is None
        return
    if expect["valid"]:
        verified = run(case)
        assert verified is not None and verified.claims == expect["claims"]
        return
    with pytest.raises(veritoken.VeritokenError) as info:
        run(case)
    assert info.value.code == expect["error"], info.value.message
    assert info.value.message
    if "claim" in expect:
        assert info.value.claim == expect["claim"]


def section(file: str, name: str) -> list[dict[str, Any]]:
    """A top-level list of a vector file other than ``cases``; missing or empty fails."""
    entries = json.loads((ROOT / "tests" / "vectors" / file).read_text()).get(name)
    assert entries, f"{file} has no {name!r} entries"
    return entries


ACCESSORS = section("accessors.json", "accessors")


def accessors_of(token: veritoken.VerifiedToken) -> dict[str, Any]:
    """Every accessor of a token, in the shape of accessors.json's ``expect``."""
    got: dict[str, Any] = {
        "issuer": token.issuer,
        "subject": token.subject,
        "jwt_id": token.jwt_id,
        "audiences": token.audiences,
        "expires_at": token.expires_at,
        "not_before": token.not_before,
        "issued_at": token.issued_at,
        "dpop_jkt": token.dpop_jkt,
        "scopes": None,
        "scopes_error": None,
    }
    try:
        got["scopes"] = token.granted_scopes()
    except veritoken.VeritokenError as e:
        got["scopes_error"] = e.code
    return got


@pytest.mark.parametrize("case", ACCESSORS, ids=[c["name"] for c in ACCESSORS])
def test_accessors(case: dict[str, Any]) -> None:
    """The engine's values for the claims, and the properties of the verified token."""
    native = veritoken._veritoken._claim_accessors_json  # type: ignore[attr-defined]
    assert json.loads(native(case["claims_json"])) == case["expect"]
    if "token" in case:
        verifier = veritoken.Verifier(case["config"])
        token = verifier.verify(case["token"], now=case["now"])
        assert accessors_of(token) == case["expect"]


def test_some_accessor_cases_verify() -> None:
    assert any("token" in c for c in ACCESSORS)


# The family each HTTP status belongs to: the classes a caller catches.
FAMILY = {
    401: veritoken.InvalidToken,
    403: veritoken.ScopeInsufficient,
    503: veritoken.Unavailable,
    500: veritoken.InternalError,
    None: veritoken.ConfigInvalid,
}


def test_error_codes_are_the_engines() -> None:
    """Names, numbers, statuses and exception classes against ErrorCode::ALL (the vectors)."""
    codes = section("error_codes.json", "error_codes")
    assert list(veritoken.ERROR_CODES) == [c["name"] for c in codes]
    for number, c in enumerate(codes, start=1):
        assert c["number"] == number
        err = veritoken._veritoken._error_for_code(c["name"], "m")  # type: ignore[attr-defined]
        assert isinstance(err, veritoken.VeritokenError), c
        assert (err.code, err.message, err.status) == (c["name"], "m", c["http_status"] or 500)
        missing = c["name"] == "token_missing"
        family = veritoken.TokenMissing if missing else FAMILY[c["http_status"]]
        assert isinstance(err, family), (c["name"], type(err))
        assert veritoken.error_response(err)[0] == (c["http_status"] or 500)
