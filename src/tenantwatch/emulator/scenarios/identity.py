"""Identity attacks: password sprays (fast and low-and-slow), the Midnight Blizzard chain,
MFA fatigue, impossible travel."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from tenantwatch.emulator.activities import Activity, ModifiedProperty, Target, derived_id
from tenantwatch.emulator.directory import Directory, SimApp, SimUser
from tenantwatch.emulator.network import networks_of
from tenantwatch.emulator.scenarios.base import ActivityFactory, Stage, office_network

__all__ = ["ImpossibleTravel", "MfaFatigue", "MidnightBlizzard", "PasswordSpray"]

EXCHANGE_APP_ID = "00000002-0000-0ff1-ce00-000000000000"
FULL_ACCESS_AS_APP_ID = "dc890d15-9560-4a4c-9b7f-a736ec74ec40"


def _test_account(directory: Directory) -> SimUser:
    return next(u for u in directory.users if u.kind == "test")


class PasswordSpray:
    """A fast password spray: several accounts, a handful of wrong passwords each, every attempt
    from a different residential-proxy IP, then a single-factor success on the legacy test account
    (no MFA). Per-IP thresholds stay silent; per-account distinct-IP counts do not."""

    name = "password-spray"

    def __init__(
        self, *, targets: int = 4, attempts: tuple[int, int] = (6, 9), duration_minutes: int = 12
    ) -> None:
        self.targets = targets
        self.attempts = attempts
        self.duration = timedelta(minutes=duration_minutes)

    def stages(self, directory: Directory, start: datetime, seed: int) -> list[Stage]:
        f = ActivityFactory(directory, random.Random(f"scenario:{self.name}:{seed}"))
        test = _test_account(directory)
        pool = [u for u in directory.regular_users if not u.is_admin and u.kind == "member"]
        victims = [*f.rng.sample(pool, min(self.targets, len(pool))), test]
        spray = Stage(
            self.name,
            "password-spray",
            "T1110.003",
            "Wrong-password sign-ins against several accounts, each from a different residential "
            "proxy IP.",
        )
        for victim in victims:
            for when in f.spread(start, self.duration, f.rng.randint(*self.attempts)):
                spray.activities.append(f.signin(victim, when, f.proxy(), error_code=50126))
        spray.activities.sort(key=lambda a: a.time)
        success = Stage(
            self.name,
            "valid-account",
            "T1078.004",
            "Single-factor sign-in succeeds on the legacy test account, which has no MFA.",
            [f.signin(test, start + self.duration + timedelta(seconds=45), f.proxy())],
        )
        return [spray, success]


class MidnightBlizzard:
    """The 2023 intrusion, stage by stage, in the records Microsoft's logs keep of it.

    1. low-and-slow spray over hours from residential proxies (no account sees more than a couple
       of attempts an hour);
    2. single-factor success on the legacy test account;
    3. a new secret added to the legacy OAuth app, which then signs in from attacker hosting;
    4. the legacy app creates two new apps and their service principals;
    5. it creates a new user, who signs in and consents to one of the new apps;
    6. the legacy app grants the new app Exchange Online's ``full_access_as_app``;
    7. the new app reads executives' mailboxes over EWS (``MailItemsAccessed``).
    """

    name = "midnight-blizzard"

    def __init__(self, *, spray_hours: int = 6) -> None:
        self.spray_hours = spray_hours

    def stages(self, directory: Directory, start: datetime, seed: int) -> list[Stage]:
        f = ActivityFactory(directory, random.Random(f"scenario:{self.name}:{seed}"))
        test = _test_account(directory)
        legacy = directory.app("legacy-test-app")
        exchange = next(a for a in directory.apps if a.app_id == EXCHANGE_APP_ID)
        exchange_sp = derived_id("first-party-sp", directory.tenant_id + EXCHANGE_APP_ID)
        hosting = f.rng.choice(f.hosting)
        spray_end = start + timedelta(hours=self.spray_hours)
        stages: list[Stage] = []

        # 1. low-and-slow spray: each account gets one attempt every 30-70 minutes
        pool = [u for u in directory.regular_users if not u.is_admin and u.kind == "member"]
        victims = [*f.rng.sample(pool, min(5, len(pool))), test]
        spray = Stage(
            self.name,
            "password-spray",
            "T1110.003",
            "Low-and-slow password spray from rotating residential proxies.",
        )
        for victim in victims:
            when = start + timedelta(minutes=f.rng.uniform(0, 40))
            while when < spray_end - timedelta(minutes=20):
                spray.activities.append(f.signin(victim, when, f.proxy(), error_code=50126))
                when += timedelta(minutes=f.rng.uniform(30, 70))
        spray.activities.sort(key=lambda a: a.time)
        stages.append(spray)

        # 2. the legacy test account, which has no MFA, falls
        t = spray_end
        stages.append(
            Stage(
                self.name,
                "valid-account",
                "T1078.004",
                "Single-factor success on the legacy test account.",
                [f.signin(test, t, f.proxy())],
            )
        )

        # 3. a new secret on the legacy OAuth app, then the app signs in from attacker hosting
        t += timedelta(minutes=25)
        key_id = f.guid()
        credential = f.audit(
            t,
            "Update application – Certificates and secrets management",
            "ApplicationManagement",
            "Update",
            [
                Target(
                    legacy.app_object_id,
                    legacy.display_name,
                    "Application",
                    None,
                    [
                        ModifiedProperty(
                            "KeyDescription",
                            f'["[KeyIdentifier={key_id},KeyType=Password,KeyUsage=Verify,'
                            f'DisplayName=backup]"]',
                            "[]",
                        ),
                        ModifiedProperty("Included Updated Properties", "KeyDescription"),
                    ],
                )
            ],
            user=test,
            ip=f.signin(test, t, f.proxy()).ip,
        )
        sp_signin = f.signin(
            None,
            t + timedelta(minutes=12),
            hosting,
            app=legacy,
            event_type="servicePrincipal",
            client_app="",
            credential_type="clientSecret",
            key_id=key_id,
            user_agent="",
            resource=directory.app("Microsoft Graph"),
        )
        stages.append(
            Stage(
                self.name,
                "app-credential",
                "T1098.001",
                "A client secret added to the legacy OAuth app, used from new infrastructure.",
                [credential, sp_signin],
            )
        )

        # 4. the legacy app creates new apps and their service principals
        t += timedelta(minutes=40)
        new_apps = [
            SimApp(f.guid(), name, f.guid(), f.guid(), False, (), "tenant")
            for name in ("MailSync Connector", "Compliance Scanner")
        ]
        creations: list[Activity] = []
        for i, app in enumerate(new_apps):
            when = t + timedelta(minutes=3 * i)
            creations.append(
                f.audit(
                    when,
                    "Add application",
                    "ApplicationManagement",
                    "Add",
                    [Target(app.app_object_id, app.display_name, "Application")],
                    app=legacy,
                )
            )
            creations.append(
                f.audit(
                    when + timedelta(seconds=20),
                    "Add service principal",
                    "ApplicationManagement",
                    "Add",
                    [
                        Target(
                            app.sp_object_id,
                            app.display_name,
                            "ServicePrincipal",
                            None,
                            [
                                ModifiedProperty("AppAddress", "[]"),
                                ModifiedProperty("AppPrincipalId", f'["{app.app_id}"]'),
                            ],
                        )
                    ],
                    app=legacy,
                )
            )
        stages.append(
            Stage(
                self.name,
                "new-apps",
                "T1136.003",
                "The compromised app registers new applications.",
                creations,
            )
        )

        # 5. a new user is created and consents to the new app
        t += timedelta(minutes=20)
        local = "svc-mailsync"
        new_user = SimUser(
            f.guid(),
            f"{local}@{directory.domain}",
            "MailSync Service",
            "IT",
            "Service account",
            "US",
            kind="member",
            mfa=False,
            puid=f"1003{f.rng.getrandbits(48):012X}",
        )
        add_user = f.audit(
            t,
            "Add user",
            "UserManagement",
            "Add",
            [
                Target(
                    new_user.object_id,
                    new_user.display_name,
                    "User",
                    new_user.upn,
                    [
                        ModifiedProperty("AccountEnabled", "[true]", "[]"),
                        ModifiedProperty("UserPrincipalName", f'["{new_user.upn}"]', "[]"),
                    ],
                )
            ],
            app=legacy,
        )
        new_user_signin = f.signin(new_user, t + timedelta(minutes=15), f.proxy())
        target_app = new_apps[0]
        consent = f.audit(
            t + timedelta(minutes=17),
            "Consent to application",
            "ApplicationManagement",
            "Assign",
            [
                Target(
                    target_app.sp_object_id,
                    target_app.display_name,
                    "ServicePrincipal",
                    None,
                    [
                        ModifiedProperty("ConsentContext.IsAdminConsent", "True"),
                        ModifiedProperty("ConsentContext.IsAppOnly", "False"),
                        ModifiedProperty("ConsentContext.OnBehalfOfAll", "True"),
                        ModifiedProperty(
                            "ConsentAction.Permissions",
                            f"[] => [[Id: {f.guid()}, ClientId: {target_app.sp_object_id}, "
                            f"PrincipalId: , ResourceId: {exchange_sp}, ConsentType: "
                            "AllPrincipals, "
                            "Scope: EWS.AccessAsUser.All Mail.Read, CreatedDateTime: , "
                            "LastModifiedDateTime ]]; ",
                        ),
                        ModifiedProperty("TargetId.ServicePrincipalNames", target_app.app_id),
                    ],
                )
            ],
            user=new_user,
            ip=new_user_signin.ip,
            additional={"AppId": target_app.app_id},
        )
        stages.append(
            Stage(
                self.name,
                "new-user-consent",
                "T1136.003",
                "A freshly created user signs in and consents to the new app.",
                [add_user, new_user_signin, consent],
            )
        )

        # 6. full_access_as_app on Exchange Online for the new app, granted by the legacy app
        t += timedelta(minutes=45)
        grant = f.audit(
            t,
            "Add app role assignment to service principal",
            "ApplicationManagement",
            "Assign",
            [
                Target(
                    exchange_sp,
                    exchange.display_name,
                    "ServicePrincipal",
                    None,
                    [
                        ModifiedProperty("AppRole.Id", FULL_ACCESS_AS_APP_ID),
                        ModifiedProperty("AppRole.Value", "full_access_as_app"),
                        ModifiedProperty(
                            "AppRole.DisplayName",
                            "Use Exchange Web Services with full access to all mailboxes",
                        ),
                        ModifiedProperty("ServicePrincipal.ObjectID", target_app.sp_object_id),
                        ModifiedProperty("ServicePrincipal.DisplayName", target_app.display_name),
                        ModifiedProperty("ServicePrincipal.AppId", target_app.app_id),
                        ModifiedProperty("TargetId.ServicePrincipalNames", EXCHANGE_APP_ID),
                    ],
                )
            ],
            app=legacy,
            additional={"AppId": legacy.app_id},
        )
        stages.append(
            Stage(
                self.name,
                "full-access-as-app",
                "T1098.003",
                "Exchange Online full_access_as_app granted to the new app.",
                [grant],
            )
        )

        # 7. the new app signs in and reads executives' mail over EWS
        t += timedelta(minutes=30)
        reads: list[Activity] = [
            f.signin(
                None,
                t,
                hosting,
                app=target_app,
                event_type="servicePrincipal",
                client_app="",
                credential_type="clientSecret",
                key_id=f.guid(),
                user_agent="",
                resource=exchange,
            )
        ]
        targets = directory.executives or directory.regular_users[:6]
        for i, owner in enumerate(targets):
            for j in range(2):
                when = t + timedelta(minutes=5 + 9 * i + 3 * j)
                reads.append(f.mail_read(when, owner, hosting, app=target_app))
        stages.append(
            Stage(
                self.name,
                "mail-collection",
                "T1114.002",
                "The new app reads executives' mailboxes over EWS.",
                reads,
            )
        )
        return stages


class MfaFatigue:
    """Push-notification bombing: a user's password is known; the attacker triggers MFA prompts
    until the user approves one."""

    name = "mfa-fatigue"

    def stages(self, directory: Directory, start: datetime, seed: int) -> list[Stage]:
        f = ActivityFactory(directory, random.Random(f"scenario:{self.name}:{seed}"))
        victim = f.rng.choice([u for u in directory.regular_users if u.kind == "member"])
        network = f.rng.choice(f.hosting)
        stage = Stage(
            self.name,
            "mfa-fatigue",
            "T1621",
            "Repeated MFA prompts denied or ignored, then one approved.",
        )
        when = start
        for _ in range(12):
            s = f.signin(victim, when, network, error_code=500121, mfa=True)
            s.mfa_detail = "MFA denied; user declined the authentication"
            stage.activities.append(s)
            when += timedelta(seconds=f.rng.uniform(30, 90))
        stage.activities.append(f.signin(victim, when, network, mfa=True))
        return [stage]


class ImpossibleTravel:
    """The same account signs in from Seattle, then from Seoul forty minutes later."""

    name = "impossible-travel"

    def stages(self, directory: Directory, start: datetime, seed: int) -> list[Stage]:
        f = ActivityFactory(directory, random.Random(f"scenario:{self.name}:{seed}"))
        victim = f.rng.choice(
            [u for u in directory.regular_users if u.country == "US"] or directory.regular_users
        )
        far = networks_of("residential", "KR")[0]
        stage = Stage(
            self.name,
            "impossible-travel",
            "T1078",
            "Successful sign-ins 8,000 km apart within an hour.",
        )
        stage.activities.append(
            f.signin(victim, start, office_network(victim), mfa=True, user_agent="")
        )
        stage.activities.append(f.signin(victim, start + timedelta(minutes=40), far, mfa=True))
        return [stage]
