"""Every rule of an HaAppTier, as pure functions returning problems.

Called by :class:`~components.ha_app_tier.HaAppTier` before it registers anything, and by a
stack loader gathering the checks of a whole stack. Each rule is written once, here.
"""

from __future__ import annotations

import base64
import ipaddress
import re
from collections.abc import Collection
from pathlib import Path

from ..core.environment import PCI_RETENTION, EnvRule, broken_rules, one
from ..core.problems import Problem, at
from ..core.security_groups import OPEN_CIDRS
from ..core.settings import StackContext
from ..secure_vpc.plan import DATA_SERVICES, NetworkPlan
from .settings import HaAppTierSettings

#: ALB and target group names are limited to 32 characters; the app name starts them.
APP_NAME = re.compile(r"^[a-z][a-z0-9-]{0,19}$")
#: AWS: user data is limited to 16 KB before base64 encoding.
MAX_USER_DATA_BYTES = 16 * 1024

PROD_RULES: tuple[EnvRule[HaAppTierSettings], ...] = (
    one(
        "min_size",
        "prod runs >= 2 instances per app, spread over AZs",
        lambda a: a.min_size >= 2,
    ),
    one(
        "waf.enabled",
        "internet-facing prod ALBs have AWS WAF (PCI DSS 6.4.2)",
        lambda a: a.waf.enabled or not a.internet_facing,
    ),
    one(
        "access_log_retention_days",
        f"prod keeps ALB access logs >= 365 days {PCI_RETENTION}",
        lambda a: a.access_log_retention_days >= 365,
    ),
)


def user_data_path(path: str, base_dir: Path | None = None) -> Path:
    """Where a user-data file is read from: relative paths from the project directory
    (Pulumi runs the program with the directory of Pulumi.yaml as working directory)."""
    file = Path(path)
    return file if file.is_absolute() else (base_dir or Path.cwd()) / file


def check_user_data(settings: HaAppTierSettings, base_dir: Path | None = None) -> list[Problem]:
    """The user-data file exists, stays inside the project and fits EC2's 16 KB."""
    if settings.user_data_file is None:
        return []
    file = user_data_path(settings.user_data_file, base_dir)
    if not file.is_file():
        return [
            Problem(
                at("user_data_file"),
                f"{settings.user_data_file!r} not found (looked at {file}); paths are "
                "relative to the project directory",
            )
        ]
    size = file.stat().st_size
    if size > MAX_USER_DATA_BYTES:
        return [
            Problem(
                at("user_data_file"),
                f"{settings.user_data_file!r} is {size} bytes; EC2 accepts at most 16 KB of "
                "user data, so fetch larger scripts from S3 or SSM at boot",
            )
        ]
    return []


def read_user_data(settings: HaAppTierSettings, base_dir: Path | None = None) -> str | None:
    """The user data file's content, base64-encoded as launch templates require (after
    :func:`check_user_data` passed)."""
    if settings.user_data_file is None:
        return None
    raw = user_data_path(settings.user_data_file, base_dir).read_bytes()
    return base64.b64encode(raw).decode("ascii")


def alb_clients(
    settings: HaAppTierSettings, network: NetworkPlan
) -> tuple[dict[str, str], list[Problem]]:
    """Peer name -> CIDR of every client range the ALB admits on 443, and what is wrong.

    Internal ALBs always admit the VPC and the on-prem ranges the network lets reach the app
    tier (over VPN or Direct Connect). AWS rejects two identical rules in one group, so a
    range may appear once.
    """
    clients = dict(settings.client_cidrs)
    problems: list[Problem] = []
    if not settings.internet_facing:
        reserved = [k for k in clients if k == "vpc" or k.startswith("onprem-")]
        for peer in reserved:
            problems.append(
                Problem(
                    at("allowed_cidrs", peer),
                    "the names vpc and onprem-* are reserved for the ranges an internal ALB "
                    "always admits; rename it",
                )
            )
        clients = {"vpc": network.vpc_cidr, **clients}
        admitted = network.on_prem_admitted("app")
        clients.update({f"onprem-{peer}": cidr for peer, cidr in admitted.items()})
    seen: dict[str, str] = {}
    for peer, cidr in clients.items():
        normal = str(ipaddress.ip_network(cidr))
        if normal in seen:
            problems.append(
                Problem(
                    at("allowed_cidrs"),
                    f"{cidr} ({peer}) is already admitted as {seen[normal]}; list each range once",
                )
            )
        seen.setdefault(normal, peer)
    return clients, problems


