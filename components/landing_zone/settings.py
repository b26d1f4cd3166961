"""Settings of the LandingZone (stack key `payments-platform:landingZone`): plain data, each
field with its secure default and its own format check. Rules that relate fields or entries
(references between OUs, accounts and assignments, the trail lifecycle, an endpoint that
matches its protocol, session lengths) and the environment's rules are in ``checks.py``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, ClassVar, Literal, TypeVar

from pydantic import Field, field_validator

from ..core.settings import SettingsModel, check_log_retention

_EMAIL = re.compile(r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$")
_KEY = re.compile(r"^[a-z][a-z0-9-]{0,30}$")
_ACCOUNT_NAME = re.compile(r"^[\w .,@'&+-]{1,50}$")
# IAM Identity Center accepts PT1H to PT12H (ISO 8601 duration, hours and minutes).
_SESSION = re.compile(r"^PT(?:(\d{1,2})H)?(?:(\d{1,3})M)?$")
_REGION = re.compile(r"^[a-z]{2}(-gov)?-[a-z]+-\d$")
_CONTROL_ARN = re.compile(r"^arn:aws[a-z-]*:(controltower|controlcatalog):[a-z0-9-]*::control/\S+$")
_GROUP_ID = re.compile(
    r"^([0-9a-f]{10}-)?[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
)
_RULE_ID = re.compile(r"^[A-Z0-9_]{3,128}$")
_Entries = TypeVar("_Entries", bound=Mapping[str, Any])

PermissionSetName = Literal[
    "PlatformAdmin",
    "Operator",
    "Developer",
    "DeveloperProd",
    "Auditor",
    "SecurityOperations",
    "BreakGlass",
]
#: What an assignment may ask for; `Developer` resolves to `DeveloperProd` (view only) on a
#: prod account so a developer never holds write access to the CDE (PCI DSS 7.2.2, 6.5.4).
RoleName = Literal[
    "PlatformAdmin", "Operator", "Developer", "Auditor", "SecurityOperations", "BreakGlass"
]
GuardDutyFeature = Literal[
    "S3_DATA_EVENTS",
    "EBS_MALWARE_PROTECTION",
    "RDS_LOGIN_EVENTS",
    "EKS_AUDIT_LOGS",
    "LAMBDA_NETWORK_LOGS",
    "RUNTIME_MONITORING",
]
Severity = Literal["INFORMATIONAL", "LOW", "MEDIUM", "HIGH", "CRITICAL"]
DEFAULT_GUARDDUTY_FEATURES: tuple[GuardDutyFeature, ...] = (
    "S3_DATA_EVENTS",
    "EBS_MALWARE_PROTECTION",
    "RDS_LOGIN_EVENTS",
    "RUNTIME_MONITORING",
)
DEFAULT_ALERT_SEVERITIES: tuple[Severity, ...] = ("CRITICAL", "HIGH")
InspectorResourceType = Literal["EC2", "ECR", "LAMBDA", "LAMBDA_CODE"]
DEFAULT_INSPECTOR_TYPES: tuple[InspectorResourceType, ...] = ("EC2", "ECR")
#: The routes of the security topic; a subscription may take only some (``alerts``).
AlertKind = Literal[
    "tampering", "root-activity", "guardduty", "securityhub", "inspector", "access-analyzer"
]
#: A role ARN pattern as IAM condition keys such as aws:PrincipalArn compare it.
_ROLE_PATTERN = re.compile(r"^arn:aws[a-z-]*:iam::(\d{12}|\*):role/[\w+=,.@/*-]+$")
#: SSM document names (CreateDocument: letters, digits, _ . -; 3-128 characters).
_DOCUMENT = re.compile(r"^[A-Za-z0-9_.-]{3,128}$")
#: CloudWatch Logs managed data identifier names (the part after data-identifier/).
_DATA_IDENTIFIER = re.compile(r"^[A-Za-z][A-Za-z0-9-]{1,127}$")


def validate_email(value: str) -> str:
    """``value`` if it is an email address AWS accepts (at most 64 characters)."""
    if not _EMAIL.match(value) or len(value) > 64:
        raise ValueError(f"{value!r} is not an email address like secops@example.com")
    return value


def session_hours(value: str) -> float:
    """The hours of an ISO 8601 duration in hours and minutes (``PT1H30M`` -> 1.5)."""
    match = _SESSION.match(value)
    if not match or not (match.group(1) or match.group(2)):
        raise ValueError(f"{value!r} is not an ISO 8601 duration like PT1H or PT8H")
    return int(match.group(1) or 0) + int(match.group(2) or 0) / 60


def _keys(value: _Entries, example: str) -> _Entries:
    """``value`` if its keys are lowercase words (they end logical names)."""
    bad = [k for k in value if not _KEY.match(k)]
    if bad:
        raise ValueError(
            f"keys {bad} must be lowercase letters, digits or '-' starting with a letter "
            f"(at most 31), like {example}"
        )
    return value


def _region_names(value: list[str]) -> list[str]:
    bad = [r for r in value if not _REGION.match(r)]
    if bad:
        raise ValueError(f"{bad} must be region names like ap-southeast-1")
    if not value:
        raise ValueError("list at least one region, like ap-southeast-1")
    return value


class OrganizationalUnit(SettingsModel):
    """One OU; nested under another OU of this map (by key) or the root."""

    name: str = Field(
        description="OU name shown in AWS Organizations.", min_length=1, max_length=128
    )
    parent: str | None = Field(
        default=None, description="Key of the parent OU in this map; empty for the root."
    )
    environment: Literal["prod", "nonprod", "shared"] = Field(
        default="prod",
        description=(
            "What the OU holds. `prod` accounts get only read-only Developer access; the "
            "default is the strictest."
        ),
    )


def default_ous() -> dict[str, OrganizationalUnit]:
    return {
        "security": OrganizationalUnit(name="Security", environment="shared"),
        "infrastructure": OrganizationalUnit(name="Infrastructure", environment="shared"),
        "workloads": OrganizationalUnit(name="Workloads", environment="shared"),
        "workloads-prod": OrganizationalUnit(name="Prod", parent="workloads", environment="prod"),
        "workloads-nonprod": OrganizationalUnit(
            name="NonProd", parent="workloads", environment="nonprod"
        ),
    }


class MemberAccount(SettingsModel):
    """A member account created in the organization (never closed by a destroy)."""

    name: str = Field(description="Account name (1-50 characters).")
    email: str = Field(description="Unique root email of the account (a team mailbox).")
    ou: str | None = Field(
        default=None, description="Key of the OU the account lives in (empty: the root)."
    )

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not _ACCOUNT_NAME.match(value):
            raise ValueError(f"{value!r} must be 1-50 letters, digits, spaces or .,@'&+-")
        return value

    @field_validator("email")
    @classmethod
    def _email(cls, value: str) -> str:
        return validate_email(value)


class ControlTowerControlSettings(SettingsModel):
    """A Control Tower control enabled on one OU."""

    control_identifier: str = Field(
        description=(
            "Control ARN, e.g. arn:aws:controlcatalog:::control/<id> or "
            "arn:aws:controltower:<region>::control/AWS-GR_..."
        )
    )
    ou: str = Field(description="Key of the OU the control applies to.")

    @field_validator("control_identifier")
    @classmethod
    def _arn(cls, value: str) -> str:
        if not _CONTROL_ARN.match(value):
            raise ValueError(
                f"{value!r} is not a control ARN like arn:aws:controlcatalog:::control/<id>"
            )
        return value


class ControlTowerSettings(SettingsModel):
    """The Control Tower landing zone (launch takes an hour or more)."""

    enabled: bool = Field(default=False, description="Launch the Control Tower landing zone.")
    version: str = Field(default="3.3", description="Landing zone version, e.g. 3.3.")
    governed_regions: list[str] = Field(
        default_factory=lambda: ["ap-southeast-1"], description="Regions Control Tower governs."
    )
    # AWS Organizations OU names: 1-128 characters
    security_ou_name: str = Field(
        default="Security",
        min_length=1,
        max_length=128,
        description="Name of the security OU Control Tower creates.",
    )
    sandbox_ou_name: str = Field(
        default="Sandbox",
        min_length=1,
        max_length=128,
        description="Name of the sandbox OU Control Tower creates.",
    )
    log_archive_account: str = Field(
        default="log-archive", description="Key (in accounts) of the log archive account."
    )
    audit_account: str = Field(
        default="audit", description="Key (in accounts) of the audit account."
    )
    log_retention_days: int = Field(
        default=365, ge=1, le=3650, description="Days Control Tower keeps the central logs."
    )
    controls: dict[str, ControlTowerControlSettings] = Field(
        default_factory=dict, description="Controls to enable, by a name of your choice."
    )

    @field_validator("version")
    @classmethod
    def _version(cls, value: str) -> str:
        if not re.match(r"^\d+\.\d+$", value):
            raise ValueError(f"{value!r} is not a landing zone version like 3.3")
        return value

    @field_validator("governed_regions")
    @classmethod
    def _regions(cls, value: list[str]) -> list[str]:
        return _region_names(value)


class ServiceControlPolicySettings(SettingsModel):
    """The guardrail SCPs attached to the workload OUs."""

    enabled: bool = Field(default=True, description="Create and attach the guardrail SCPs.")
    allowed_regions: list[str] = Field(
        default_factory=lambda: ["ap-southeast-1"],
        description=(
            "Regions workloads may use; every other region is denied (global services exempt)."
        ),
    )
    target_ous: list[str] = Field(
        default_factory=lambda: ["workloads-prod", "workloads-nonprod"],
        description="Keys of the OUs the SCPs are attached to.",
    )
    exempt_role_patterns: list[str] = Field(
        default_factory=lambda: ["arn:aws:iam::*:role/AWSControlTowerExecution"],
        description=(
            "Role ARN patterns exempt from the region and security-service guardrails (the "
            "Control Tower execution role, which must manage those services)."
        ),
    )
    break_glass_role_patterns: list[str] = Field(
        default_factory=lambda: [
            "arn:aws:iam::*:role/aws-reserved/sso.amazonaws.com/*AWSReservedSSO_BreakGlass_*"
        ],
        min_length=1,
        description=(
            "Role ARN patterns of the break-glass path: the only principals (with "
            "exemptRolePatterns) that may stop, delete or disable the audit trail, log groups, "
            "logs keys and detection services. Identity Center roles sit under "
            "aws-reserved/sso.amazonaws.com/<region>/ (no region in us-east-1), hence the `*` "
            "before AWSReservedSSO."
        ),
    )
    deploy_role_patterns: list[str] = Field(
        default_factory=lambda: ["arn:aws:iam::*:role/payments-platform-deployer"],
        min_length=1,
        description=(
            "Role ARN patterns of the stacks' deploy role: besides the break-glass path, the "
            "only principals that may change (not delete) trails, retention, log-bucket "
            "policies, key policies and detection settings, as every deploy must."
        ),
    )

    @field_validator("allowed_regions")
    @classmethod
    def _regions(cls, value: list[str]) -> list[str]:
        return _region_names(value)

    @field_validator("exempt_role_patterns", "break_glass_role_patterns", "deploy_role_patterns")
    @classmethod
    def _roles(cls, value: list[str]) -> list[str]:
        bad = [r for r in value if not _ROLE_PATTERN.match(r)]
        if bad:
            raise ValueError(
                f"{bad} must be role ARN patterns like arn:aws:iam::*:role/AWSControlTowerExecution"
            )
        return value


class AccountAssignmentSettings(SettingsModel):
    """One Identity Center group given a role on one account."""

    group_id: str | None = Field(default=None, description="Identity store group id.")
    group_name: str | None = Field(
        default=None,
        # Identity Store group DisplayName: 1-1024 characters
        min_length=1,
        max_length=1024,
        description="Identity store group display name (looked up at deploy).",
    )
    account: str = Field(description="Key (in accounts) of the target account.")
    role: RoleName = Field(
        description=(
            "PlatformAdmin, Operator, Developer (PowerUser; view only on prod accounts), "
            "Auditor, SecurityOperations (the only one that reads CDE logs) or BreakGlass."
        )
    )

    @field_validator("group_id")
    @classmethod
    def _group_id(cls, value: str | None) -> str | None:
        if value is not None and not _GROUP_ID.match(value):
            raise ValueError(
                f"{value!r} is not an identity store group id like "
                "0a1b2c3d4e-12345678-1234-1234-1234-123456789012"
            )
        return value


def default_sessions() -> dict[PermissionSetName, str]:
    return {
        "PlatformAdmin": "PT1H",
        "Operator": "PT4H",
        "Developer": "PT8H",
        "DeveloperProd": "PT8H",
        "Auditor": "PT8H",
        "SecurityOperations": "PT4H",
        "BreakGlass": "PT1H",
    }


#: SSM documents that run arbitrary commands or open arbitrary channels: never a "named"
#: operation an operator may run (PCI DSS 7.2.2).
ARBITRARY_COMMAND_DOCUMENTS = frozenset(
    {
        "AWS-RunShellScript",
        "AWS-RunPowerShellScript",
        "AWS-RunRemoteScript",
        "AWS-RunDocument",
        "AWS-StartInteractiveCommand",
        "AWS-StartNonInteractiveCommand",
        "AWS-StartPortForwardingSession",
        "AWS-StartPortForwardingSessionToRemoteHost",
        "AWS-StartSSHSession",
    }
)


class IdentityCenterSettings(SettingsModel):
    """IAM Identity Center permission sets and group assignments."""

    enabled: bool = Field(default=True, description="Manage permission sets (organization only).")
    session_durations: dict[PermissionSetName, str] = Field(
        default_factory=default_sessions,
        description="Session duration per permission set (ISO 8601, PT1H to PT12H).",
    )
    assignments: dict[str, AccountAssignmentSettings] = Field(
        default_factory=dict, description="Group-to-account assignments by a name of your choice."
    )
    operator_documents: list[str] = Field(
        default_factory=lambda: [
            "AWS-RunPatchBaseline",
            "AWS-UpdateSSMAgent",
            "AWS-GatherSoftwareInventory",
        ],
        description=(
            "SSM documents (by name) the Operator may run with SendCommand, on the tagged "
            "instances only; never one that runs arbitrary commands (AWS-RunShellScript)."
        ),
    )
    operator_instance_tags: dict[str, str] = Field(
        default_factory=lambda: {"component": "ha-app-tier"},
        min_length=1,
        description=(
            "Tags an instance must carry (all of them) for the Operator to start a session "
            "on it or run a named document on it."
        ),
    )

    @field_validator("operator_documents")
    @classmethod
    def _documents(cls, value: list[str]) -> list[str]:
        bad = [d for d in value if not _DOCUMENT.match(d)]
        if bad:
            raise ValueError(f"{bad} are not SSM document names like AWS-RunPatchBaseline")
        return value

    @field_validator("session_durations")
    @classmethod
    def _durations(cls, value: dict[PermissionSetName, str]) -> dict[PermissionSetName, str]:
        for name, duration in value.items():
            try:
                session_hours(duration)
            except ValueError as error:
                raise ValueError(f"{error} (the session of {name})") from None
        return value

    def all_session_durations(self) -> dict[PermissionSetName, str]:
        """The session duration of every permission set: the caller's, else the default."""
        return {**default_sessions(), **self.session_durations}


