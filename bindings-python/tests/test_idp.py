"""Against the repository's test IdP over real HTTP: discovery, rotation, unknown kid,
IdP down, the async slow path, and fork with remote keys."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time

import pytest
import veritoken
from conftest import IdP, b64


def test_discovery_and_every_algorithm(idp: IdP) -> None:
    verifier = veritoken.Verifier(idp.config(wait_at_startup=True))
    for alg in ("RS256", "ES256", "EdDSA"):
        token = verifier.verify(idp.token(alg=alg, scope="orders:read"))
        assert token.algorithm == alg and token.has_scopes("orders:read")
    assert verifier.metrics()["jwks_fetches"] >= 1


def test_rotation_and_unknown_kid(idp: IdP) -> None:
    verifier = veritoken.Verifier(idp.config(wait_at_startup=True, cooldown=1))
    kid = idp.admin("POST", "/admin/keys", {"alg": "ES256"})["kid"]
    assert verifier.verify(idp.token(alg="ES256", kid=kid)).kid == kid
    time.sleep(1.1)  # past the cooldown: the unknown kid triggers one refetch
    _, payload, _ = idp.token(alg="RS256").split(".")
    header = b64(json.dumps({"alg": "RS256", "kid": "no-such-kid"}).encode())
    forged = f"{header}.{payload}.AA"
    with pytest.raises(veritoken.KeyNotFound) as info:
        verifier.verify(forged)
    assert info.value.code == "key_not_found"


def test_idp_down_then_back(idp: IdP) -> None:
    token = idp.token(alg="RS256")
    idp.admin("POST", "/admin/fault", {"mode": "down"})
    verifier = veritoken.Verifier(idp.config())
    with pytest.raises(veritoken.JwksUnavailable) as info:
        verifier.verify(token)
    assert info.value.status == 503
    idp.admin("POST", "/admin/reset")
    deadline = time.monotonic() + 5
    while True:
        try:
            assert verifier.verify(token).subject == "test-client"
            break
        except veritoken.JwksUnavailable:
            assert time.monotonic() < deadline, "never recovered"
            time.sleep(0.2)


def test_async_fetch_does_not_block_the_loop(idp: IdP) -> None:
    idp.admin("POST", "/admin/fault", {"mode": "delay", "delay_ms": 400})
    verifier = veritoken.Verifier(idp.config())
    token = idp.token(alg="ES256")

    async def main() -> int:
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0.005)

        t = asyncio.create_task(ticker())
        verified = await verifier.verify_async(token)
        t.cancel()
        assert verified.subject == "test-client"
        return ticks

    started = time.monotonic()
    ticks = asyncio.run(main())
    assert time.monotonic() - started >= 0.35  # it really waited for the slow IdP
    assert ticks >= 20, f"the event loop ran only {ticks} ticks during the fetch"


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_fork_after_keys_were_fetched(idp: IdP) -> None:
    verifier = veritoken.Verifier(idp.config(wait_at_startup=True))
    verifier.verify(idp.token(alg="RS256"))
    kid = idp.admin("POST", "/admin/keys", {"alg": "EdDSA"})["kid"]
    fresh = idp.token(alg="EdDSA", kid=kid)
    cached = idp.token(alg="RS256")
    pid = os.fork()
    if pid == 0:
        try:
            ok = verifier.verify(cached).subject == "test-client"
            ok = ok and verifier.verify(fresh).kid == kid  # fetched by the child itself
            os._exit(0 if ok else 1)
        except BaseException:
            os._exit(2)
    _, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0


def test_opaque_tokens_through_introspection(idp: IdP) -> None:
    config = idp.config(wait_at_startup=True)
    config["issuers"][0]["introspection"] = {
        "client_id": "test-client",
        "client_secret": "test-secret",
    }  # endpoint from discovery
    verifier = veritoken.Verifier(config)
    token = idp.token(format="opaque", scope="orders:read")
    verified = verifier.verify(token)
    assert verified.algorithm is None and verified.header == {}
    assert verified.subject == "test-client" and verified.has_scopes("orders:read")
    verifier.verify(token)
    assert verifier.metrics()["introspection_cache_hits"] == 1
    with pytest.raises(veritoken.TokenInactive) as info:
        verifier.verify("opaque-never-issued")
    assert info.value.code == "token_inactive" and info.value.status == 401
    idp.admin("POST", "/admin/fault", {"mode": "down"})
    with pytest.raises(veritoken.IntrospectionUnavailable) as down:
        verifier.verify(idp.token(format="opaque"))
    assert down.value.status == 503


def run_python(script: str, *args: str) -> subprocess.CompletedProcess[str]:
    """`script` in an interpreter of its own: each of the tests below ends one."""
    return subprocess.run(
        [sys.executable, "-c", script, *args], capture_output=True, text=True, timeout=60
    )


EXIT_WITH_DAEMON_THREADS = """
import json, random, sys, threading, time
import veritoken

