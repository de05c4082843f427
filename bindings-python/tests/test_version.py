"""One version for every package: the wheel's, the module's and the workspace's Cargo.toml."""

from __future__ import annotations

import re
from importlib.metadata import version

import veritoken
from conftest import ROOT


def test_version_is_the_cargo_workspace_version() -> None:
    cargo = re.search(r'(?m)^version = "([^"]+)"', (ROOT / "Cargo.toml").read_text())
    assert cargo
    assert veritoken.__version__ == cargo.group(1)
    assert version("veritoken") == cargo.group(1)