class LogArchiveSettings(SettingsModel):
    """The organization trail, delivering every account's events to a bucket of the
    log-archive account that no workload account can reach."""

    enabled: bool = Field(
        default=True,
        description=(
            "Create the organization trail and its bucket and key in the log-archive account "
            "(reached through member_account_provider: a provider assuming accessRoleName "
            "there)."
        ),
    )
    account: str = Field(
        default="log-archive", description="Key (in accounts) of the log-archive account."
    )
    access_role_name: str = Field(
        default="OrganizationAccountAccessRole",
        pattern=r"^[\w+=,.@-]{1,64}$",
        description=(
            "Role in the log-archive account the management stack assumes to build there "
            "(Organizations creates OrganizationAccountAccessRole in every account it creates)."
        ),
    )
    object_lock_days: int = Field(
        default=365,
        ge=1,
        le=36500,
        description="Object Lock (COMPLIANCE) retention of the archived trail objects (days).",
    )
    transition_days: int = Field(
        default=90, ge=30, description="Days before archived objects move to Glacier."
    )
    expiration_days: int = Field(
        default=2557, ge=1, description="Days before archived objects are deleted (7 years)."
    )


class OrganizationSettings(SettingsModel):
    """The organization part: only in a stack run in the management account."""

    enabled: bool = Field(
        default=False,
        description=(
            "Manage the organization (management-account stack only; off in workload stacks)."
        ),
    )
    organizational_units: dict[str, OrganizationalUnit] = Field(
        default_factory=default_ous,
        description="OUs by key; nested through `parent` (the key of another OU).",
    )
    accounts: dict[str, MemberAccount] = Field(
        default_factory=dict,
        description="Member accounts by key (e.g. log-archive, audit, prod, nonprod).",
    )
    service_control_policies: ServiceControlPolicySettings = Field(
        default_factory=ServiceControlPolicySettings, description="Guardrail SCPs."
    )
    control_tower: ControlTowerSettings = Field(
        default_factory=ControlTowerSettings, description="Control Tower landing zone and controls."
    )
    identity_center: IdentityCenterSettings = Field(
        default_factory=IdentityCenterSettings, description="Identity Center permission sets."
    )
    log_archive: LogArchiveSettings = Field(
        default_factory=LogArchiveSettings,
        description="Organization trail into the log-archive account.",
    )

    @field_validator("organizational_units")
    @classmethod
    def _ou_keys(cls, value: dict[str, OrganizationalUnit]) -> dict[str, OrganizationalUnit]:
        return _keys(value, "workloads-prod")

    @field_validator("accounts")
    @classmethod
    def _account_keys(cls, value: dict[str, MemberAccount]) -> dict[str, MemberAccount]:
        return _keys(value, "log-archive")

    def account_environment(self, key: str) -> str:
        """What account ``key`` holds: its OU's environment (`shared` at the root)."""
        ou = self.accounts[key].ou
        return self.organizational_units[ou].environment if ou else "shared"


