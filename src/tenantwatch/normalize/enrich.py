"""Offline geo and network enrichment of source addresses.

Records that carry no location or network (the Activity API's, most of them) get the country
and the autonomous system's name from the geoip2fast database that ships inside the package:
nothing is downloaded at run time. Records that do carry them (Graph, Azure Monitor) keep
Microsoft's values. Lookups are cached per address.
"""

from __future__ import annotations

import threading
from functools import lru_cache
from typing import Any

import polars as pl
from geoip2fast import GeoIP2Fast

from tenantwatch.normalize.columns import obj

__all__ = ["enrich_endpoints", "load_in_background", "lookup"]

_lock = threading.Lock()
_db: dict[str, Any] = {}


def _database() -> Any:
    with _lock:
        if "asn" not in _db:
            _db["asn"] = GeoIP2Fast(verbose=False, geoip2fast_data_file="geoip2fast-asn.dat.gz")
        return _db["asn"]


def load_in_background() -> None:
    """Start loading the database (a few seconds) in a thread, so that the first batch a
    starting pipeline normalizes does not wait for it while its sources connect."""
    if "asn" in _db:  # already loaded (an earlier start in this process)
        return
    threading.Thread(target=_database, daemon=True, name="geoip-load").start()


@lru_cache(maxsize=65536)
def lookup(ip: str) -> tuple[str | None, str | None]:
    """(ISO country code, AS name) of a public address; (None, None) if unknown or private."""
    try:
        result = _database().lookup(ip)
    except Exception:
        return None, None
    if getattr(result, "is_private", False):
        return None, None
    country = result.country_code if len(result.country_code or "") == 2 else None
    return country, (result.asn_name or None)


def enrich_endpoints(events: pl.DataFrame) -> pl.DataFrame:
    """Fill ``src_endpoint.location.country`` and ``src_endpoint.autonomous_system.name`` where
    the record left them empty."""
    if events.is_empty():
        return events
    endpoint = pl.col("src_endpoint")
    ip = endpoint.struct.field("ip")
    needs = events.select(
        ip=ip,
        missing=endpoint.struct.field("location").struct.field("country").is_null()
        | endpoint.struct.field("autonomous_system").struct.field("name").is_null(),
    ).filter(pl.col("missing") & pl.col("ip").is_not_null())
    if needs.is_empty():
        return events
    unique = needs["ip"].unique().to_list()
    found = [lookup(ip) for ip in unique]
    table = pl.DataFrame(
        {
            "ip": unique,
            "_country": [f[0] for f in found],
            "_as_name": [f[1] for f in found],
        },
        schema={"ip": pl.String, "_country": pl.String, "_as_name": pl.String},
    )
    joined = events.with_columns(_ip=ip).join(
        table, left_on="_ip", right_on="ip", how="left", maintain_order="left"
    )
    location = endpoint.struct.field("location")
    system = endpoint.struct.field("autonomous_system")
    return joined.with_columns(
        src_endpoint=pl.when(endpoint.is_not_null()).then(
            endpoint.struct.with_fields(
                location=obj(
                    "src_endpoint.location",
                    city=location.struct.field("city"),
                    region=location.struct.field("region"),
                    country=pl.coalesce(location.struct.field("country"), pl.col("_country")),
                    lat=location.struct.field("lat"),
                    long=location.struct.field("long"),
                ),
                autonomous_system=obj(
                    "src_endpoint.autonomous_system",
                    number=system.struct.field("number"),
                    name=pl.coalesce(system.struct.field("name"), pl.col("_as_name")),
                ),
            )
        )
    ).drop("_ip", "_country", "_as_name")
