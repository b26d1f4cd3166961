"""The stack's settings: one pydantic model of every `payments-platform:*` config key.

The platform's stack layer, beside `__main__.py` (not part of the reusable package): each
section is a component's own settings model, given the environment's defaults by the
component's own table. Bad config fails here, before any resource is registered, with one
line per problem that names the key (`payments-platform:network.vpcCidr`) and says what to
change; the loader (`stacks.loader`) then runs every component's own checks.
"""

from __future__ import annotations

import difflib
import ipaddress
import json
import re
from collections.abc import Iterator, Mapping
from typing import Any, Literal

from pydantic import Field, ValidationError, field_validator, model_validator

from components import (
    ComponentConfigError,
    HaAppTierSettings,
    HybridConnectivitySettings,
    LandingZoneSettings,
    ManagedDataTierSettings,
    SecureVpcSettings,
    SettingsModel,
    StackContext,
)
from components.core.problems import settings_path
from components.core.settings import (
    MAX_EXTRA_TAGS,
    DataClassification,
    Environment,
    TagKey,
    TagValue,
    check_extra_tags,
    check_organization_id,
)
from components.secure_vpc.plan import REGION_AZ_LETTERS

NAMESPACE = "payments-platform"
DEFAULT_REGION = "ap-southeast-1"
#: Regions whose AZ letters (and ELB log delivery, catalogue) this platform knows.
SUPPORTED_REGIONS = tuple(sorted(REGION_AZ_LETTERS))
_ARN_ACCOUNT = re.compile(r"^arn:aws[a-z-]*:[a-z0-9-]+:[a-z0-9-]*:(\d{12}):")
#: Settings that may name other accounts: guardrail patterns apply to every account.
_OTHER_ACCOUNTS_ALLOWED = ("landing_zone.organization.service_control_policies",)


