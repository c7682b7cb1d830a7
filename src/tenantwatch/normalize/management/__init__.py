"""Office 365 Management Activity API records (every RecordType) to OCSF.

One blob mixes record families, so the frame is split by ``RecordType`` and each family maps on
its own, then the parts are put back together:

========================  ==============================  ===================================
RecordType                 family                          OCSF class
========================  ==============================  ===================================
15, 9                      Entra sign-in (STS logon)       Authentication (3002)
8                          Entra directory change          by operation (3001/3004/3005/3006)
1, 18                      Exchange / compliance cmdlet    API Activity (6003); permission
                                                           cmdlets User Access Mgmt (3005)
50, 2, 3                   mailbox item activity           API Activity (6003); ``Send*`` Email
                                                           Activity (4009)
4, 6, 7, 14, 36            SharePoint / OneDrive           File Hosting Activity (6006)
25                         Microsoft Teams                 Group Management (3006) for members,
                                                           API Activity (6003) otherwise
anything else              any workload                    API Activity (6003), Operation kept
========================  ==============================  ===================================

Outcome of a sign-in comes from ``ErrorNumber`` / ``ErrorCode`` / ``LogonError``, never from
``ResultStatus`` (which says ``Success`` for failed sign-ins whose HTTP call succeeded).
"""

from __future__ import annotations

from collections.abc import Callable

import polars as pl

from tenantwatch.model.batch import RecordShape
from tenantwatch.normalize.columns import conform
from tenantwatch.normalize.management.common import generic, teams
from tenantwatch.normalize.management.directory import directory
from tenantwatch.normalize.management.exchange import cmdlet, mailbox
from tenantwatch.normalize.management.schema import (
    CMDLET,
    DIRECTORY,
    KNOWN,
    MAILBOX,
    SHAREPOINT,
    STS_LOGON,
    TEAMS,
    UAL_SCHEMA,
)
from tenantwatch.normalize.management.sharepoint import sharepoint
from tenantwatch.normalize.management.signins import sts_logon

__all__ = ["UAL_SCHEMA", "ManagementActivityMapper"]


FAMILIES: tuple[
    tuple[tuple[int, ...] | None, Callable[[Callable[[str], pl.Expr]], dict[str, pl.Expr]]], ...
] = (
    (STS_LOGON, sts_logon),
    (DIRECTORY, directory),
    (CMDLET, cmdlet),
    (MAILBOX, mailbox),
    (SHAREPOINT, sharepoint),
    (TEAMS, teams),
    (None, generic),
)


class ManagementActivityMapper:
    """Maps a frame of Activity API records, whatever their RecordTypes."""

    shape = RecordShape.O365_MANAGEMENT
    schema = UAL_SCHEMA
    id_field = "Id"

    def __init__(self) -> None:
        self._columns: list[tuple[tuple[int, ...] | None, dict[str, pl.Expr]]] | None = None

    def map(self, raw: pl.DataFrame) -> pl.DataFrame:
        if self._columns is None:  # building the expressions costs more than running them
            self._columns = [(types, family(pl.col)) for types, family in FAMILIES]
        parts = []
        record_type = pl.col("RecordType")
        for types, columns in self._columns:
            selector = (
                ~record_type.is_in(list(KNOWN)) | record_type.is_null()
                if types is None
                else record_type.is_in(list(types))
            )
            subset = raw.filter(selector)
            if subset.is_empty():
                continue
            mapped = subset.select(pl.col("_row"), pl.col("raw_data"), **columns)
            parts.append(conform(mapped, keep=("_row",)))
        return pl.concat(parts, how="vertical") if parts else raw.select(pl.col("_row", "raw_data"))