class ObjectLockSettings(SettingsModel):
    """S3 Object Lock on the trail bucket (WORM log storage)."""

    enabled: bool = Field(
        default=True,
        description=(
            "Create the trail bucket with Object Lock (only at creation: turning it on or off "
            "for an existing bucket replaces the bucket)."
        ),
    )
    mode: Literal["GOVERNANCE", "COMPLIANCE"] = Field(
        default="COMPLIANCE",
        description=(
            "COMPLIANCE: nobody, not even root, can delete or shorten before retention ends "
            "(PCI DSS 10.3.2); GOVERNANCE: s3:BypassGovernanceRetention can."
        ),
    )
    retention_days: int = Field(
        default=365, ge=1, le=36500, description="Default retention (days)."
    )


class TrailSettings(SettingsModel):
    """The account CloudTrail, its bucket and its log group."""

    log_retention_days: int = Field(
        default=365, description="CloudWatch Logs retention of the trail (PCI DSS 10.5.1: >= 365)."
    )
    transition_days: int = Field(
        default=90,
        ge=30,
        description="Days before trail objects move to Glacier (PCI DSS 10.5.1: 3 months at hand).",
    )
    expiration_days: int = Field(
        default=2557, ge=1, description="Days before trail objects are deleted (default 7 years)."
    )
    access_log_expiration_days: int = Field(
        default=365, ge=1, description="Days to keep the S3 server access logs of the trail bucket."
    )
    object_lock: ObjectLockSettings = Field(
        default_factory=ObjectLockSettings, description="Object Lock of the trail bucket."
    )
    s3_data_events: bool = Field(
        default=True,
        description=(
            "Also record S3 object-level (data) events of every bucket of the account but the "
            "trail's own two (PCI DSS 10.2.1; extra cost)."
        ),
    )

    @field_validator("log_retention_days")
    @classmethod
    def _retention(cls, value: int) -> int:
        return check_log_retention(value)


