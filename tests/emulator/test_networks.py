"""The emulator's networks are real address ranges whose addresses geolocate where the emulator
says they are, so that detections on location (impossible travel) see what a real tenant's users
would produce, and not the artefacts of a careless range."""

from __future__ import annotations

import random

import pytest
from geoip2fast import GeoIP2Fast

from tenantwatch.emulator.directory import COUNTRIES
from tenantwatch.emulator.network import NETWORKS, networks_of, pick_ip

USER_KINDS = ("corporate", "residential", "mobile")


@pytest.fixture(scope="module")
def geo() -> GeoIP2Fast:
    return GeoIP2Fast(verbose=False, geoip2fast_data_file="geoip2fast-asn.dat.gz")


@pytest.mark.parametrize(
    "network", [n for n in NETWORKS if n.kind in USER_KINDS], ids=lambda n: f"{n.kind}-{n.cidr}"
)
def test_user_networks_geolocate_to_their_country(network, geo) -> None:  # type: ignore[no-untyped-def]
    rng = random.Random(network.cidr)
    countries = {geo.lookup(pick_ip(rng, network)).country_code for _ in range(500)}
    assert countries == {network.country}


@pytest.mark.parametrize("country", [c for c, _ in COUNTRIES])
def test_every_user_country_has_each_kind_of_network(country: str) -> None:
    for kind in USER_KINDS:
        assert any(n.country == country for n in networks_of(kind, country)), (kind, country)
