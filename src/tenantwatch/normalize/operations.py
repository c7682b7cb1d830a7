"""Entra ID directory operations: which OCSF class and activity each one is.

The same table serves the Management Activity API (``Operation``, with its trailing period) and
Graph / Azure Monitor (``activityDisplayName``, without). Names are matched after
:func:`operation_key` folds case, the trailing period and spaces, and dash variants. An
operation not listed becomes API Activity (6003), its name kept in ``api.operation``.
"""

from __future__ import annotations

import polars as pl

__all__ = ["DIRECTORY_OPERATIONS", "directory_class", "operation_key"]

DIRECTORY_OPERATIONS: dict[str, tuple[int, int]] = {
    # Account Change (3001)
    "add user": (3001, 1),
    "invite external user": (3001, 1),
    "delete user": (3001, 6),
    "hard delete user": (3001, 6),
    "update user": (3001, 99),
    "change user license": (3001, 99),
    "set force change user password": (3001, 99),
    "disable account": (3001, 5),
    "enable account": (3001, 2),
    "reset user password": (3001, 4),
    "reset password (by admin)": (3001, 4),
    "reset password (self-service)": (3001, 4),
    "change user password": (3001, 3),
    "change password (self-service)": (3001, 3),
    "disable strong authentication": (3001, 11),
    "enable strong authentication": (3001, 10),
    "user registered security info": (3001, 10),
    "user registered all required security info": (3001, 10),
    "admin registered security info": (3001, 10),
    "user deleted security info": (3001, 11),
    "admin deleted security info": (3001, 11),
    # Entity Management (3004): applications, service principals, policies, domains
    "add application": (3004, 1),
    "update application": (3004, 3),
    "update application - certificates and secrets management": (3004, 3),
    "delete application": (3004, 4),
    "hard delete application": (3004, 4),
    "add owner to application": (3004, 3),
    "remove owner from application": (3004, 3),
    "add service principal": (3004, 1),
    "update service principal": (3004, 3),
    "remove service principal": (3004, 4),
    "add service principal credentials": (3004, 3),
    "remove service principal credentials": (3004, 3),
    "add owner to service principal": (3004, 3),
    "remove owner from service principal": (3004, 3),
    "add policy": (3004, 1),
    "update policy": (3004, 3),
    "delete policy": (3004, 4),
    "add conditional access policy": (3004, 1),
    "update conditional access policy": (3004, 3),
    "delete conditional access policy": (3004, 4),
    "update authorization policy": (3004, 3),
    "set company information": (3004, 3),
    "add unverified domain": (3004, 1),
    "add verified domain": (3004, 1),
    "verify domain": (3004, 3),
    "remove unverified domain": (3004, 4),
    "set domain authentication": (3004, 3),
    "set federation settings on domain": (3004, 3),
    "add device": (3004, 1),
    "update device": (3004, 3),
    "delete device": (3004, 4),
    # User Access Management (3005): consents, app roles, directory roles
    "consent to application": (3005, 1),
    "add delegated permission grant": (3005, 1),
    "remove delegated permission grant": (3005, 2),
    "add app role assignment to service principal": (3005, 1),
    "remove app role assignment from service principal": (3005, 2),
    "add app role assignment grant to user": (3005, 1),
    "remove app role assignment from user": (3005, 2),
    "add member to role": (3005, 1),
    "add eligible member to role": (3005, 1),
    "add scoped member to role": (3005, 1),
    "add member to role completed (pim activation)": (3005, 1),
    "remove member from role": (3005, 2),
    "remove eligible member from role": (3005, 2),
    # Group Management (3006)
    "add group": (3006, 6),
    "delete group": (3006, 5),
    "update group": (3006, 99),
    "add member to group": (3006, 3),
    "remove member from group": (3006, 4),
    "add owner to group": (3006, 3),
    "remove owner from group": (3006, 4),
}


def operation_key(name: pl.Expr) -> pl.Expr:
    """``Update application – Certificates and secrets management `` and friends, folded."""
    return (
        name.str.to_lowercase()
        .str.replace_all(r"[\u2010-\u2015]", "-")
        .str.strip_chars()
        .str.strip_chars_end(".")
        .str.replace_all(r"\s+", " ")
    )


def directory_class(name: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    """(class_uid, activity_id) of a directory operation; unknown ones are API Activity (6003)."""
    key = operation_key(name)
    classes = {k: v[0] for k, v in DIRECTORY_OPERATIONS.items()}
    activities = {k: v[1] for k, v in DIRECTORY_OPERATIONS.items()}
    return (
        key.replace_strict(classes, default=6003, return_dtype=pl.Int32),
        key.replace_strict(activities, default=99, return_dtype=pl.Int32),
    )