class ConfigRecorderSettings(SettingsModel):
    """AWS Config recorder and the PCI DSS conformance pack."""

    manage_recorder: bool = Field(
        default=True,
        description=(
            "Create the recorder and delivery channel. Set false in an account enrolled in "
            "Control Tower, which records with its own recorder (AWS allows one per region)."
        ),
    )
    include_global_resources: bool = Field(
        default=True,
        description=(
            "Record global resources (IAM). Set true in one region only, or each region "
            "records them again."
        ),
    )
    conformance_pack: bool = Field(
        default=True, description="Deploy the Operational Best Practices for PCI DSS pack."
    )
    extra_rules: list[str] = Field(
        default_factory=list, description="Further AWS managed rule identifiers for the pack."
    )
    excluded_rules: list[str] = Field(
        default_factory=list, description="Rule identifiers to leave out of the pack."
    )

    @field_validator("extra_rules", "excluded_rules")
    @classmethod
    def _rule_ids(cls, value: list[str]) -> list[str]:
        bad = [r for r in value if not _RULE_ID.match(r)]
        if bad:
            raise ValueError(
                f"{bad} are not managed rule identifiers like S3_BUCKET_SSL_REQUESTS_ONLY"
            )
        return value


class GuardDutySettings(SettingsModel):
    """GuardDuty detector and its protection plans."""

    features: list[GuardDutyFeature] = Field(
        default_factory=lambda: list(DEFAULT_GUARDDUTY_FEATURES),
        description="Protection plans (detector feature names) to enable.",
    )
    min_alert_severity: float = Field(
        default=7.0,
        description="GuardDuty findings at or above this severity (1-10; 7 = High) alert security.",
    )
    runtime_agent_management: bool = Field(
        default=True,
        description=(
            "With RUNTIME_MONITORING: GuardDuty installs and updates its security agent on "
            "EC2 instances (EC2_AGENT_MANAGEMENT) through SSM, with a VPC endpoint it creates."
        ),
    )

    @field_validator("min_alert_severity")
    @classmethod
    def _severity(cls, value: float) -> float:
        if not 1 <= value <= 10:
            raise ValueError(f"{value} must be between 1 and 10 (7 = High)")
        return value


