"""Every rule of a LandingZone, as pure functions returning problems.

Called by :class:`~components.landing_zone.LandingZone` before it registers anything, and
by a stack loader gathering the checks of a whole stack. Each rule is written once, here;
``settings.py`` keeps only the format of each field.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from ..core.environment import PCI_RETENTION, EnvRule, broken_rules, one
from ..core.problems import Problem, at
from ..core.problems import check_name as core_check_name
from ..core.settings import StackContext
from .organization import (
    GLOBAL_EVENTS_REGION,
    SCP_MAX_CHARS,
    render_scp,
    service_control_policies,
)
from .settings import (
    ARBITRARY_COMMAND_DOCUMENTS,
    IdentityCenterSettings,
    LandingZoneSettings,
    OrganizationSettings,
    PermissionSetName,
    Subscription,
    TrailSettings,
    session_hours,
    validate_email,
)

#: A LandingZone's name starts its trail, recorder, conformance pack and analyzer names;
#: a conformance pack name must start with a letter (AWS Config).
NAME = re.compile(r"^[a-z][a-z0-9-]{0,31}$")

#: AWS Organizations nests OUs at most 5 levels below the root.
MAX_OU_DEPTH = 5

#: IAM Identity Center accepts sessions of 1 to 12 hours.
SESSION_HOURS = (1, 12)
#: Permission sets with administrator rights: a stolen session must soon expire.
ADMIN_PERMISSION_SETS: tuple[PermissionSetName, ...] = ("PlatformAdmin", "BreakGlass")

_HTTPS_URL = re.compile(r"^https://[^\s/]+(/\S*)?$")

PROD_RULES: tuple[EnvRule[LandingZoneSettings], ...] = (
    one(
        "trail.log_retention_days",
        f"prod keeps trail logs >= 365 days {PCI_RETENTION}",
        lambda s: s.trail.log_retention_days >= 365,
    ),
    one(
        "trail.expiration_days",
        f"prod keeps trail objects >= 365 days {PCI_RETENTION}",
        lambda s: s.trail.expiration_days >= 365,
    ),
    one(
        "trail.transition_days",
        "prod keeps 3 months of trail logs immediately available (PCI DSS 10.5.1)",
        lambda s: s.trail.transition_days >= 90,
    ),
    one(
        "security_hub.pci_dss_version",
        "prod subscribes the Security Hub PCI DSS standard",
        lambda s: s.security_hub.pci_dss_version is not None,
    ),
    one(
        "guard_duty.features",
        "prod enables GuardDuty S3 and EBS malware protection and Runtime Monitoring (PCI DSS "
        "5.2, 11.5.1)",
        lambda s: (
            {"S3_DATA_EVENTS", "EBS_MALWARE_PROTECTION", "RUNTIME_MONITORING"}
            <= set(s.guard_duty.features)
        ),
    ),
    one(
        "trail.object_lock",
        "prod keeps trail objects under S3 Object Lock in COMPLIANCE mode, which nobody can "
        "shorten or lift (PCI DSS 10.3.2); a management landing zone may leave that to its "
        "organization trail's log-archive bucket (organization.log_archive)",
        lambda s: (
            (s.trail.object_lock.enabled and s.trail.object_lock.mode == "COMPLIANCE")
            or (s.organization.enabled and s.organization.log_archive.enabled)
        ),
    ),
    one(
        "trail.s3_data_events",
        "prod records S3 object-level (data) events (PCI DSS 10.2.1)",
        lambda s: s.trail.s3_data_events,
    ),
    one(
        "inspector.enabled",
        "prod scans EC2 instances and ECR images with Amazon Inspector (PCI DSS 6.3.3, 11.3.1)",
        lambda s: s.inspector.enabled and {"EC2", "ECR"} <= set(s.inspector.resource_types),
    ),
    one(
        "alerts.tampering",
        "prod alerts on API calls that stop or weaken logging and detection (PCI DSS 10.7.2)",
        lambda s: s.alerts.tampering,
    ),
    one(
        "session_manager.enabled",
        "prod sets Session Manager preferences: idle timeout and encrypted session logs (PCI "
        "DSS 8.2.8, 10.2.1)",
        lambda s: s.session_manager.enabled,
    ),
    one(
        "session_manager.log_retention_days",
        f"prod keeps session logs >= 365 days {PCI_RETENTION}",
        lambda s: s.session_manager.log_retention_days >= 365,
    ),
    one(
        "data_protection.enabled",
        "prod masks card numbers in its log groups (PCI DSS 3.3, 3.4.1)",
        lambda s: s.data_protection.enabled,
    ),
    one(
        "support_role",
        "prod keeps a role for AWS Support incidents (Security Hub IAM.18, PCI DSS 12.10)",
        lambda s: s.support_role,
    ),
    one(
        "aws_config.conformance_pack",
        "prod runs the PCI DSS conformance pack",
        lambda s: bool(s.aws_config.conformance_pack),
    ),
    one(
        "notifications.security_subscriptions",
        "prod routes security findings to at least one subscriber (PCI DSS 10.7, 12.10)",
        lambda s: len(s.notifications.security_subscriptions) >= 1,
    ),
)

_ORG = ("organization",)
_OUS = (*_ORG, "organizational_units")
_ACCOUNTS = (*_ORG, "accounts")
_CONTROL_TOWER = (*_ORG, "control_tower")
_IDENTITY_CENTER = (*_ORG, "identity_center")


def check_name(name: str) -> list[Problem]:
    return core_check_name(
        name,
        NAME.match,
        "must be 1-32 lowercase letters, digits or '-' starting with a letter (it starts the "
        "trail, Config recorder, conformance pack and analyzer names)",
    )


# --- organization ---------------------------------------------------------------------------


def check_ou_tree(org: OrganizationSettings) -> list[Problem]:
    """Every OU's parent is an OU of the map; the tree has no cycle and at most 5 levels."""
    ous = org.organizational_units
    problems: list[Problem] = []
    for key, ou in ous.items():
        if ou.parent is not None and ou.parent not in ous:
            problems.append(
                Problem(
                    at(*_OUS, key, "parent"),
                    f"{ou.parent!r} is not an OU key; use one of {sorted(ous)} or leave it "
                    "empty for the root",
                )
            )
            continue
        chain = [key]
        parent = ou.parent
        while parent is not None and parent in ous and parent not in chain:
            chain.append(parent)
            parent = ous[parent].parent
        if parent == key:  # back where we started: this OU is on a cycle
            problems.append(
                Problem(
                    at(*_OUS, key, "parent"),
                    f"the OU tree has a cycle ({' -> '.join([*chain, key])}); one of these OUs "
                    "must hang from the root (no parent)",
                )
            )
        elif parent is None and len(chain) > MAX_OU_DEPTH:
            problems.append(
                Problem(
                    at(*_OUS, key, "parent"),
                    f"the OU is {len(chain)} levels deep ({' <- '.join(chain)}); AWS "
                    f"Organizations allows at most {MAX_OU_DEPTH}",
                )
            )
    return problems


