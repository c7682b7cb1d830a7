"""SharePoint and OneDrive in the Activity API (RecordType 4, 6, 7, 14, 36)."""

from __future__ import annotations

from collections.abc import Callable

import polars as pl

from tenantwatch.normalize.columns import obj
from tenantwatch.normalize.derive import blank_to_null
from tenantwatch.normalize.management.common import actor_user, common, endpoint, verb_activity

__all__ = ["sharepoint"]

FILE_ACTIVITIES = {
    "fileuploaded": 1,
    "filesyncuploadedfull": 1,
    "filedownloaded": 2,
    "filesyncdownloadedfull": 2,
    "filesyncdownloadedpartial": 2,
    "filemodified": 3,
    "filemodifiedextended": 3,
    "filedeleted": 4,
    "filedeletedfirststagerecyclebin": 4,
    "filerecycled": 4,
    "filerenamed": 5,
    "filecopied": 6,
    "filemoved": 7,
    "filerestored": 8,
    "filepreviewed": 9,
    "filecheckedout": 10,
    "filecheckedin": 11,
    "anonymouslinkcreated": 12,
    "companylinkcreated": 12,
    "securelinkcreated": 12,
    "sharinginvitationcreated": 12,
    "sharingset": 12,
    "addedtosecurelink": 12,
    "sharinginheritancebroken": 12,
    "anonymouslinkremoved": 13,
    "sharingrevoked": 13,
    "companylinkremoved": 13,
    "fileaccessed": 14,
    "fileaccessedextended": 14,
    "anonymouslinkused": 14,
    "companylinkused": 14,
}


def sharepoint(c: Callable[[str], pl.Expr]) -> dict[str, pl.Expr]:
    operation = c("Operation").str.strip_chars()
    activity = operation.str.to_lowercase().replace_strict(
        FILE_ACTIVITIES, default=None, return_dtype=pl.Int32
    )
    is_file = activity.is_not_null() & c("SourceFileName").is_not_null()
    site = c("SiteUrl").str.strip_chars_end("/")
    path = pl.concat_str(
        [site, pl.lit("/"), c("SourceRelativeUrl"), pl.lit("/"), c("SourceFileName")]
    )
    return {
        **common(c, "SharePoint and OneDrive audit (Activity API)"),
        "class_uid": pl.when(is_file).then(6006).otherwise(6003),
        "activity_id": pl.when(is_file).then(activity).otherwise(verb_activity(operation)),
        "status_id": pl.lit(1),
        "message": pl.format(
            "{} by {}: {}", operation, c("UserId"), pl.coalesce(c("SourceFileName"), c("ObjectId"))
        ),
        "actor": obj("actor", user=actor_user(c)),
        "file": pl.when(is_file).then(
            obj(
                "file",
                name=c("SourceFileName"),
                path=path,
                uid=c("ListItemUniqueId"),
                type_id=pl.lit(1),
                ext=blank_to_null(c("SourceFileExtension")),
            )
        ),
        "api": pl.when(~is_file).then(
            obj("api", operation=operation, service={"name": c("Workload")})
        ),
        "resources": pl.when(~is_file).then(
            pl.concat_list([obj("resource", name=c("ObjectId"), type=c("ItemType"))])
        ),
        "src_endpoint": endpoint(c("ClientIP"), True),
        "http_request": obj("http_request", user_agent=blank_to_null(c("UserAgent"))),
        "unmapped": pl.struct(
            Workload=c("Workload"),
            SiteUrl=c("SiteUrl"),
            TargetUserOrGroupName=c("TargetUserOrGroupName"),
            TargetUserOrGroupType=c("TargetUserOrGroupType"),
            UniqueSharingId=c("UniqueSharingId"),
            UserAgent=blank_to_null(c("UserAgent")),
        ).struct.json_encode(),
    }