class SecurityHubSettings(SettingsModel):
    """Security Hub and the standards it checks."""

    pci_dss_version: Literal["4.0.1", "3.2.1"] | None = Field(
        default="4.0.1", description="PCI DSS standard version to subscribe (empty: none)."
    )
    foundational_best_practices: bool = Field(
        default=True, description="Subscribe AWS Foundational Security Best Practices v1.0.0."
    )
    alert_severities: list[Severity] = Field(
        default_factory=lambda: list(DEFAULT_ALERT_SEVERITIES),
        description="New, active findings of these severities alert the security topic.",
    )


class InspectorSettings(SettingsModel):
    """Amazon Inspector vulnerability scanning (PCI DSS 6.3.3, 11.3.1)."""

    enabled: bool = Field(default=True, description="Enable Amazon Inspector in the account.")
    resource_types: list[InspectorResourceType] = Field(
        default_factory=lambda: list(DEFAULT_INSPECTOR_TYPES),
        min_length=1,
        description="What Inspector scans: EC2 instances, ECR images, Lambda functions.",
    )
    alert_severities: list[Severity] = Field(
        default_factory=lambda: list(DEFAULT_ALERT_SEVERITIES),
        description="Active Inspector findings of these severities alert the security topic.",
    )


class AlertSettings(SettingsModel):
    """Alerts of the security topic beyond findings' own severities."""

    tampering: bool = Field(
        default=True,
        description=(
            "Alert on API calls that stop or weaken logging and detection (StopLogging, "
            "DeleteTrail, UpdateTrail, Config recorder stop/delete, DeleteDetector, "
            "DisableSecurityHub, ScheduleKeyDeletion, DisableKey, log-group deletion or "
            "retention change; PCI DSS 10.7.2)."
        ),
    )
    access_analyzer_findings: bool = Field(
        default=True,
        description="Alert on active IAM Access Analyzer findings (external access granted).",
    )


