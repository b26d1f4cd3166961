"""The stack's settings: one pydantic model of every `payments-platform:*` config key.

Bad config fails here, before any resource is registered, with one line per problem that
names the key (`payments-platform:network.vpcCidr`) and says what to change.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import Field, ValidationError, field_validator, model_validator

from .base import Environment, SettingsModel, StackContext
from .hybrid_connectivity import HybridConnectivitySettings
from .network_plan import REGION_AZ_LETTERS
from .secure_vpc import SecureVpcSettings

NAMESPACE = "payments-platform"
DEFAULT_REGION = "ap-southeast-1"


class ConfigError(Exception):
    """Invalid stack configuration; ``problems`` has one line per bad key."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("invalid stack configuration:\n" + "\n".join(f"  - {p}" for p in problems))


#: Cheaper defaults for nonprod, applied only to keys the stack file does not set. Prod gets
#: the secure defaults written on the settings models themselves.
NONPROD_DEFAULTS: Mapping[str, Mapping[str, Any]] = {
    "network": {
        "availabilityZones": ["a", "b"],
        "natGateways": "Single",
        "flowLogRetentionDays": 90,
    },
}


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


@dataclass(frozen=True)
class ProdRule:
    """A rule every prod stack must keep. ``check`` returns True when the rule holds."""

    key: str
    rule: str
    check: Callable[[StackSettings], bool]


#: The environment rules, in one place.
PROD_RULES: tuple[ProdRule, ...] = (
    ProdRule(
        "account",
        "prod names its AWS account, so the provider can refuse any other account",
        lambda s: s.account is not None,
    ),
    ProdRule(
        "network.availabilityZones",
        "prod spans at least 2 AZs so one AZ outage leaves the platform up",
        lambda s: len(s.network.availability_zones) >= 2,
    ),
    ProdRule(
        "network.natGateways",
        "prod uses OnePerAz (or None) NAT so one AZ outage does not cut the others' egress",
        lambda s: s.network.nat_gateways in ("OnePerAz", "None"),
    ),
    ProdRule(
        "network.flowLogRetentionDays",
        "prod keeps flow logs at least 365 days (PCI DSS 10.5.1)",
        lambda s: s.network.flow_log_retention_days >= 365,
    ),
)


class StackSettings(SettingsModel):
    """Everything a stack file may hold under the `payments-platform:` namespace."""

    environment: Environment = Field(
        description="`prod` or `nonprod`: picks the defaults and the rules the stack must keep."
    )
    region: str = Field(
        default=DEFAULT_REGION,
        description="Read from `aws:region` (not from this namespace); default ap-southeast-1.",
    )
    owner: str = Field(default="platform-team", min_length=1, description="Tag `owner`.")
    data_classification: str = Field(
        default="cde", description="Tag `data-classification`: cde, connected or out-of-scope."
    )
    extra_tags: dict[str, str] = Field(
        default_factory=dict, description="Tags added to every taggable resource."
    )
    account: AccountSettings | None = Field(
        default=None,
        description="Target account (id, optional deploy role). Required in prod.",
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

    @model_validator(mode="before")
    @classmethod
    def _environment_defaults(cls, data: Any) -> Any:
        if not isinstance(data, dict) or data.get("environment") != "nonprod":
            return data
        merged = dict(data)
        for section, defaults in NONPROD_DEFAULTS.items():
            value = merged.get(section, {})
            if isinstance(value, dict):
                merged[section] = {**defaults, **value}
        return merged

    @field_validator("other_environment_cidrs")
    @classmethod
    def _other_cidrs(cls, value: dict[str, str]) -> dict[str, str]:
        for name, cidr in value.items():
            try:
                ipaddress.IPv4Network(cidr, strict=True)
            except ValueError as exc:
                raise ValueError(f"{name}: {cidr!r} is not an IPv4 CIDR like 10.20.0.0/16") from exc
        return value

    @field_validator("data_classification")
    @classmethod
    def _classification(cls, value: str) -> str:
        allowed = ("cde", "connected", "out-of-scope")
        if value not in allowed:
            raise ValueError(f"{value!r} is not one of {', '.join(allowed)}")
        return value

    @model_validator(mode="after")
    def _cross_checks(self) -> StackSettings:
        problems: list[str] = []
        vpc = ipaddress.ip_network(self.network.vpc_cidr)
        for name, net in self.hybrid.on_prem_networks.items():
            if vpc.overlaps(ipaddress.ip_network(net.cidr)):
                problems.append(
                    f"network.vpcCidr {vpc} overlaps hybrid.onPremNetworks.{name} ({net.cidr}); "
                    "pick a VPC range that no on-prem network uses"
                )
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
        letters = REGION_AZ_LETTERS.get(self.region)
        if letters is not None:
            missing = [az for az in self.network.availability_zones if az not in letters]
            if missing:
                problems.append(
                    f"network.availabilityZones: {self.region} has AZs "
                    f"{', '.join(letters)}; {', '.join(missing)} does not exist there"
                )
        if self.environment == "prod":
            for rule in PROD_RULES:
                if not rule.check(self):
                    problems.append(f"{rule.key}: {rule.rule}")
        try:
            self.network.nacl_rules(on_prem=self.hybrid.on_prem_networks)
        except ValueError as exc:
            problems.append(str(exc))
        if problems:
            raise ValueError("\n".join(problems))
        return self

    @property
    def context(self) -> StackContext:
        return StackContext(
            environment=self.environment,
            project=NAMESPACE,
            owner=self.owner,
            data_classification=self.data_classification,
            extra_tags=self.extra_tags,
        )


def _config_keys() -> list[str]:
    """Every alias a stack file may use under the namespace (region comes from aws:)."""
    return [(f.alias or name) for name, f in StackSettings.model_fields.items() if name != "region"]


def _format(exc: ValidationError) -> list[str]:
    problems: list[str] = []
    for error in exc.errors():
        message = str(error["msg"]).removeprefix("Value error, ")
        loc = ".".join(str(part) for part in error["loc"])
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
        if short not in known:
            problems.append(
                f"{key}: unknown key; the keys are {', '.join(sorted(known))} (see README.md)"
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
