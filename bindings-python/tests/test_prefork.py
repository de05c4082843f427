"""Pre-fork servers and remote keys: a verifier built just before fork() (gunicorn
--preload) works in every child, whatever the first key fetch was doing at that instant;
and a verification waiting for keys holds no thread of the loop's executor."""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import veritoken
from conftest import IdP

HERE = Path(__file__).parent
pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")


def test_fork_at_any_point_of_the_first_fetch(idp: IdP) -> None:
    """Forks 0-100 ms after building a verifier (its first fetch, through discovery, on a
    slow or fast IdP, then in flight), 120 times; every child must verify within its
    watchdog, with the inherited verifier and with one it builds itself."""
    token = idp.token(alg="RS256")
    rng = random.Random(31)
    outcomes: dict[str, int] = {}
    for trial in range(120):
        delay = (0, 5, 30)[trial % 3]
        idp.admin("POST", "/admin/fault", {"mode": "delay" if delay else "none", "delay_ms": delay})
        verifier = veritoken.Verifier(idp.config(timeout_ms=2000))
        time.sleep(rng.uniform(0, 0.1))
        pid = os.fork()
        if pid == 0:
            signal.alarm(10)  # a hang ends the child with SIGALRM
            try:
                ok = verifier.verify(token).subject == "test-client"
                own = veritoken.Verifier(idp.config(timeout_ms=2000))
                ok = ok and own.verify(token).subject == "test-client"
                os._exit(0 if ok else 1)
            except BaseException:
                os._exit(2)
        _, status = os.waitpid(pid, 0)
        if os.WIFSIGNALED(status):
            outcome = f"signal {os.WTERMSIG(status)}"
        else:
            outcome = f"exit {os.WEXITSTATUS(status)}"
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
        assert outcome == "exit 0", f"trial {trial} (IdP delay {delay} ms): child {outcome}"
        assert verifier.verify(token).subject == "test-client"
    print(f"120 forks during the first fetch: {outcomes}")


def test_async_waits_hold_no_executor_thread(idp: IdP) -> None:
    """50 verify_async calls on a cold cache behind a slow IdP: an unrelated
    run_in_executor task completes long before they do (they used to fill the executor)."""
    idp.admin("POST", "/admin/fault", {"mode": "delay", "delay_ms": 800})
    verifier = veritoken.Verifier(idp.config(timeout_ms=3000))
    token = idp.token(alg="ES256")

    async def main() -> tuple[float, float, list[str | None]]:
        loop = asyncio.get_running_loop()
        start = time.monotonic()
        verifications = [asyncio.ensure_future(verifier.verify_async(token)) for _ in range(50)]
        await asyncio.sleep(0.05)  # every verification is now waiting for the keys
        await loop.run_in_executor(None, lambda: None)
        unrelated = time.monotonic() - start
        subjects = [t.subject for t in await asyncio.gather(*verifications)]
        return unrelated, time.monotonic() - start, subjects

    unrelated, verified, subjects = asyncio.run(main())
    print(f"executor task after {unrelated * 1e3:.1f} ms; 50 waits after {verified * 1e3:.0f} ms")
    assert subjects == ["test-client"] * 50
    assert verified >= 0.7, "the verifications really waited for the slow IdP"
    assert unrelated < verified / 2, (unrelated, verified)
    assert verifier.metrics()["jwks_fetches"] == 1


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def whoami(url: str, token: str) -> dict[str, object]:
    req = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(req, timeout=5) as resp:
        assert resp.status == 200
        return json.load(resp)


WORKERS = {
    "uvicorn": ["-k", "uvicorn_worker.UvicornWorker", "prefork.app:asgi"],
    "sync": ["-k", "sync", "prefork.app:wsgi"],
    "gthread": ["-k", "gthread", "--threads", "4", "prefork.app:wsgi"],
}


@pytest.mark.parametrize("kind", sorted(WORKERS))
def test_gunicorn_preload_every_worker_answers(idp: IdP, kind: str) -> None:
    """gunicorn --preload with 3 workers of each kind, the IdP answering in 150 ms so the
    master forks while the first fetch is in flight: every worker answers 200 within 5 s
    per request (a stuck worker would time out, or never be seen)."""
    idp.admin("POST", "/admin/fault", {"mode": "delay", "delay_ms": 150})
    token = idp.token(alg="RS256")
    port = free_port()
    env = {**os.environ, "VERITOKEN_PREFORK_CONFIG": json.dumps(idp.config(timeout_ms=3000))}
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--preload", "-w", "3", "--timeout", "60",
         "-b", f"127.0.0.1:{port}", *WORKERS[kind]],
        cwd=HERE, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        url = f"http://127.0.0.1:{port}/whoami"
        deadline = time.monotonic() + 20
        while True:
            try:
                whoami(url, token)
                break
            except OSError:
                assert server.poll() is None, server.stderr.read() if server.stderr else ""
                assert time.monotonic() < deadline, "gunicorn never answered"
                time.sleep(0.1)
        seen: set[object] = set()
        answered = 0
        while len(seen) < 3:
            assert answered < 600, f"{kind}: only workers {seen} answered in {answered} requests"
            answer = whoami(url, token)
            assert answer["sub"] == "test-client"
            seen.add(answer["pid"])
            answered += 1
        print(f"gunicorn --preload, {kind} workers: 3 of 3 answered within {answered} requests")
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