class SessionManagerSettings(SettingsModel):
    """The account's Session Manager preferences (SSM-SessionManagerRunShell)."""

    enabled: bool = Field(
        default=True,
        description=(
            "Manage the SSM-SessionManagerRunShell preferences document and its log group "
            "(an existing one, set in the console, is adopted with `pulumi import`)."
        ),
    )
    idle_timeout_minutes: int = Field(
        default=15,
        ge=1,
        le=15,
        description="Minutes an idle session stays open (PCI DSS 8.2.8: at most 15).",
    )
    max_session_minutes: int = Field(
        default=60, ge=1, le=1440, description="Longest a session may last (1-1440 minutes)."
    )
    log_retention_days: int = Field(
        default=365,
        description="Retention of the session log group (PCI DSS 10.5.1: >= 365 in prod).",
    )

    @field_validator("log_retention_days")
    @classmethod
    def _retention(cls, value: int) -> int:
        return check_log_retention(value)


class DataProtectionSettings(SettingsModel):
    """The account-level CloudWatch Logs data-protection policy (PCI DSS 3.3, 3.4)."""

    enabled: bool = Field(
        default=True,
        description=(
            "Mask card data in every log group of the account (account-level policy): only "
            "logs:Unmask shows it."
        ),
    )
    data_identifiers: list[str] = Field(
        default_factory=lambda: [
            "CreditCardNumber",
            "CreditCardExpiration",
            "CreditCardSecurityCode",
        ],
        min_length=1,
        description="CloudWatch Logs managed data identifiers to mask (names).",
    )

    @field_validator("data_identifiers")
    @classmethod
    def _identifiers(cls, value: list[str]) -> list[str]:
        bad = [d for d in value if not _DATA_IDENTIFIER.match(d)]
        if bad:
            raise ValueError(f"{bad} are not managed data identifier names like CreditCardNumber")
        return value