def check_accounts(org: OrganizationSettings) -> list[Problem]:
    """Every account lives in a declared OU and has an email no other account has."""
    ous = org.organizational_units
    problems: list[Problem] = []
    owners: dict[str, str] = {}
    for key, account in org.accounts.items():
        if account.ou is not None and account.ou not in ous:
            problems.append(
                Problem(
                    at(*_ACCOUNTS, key, "ou"),
                    f"{account.ou!r} is not an OU key; use one of {sorted(ous)} or leave it "
                    "empty for the root",
                )
            )
        email = account.email.lower()
        if email in owners:
            problems.append(
                Problem(
                    at(*_ACCOUNTS, key, "email"),
                    f"{account.email} is already the email of account {owners[email]!r}; AWS "
                    "requires every account's root email to be unique",
                )
            )
        owners.setdefault(email, key)
    return problems


def check_scp_targets(org: OrganizationSettings) -> list[Problem]:
    ous = org.organizational_units
    return [
        Problem(
            at(*_ORG, "service_control_policies", "target_ous", index),
            f"{ou!r} is not an OU key; use one of {sorted(ous)}",
        )
        for index, ou in enumerate(org.service_control_policies.target_ous)
        if ou not in ous
    ]


def check_control_tower(org: OrganizationSettings) -> list[Problem]:
    """Control Tower's shared accounts exist, its own OU names are free, controls' OUs exist."""
    ct = org.control_tower
    ous = org.organizational_units
    problems: list[Problem] = []
    if ct.enabled:
        for field, key in (
            ("log_archive_account", ct.log_archive_account),
            ("audit_account", ct.audit_account),
        ):
            if key not in org.accounts:
                problems.append(
                    Problem(
                        at(*_CONTROL_TOWER, field),
                        f"{key!r} is not in `organization.accounts`; Control Tower needs the "
                        f"shared accounts created first: declare it there or use one of "
                        f"{sorted(org.accounts)}",
                    )
                )
        top_level = {ou.name for ou in ous.values() if ou.parent is None}
        for field, ou_name in (
            ("security_ou_name", ct.security_ou_name),
            ("sandbox_ou_name", ct.sandbox_ou_name),
        ):
            if ou_name in top_level:
                problems.append(
                    Problem(
                        at(*_CONTROL_TOWER, field),
                        f"Control Tower creates the {ou_name!r} OU itself; remove it from "
                        "`organization.organizational_units` or pick another name",
                    )
                )
    for name, control in ct.controls.items():
        if control.ou not in ous:
            problems.append(
                Problem(
                    at(*_CONTROL_TOWER, "controls", name, "ou"),
                    f"{control.ou!r} is not an OU key; use one of {sorted(ous)}",
                )
            )
    return problems


