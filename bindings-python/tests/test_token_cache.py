"""The opt-in verified-token cache through Python: a repeated token is a hit, its time
claims are judged again at each hit (expiry at the exact second), a tampered copy is
verified in full, and a child after fork() does not use the parent's entries."""

from __future__ import annotations

import os

import pytest
import veritoken
from conftest import good_claims, hs_config, mint

NOW = 1_767_225_600


def cached() -> veritoken.Verifier:
    return veritoken.Verifier(hs_config(cache={"max_entries": 100}))


def hits(v: veritoken.Verifier) -> tuple[int, int]:
    m = v.metrics()
    return m["token_cache_hits"], m["token_cache_misses"]


def test_a_repeated_token_is_a_hit_with_the_same_answer() -> None:
    v = cached()
    token = mint(good_claims(iat=NOW, exp=NOW + 60))
    first = v.verify(token, now=NOW)
    again = v.verify(token, now=NOW)
    assert again.claims == first.claims and again.subject == "alice"
    assert hits(v) == (1, 1)
    assert hits(veritoken.Verifier(hs_config())) == (0, 0)


def test_expiry_at_the_exact_second_from_the_cache() -> None:
    v = cached()
    token = mint(good_claims(iat=NOW, exp=NOW + 60))
    v.verify(token, now=NOW)
    assert v.verify(token, now=NOW + 59).subject == "alice"
    with pytest.raises(veritoken.TokenExpired) as info:
        v.verify(token, now=NOW + 60)
    assert info.value.claim == "exp"
    assert hits(v)[0] == 2


def test_a_tampered_copy_is_verified_in_full() -> None:
    v = cached()
    token = mint(good_claims(iat=NOW, exp=NOW + 60))
    v.verify(token, now=NOW)
    last = "A" if token[-2] != "A" else "B"
    with pytest.raises(veritoken.SignatureInvalid):
        v.verify(token[:-2] + last + token[-1], now=NOW)
    assert hits(v) == (0, 2)


def test_async_hits_too() -> None:
    import asyncio

    v = cached()
    token = mint(good_claims(iat=NOW, exp=NOW + 60))
    v.verify(token, now=NOW)

    async def main() -> str | None:
        return (await v.verify_async(token, now=NOW)).subject

    assert asyncio.run(main()) == "alice"
    assert hits(v) == (1, 1)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_entries_are_dropped_at_fork() -> None:
    v = cached()
    token = mint(good_claims(iat=NOW, exp=NOW + 60))
    v.verify(token, now=NOW)
    pid = os.fork()
    if pid == 0:
        try:
            v.verify(token, now=NOW)
            os._exit(0 if hits(v) == (0, 2) else 1)
        except BaseException:
            os._exit(2)
    _, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
    v.verify(token, now=NOW)
    assert hits(v) == (1, 1)