config, tokens = json.loads(sys.argv[1]), sys.argv[2:]
verifier = veritoken.Verifier(config)


def verify_forever(token):
    while True:
        verifier.verify(token)


for token in tokens:
    for _ in range(2):
        threading.Thread(target=verify_forever, args=(token,), daemon=True).start()
time.sleep(random.uniform(0.01, 0.05))
"""


def test_exit_while_daemon_threads_verify(idp: IdP) -> None:
    # Before 3.14, CPython ends a thread that takes the GIL back during finalization with
    # pthread_exit; out of a released-GIL verification, that aborted the process (134).
    # RS256 and ES256 release the GIL, so at exit most threads are inside the engine.
    config = json.dumps(idp.config(wait_at_startup=True))
    tokens = [idp.token(alg="RS256"), idp.token(alg="ES256")]
    codes = []
    for _ in range(12):
        run = run_python(EXIT_WITH_DAEMON_THREADS, config, *tokens)
        codes.append((run.returncode, run.stderr[-300:]))
    assert all(code == 0 for code, _ in codes), codes


EXIT_HOOKS_BY_HAND = """
import atexit, json, sys, threading, time
import veritoken

config, token = json.loads(sys.argv[1]), sys.argv[2]
verifier = veritoken.Verifier(config)
count = 0


def verify_forever():
    global count
    while True:
        verifier.verify(token)
        count += 1


threading.Thread(target=verify_forever, daemon=True).start()
time.sleep(0.05)
atexit._run_exitfuncs()  # the hook runs, yet the interpreter goes on
start, before = time.monotonic(), count
for _ in range(50):
    verifier.verify(token)  # the thread that ran the hook verifies as before
main_took = time.monotonic() - start
time.sleep(0.5)
print(json.dumps({"main_took": main_took, "before": before, "after": count}))
"""


def test_exit_hooks_run_by_hand_stop_no_thread_for_good(idp: IdP) -> None:
    # Hooks run by hand are no exit: threads verify on, and the hook, which `atexit` drops
    # once it ran, is registered again, so the real exit afterwards is still clean.
    config = json.dumps(idp.config(wait_at_startup=True))
    run = run_python(EXIT_HOOKS_BY_HAND, config, idp.token(alg="RS256"))
    assert run.returncode == 0, run.stderr[-500:]
    seen = json.loads(run.stdout)
    assert seen["main_took"] < 2, seen
    assert seen["after"] > seen["before"] + 100, seen


LATE_EXIT_HOOK = """
import atexit, json, sys, threading, time

def late_hook():
    # Registered before veritoken, so it runs after veritoken's hook: on the thread that
    # exits, with daemon threads parked, it still verifies.
    time.sleep(0.2)
    print(json.dumps({"sub": verifier.verify(sys.argv[2]).subject}))

atexit.register(late_hook)
import veritoken

verifier = veritoken.Verifier(json.loads(sys.argv[1]))


def verify_forever():
    while True:
        verifier.verify(sys.argv[2])


for _ in range(3):
    threading.Thread(target=verify_forever, daemon=True).start()
time.sleep(0.05)
"""


def test_exit_hook_after_ours_verifies_on_the_exiting_thread(idp: IdP) -> None:
    config = json.dumps(idp.config(wait_at_startup=True))
    run = run_python(LATE_EXIT_HOOK, config, idp.token(alg="RS256"))
    assert run.returncode == 0, run.stderr[-500:]
    assert json.loads(run.stdout)["sub"], run.stdout
