#!/usr/bin/env python3
"""One version for every package, single-sourced from the workspace `version` in Cargo.toml.

    version.py --check      fails (exit 1) when a package manifest differs (run by `make lint`)
    version.py --set 0.2.0  writes 0.2.0 into Cargo.toml and every manifest below

Python takes the version from Cargo itself (maturin, `dynamic = ["version"]`); the C library,
the .pc files, the Go tag (v<version>) and `veritoken --version` take it at build time. The
npm manifests carry a copy: bindings-node/package.json, its package-lock.json and the
per-platform packages in bindings-node/npm/*/package.json.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CARGO = ROOT / "Cargo.toml"
VERSION_LINE = re.compile(r'(?m)^(version = ")([^"]+)(")')


def cargo_version() -> str:
    m = VERSION_LINE.search(CARGO.read_text())
    if not m:
        sys.exit("no workspace version in Cargo.toml")
    return m.group(2)


def manifests() -> list[Path]:
    node = ROOT / "bindings-node"
    return [
        node / "package.json",
        node / "package-lock.json",
        *sorted(node.glob("npm/*/package.json")),
    ]


def versions(path: Path) -> list[tuple[str, str]]:
    """(where, version) of every version the manifest carries for a veritoken package."""
    doc = json.loads(path.read_text())
    found = [("version", doc["version"])]
    if path.name == "package-lock.json":
        found.append(('packages[""].version', doc["packages"][""]["version"]))
    for key, deps in doc.items():
        if key.endswith("ependencies") and isinstance(deps, dict):
            found += [
                (f"{key}.{n}", v)
                for n, v in deps.items()
                if n.startswith("@veritoken/")
            ]
    return found


def set_version(path: Path, version: str) -> None:
    doc = json.loads(path.read_text())
    doc["version"] = version
    if path.name == "package-lock.json":
        doc["packages"][""]["version"] = version
    for key, deps in doc.items():
        if key.endswith("ependencies") and isinstance(deps, dict):
            for n in deps:
                if n.startswith("@veritoken/"):
                    deps[n] = version
    path.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")


def main() -> None:
    if sys.argv[1:2] == ["--set"] and len(sys.argv) == 3:
        version = sys.argv[2]
        if not re.fullmatch(r"\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?", version):
            sys.exit(f"not a semantic version: {version}")
        CARGO.write_text(
            VERSION_LINE.sub(rf"\g<1>{version}\g<3>", CARGO.read_text(), count=1)
        )
        for path in manifests():
            set_version(path, version)
        print(f"version {version}: Cargo.toml and {len(manifests())} npm manifests")
        return
    if sys.argv[1:] != ["--check"]:
        sys.exit(__doc__)
    want = cargo_version()
    drift = [
        f"{p.relative_to(ROOT)}: {where} is {v}, Cargo.toml has {want}"
        for p in manifests()
        for where, v in versions(p)
        if v != want
    ]
    if drift:
        print(
            "\n".join(drift)
            + "\nrun `make version NEW=<version>` to set every package's version"
        )
        sys.exit(1)
    print(f"version {want}: every package manifest agrees with Cargo.toml")


if __name__ == "__main__":
    main()
