"""``tenantwatch access report``: how many accesses comply, the top violations and who commits
them, and the inventory of what can still get in (protocols, MFA, client apps, resources,
legacy users, workload identities with their credentials, permissions and networks).

Everything comes from the store with SQL. One sign-in collected twice (from Graph and from the
Activity API) counts once: the verdict from the richer record is kept.
"""

from __future__ import annotations

import html
from datetime import datetime
from typing import Any

import orjson
import polars as pl
from rich import box
from rich.console import Console
from rich.table import Table

from tenantwatch.store import DuckDBStore

__all__ = ["build_report", "render_html", "render_table"]

SEVERITY_ORDER = {"critical": 0, "high": 1, "medium": 2, "low": 3, "informational": 4}

_VERDICTS = """
    WITH ranked AS (
        SELECT *, row_number() OVER (
            PARTITION BY tenant, coalesce(record_uid, event_uid)
            ORDER BY (is_mfa IS NULL), len(violations) DESC, event_uid) AS rn
        FROM access_verdicts WHERE time >= ?)
    SELECT * EXCLUDE (rn) FROM ranked WHERE rn = 1
"""
_SIGNINS = """
    SELECT *, json_extract_string(unmapped, '$.clientAppUsed') AS client_app,
           json_extract_string(unmapped, '$.clientCredentialType') AS credential
    FROM events WHERE class_uid = 3002 AND time >= ?
"""


def _value(key: str, value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if key == "entity" and isinstance(value, str):
        return orjson.loads(value)  # stored as JSON
    return value


def _rows(frame: pl.DataFrame) -> list[dict[str, Any]]:
    return [{k: _value(k, v) for k, v in row.items()} for row in frame.iter_rows(named=True)]


def build_report(store: DuckDBStore, since: datetime) -> dict[str, Any]:
    """The report's figures, as plain data (the JSON format is exactly this)."""
    p = [since]
    summary = store.sql(
        f"SELECT count(*) AS accesses, count(*) FILTER (WHERE compliant) AS compliant, "  # noqa: S608
        f"count(DISTINCT user_name) AS users, count(DISTINCT app_uid) AS apps "
        f"FROM ({_VERDICTS})",
        p,
    ).row(0, named=True)
    accesses = summary["accesses"] or 0
    summary["compliant_share"] = round(summary["compliant"] / accesses, 4) if accesses else None
    violations = store.sql(
        f"SELECT v AS rule, count(*) AS accesses, count(DISTINCT user_name) AS users, "  # noqa: S608
        f"count(DISTINCT app_uid) AS apps, min(time) AS first_seen, max(time) AS last_seen "
        f"FROM ({_VERDICTS}), unnest(violations) AS t(v) GROUP BY v ORDER BY accesses DESC",
        p,
    )
    violators = store.sql(
        "SELECT rule_id, severity, entity, first_seen, last_seen, count, description "
        "FROM findings WHERE rule_id LIKE 'tw_access_%' AND last_seen >= ? "
        "ORDER BY first_seen",
        p,
    ).with_columns(
        pl.col("rule_id").str.strip_prefix("tw_access_").alias("rule"),
        pl.col("severity").replace_strict(SEVERITY_ORDER, default=9).alias("_order"),
    )
    violators = violators.sort("_order", "first_seen").drop("_order", "rule_id")
    by_protocol = store.sql(
        f"SELECT auth_protocol AS protocol, count(*) AS sign_ins, "  # noqa: S608
        f"count(*) FILTER (WHERE status = 'Success') AS succeeded, "
        f"count(DISTINCT user.name) AS users, min(time) AS first_seen, max(time) AS last_seen "
        f"FROM ({_SIGNINS}) GROUP BY ALL ORDER BY sign_ins DESC",
        p,
    )
    mfa = store.sql(
        f"SELECT CASE WHEN is_mfa THEN 'MFA' ELSE 'no MFA shown' END AS mfa, count(*) AS "  # noqa: S608
        f"accesses, count(DISTINCT user_name) AS users FROM ({_VERDICTS}) "
        f"WHERE logon_type = 'Interactive' GROUP BY ALL ORDER BY accesses DESC",
        p,
    )
    client_apps = store.sql(
        f"SELECT coalesce(client_app, '(not given)') AS client_app, count(*) AS sign_ins, "  # noqa: S608
        f"count(DISTINCT user.name) AS users FROM ({_SIGNINS}) GROUP BY ALL "
        f"ORDER BY sign_ins DESC LIMIT 15",
        p,
    )
    resources = store.sql(
        f"SELECT coalesce(service.name, service.uid, '(unknown)') AS resource, "  # noqa: S608
        f"count(*) AS sign_ins, count(DISTINCT user.name) AS users FROM ({_SIGNINS}) "
        f"GROUP BY ALL ORDER BY sign_ins DESC LIMIT 15",
        p,
    )
    legacy = store.sql(
        f"SELECT user.name AS user, auth_protocol AS protocol, count(*) AS sign_ins, "  # noqa: S608
        f"count(*) FILTER (WHERE status = 'Success') AS succeeded, min(time) AS first_seen, "
        f"max(time) AS last_seen FROM ({_SIGNINS}) "
        f"WHERE auth_protocol IN ('IMAP', 'POP', 'SMTP', 'Exchange ActiveSync', 'EWS Basic', "
        f"'MAPI', 'Other legacy', 'ROPC', 'Device Code') "
        f"OR http_request.user_agent = 'BAV2ROPC' GROUP BY ALL ORDER BY succeeded DESC, "
        f"sign_ins DESC LIMIT 50",
        p,
    )
    workloads = store.sql(
        f"""WITH grants AS (
                SELECT tw_tenant AS tenant, lower(user.name) AS app,
                       list(DISTINCT g ORDER BY g) AS permissions,
                       min(time) AS granted
                FROM events, unnest(privileges) AS t(g)
                WHERE class_uid = 3005 AND lower(metadata.event_code) NOT LIKE 'remove%'
                  AND lower(metadata.event_code) NOT LIKE '%member%role%'
                GROUP BY ALL)
            SELECT coalesce(s.actor.app_name, s.user.name) AS app, s.actor.app_uid AS app_id,
                   s.logon_type AS kind,
                   list(DISTINCT s.credential) FILTER (WHERE s.credential IS NOT NULL)
                       AS credentials,
                   any_value(g.permissions) AS permissions,
                   list(DISTINCT s.src_endpoint.ip) AS ips,
                   list(DISTINCT s.src_endpoint.location.country)
                       FILTER (WHERE s.src_endpoint.location.country IS NOT NULL) AS countries,
                   count(*) AS sign_ins, min(s.time) AS first_seen, max(s.time) AS last_seen
            FROM ({_SIGNINS}) s
            LEFT JOIN grants g ON g.tenant = s.tw_tenant
                AND g.app = lower(coalesce(s.actor.app_name, s.user.name))
            WHERE s.logon_type IN ('Service Principal', 'Managed Identity')
            GROUP BY ALL ORDER BY first_seen""",  # noqa: S608
        p,
    ).with_columns(pl.col("ips").list.sort().list.head(8))
    return {
        "since": since.isoformat(),
        "summary": summary,
        "violations": _rows(violations),
        "violators": _rows(violators),
        "inventory": {
            "protocols": _rows(by_protocol),
            "mfa": _rows(mfa),
            "client_apps": _rows(client_apps),
            "resources": _rows(resources),
            "legacy_and_weak": _rows(legacy),
            "workload_identities": _rows(workloads),
        },
    }


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}={v}" for k, v in value.items())
    if isinstance(value, str) and len(value) >= 19 and value[4] == "-" and value[10] == "T":
        return value[:16].replace("T", " ")
    return str(value)


