#!/usr/bin/env python3
"""Writes the committed seed corpora fuzz/corpus/<target>/ from tests/vectors (run from the
repository root: python3 fuzz/seeds.py). Small on purpose: libFuzzer grows its own corpus
in fuzz/corpus during `make fuzz`; commit only what is worth keeping."""

import base64
import hashlib
import json
import pathlib

ROOT = pathlib.Path(__file__).resolve().parent.parent
VECTORS = ROOT / "tests" / "vectors"
OUT = ROOT / "fuzz" / "corpus"
LIMIT = 60


def unb64(s: str) -> bytes:
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def write(target: str, seeds: list[bytes]) -> None:
    folder = OUT / target
    folder.mkdir(parents=True, exist_ok=True)
    seen = set()
    for seed in seeds:
        name = hashlib.sha1(seed).hexdigest()
        if name in seen:
            continue
        seen.add(name)
        (folder / name).write_bytes(seed)
        if len(seen) >= LIMIT:
            break


cases = []
for path in sorted(VECTORS.glob("*.json")):
    doc = json.loads(path.read_text())
    if isinstance(doc, dict) and "cases" in doc:
        cases += doc["cases"]

tokens = [c["token"].encode() for c in cases if isinstance(c.get("token"), str)]
write("token", tokens[::max(1, len(tokens) // LIMIT)])

parts = []
for t in tokens:
    pieces = t.decode().split(".")
    if len(pieces) == 3:
        try:
            parts.append(b"\x00" + unb64(pieces[1]))
            parts.append(b"\x01" + unb64(pieces[0]))
        except ValueError:
            pass
write("signed_json", parts[:: max(1, len(parts) // LIMIT)])

jwks = []
configs = []
for c in cases:
    config = c.get("config")
    if not isinstance(config, dict):
        continue
    configs.append(b"\x02" + json.dumps(config).encode())
    for issuer in config.get("issuers", []):
        for key in issuer.get("keys", []):
            if isinstance(key, dict) and isinstance(key.get("jwks"), dict):
                jwks.append(json.dumps(key["jwks"]).encode())
            if isinstance(key, dict) and isinstance(key.get("pem"), dict):
                jwks.append(str(key["pem"].get("key", "")).encode())
for pem in sorted((VECTORS / "keys").glob("*.pem")):
    if b"PRIVATE" not in pem.read_bytes():
        jwks.append(pem.read_bytes())
write("keys", jwks)
write("config", configs[:: max(1, len(configs) // LIMIT)])

proofs = []
for c in cases:
    for name, value in c.get("request", {}).get("headers", []):
        if name.lower() == "dpop":
            proofs.append(value.encode())
write("dpop", proofs)

answers = [
    {"active": True, "aud": "api://default", "sub": "u", "exp": 1767229200},
    {"active": True, "iss": "https://idp.example.com/", "aud": ["api://default"]},
    {"active": False},
    {"active": "true"},
    {"active": True, "aud": "api://default", "cnf": {"jkt": "x"}, "scope": "a b"},
]
write("introspection", [json.dumps(a).encode() for a in answers])