def check_identity_center(org: OrganizationSettings) -> list[Problem]:
    """Sessions within what Identity Center accepts (admin ones short); every assignment
    names one group and a declared account."""
    ic: IdentityCenterSettings = org.identity_center
    problems: list[Problem] = []
    low, high = SESSION_HOURS
    for permission_set, duration in ic.session_durations.items():
        key = at(*_IDENTITY_CENTER, "session_durations", permission_set)
        hours = session_hours(duration)
        if not low <= hours <= high:
            problems.append(
                Problem(
                    key,
                    f"{duration} is outside PT{low}H..PT{high}H, the range IAM Identity "
                    "Center accepts",
                )
            )
        elif permission_set in ADMIN_PERMISSION_SETS and hours > 1:
            problems.append(
                Problem(
                    key,
                    f"{duration} is too long: admin sessions last at most PT1H, so a stolen "
                    "privileged session soon expires",
                )
            )
    for name, assignment in ic.assignments.items():
        entry = (*_IDENTITY_CENTER, "assignments", name)
        if (assignment.group_id is None) == (assignment.group_name is None):
            path = ".".join(entry)
            problems.append(
                Problem(
                    at(*entry),
                    f"name the group by exactly one of `{path}.group_id` (the identity store "
                    f"id) or `{path}.group_name` (its display name, looked up at deploy)",
                )
            )
        if assignment.account not in org.accounts:
            problems.append(
                Problem(
                    at(*entry, "account"),
                    f"{assignment.account!r} is not in `organization.accounts`; use one of "
                    f"{sorted(org.accounts)}",
                )
            )
    return problems


def check_identity_center_instance(instance_arns: Sequence[str], region: str) -> list[Problem]:
    """IAM Identity Center is enabled where the permission sets go. Known only at deploy:
    ListInstances answers an empty list in an account (or a region) without it, and every
    permission set and assignment needs its instance (IAM Identity Center User Guide,
    "Enable IAM Identity Center"; API reference, ListInstances)."""
    if instance_arns:
        return []
    return [
        Problem(
            at(*_IDENTITY_CENTER, "enabled"),
            f"IAM Identity Center is not enabled in {region} of this account (ListInstances "
            "found no instance), and the permission sets and assignments need it: enable IAM "
            f"Identity Center for the organization in the management account, in {region}, "
            "then deploy again; or set `organization.identity_center.enabled` to false "
            "(organization.identityCenter.enabled in a stack file) to leave them out",
        )
    ]


def check_operator_documents(org: OrganizationSettings) -> list[Problem]:
    """The Operator runs named operations, never a document that runs any command."""
    return [
        Problem(
            at(*_IDENTITY_CENTER, "operator_documents", index),
            f"{document} runs whatever command it is given, so it names no operation; list "
            "the documents of the operations operators run (AWS-RunPatchBaseline, or a "
            "document of your own) (PCI DSS 7.2.2)",
        )
        for index, document in enumerate(org.identity_center.operator_documents)
        if document in ARBITRARY_COMMAND_DOCUMENTS
    ]