SECTIONS = (
    ("violations", "Violations by policy rule"),
    ("violators", "Who violates the policy (first seen first, by severity)"),
    ("inventory.protocols", "Sign-ins by protocol"),
    ("inventory.mfa", "Interactive accesses by MFA"),
    ("inventory.client_apps", "Sign-ins by client app"),
    ("inventory.resources", "Sign-ins by resource"),
    ("inventory.legacy_and_weak", "Users still on legacy or weak protocols"),
    ("inventory.workload_identities", "Workload identities: credentials, permissions, networks"),
)


def _section(report: dict[str, Any], key: str) -> list[dict[str, Any]]:
    value: Any = report
    for part in key.split("."):
        value = value[part]
    return list(value)


def _headline(report: dict[str, Any]) -> str:
    s = report["summary"]
    if not s["accesses"]:
        return f"No sign-ins since {report['since'][:16]}."
    return (
        f"{s['compliant_share'] * 100:.1f} % of {s['accesses']:,} accesses since "
        f"{report['since'][:10]} comply with the access policy ({s['compliant']:,}); "
        f"{s['users']:,} users, {s['apps']:,} apps."
    )


def render_table(report: dict[str, Any], console: Console) -> None:
    console.print(f"[bold]{_headline(report)}[/]", highlight=False)
    for key, title in SECTIONS:
        rows = _section(report, key)
        if not rows:
            continue
        table = Table(title=title, box=box.SIMPLE_HEAD, title_justify="left")
        for column in rows[0]:
            if column != "description":
                table.add_column(column, overflow="fold")
        for row in rows:
            table.add_row(*(_cell(v) for k, v in row.items() if k != "description"), style=None)
        console.print(table)


def render_html(report: dict[str, Any]) -> str:
    """A self-contained page (every value escaped: user names and app names come from the
    audited tenant and may be hostile)."""
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        "<title>tenantwatch access report</title><style>",
        "body{font:14px system-ui,sans-serif;margin:2em;color:#1a202c}",
        "table{border-collapse:collapse;margin:.5em 0 2em}th,td{padding:4px 10px;"
        "border-bottom:1px solid #e2e8f0;text-align:left;vertical-align:top}",
        "th{background:#f7fafc}h1{font-size:22px}h2{font-size:17px;margin-top:1.5em}",
        ".lead{font-size:18px;margin:1em 0}.critical,.high{color:#c53030;font-weight:600}",
        "</style></head><body><h1>Access report</h1>",
        f"<p class='lead'>{html.escape(_headline(report))}</p>",
    ]
    for key, title in SECTIONS:
        rows = _section(report, key)
        parts.append(f"<h2>{html.escape(title)}</h2>")
        if not rows:
            parts.append("<p>None.</p>")
            continue
        parts.append("<table><tr>")
        parts.extend(f"<th>{html.escape(c)}</th>" for c in rows[0])
        parts.append("</tr>")
        for row in rows:
            parts.append("<tr>")
            for column, value in row.items():
                css = (
                    f" class='{value}'" if column == "severity" and value in SEVERITY_ORDER else ""
                )
                parts.append(f"<td{css}>{html.escape(_cell(value))}</td>")
            parts.append("</tr>")
        parts.append("</table>")
    parts.append("</body></html>")
    return "\n".join(parts)