class Subscription(SettingsModel):
    """An SNS subscription."""

    protocol: Literal["email", "https"] = Field(description="email or https.")
    endpoint: str = Field(description="Email address or https:// URL.")
    alerts: list[AlertKind] | None = Field(
        default=None,
        description=(
            "Security topic only: the alerts this subscriber gets (e.g. a pager: tampering, "
            "root-activity); empty: all of them."
        ),
    )


class BudgetThreshold(SettingsModel):
    """A budget notification threshold."""

    percent: float = Field(description="Percent of the monthly limit (0 < percent <= 1000).")
    type: Literal["ACTUAL", "FORECASTED"] = Field(
        default="ACTUAL", description="ACTUAL or FORECASTED."
    )

    @field_validator("percent")
    @classmethod
    def _percent(cls, value: float) -> float:
        if not 0 < value <= 1000:
            raise ValueError(f"{value} must be above 0 and at most 1000")
        return value


class BudgetSettings(SettingsModel):
    """The monthly cost budget of the stack's account."""

    enabled: bool = Field(default=True, description="Create the monthly cost budget.")
    monthly_limit_usd: float = Field(default=5000, gt=0, description="Monthly limit in USD.")
    thresholds: list[BudgetThreshold] = Field(
        default_factory=lambda: [
            BudgetThreshold(percent=80, type="ACTUAL"),
            BudgetThreshold(percent=100, type="FORECASTED"),
        ],
        description="Notification thresholds; each notifies the alarm topic and the emails.",
    )
    emails: list[str] = Field(
        default_factory=list, description="Email addresses notified (AWS allows at most 10)."
    )

    @field_validator("emails")
    @classmethod
    def _emails(cls, value: list[str]) -> list[str]:
        for email in value:
            validate_email(email)
        if len(value) > 10:
            raise ValueError(f"{len(value)} addresses: AWS Budgets notifies at most 10")
        return value

    @field_validator("thresholds")
    @classmethod
    def _thresholds(cls, value: list[BudgetThreshold]) -> list[BudgetThreshold]:
        if len(value) > 5:
            raise ValueError(
                f"{len(value)} thresholds: AWS Budgets allows at most 5 notifications per budget"
            )
        return value