def check_wiring(
    settings: HaAppTierSettings, network: NetworkPlan, data_services: Collection[str]
) -> list[Problem]:
    """The app fits the network it is built on."""
    problems: list[Problem] = []
    unknown = sorted(set(data_services) - set(DATA_SERVICES))
    if unknown:
        problems.append(
            Problem(
                ("data_services",),
                f"unknown data service(s) {unknown}; use {list(DATA_SERVICES)}",
            )
        )
    not_admitted = sorted(set(data_services) - set(network.data_services) - set(unknown))
    if not_admitted:
        problems.append(
            Problem(
                ("data_services",),
                f"the network's data-tier NACLs do not admit {not_admitted}; build the "
                "SecureVpc with data_services including them "
                "(ManagedDataTierSettings.data_services() lists a data tier's)",
            )
        )
    low, high = network.app_ports
    if not low <= settings.app_port <= high:
        problems.append(
            Problem(
                at("app_port"),
                f"{settings.app_port} is outside the network's app ports {low}-{high}: the "
                "app tier's NACLs would drop it; change `app_port` or the SecureVpc's "
                "app_ports",
            )
        )
    tiers = ("public", "app") if settings.internet_facing else ("app",)
    for tier in tiers:
        if tier not in network.tier_slots:
            problems.append(Problem(("network",), f"the network has no {tier} tier"))
    if len(network.availability_zones) < 2:
        problems.append(
            Problem(
                ("network",),
                f"the network spans {len(network.availability_zones)} AZ(s); an ALB needs "
                "subnets in at least 2 AZs (the SecureVpc's availability_zones)",
            )
        )
    if data_services and "data" not in network.tier_slots:
        problems.append(
            Problem(("network",), f"the network has no data tier for {sorted(data_services)}")
        )
    for peer, cidr in network.on_prem_admitted("app").items():
        if str(ipaddress.ip_network(cidr)) in OPEN_CIDRS:
            problems.append(Problem(("network",), f"on-prem range {peer} may not be 0.0.0.0/0"))
    return problems + alb_clients(settings, network)[1]


def check_name(name: str) -> list[Problem]:
    if APP_NAME.match(name):
        return []
    return [
        Problem(
            ("name",),
            f"{name!r} must be 1-20 lowercase letters, digits or '-' starting with a letter "
            "(ALB and target group names are limited to 32 characters)",
        )
    ]


def check_certificate_region(settings: HaAppTierSettings, region: str) -> list[Problem]:
    """An ALB can only use an ACM certificate of its own region."""
    arn = settings.certificate_arn
    if isinstance(arn, str) and f":acm:{region}:" not in arn:
        return [
            Problem(
                at("certificate_arn"),
                f"must be an ACM certificate in {region} (an ALB can only use a certificate "
                "of its own region)",
            )
        ]
    return []


def check(
    name: str,
    settings: HaAppTierSettings,
    *,
    context: StackContext,
    network: NetworkPlan,
    data_services: Collection[str] = (),
    region: str | None = None,
    base_dir: Path | None = None,
) -> list[Problem]:
    """Every problem of one app. ``settings`` are the environment's
    (``settings.for_environment(...)``); ``region`` is checked when known."""
    problems = check_name(name) + check_wiring(settings, network, data_services)
    problems += check_user_data(settings, base_dir)
    if context.is_prod:
        problems += broken_rules(PROD_RULES, settings)
    if region is not None:
        problems += check_certificate_region(settings, region)
    return problems
