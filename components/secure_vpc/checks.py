"""Every rule of a SecureVpc, as pure functions returning problems.

Called by :class:`~components.secure_vpc.SecureVpc` before it registers anything, and by a
stack loader gathering the checks of a whole stack. Each rule is written once, here.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Mapping

from .. import catalogue
from ..core.environment import PCI_RETENTION, EnvRule, broken_rules, one
from ..core.onprem import OnPremNetwork, on_prem_problems
from ..core.problems import Problem, at
from ..core.problems import check_name as core_check_name
from ..core.settings import StackContext
from . import plan as net
from .network import NetworkPlan, plan_network
from .settings import SecureVpcSettings

#: A SecureVpc's name starts the names of its subnet groups, log groups and key aliases.
NAME = re.compile(r"^[a-z][a-z0-9-]{0,31}$")

#: On-prem engines DMS may read from (the data tier's NACLs open their port outbound).
DMS_SOURCE_ENGINES = ("postgres", "mysql", "mongodb", "oracle", "sqlserver")

PROD_RULES: tuple[EnvRule[SecureVpcSettings], ...] = (
    one(
        "availability_zones",
        "prod spans at least 2 AZs so one AZ outage leaves it up",
        lambda s: len(s.availability_zones) >= 2,
    ),
    one(
        "nat_gateways",
        "prod uses OnePerAz (or None) NAT so one AZ outage does not cut the others' egress",
        lambda s: s.nat_gateways in ("OnePerAz", "None"),
    ),
    one(
        "flow_log_retention_days",
        f"prod keeps flow logs >= 365 days {PCI_RETENTION}",
        lambda s: s.flow_log_retention_days >= 365,
    ),
    one(
        "egress_firewall.enabled",
        "prod reaches the internet only through the egress firewall's domain allow-list "
        "(PCI DSS 1.3.2): keep it enabled, or set `nat_gateways` to None (no internet egress)",
        lambda s: s.nat_gateways == "None" or s.egress_firewall.enabled,
    ),
    one(
        "egress_firewall.log_retention_days",
        f"prod keeps the egress firewall's logs >= 365 days {PCI_RETENTION}",
        lambda s: s.egress_firewall.log_retention_days >= 365,
    ),
)


def check_name(name: str) -> list[Problem]:
    return core_check_name(
        name,
        NAME.match,
        "must be 1-32 lowercase letters, digits or '-' starting with a letter (it starts the "
        "names of subnet groups, log groups and key aliases)",
    )


def check_settings(settings: SecureVpcSettings) -> list[Problem]:
    """Rules between fields of the settings."""
    problems: list[Problem] = []
    slots: dict[int, str] = {}
    for name, tier in settings.extra_tiers.items():
        if tier.slot in slots:
            problems.append(
                Problem(
                    at("extra_tiers", name, "slot"),
                    f"slot {tier.slot} is already used by {slots[tier.slot]}; give each tier "
                    "its own slot",
                )
            )
        slots.setdefault(tier.slot, name)
        if tier.nat_egress and settings.nat_gateways == "None":
            problems.append(
                Problem(
                    at("extra_tiers", name, "nat_egress"),
                    "needs a NAT gateway; set `nat_gateways` to Single or OnePerAz, or "
                    "`nat_egress` to false",
                )
            )
        if tier.slot == net.FIREWALL_SLOT and _has_firewall(settings):
            problems.append(
                Problem(
                    at("extra_tiers", name, "slot"),
                    f"slot {net.FIREWALL_SLOT} holds the egress firewall's subnets while the "
                    "VPC has NAT gateways and `egress_firewall` is enabled; pick 3-6",
                )
            )
    if _has_firewall(settings) and not settings.egress_firewall.allowed_domains:
        problems.append(
            Problem(
                at("egress_firewall", "allowed_domains"),
                "is empty, so the firewall would drop every connection to the internet: list "
                "the domains the apps call (api.partner.example or .partner.example), or set "
                "`nat_gateways` to None when the hosts need only the VPC endpoints",
            )
        )
    return problems


def _has_firewall(settings: SecureVpcSettings) -> bool:
    return settings.nat_gateways != "None" and settings.egress_firewall.enabled


def check_on_prem(settings: SecureVpcSettings, on_prem: object) -> list[Problem]:
    """The on-prem ranges: well-formed, distinct, and outside the VPC."""
    if not isinstance(on_prem, Mapping) or not all(
        isinstance(v, OnPremNetwork) for v in on_prem.values()
    ):
        return [
            Problem(
                ("on_prem",),
                "expected a mapping of range name to OnPremNetwork(cidr=..., nacl_slot=...) "
                "(HybridConnectivitySettings.on_prem_networks)",
            )
        ]
    problems = [Problem(("on_prem", name), text) for name, text in on_prem_problems(on_prem)]
    vpc = ipaddress.ip_network(settings.vpc_cidr)
    for name, network in on_prem.items():
        if vpc.overlaps(ipaddress.ip_network(network.cidr)):
            problems.append(
                Problem(
                    at("vpc_cidr"),
                    f"{vpc} overlaps the on-prem range {name} ({network.cidr}); pick a VPC "
                    "range that no on-prem network uses",
                )
            )
    return problems


def check_services(
    data_services: Iterable[str],
    dms_source_engines: Iterable[str],
    dms_target_services: Iterable[str] = (),
) -> list[Problem]:
    problems: list[Problem] = []
    data_services, dms_target_services = list(data_services), list(dms_target_services)
    outside = sorted(set(dms_target_services) - set(data_services))
    if outside:
        problems.append(
            Problem(
                ("dms_target_services",),
                f"DMS target service(s) {outside} are not data services of this tier "
                f"({sorted(set(data_services))}); a DMS task writes to a store the data tier "
                "holds (ManagedDataTierSettings.dms_target_services() lists them)",
            )
        )
    unknown = sorted(set(data_services) - set(net.DATA_SERVICES))
    if unknown:
        problems.append(
            Problem(
                ("data_services",),
                f"unknown data service(s) {unknown}; use {list(net.DATA_SERVICES)}",
            )
        )
    unknown = sorted(set(dms_source_engines) - set(DMS_SOURCE_ENGINES))
    if unknown:
        problems.append(
            Problem(
                ("dms_source_engines",),
                f"unknown engine(s) {unknown}; use {list(DMS_SOURCE_ENGINES)}",
            )
        )
    return problems


def check_azs_in_region(settings: SecureVpcSettings, region: str) -> list[Problem]:
    """The AZ letters exist in ``region`` (regions this project knows; others pass)."""
    letters = net.REGION_AZ_LETTERS.get(region)
    missing = [az for az in settings.availability_zones if letters and az not in letters]
    if not missing:
        return []
    return [
        Problem(
            at("availability_zones"),
            f"{region} has AZs {', '.join(letters or '')}; {', '.join(missing)} does not "
            "exist there",
        )
    ]


def check_endpoints_in_region(settings: SecureVpcSettings, region: str) -> list[Problem]:
    """Every interface endpoint service is offered in ``region`` (the catalogue's regions)."""
    problems = []
    for index, service in enumerate(settings.interface_endpoints):
        problem = catalogue.region_problem(
            service,
            region,
            catalogue.current().vpc_endpoint_services,
            "a VPC interface endpoint service",
        )
        if problem:
            problems.append(Problem(at("interface_endpoints", index), problem))
    return problems


def _direction(egress: bool) -> str:
    return "outbound" if egress else "inbound"


def check_plan(settings: SecureVpcSettings, plan: NetworkPlan) -> list[Problem]:
    """Every tier's NACL takes each entry under its own number, and fits the account's rule
    quota, with room for replacing the entries whose ports come from the settings."""
    problems: list[Problem] = []
    # AWS refuses a second entry under a number one direction of a NACL already uses
    # (CreateNetworkAclEntry: NetworkAclEntryAlreadyExists)
    for group in net.shared_numbers(plan.nacl_rules):
        first = group[0]
        problems.append(
            Problem(
                ("settings",),
                f"two {first.tier} NACL {_direction(first.egress)} entries would share rule "
                f"number {first.rule_number}: {', '.join(r.key for r in group)}; give each "
                "port and peer its own slot",
            )
        )
    # a changed entry is replaced: its new version exists next to the old one for a while
    spare: dict[tuple[str, bool], int] = {}
    for rule in plan.nacl_rules:
        if rule.service in net.PORTS_FROM_SETTINGS:
            spare[(rule.tier, rule.egress)] = spare.get((rule.tier, rule.egress), 0) + 1
    for (tier, egress), count in sorted(net.count_rules(plan.nacl_rules).items()):
        extra = spare.get((tier, egress), 0)
        if count + extra <= settings.nacl_rule_quota:
            continue
        during = (
            f", plus {extra} while a change of `app_ports` (or of an extra tier's "
            "`ingress_ports`) replaces the entries that carry them"
            if extra
            else ""
        )
        problems.append(
            Problem(
                at("nacl_rule_quota"),
                f"the {tier} tier needs {count} {_direction(egress)} NACL rules{during}, over "
                f"the quota of {settings.nacl_rule_quota}; raise the AWS quota and "
                "`nacl_rule_quota` (max 40), or declare fewer on-prem ranges/data stores for "
                "this tier",
            )
        )
    return problems


def plan_and_check(
    name: str,
    settings: SecureVpcSettings,
    *,
    context: StackContext,
    on_prem: Mapping[str, OnPremNetwork],
    data_services: Iterable[str],
    dms_source_engines: Iterable[str],
    dms_target_services: Iterable[str] = (),
    region: str | None = None,
) -> tuple[NetworkPlan | None, list[Problem]]:
    """The network's plan (None when the arguments cannot be planned) and every problem.

    ``settings`` are the environment's (``settings.for_environment(...)``); ``region`` is
    checked when known (a stack file names it; a component learns it only at deploy).
    """
    services, engines = list(data_services), list(dms_source_engines)
    targets = list(dms_target_services)
    inputs = check_on_prem(settings, on_prem) + check_services(services, engines, targets)
    problems = check_name(name) + check_settings(settings) + inputs
    if context.is_prod:
        problems += broken_rules(PROD_RULES, settings)
    if region is not None:
        problems += check_azs_in_region(settings, region)
        problems += check_endpoints_in_region(settings, region)
    if any(p.argument != "settings" for p in inputs):
        return None, problems  # ranges or services that cannot be planned
    plan = plan_network(
        settings,
        on_prem=on_prem,
        data_services=services,
        dms_source_engines=engines,
        dms_target_services=targets,
    )
    return plan, problems + check_plan(settings, plan)