def check_log_archive(org: OrganizationSettings) -> list[Problem]:
    """The organization trail has its account and no twin, and its lifecycle fits its lock."""
    archive = org.log_archive
    if not (org.enabled and archive.enabled):
        return []
    key = (*_ORG, "log_archive")
    problems: list[Problem] = []
    if archive.account not in org.accounts:
        problems.append(
            Problem(
                at(*key, "account"),
                f"{archive.account!r} is not in `organization.accounts`; the organization trail "
                f"delivers to a bucket there: use one of {sorted(org.accounts)}",
            )
        )
    if org.control_tower.enabled:
        problems.append(
            Problem(
                at(*key, "enabled"),
                "Control Tower's centralized logging already creates an organization trail "
                "into the log-archive account; set `organization.log_archive.enabled` to false "
                "(organization.logArchive.enabled in a stack file) or leave Control Tower off",
            )
        )
    if archive.expiration_days <= archive.transition_days:
        problems.append(
            Problem(
                at(*key, "expiration_days"),
                f"{archive.expiration_days} days must be more than "
                f"`organization.log_archive.transition_days` ({archive.transition_days})",
            )
        )
    if archive.expiration_days < archive.object_lock_days:
        problems.append(
            Problem(
                at(*key, "expiration_days"),
                f"{archive.expiration_days} days is shorter than "
                f"`organization.log_archive.object_lock_days` ({archive.object_lock_days}), "
                "and S3 cannot expire locked objects; make it at least as long",
            )
        )
    return problems


#: The argument of the LandingZone that builds providers of member accounts.
MEMBER_ACCOUNT_PROVIDER = "member_account_provider"


def check_member_account_provider(settings: LandingZoneSettings, given: bool) -> list[Problem]:
    """A landing zone that builds in the log-archive account is given the way to reach it:
    the management account's own provider cannot create resources of another account."""
    org = settings.organization
    if given or not (org.enabled and org.log_archive.enabled):
        return []
    return [
        Problem(
            (MEMBER_ACCOUNT_PROVIDER,),
            "the organization trail's bucket and key are built in the log-archive account, "
            "which this landing zone reaches only through a provider assuming "
            f"{org.log_archive.access_role_name} there: pass member_account_provider (a "
            "function of (account key, account id) returning that provider), or set "
            "`organization.log_archive.enabled` to false",
        )
    ]


def check_scp_sizes(org: OrganizationSettings) -> list[Problem]:
    """Every guardrail SCP fits the size AWS Organizations accepts."""
    if not org.enabled:
        return []
    problems: list[Problem] = []
    for policy, document in service_control_policies(org.service_control_policies).items():
        size = len(render_scp(document))
        if size > SCP_MAX_CHARS:
            problems.append(
                Problem(
                    at(*_ORG, "service_control_policies"),
                    f"the {policy} SCP is {size} characters, over the {SCP_MAX_CHARS} AWS "
                    "allows; shorten `organization.service_control_policies.allowed_regions` "
                    "or `organization.service_control_policies.exempt_role_patterns`",
                )
            )
    return problems


def check_organization(org: OrganizationSettings) -> list[Problem]:
    return (
        check_ou_tree(org)
        + check_accounts(org)
        + check_scp_targets(org)
        + check_control_tower(org)
        + check_identity_center(org)
        + check_operator_documents(org)
        + check_log_archive(org)
        + check_scp_sizes(org)
    )


# --- account baseline -----------------------------------------------------------------------


def check_trail(trail: TrailSettings) -> list[Problem]:
    """Objects move to Glacier before they expire, and expire only once unlocked."""
    problems: list[Problem] = []
    if trail.expiration_days <= trail.transition_days:
        problems.append(
            Problem(
                at("trail", "expiration_days"),
                f"{trail.expiration_days} days must be more than `trail.transition_days` "
                f"({trail.transition_days}), or objects expire before they reach Glacier; "
                "raise it or lower `trail.transition_days`",
            )
        )
    lock = trail.object_lock
    if lock.enabled and trail.expiration_days < lock.retention_days:
        problems.append(
            Problem(
                at("trail", "expiration_days"),
                f"{trail.expiration_days} days is shorter than "
                f"`trail.object_lock.retention_days` ({lock.retention_days}), and S3 cannot "
                "expire locked objects; make it at least as long",
            )
        )
    return problems


