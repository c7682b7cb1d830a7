"""IP address pools of the simulated tenant, with the AS numbers and places they belong to.

The ranges are real public allocations of the named networks, so offline geo/ASN enrichment in
the pipeline sees plausible values. Residential proxies are drawn from the same consumer ISP
ranges as real users: that is what makes per-IP blocklists useless against them.
"""

from __future__ import annotations

import ipaddress
import random
from dataclasses import dataclass

__all__ = ["NETWORKS", "Network", "NetworkKind", "pick_ip"]


class NetworkKind:
    CORPORATE = "corporate"
    RESIDENTIAL = "residential"
    MOBILE = "mobile"
    CLOUD = "cloud"
    HOSTING = "hosting"


@dataclass(frozen=True)
class Network:
    """One network: its CIDR, operator, AS number, kind and place."""

    cidr: str
    asn: int
    operator: str
    kind: str
    country: str
    city: str
    state: str
    lat: float
    lon: float

    @property
    def prefix(self) -> ipaddress.IPv4Network:
        return ipaddress.IPv4Network(self.cidr)


NETWORKS: tuple[Network, ...] = (
    # corporate egress (one office per country); AT&T business / DT business / BT / Orange
    Network("12.10.0.0/16", 7018, "AT&T", "corporate", "US", "Seattle", "Washington", 47.6, -122.3),
    Network(
        "80.146.0.0/16",
        3320,
        "Deutsche Telekom",
        "corporate",
        "DE",
        "Munich",
        "Bavaria",
        48.1,
        11.6,
    ),
    Network(
        "81.134.0.0/16", 2856, "British Telecom", "corporate", "GB", "London", "England", 51.5, -0.1
    ),
    Network(
        "193.252.0.0/16", 3215, "Orange", "corporate", "FR", "Paris", "Ile-de-France", 48.9, 2.4
    ),
    # residential broadband
    Network(
        "73.0.0.0/10",
        7922,
        "Comcast Cable",
        "residential",
        "US",
        "Denver",
        "Colorado",
        39.7,
        -105.0,
    ),
    Network(
        "99.0.0.0/11", 7018, "AT&T Internet", "residential", "US", "Dallas", "Texas", 32.8, -96.8
    ),
    Network(
        "98.192.0.0/12",
        7922,
        "Comcast Cable",
        "residential",
        "US",
        "Chicago",
        "Illinois",
        41.9,
        -87.6,
    ),
    Network(
        "79.192.0.0/10",
        3320,
        "Deutsche Telekom",
        "residential",
        "DE",
        "Berlin",
        "Berlin",
        52.5,
        13.4,
    ),
    Network(
        "86.128.0.0/10",
        2856,
        "British Telecom",
        "residential",
        "GB",
        "Manchester",
        "England",
        53.5,
        -2.2,
    ),
    Network(
        "90.0.0.0/13",
        3215,
        "Orange",
        "residential",
        "FR",
        "Lyon",
        "Auvergne-Rhone-Alpes",
        45.8,
        4.8,
    ),
    Network(
        "84.24.0.0/13",
        33915,
        "Vodafone Libertel",
        "residential",
        "NL",
        "Amsterdam",
        "North Holland",
        52.4,
        4.9,
    ),
    Network(
        "177.32.0.0/14",
        28573,
        "Claro NXT",
        "residential",
        "BR",
        "Sao Paulo",
        "Sao Paulo",
        -23.5,
        -46.6,
    ),
    Network(
        "121.128.0.0/10", 4766, "Korea Telecom", "residential", "KR", "Seoul", "Seoul", 37.6, 127.0
    ),
    # mobile carriers
    Network(
        "174.192.0.0/10",
        22394,
        "Verizon Wireless",
        "mobile",
        "US",
        "New York",
        "New York",
        40.7,
        -74.0,
    ),
    Network(
        "172.60.0.0/14", 21928, "T-Mobile USA", "mobile", "US", "Atlanta", "Georgia", 33.7, -84.4
    ),
    Network(
        "80.187.0.0/17",
        3320,
        "Telekom Deutschland Mobile",
        "mobile",
        "DE",
        "Hamburg",
        "Hamburg",
        53.6,
        10.0,
    ),
    Network("92.40.0.0/16", 206067, "Three UK", "mobile", "GB", "Reading", "England", 51.5, -1.0),
    Network(
        "37.164.0.0/14",
        51207,
        "Free Mobile",
        "mobile",
        "FR",
        "Marseille",
        "Provence-Alpes-Cote d'Azur",
        43.3,
        5.4,
    ),
    # cloud and hosting providers (service principals, automation, attacker infrastructure)
    Network(
        "40.76.0.0/14", 8075, "Microsoft Azure", "cloud", "US", "Boydton", "Virginia", 36.7, -78.4
    ),
    Network("3.80.0.0/12", 14618, "Amazon AWS", "cloud", "US", "Ashburn", "Virginia", 39.0, -77.5),
    Network(
        "34.120.0.0/14",
        396982,
        "Google Cloud",
        "cloud",
        "US",
        "Council Bluffs",
        "Iowa",
        41.3,
        -95.9,
    ),
    Network(
        "159.203.0.0/16", 14061, "DigitalOcean", "hosting", "CA", "Toronto", "Ontario", 43.7, -79.4
    ),
    Network(
        "45.76.0.0/16", 20473, "Vultr", "hosting", "US", "Piscataway", "New Jersey", 40.5, -74.5
    ),
    Network(
        "185.220.101.128/25",
        205100,
        "F3 Netze (Tor exit)",
        "hosting",
        "DE",
        "Frankfurt",
        "Hesse",
        50.1,
        8.7,
    ),
)


def networks_of(kind: str, country: str | None = None) -> list[Network]:
    """Networks of one kind, optionally in one country (all of that kind if none there)."""
    found = [n for n in NETWORKS if n.kind == kind and (country is None or n.country == country)]
    return found or [n for n in NETWORKS if n.kind == kind]


def pick_ip(rng: random.Random, network: Network) -> str:
    """A host address inside ``network`` (never the network or broadcast address)."""
    prefix = network.prefix
    offset = rng.randrange(1, prefix.num_addresses - 1)
    return str(prefix.network_address + offset)
