"""What every Activity API record family maps the same way: time, metadata, actor, endpoint."""

from __future__ import annotations

from collections.abc import Callable

import polars as pl

from tenantwatch.normalize.columns import obj, parse_time
from tenantwatch.normalize.derive import parse_ip, ual_user_type

__all__ = ["Col", "actor_user", "common", "endpoint", "generic", "teams", "verb_activity"]

Col = Callable[[str], pl.Expr]


def verb_activity(operation: pl.Expr) -> pl.Expr:
    """API Activity's activity_id from a cmdlet or operation verb: New/Add 1, Get 2, Set 3,
    Remove 4, others 99."""
    verb = operation.str.to_lowercase().str.extract(r"^([a-z]+)", 1)
    return (
        pl.when(verb.is_in(["new", "add", "create", "enable"]))
        .then(1)
        .when(verb.is_in(["get", "search", "mailitemsaccessed", "read"]))
        .then(2)
        .when(verb.is_in(["set", "update", "disable", "move", "copy"]))
        .then(3)
        .when(verb.is_in(["remove", "delete", "softdelete", "harddelete"]))
        .then(4)
        .otherwise(99)
    )


def actor_user(c: Callable[[str], pl.Expr]) -> pl.Expr:
    type_id, label = ual_user_type(c("UserType"), c("UserId"))
    return obj(
        "user",
        name=c("UserId").str.to_lowercase(),
        uid=c("UserKey"),
        type_id=type_id,
        type=label,
    )


def common(c: Callable[[str], pl.Expr], feature: str) -> dict[str, pl.Expr]:
    return {
        "time": parse_time(c("CreationTime")),
        "metadata": obj(
            "metadata",
            uid=c("Id"),
            original_time=c("CreationTime"),
            event_code=c("Operation").str.strip_chars(),
            log_name=pl.concat_str([pl.lit("Audit."), c("Workload")]),
            product={
                "name": pl.lit("Microsoft 365 Unified Audit Log"),
                "vendor_name": pl.lit("Microsoft"),
                "feature": {"name": pl.lit(feature)},
            },
        ),
    }


def endpoint(ip_text: pl.Expr, required: bool) -> pl.Expr:
    ip, port = parse_ip(ip_text)
    # API and file activity require src_endpoint; records without an address say so
    name = pl.when(ip.is_null()).then(pl.lit("unknown")) if required else None
    return obj("src_endpoint", ip=ip, port=port, name=name)


def teams(c: Callable[[str], pl.Expr]) -> dict[str, pl.Expr]:
    operation = c("Operation").str.strip_chars()
    membership = operation.is_in(["MemberAdded", "MemberRemoved"])
    first_member = c("Members").list.first()
    return {
        **common(c, "Microsoft Teams audit (Activity API)"),
        "class_uid": pl.when(membership).then(3006).otherwise(6003),
        "activity_id": pl.when(operation == "MemberAdded")
        .then(3)
        .when(operation == "MemberRemoved")
        .then(4)
        .otherwise(verb_activity(operation)),
        "status_id": pl.lit(1),
        "message": pl.format("{} by {}", operation, c("UserId")),
        "group": pl.when(membership).then(obj("group", uid=c("TeamGuid"), name=c("TeamName"))),
        "user": pl.when(membership).then(
            obj(
                "user",
                name=first_member.struct.field("UPN").str.to_lowercase(),
                full_name=first_member.struct.field("DisplayName"),
            )
        ),
        "actor": pl.when(~membership).then(obj("actor", user=actor_user(c))),
        "api": pl.when(~membership).then(
            obj("api", operation=operation, service={"name": pl.lit("Microsoft Teams")})
        ),
        "src_endpoint": endpoint(c("ClientIP"), True),
        "unmapped": pl.struct(TeamName=c("TeamName"), actor=c("UserId")).struct.json_encode(),
    }


def generic(c: Callable[[str], pl.Expr]) -> dict[str, pl.Expr]:
    operation = c("Operation").str.strip_chars()
    return {
        **common(c, "Unified audit log (Activity API)"),
        "class_uid": pl.lit(6003),
        "activity_id": verb_activity(operation),
        "status_id": pl.when(
            c("ResultStatus").str.to_lowercase().is_in(["succeeded", "success", "true"])
        )
        .then(1)
        .when(c("ResultStatus").is_null())
        .then(0)
        .otherwise(2),
        "message": pl.format("{} by {}", operation, c("UserId")),
        "actor": obj("actor", user=actor_user(c)),
        "api": obj("api", operation=operation, service={"name": c("Workload")}),
        "resources": pl.concat_list([obj("resource", name=c("ObjectId"))]),
        "src_endpoint": endpoint(c("ClientIP"), True),
        "unmapped": pl.struct(
            RecordType=c("RecordType"), Workload=c("Workload")
        ).struct.json_encode(),
    }
