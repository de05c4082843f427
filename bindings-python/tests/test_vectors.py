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