def check_subscriptions(field: str, subscriptions: Mapping[str, Subscription]) -> list[Problem]:
    """Each endpoint is what its protocol delivers to: an email address or an https URL;
    only the security topic's subscriptions choose alerts."""
    problems: list[Problem] = []
    for name, subscription in subscriptions.items():
        if subscription.alerts is not None and field != "security_subscriptions":
            problems.append(
                Problem(
                    at("notifications", field, name, "alerts"),
                    "only security subscriptions choose alerts (the alarm topic carries "
                    "CloudWatch alarms); remove it or move the subscription to "
                    "`notifications.security_subscriptions`",
                )
            )
        key = at("notifications", field, name, "endpoint")
        if subscription.protocol == "email":
            try:
                validate_email(subscription.endpoint)
            except ValueError as error:
                problems.append(Problem(key, f"{error} (the protocol is email)"))
        elif not _HTTPS_URL.match(subscription.endpoint):
            problems.append(
                Problem(
                    key,
                    f"{subscription.endpoint!r} is not an https:// URL (the protocol is "
                    "https; SNS delivers to https endpoints only over TLS, PCI DSS 4.2.1)",
                )
            )
    return problems


def check_budget(settings: LandingZoneSettings) -> list[Problem]:
    """Each (percent, type) threshold once: AWS Budgets rejects a repeated notification."""
    seen: set[tuple[float, str]] = set()
    problems: list[Problem] = []
    for index, threshold in enumerate(settings.budget.thresholds):
        pair = (threshold.percent, threshold.type)
        if pair in seen:
            problems.append(
                Problem(
                    at("budget", "thresholds", index),
                    f"{threshold.percent:g}% {threshold.type} is already a threshold; give "
                    "each (percent, type) once",
                )
            )
        seen.add(pair)
    return problems


#: The argument of the LandingZone that takes the provider in us-east-1.
US_EAST_1_PROVIDER = "us_east_1_provider"


def check_global_events_route(
    home_region: str, home_account: str, forwarder: tuple[str, str] | None
) -> list[Problem]:
    """The root-activity alert sees global services' events. Known only at deploy (the
    providers' region and account): EventBridge receives a root console sign-in and IAM and
    STS calls only in us-east-1 (CloudTrail User Guide, "AWS Management Console sign-in
    events"; EventBridge User Guide, "AWS service events delivered via AWS CloudTrail"), so
    a landing zone elsewhere needs ``us_east_1_provider``, (region, account) ``forwarder``,
    in us-east-1 and in its own account; one in us-east-1 needs none."""
    key = (US_EAST_1_PROVIDER,)
    there = GLOBAL_EVENTS_REGION
    if forwarder is None:
        if home_region == there:
            return []
        return [
            Problem(
                key,
                f"the landing zone runs in {home_region}, but EventBridge receives root "
                f"console sign-ins and IAM/STS calls only in {there}, so its root-activity "
                f"alert would never see them: pass a provider of this account in {there} "
                f"(aws.Provider with region {there} and the same credentials, allowed "
                f"account and role), and the landing zone forwards them to {home_region}",
            )
        ]
    region, account = forwarder
    problems: list[Problem] = []
    if home_region == there:
        problems.append(
            Problem(
                key,
                f"the landing zone runs in {there} already, where its root-activity rule "
                "sees global services' events; leave the argument out (a rule forwarding to "
                "its own bus would loop)",
            )
        )
    elif region != there:
        problems.append(
            Problem(
                key,
                f"the provider is in {region}; give one in {there}, where EventBridge "
                "receives global services' events",
            )
        )
    if account != home_account:
        problems.append(
            Problem(
                key,
                f"the provider reaches account {account}, the landing zone runs in "
                f"{home_account}: give it the same account (allowed account ids, role)",
            )
        )
    return problems


def check_settings(settings: LandingZoneSettings) -> list[Problem]:
    """Rules between fields and entries of the settings."""
    notifications = settings.notifications
    return (
        check_organization(settings.organization)
        + check_trail(settings.trail)
        + check_subscriptions("alarm_subscriptions", notifications.alarm_subscriptions)
        + check_subscriptions("security_subscriptions", notifications.security_subscriptions)
        + check_budget(settings)
    )


def check(name: str, settings: LandingZoneSettings, *, context: StackContext) -> list[Problem]:
    """Every problem of a landing zone. ``settings`` are the environment's
    (``settings.for_environment(...)``)."""
    problems = check_name(name) + check_settings(settings)
    if context.is_prod:
        problems += broken_rules(PROD_RULES, settings)
    return problems