class ConfigError(ComponentConfigError):
    """Invalid stack configuration; ``problems`` has one line per bad key."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("stack configuration", problems)


class AccountSettings(SettingsModel):
    """The AWS account a stack deploys into (its own: prod and nonprod share nothing)."""

    id: str = Field(description="12-digit account id; the provider refuses any other account.")
    deploy_role_arn: str | None = Field(
        default=None,
        description=(
            "IAM role in that account the provider assumes (e.g. from a CI account); "
            "default: the caller's own credentials."
        ),
    )

    @field_validator("id")
    @classmethod
    def _account_id(cls, value: str) -> str:
        if not re.fullmatch(r"\d{12}", value):
            raise ValueError(f"{value!r} is not a 12-digit AWS account id (quote it in YAML)")
        return value

    @model_validator(mode="after")
    def _role_in_account(self) -> AccountSettings:
        role = self.deploy_role_arn
        if role is not None and not re.fullmatch(
            rf"arn:aws[a-z-]*:iam::{self.id}:role/[\w+=,.@/-]+", role
        ):
            raise ValueError(
                f"deployRoleArn {role!r} must be an IAM role ARN in account {self.id} "
                f"(arn:aws:iam::{self.id}:role/<name>)"
            )
        return self


class StackSettings(SettingsModel):
    """Everything a stack file may hold under the `payments-platform:` namespace."""

    environment: Environment = Field(
        description="`prod` or `nonprod`: picks the defaults and the rules the stack must keep."
    )
    stack_role: Literal["workload", "management"] = Field(
        default="workload",
        description=(
            "`workload` (prod, nonprod: the platform) or `management`: run once in the "
            "organization's management account, it builds only the LandingZone with its "
            "organization part (OUs, accounts, SCPs, Identity Center, Control Tower)."
        ),
    )
    region: str = Field(
        default=DEFAULT_REGION,
        description="Read from `aws:region` (not from this namespace); default ap-southeast-1.",
    )
    owner: TagValue = Field(
        default="platform-team", min_length=1, description="Tag `owner` (AWS tag rules)."
    )
    data_classification: DataClassification = Field(
        default="cde",
        description=(
            "Tag `data-classification`: cde, connected or out-of-scope (nonprod default "
            "out-of-scope: it holds no card data, and may not say cde)."
        ),
    )
    extra_tags: dict[TagKey, TagValue] = Field(
        default_factory=dict,
        description=(
            "Tags added to every taggable resource: AWS tag rules (no `aws:` prefix), "
            f"at most {MAX_EXTRA_TAGS}."
        ),
    )
    administrators: list[str] = Field(
        default_factory=list,
        description=(
            "IAM principal ARN patterns that administer the stack's keys and audit logging "
            "besides account.deployRoleArn (which always does): typically the break-glass "
            "role, `arn:aws:iam::<account>:role/aws-reserved/sso.amazonaws.com/*/"
            "AWSReservedSSO_BreakGlass_*`."
        ),
    )
    account: AccountSettings | None = Field(
        default=None,
        description="Target account (id, optional deploy role). Required in prod.",
    )
    organization_id: str | None = Field(
        default=None,
        description=(
            "AWS Organizations id (`o-...`) of the organization the account belongs to: the "
            "VPC endpoint policies admit only its principals and resources. Unset: only this "
            "stack's own account (a workload stack cannot look the organization up)."
        ),
    )
    other_environment_cidrs: dict[str, str] = Field(
        default_factory=dict,
        description=(
            "CIDRs of the other environments' VPCs by name (e.g. `nonprod: 10.20.0.0/16`); "
            "this stack's VPC must not overlap them, so the two can later be connected."
        ),
    )
    network: SecureVpcSettings = Field(
        default_factory=SecureVpcSettings, description="SecureVpc settings."
    )
    hybrid: HybridConnectivitySettings = Field(
        default_factory=HybridConnectivitySettings, description="HybridConnectivity settings."
    )
    apps: dict[str, HaAppTierSettings] = Field(
        default_factory=dict,
        description="Applications by name (e.g. `loyalty`, `mmf`): one HaAppTier each.",
    )
    data_tier: ManagedDataTierSettings = Field(
        default_factory=ManagedDataTierSettings,
        description="ManagedDataTier settings: the stack's data stores and DMS.",
    )
    landing_zone: LandingZoneSettings = Field(
        default_factory=LandingZoneSettings,
        description="LandingZone settings: account baseline, notifications, organization.",
    )

    @model_validator(mode="before")
    @classmethod
    def _nonprod_classification(cls, data: Any) -> Any:
        """A nonprod stack holds no card data: out-of-scope unless its file says otherwise."""
        silent = isinstance(data, dict) and not {"dataClassification", "data_classification"} & set(
            data
        )
        if silent and data.get("environment") == "nonprod":
            return {**data, "dataClassification": "out-of-scope"}
        return data

    @field_validator("region")
    @classmethod
    def _region(cls, value: str) -> str:
        if value not in SUPPORTED_REGIONS:
            close = difflib.get_close_matches(value, SUPPORTED_REGIONS, n=3)
            hint = f"did you mean {' or '.join(close)}? " if close else ""
            raise ValueError(
                f"{value!r} is not a region this platform supports; {hint}the supported "
                f"regions are {', '.join(SUPPORTED_REGIONS)} (their AZ letters and ELB log "
                "delivery accounts are known)"
            )
        return value

    @field_validator("extra_tags")
    @classmethod
    def _extra_tags(cls, value: dict[str, str]) -> dict[str, str]:
        return check_extra_tags(value)

    @field_validator("organization_id")
    @classmethod
    def _organization_id(cls, value: str | None) -> str | None:
        return check_organization_id(value)

    @field_validator("other_environment_cidrs")
    @classmethod
    def _other_cidrs(cls, value: dict[str, str]) -> dict[str, str]:
        for name, cidr in value.items():
            try:
                ipaddress.IPv4Network(cidr, strict=True)
            except ValueError as exc:
                raise ValueError(f"{name}: {cidr!r} is not an IPv4 CIDR like 10.20.0.0/16") from exc
        return value

    @model_validator(mode="after")
    def _cross_checks(self) -> StackSettings:
        """What spans the stack: other environments' ranges, the stack's role, its account."""
        problems: list[str] = []
        vpc = ipaddress.ip_network(self.network.vpc_cidr)
        for name, cidr in self.other_environment_cidrs.items():
            if vpc.overlaps(ipaddress.ip_network(cidr)):
                problems.append(
                    f"network.vpcCidr {vpc} overlaps otherEnvironmentCidrs.{name} ({cidr}); "
                    "every environment needs its own range"
                )
            for op_name, net in self.hybrid.on_prem_networks.items():
                if ipaddress.ip_network(cidr).overlaps(ipaddress.ip_network(net.cidr)):
                    problems.append(
                        f"hybrid.onPremNetworks.{op_name} ({net.cidr}) overlaps "
                        f"otherEnvironmentCidrs.{name} ({cidr}); on-prem ranges must not "
                        "overlap any VPC"
                    )
        problems += self._role_problems()
        problems += self._other_account_arns()
        if self.environment == "nonprod" and self.data_classification == "cde":
            problems.append(
                "dataClassification: a nonprod stack holds no card data, so it is not `cde`; "
                "use out-of-scope (or connected, if it reaches the CDE)"
            )
        if self.stack_role == "management" and self.environment != "prod":
            problems.append(
                "environment: a management stack runs the organization, which is kept like "
                "prod (protected accounts and guardrails); set environment: prod"
            )
        if self.environment == "prod" and self.account is None:
            problems.append(
                "account: prod names its AWS account, so the provider refuses any other account"
            )
        if problems:
            raise ValueError("\n".join(problems))
        return self.for_environment(self.environment)

    def _other_account_arns(self) -> list[str]:
        """An ARN of a stack's settings names the stack's own account: a certificate, role,
        secret or key of another account is a copy-paste from the wrong stack file (the
        provider refuses other accounts, so the deploy would fail late or cross a boundary
        the PCI DSS assessment draws)."""
        if self.account is None:
            return []
        problems: list[str] = []
        for path, value in _strings(self.model_dump(exclude={"account"})):
            match = _ARN_ACCOUNT.match(value)
            dotted = ".".join(str(p) for p in path)
            if match is None or match.group(1) == self.account.id:
                continue
            if any(dotted.startswith(allowed) for allowed in _OTHER_ACCOUNTS_ALLOWED):
                continue
            key = settings_path(StackSettings, path, "config")
            problems.append(
                f"{key}: {value} is in account {match.group(1)}, not this stack's "
                f"{self.account.id} (account.id); use the one of this account"
            )
        return problems

    def _role_problems(self) -> list[str]:
        organization = self.landing_zone.organization.enabled
        if self.stack_role == "management":
            ignored = sorted(
                StackSettings.model_fields[f].alias or f
                for f in {"network", "hybrid", "apps", "data_tier"} & self.model_fields_set
            )
            if ignored:
                return [
                    f"{ignored[0]}: a management stack builds only the LandingZone; move "
                    f"{', '.join(ignored)} to the workload stacks (prod, nonprod)"
                ]
        if self.stack_role == "management" and not organization:
            return [
                "landingZone.organization.enabled: a management stack exists to build the "
                "organization; set it to true (or stackRole: workload)"
            ]
        if self.stack_role == "workload" and organization:
            return [
                "landingZone.organization.enabled: a workload stack never manages the "
                "organization; run that part in a stack with stackRole: management in the "
                "management account"
            ]
        return []

    def for_environment(self, environment: str) -> StackSettings:
        """Every section with the environment's defaults, from each component's own table
        (the stack file's values win)."""
        if environment != "nonprod":
            return self
        return self.model_copy(
            update={
                "network": self.network.for_environment(environment),
                "hybrid": self.hybrid.for_environment(environment),
                "apps": {n: a.for_environment(environment) for n, a in self.apps.items()},
                "data_tier": self.data_tier.for_environment(environment),
                "landing_zone": self.landing_zone.for_environment(environment),
            }
        )

    @property
    def context(self) -> StackContext:
        return StackContext(
            environment=self.environment,
            project=NAMESPACE,
            owner=self.owner,
            data_classification=self.data_classification,
            extra_tags=self.extra_tags,
            organization_id=self.organization_id,
            administrators=[
                *(
                    [self.account.deploy_role_arn]
                    if self.account and self.account.deploy_role_arn
                    else []
                ),
                *self.administrators,
            ],
        )


#: Keys that hold secrets: read by their component as Pulumi secrets, never into settings.
SECRET_KEYS: Mapping[str, str] = {
    "vpnPresharedKeys": (
        "VPN pre-shared keys by customer gateway: {<gateway>: {tunnel1, tunnel2}}; set with "
        "`pulumi config set --secret --path 'vpnPresharedKeys.<gateway>.tunnel1' <key>`"
    ),
}


def _strings(
    value: Any, path: tuple[str | int, ...] = ()
) -> Iterator[tuple[tuple[str | int, ...], str]]:
    """Every string in a dumped settings tree, with its path of Python names and map keys."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from _strings(item, (*path, key))
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            yield from _strings(item, (*path, index))


def stack_name_problems(stack: str, settings: StackSettings) -> list[str]:
    """A stack file whose environment or role contradicts the stack's name is the wrong file
    for that stack (e.g. `Pulumi.prod.yaml` copied from nonprod): refused before anything
    runs. Names that say neither (`cards`, `eu`) are free."""
    words = set(re.split(r"[^a-z0-9]+", stack.lower()))
    problems: list[str] = []
    nonprod_words = {"nonprod", "dev", "test", "staging", "stage", "qa", "sandbox", "uat"}
    if "prod" in words and settings.environment != "prod":
        problems.append(
            f"{NAMESPACE}:environment: the stack {stack!r} is named prod but its file says "
            f"{settings.environment}; fix the file or run it as a nonprod stack"
        )
    if words & nonprod_words and settings.environment == "prod":
        problems.append(
            f"{NAMESPACE}:environment: the stack {stack!r} is named as a nonprod stack but "
            "its file says prod; fix the file or rename the stack"
        )
    management = bool(words & {"management", "mgmt", "org", "organization"})
    if management != (settings.stack_role == "management"):
        problems.append(
            f"{NAMESPACE}:stackRole: the stack {stack!r} "
            + (
                "is named as the management stack but its file says stackRole: workload"
                if management
                else "builds the organization (stackRole: management) but its name says "
                "otherwise; name it management"
            )
        )
    return problems


def _config_keys() -> list[str]:
    """Every alias a stack file may use under the namespace (region comes from aws:)."""
    return [(f.alias or name) for name, f in StackSettings.model_fields.items() if name != "region"]


def _format(exc: ValidationError) -> list[str]:
    problems: list[str] = []
    for error in exc.errors():
        message = str(error["msg"]).removeprefix("Value error, ")
        loc = settings_path(StackSettings, error["loc"], "config")
        if loc == "region":  # read from the provider's key, not this namespace
            problems.append(f"aws:region: {message}")
            continue
        if error["type"] == "extra_forbidden":
            message = "unknown key; check the spelling against the config reference in README.md"
        for line in message.split("\n"):
            if loc:
                problems.append(f"{NAMESPACE}:{loc}: {line}")
            else:
                problems.append(f"{NAMESPACE}:{line}")
    return problems


def _parse(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in ("{", "["):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


def settings_from_config(raw: Mapping[str, Any]) -> StackSettings:
    """Build the settings from a flat config map (``{"payments-platform:network": ...}``)."""
    data: dict[str, Any] = {}
    problems: list[str] = []
    known = set(_config_keys())
    for key, value in raw.items():
        namespace, _, short = key.partition(":")
        if namespace != NAMESPACE:
            continue
        if short in SECRET_KEYS:
            continue
        if short not in known:
            problems.append(
                f"{key}: unknown key; the keys are "
                f"{', '.join(sorted(known | set(SECRET_KEYS)))} (see README.md)"
            )
            continue
        data[short] = _parse(value)
    region = raw.get("aws:region")
    if region:
        data["region"] = region
    if "environment" not in data:
        problems.append(f"{NAMESPACE}:environment: required; set it to prod or nonprod")
    if problems:
        raise ConfigError(problems)
    try:
        return StackSettings.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_format(exc)) from None


def load_stack_settings() -> StackSettings:
    """Read the running stack's config the way the Pulumi CLI passes it to the program."""
    from pulumi.runtime.config import CONFIG, get_config_env

    raw: dict[str, Any] = {**get_config_env(), **CONFIG.get()}
    return settings_from_config(raw)