class PasswordPolicySettings(SettingsModel):
    """IAM account password policy (for any IAM user; people sign in through Identity Center)."""

    minimum_length: int = Field(default=14, description="Minimum length (PCI DSS 8.3.6: >= 12).")
    reuse_prevention: int = Field(
        default=24, description="Previous passwords that cannot be reused (PCI DSS 8.3.7: >= 4)."
    )
    max_age_days: int = Field(
        default=90, description="Days before a password expires (PCI DSS 8.3.9: <= 90)."
    )

    @field_validator("minimum_length")
    @classmethod
    def _length(cls, value: int) -> int:
        if not 12 <= value <= 128:
            raise ValueError(f"{value} must be 12-128 (PCI DSS 8.3.6 requires >= 12)")
        return value

    @field_validator("reuse_prevention")
    @classmethod
    def _reuse(cls, value: int) -> int:
        if not 4 <= value <= 24:
            raise ValueError(f"{value} must be 4-24 (PCI DSS 8.3.7: last 4 at least)")
        return value

    @field_validator("max_age_days")
    @classmethod
    def _age(cls, value: int) -> int:
        if not 1 <= value <= 90:
            raise ValueError(f"{value} must be 1-90 (PCI DSS 8.3.9)")
        return value


class NotificationSettings(SettingsModel):
    """Who hears about alarms and security findings."""

    alarm_subscriptions: dict[str, Subscription] = Field(
        default_factory=dict, description="Subscriptions of the alarm topic, by name."
    )
    security_subscriptions: dict[str, Subscription] = Field(
        default_factory=dict, description="Subscriptions of the security findings topic, by name."
    )

    @field_validator("alarm_subscriptions", "security_subscriptions")
    @classmethod
    def _names(cls, value: dict[str, Subscription]) -> dict[str, Subscription]:
        return _keys(value, "on-call")


class LandingZoneSettings(SettingsModel):
    """Settings of the LandingZone (stack key `payments-platform:landingZone`)."""

    #: nonprod: 90 days of trail logs (30 at hand) in a bucket without Object Lock (turning it
    #: on replaces the bucket; GOVERNANCE if asked for), no S3 data events, GuardDuty S3
    #: protection only, no PCI DSS standard and no card-data masking (nonprod holds no card
    #: data), 90-day session logs, a smaller budget
    NONPROD_DEFAULTS: ClassVar[Mapping[str, Any]] = {
        "trail": {
            "log_retention_days": 90,
            "transition_days": 30,
            "expiration_days": 365,
            "s3_data_events": False,
            "object_lock": {"enabled": False, "mode": "GOVERNANCE"},
        },
        "guard_duty": {"features": ["S3_DATA_EVENTS"]},
        "security_hub": {"pci_dss_version": None},
        "session_manager": {"log_retention_days": 90},
        "data_protection": {"enabled": False},
        "budget": {"monthly_limit_usd": 1500},
    }

    organization: OrganizationSettings = Field(
        default_factory=OrganizationSettings, description="Organization part (management account)."
    )
    trail: TrailSettings = Field(default_factory=TrailSettings, description="CloudTrail.")
    aws_config: ConfigRecorderSettings = Field(
        default_factory=ConfigRecorderSettings, description="AWS Config.", alias="awsConfig"
    )
    guard_duty: GuardDutySettings = Field(
        default_factory=GuardDutySettings, description="GuardDuty."
    )
    security_hub: SecurityHubSettings = Field(
        default_factory=SecurityHubSettings, description="Security Hub."
    )
    password_policy: PasswordPolicySettings = Field(
        default_factory=PasswordPolicySettings, description="IAM password policy."
    )
    notifications: NotificationSettings = Field(
        default_factory=NotificationSettings, description="Alarm and security subscriptions."
    )
    budget: BudgetSettings = Field(default_factory=BudgetSettings, description="Monthly budget.")
    inspector: InspectorSettings = Field(
        default_factory=InspectorSettings, description="Amazon Inspector."
    )
    alerts: AlertSettings = Field(
        default_factory=AlertSettings, description="Tampering and Access Analyzer alerts."
    )
    session_manager: SessionManagerSettings = Field(
        default_factory=SessionManagerSettings, description="Session Manager preferences."
    )
    data_protection: DataProtectionSettings = Field(
        default_factory=DataProtectionSettings,
        description="CloudWatch Logs data-protection policy (card numbers masked).",
    )
    support_role: bool = Field(
        default=True,
        description=(
            "Create a role with AWSSupportAccess that the account's principals may assume "
            "(Security Hub IAM.18)."
        ),
    )
