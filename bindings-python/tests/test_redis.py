"""The shared DPoP replay store from Python: two worker processes (forked after the verifier
was built and used, like gunicorn --preload) share one redis-server; a proof used in one is
refused in the other, and with Redis stopped both refuse proofs with ReplayStoreUnavailable
(503) until it is back. The introspection cache on the same Redis: two workers, one request
to the IdP."""

from __future__ import annotations

import multiprocessing
import os
from multiprocessing.connection import Connection

import pytest
import veritoken
from conftest import DPoPClient, IdP, Redis, good_claims, hs_config, mint

URL = "https://api.example.com/orders"
pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")


def worker(verifier: veritoken.Verifier, token: str, conn: Connection) -> None:
    """Verifies every proof it is sent; answers "ok" or "code:claim:status"."""
    while True:
        proof = conn.recv()
        if proof is None:
            return
        try:
            verifier.verify(token, dpop_proof=proof, method="GET", url=URL)
            conn.send(("ok", os.getpid()))
        except veritoken.VeritokenError as e:
            conn.send((f"{e.code}:{e.claim}:{e.status}", os.getpid()))


def test_a_proof_replayed_to_another_worker_is_refused(
    redis: Redis, dpop_client: DPoPClient
) -> None:
    replay = {"store": "redis", "url": redis.url, "key_prefix": "py", "timeout_ms": 200}
    verifier = veritoken.Verifier(hs_config(dpop={"mode": "allowed", "replay": replay}))
    token = mint(good_claims(cnf={"jkt": dpop_client.jkt}))
    # Used once in the parent first: the children must not use its connection.
    first = dpop_client.proof("GET", URL, token)
    verifier.verify(token, dpop_proof=first, method="GET", url=URL)

    ctx = multiprocessing.get_context("fork")
    pipes, workers = [], []
    for _ in range(2):
        parent, child = ctx.Pipe()
        process = ctx.Process(target=worker, args=(verifier, token, child), daemon=True)
        process.start()
        pipes.append(parent)
        workers.append(process)

    def ask(i: int, proof: str) -> str:
        pipes[i].send(proof)
        assert pipes[i].poll(10), "the worker did not answer"
        answer, pid = pipes[i].recv()
        assert pid == workers[i].pid
        return answer

    try:
        assert ask(0, first) == "dpop_invalid:jti:401", "the parent's proof, replayed"
        for round in range(4):
            proof = dpop_client.proof("GET", URL, token)
            used, other = round % 2, 1 - round % 2
            assert ask(used, proof) == "ok"
            assert ask(other, proof) == "dpop_invalid:jti:401", f"round {round}"
            assert ask(used, proof) == "dpop_invalid:jti:401"
        keys = redis.cli("--scan").split()
        assert len(keys) == 5 and all(k.startswith("py:jti:") for k in keys), keys

        redis.stop()
        for i in range(2):
            assert ask(i, dpop_client.proof("GET", URL, token)) == (
                "replay_store_unavailable:None:503"
            )
        with pytest.raises(veritoken.ReplayStoreUnavailable) as info:
            verifier.verify(
                token, dpop_proof=dpop_client.proof("GET", URL, token), method="GET", url=URL
            )
        assert isinstance(info.value, veritoken.Unavailable)
        status, _, body = verifier.error_response(info.value)
        assert status == 503 and b"replay_store_unavailable" in body

        redis.start()
        for i in range(2):
            assert ask(i, dpop_client.proof("GET", URL, token)) == "ok"
    finally:
        for pipe in pipes:
            pipe.send(None)
        for process in workers:
            process.join(5)
            if process.is_alive():
                process.kill()


def introspecting_worker(verifier: veritoken.Verifier, token: str, conn: Connection) -> None:
    """Verifies `token` once; answers its subject and this process's counters."""
    verified = verifier.verify(token)
    conn.send((verified.subject, verifier.metrics(), os.getpid()))


def test_two_workers_introspect_a_token_once(redis: Redis, idp: IdP) -> None:
    config = idp.config()
    config["issuers"][0]["introspection"] = {
        "client_id": "test-client",
        "client_secret": "test-secret",
        "cache": "redis",
    }
    config["dpop"] = {"replay": {"store": "redis", "url": redis.url, "key_prefix": "pyi"}}
    verifier = veritoken.Verifier(config)
    token = idp.token(format="opaque", scope="orders:read")
    ctx = multiprocessing.get_context("fork")
    answers = []
    for _ in range(2):  # one after the other: the second finds the first's answer
        parent, child = ctx.Pipe()
        process = ctx.Process(target=introspecting_worker, args=(verifier, token, child))
        process.start()
        assert parent.poll(10), "the worker did not answer"
        answers.append(parent.recv())
        process.join(5)
    assert [a[0] for a in answers] == ["test-client", "test-client"]
    assert answers[0][2] != answers[1][2]
    first, second = answers[0][1], answers[1][1]
    assert (first["introspection_requests"], first["introspection_store_hits"]) == (1, 0)
    assert (second["introspection_requests"], second["introspection_store_hits"]) == (0, 1)
    assert idp.admin("GET", "/admin/stats")["introspection_requests"] == 1
    keys = redis.cli("--scan").split()
    assert len(keys) == 1 and keys[0].startswith("pyi:introspection:"), keys
    assert token not in keys[0] and token not in redis.cli("GET", keys[0])
