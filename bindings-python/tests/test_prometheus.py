"""veritoken.prometheus: the sidecar's engine families (from core's table), per client."""

from __future__ import annotations

import subprocess
import sys

import pytest
import veritoken
from conftest import good_claims, hs_config, mint

prometheus_client = pytest.importorskip("prometheus_client")

from prometheus_client import CollectorRegistry, generate_latest  # noqa: E402
from prometheus_client.parser import text_string_to_metric_families  # noqa: E402
from veritoken._veritoken import _metric_families  # noqa: E402
from veritoken.prometheus import VeritokenCollector, engine_family_names  # noqa: E402


def test_scrape_has_the_sidecars_names_types_and_labels() -> None:
    orders = veritoken.Verifier(hs_config())
    orders.verify(mint(good_claims()))
    registry = CollectorRegistry()
    registry.register(
        VeritokenCollector({"orders": orders, "billing": veritoken.Verifier(hs_config())})
    )
    text = generate_latest(registry).decode()
    scraped = {f.name: f for f in text_string_to_metric_families(text)}
    # The sidecar's engine families, from core's table (not a copy).
    sidecar = {name: kind for name, _, kind, _, source in _metric_families() if source == "engine"}
    assert set(scraped) == set(sidecar) == set(engine_family_names())
    assert len(sidecar) == 18
    for name, family in scraped.items():
        assert family.type == sidecar[name]
        assert {s.labels["client"] for s in family.samples if s.name.endswith("_total")} == {
            "orders",
            "billing",
        }
    samples = {f"{s.name}{sorted(s.labels.items())}" for f in scraped.values() for s in f.samples}
    assert "veritoken_jwks_fetches_total[('client', 'orders')]" in samples
    # Each family's sample name is the sidecar's.
    names = {s.name for f in scraped.values() for s in f.samples}
    assert {row[3] for row in _metric_families() if row[4] == "engine"} <= names


def test_import_veritoken_does_not_need_prometheus_client() -> None:
    code = (
        "import sys; sys.modules['prometheus_client'] = None; import veritoken; "
        "veritoken.Verifier; print('ok')"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "ok"
