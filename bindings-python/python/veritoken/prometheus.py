"""A ``prometheus_client`` collector for verifiers' engine counters.

    from prometheus_client import REGISTRY
    from veritoken.prometheus import VeritokenCollector
    REGISTRY.register(VeritokenCollector({"orders": verifier}))

The families, their names, help and types are the veritoken sidecar's (``/metrics``): both
come from one table in the engine, and each sample is labelled ``client`` with the name
given here. Counters are read at scrape time. ``prometheus_client`` is needed only by this
module (``pip install veritoken[prometheus]``), never by ``import veritoken``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector

from ._veritoken import Verifier, _metric_families

__all__ = ["VeritokenCollector", "engine_family_names"]

_LABEL = "client"


def _engine_families() -> list[tuple[str, str]]:
    # The sidecar's per-request families are left out: a library has no requests to count.
    return [(name, text) for name, text, _, _, source in _metric_families() if source == "engine"]


def engine_family_names() -> list[str]:
    """The engine's family names (without ``_total``), as the sidecar serves them."""
    return [name for name, _ in _engine_families()]


class VeritokenCollector(Collector):
    """Exports the engine counters of one or more verifiers, labelled ``client``."""

    def __init__(self, verifiers: Verifier | Mapping[str, Verifier], client: str = "default"):
        if isinstance(verifiers, Verifier):
            verifiers = {client: verifiers}
        self._verifiers: dict[str, Verifier] = dict(verifiers)

    def describe(self) -> Iterator[CounterMetricFamily]:
        for name, help_text in _engine_families():
            yield CounterMetricFamily(name, help_text, labels=[_LABEL])

    def collect(self) -> Iterator[CounterMetricFamily]:
        families = {
            name: CounterMetricFamily(name, help_text, labels=[_LABEL])
            for name, help_text in _engine_families()
        }
        for client, verifier in self._verifiers.items():
            for name, value in verifier._metric_values():
                families[name].add_metric([client], value)
        yield from families.values()
