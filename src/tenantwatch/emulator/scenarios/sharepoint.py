"""SharePoint / OneDrive exfiltration: mass download and anonymous sharing."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from tenantwatch.emulator.directory import Directory
from tenantwatch.emulator.scenarios.base import ActivityFactory, Stage

__all__ = ["AnonymousSharing", "MassDownload"]


class MassDownload:
    """One account downloads hundreds of files from the Finance site in twenty minutes."""

    name = "mass-download"

    def stages(self, directory: Directory, start: datetime, seed: int) -> list[Stage]:
        f = ActivityFactory(directory, random.Random(f"scenario:{self.name}:{seed}"))
        user = f.rng.choice([u for u in directory.regular_users if u.kind == "member"])
        site = next((s for s in directory.sites if s.endswith("/Finance")), directory.sites[0])
        network = f.rng.choice(f.hosting)
        stage = Stage(
            self.name,
            "mass-download",
            "T1530",
            "Hundreds of files downloaded from one site in minutes.",
        )
        for i, when in enumerate(f.spread(start, timedelta(minutes=20), 220)):
            stage.activities.append(
                f.file(
                    when,
                    user,
                    "FileDownloaded",
                    site,
                    f"Statement {i:04d}.pdf",
                    network,
                    user_agent="rclone/v1.65.0",
                )
            )
        return [stage]


class AnonymousSharing:
    """One account creates anyone-with-the-link shares for many files, and they are used."""

    name = "anonymous-sharing"

    def stages(self, directory: Directory, start: datetime, seed: int) -> list[Stage]:
        f = ActivityFactory(directory, random.Random(f"scenario:{self.name}:{seed}"))
        user = f.rng.choice([u for u in directory.regular_users if u.kind == "member"])
        site = next((s for s in directory.sites if s.endswith("/Legal")), directory.sites[0])
        home = user.home_network or f.proxy()
        stage = Stage(
            self.name,
            "anonymous-sharing",
            "T1567",
            "Anonymous links created for many files, then opened from outside.",
        )
        for i, when in enumerate(f.spread(start, timedelta(minutes=25), 12)):
            name = f"Case file {i:02d}.docx"
            stage.activities.append(
                f.file(
                    when,
                    user,
                    "AnonymousLinkCreated",
                    site,
                    name,
                    home,
                    target=("Anonymous", "Anonymous"),
                )
            )
            stage.activities.append(
                f.file(
                    when + timedelta(minutes=5),
                    user,
                    "AnonymousLinkUsed",
                    site,
                    name,
                    f.rng.choice(f.hosting),
                )
            )
        return [stage]
