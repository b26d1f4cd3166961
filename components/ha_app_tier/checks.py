"""Every rule of an HaAppTier, as pure functions returning problems.

Called by :class:`~components.ha_app_tier.HaAppTier` before it registers anything, and by a
stack loader gathering the checks of a whole stack. Each rule is written once, here.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Collection
from pathlib import Path
from typing import Any, cast

from .. import catalogue
from ..core.environment import PCI_RETENTION, EnvRule, broken_rules, one
from ..core.problems import Problem, at
from ..core.problems import check_name as core_check_name
from ..core.security_groups import OPEN_CIDRS
from ..core.settings import StackContext
from ..secure_vpc.checks import check_services
from ..secure_vpc.network import NetworkPlan
from ..secure_vpc.plan import DATA_SERVICES
from .host import PLATFORM_USER_DATA_BYTES, app_part_type
from .settings import HaAppTierSettings, HealthCheckSettings, check_certificate_arn

#: ALB and target group names are limited to 32 characters; the app name starts them.
APP_NAME = re.compile(r"^[a-z][a-z0-9-]{0,19}$")
#: AWS: user data is limited to 16 KB before base64 encoding; the platform's boot parts take
#: PLATFORM_USER_DATA_BYTES of it, the app's file the rest.
MAX_USER_DATA_BYTES = 16 * 1024
MAX_APP_USER_DATA_BYTES = MAX_USER_DATA_BYTES - PLATFORM_USER_DATA_BYTES
#: PCI DSS 6.3.3: critical security patches within one month of release. Approved after at
#: most 14 days, a patch is installed by the second weekly window after approval at the latest.
PROD_MAX_APPROVE_AFTER_DAYS = 14

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
    one(
        "log_retention_days",
        f"prod keeps the instances' and WAF logs >= 365 days {PCI_RETENTION}",
        lambda a: a.log_retention_days >= 365,
    ),
    one(
        "max_instance_lifetime_days",
        "prod replaces every instance within a set lifetime (PCI DSS 6.3.3: no host keeps "
        "drifting from the patched image)",
        lambda a: a.max_instance_lifetime_days is not None,
    ),
    one(
        "patching.approve_after_days",
        f"prod approves security patches within {PROD_MAX_APPROVE_AFTER_DAYS} days of release "
        "(PCI DSS 6.3.3: critical patches installed within one month)",
        lambda a: a.patching.approve_after_days <= PROD_MAX_APPROVE_AFTER_DAYS,
    ),
    one(
        "file_integrity.enabled",
        "prod monitors the integrity of the instances' critical files (PCI DSS 11.5.2)",
        lambda a: a.file_integrity.enabled,
    ),
    one(
        "file_integrity.schedule",
        "prod compares critical files at least weekly (PCI DSS 11.5.2): run it every day or "
        "on a day of the week",
        lambda a: a.file_integrity.interval_days <= 7,
    ),
)


def check_sizes(settings: HaAppTierSettings) -> list[Problem]:
    """min_size <= desired_capacity <= max_size (Auto Scaling refuses anything else)."""
    low, desired, high = settings.min_size, settings.desired_capacity, settings.max_size
    if low > high:
        return [
            Problem(
                at("min_size"),
                f"{low} is greater than `max_size` ({high}); raise `max_size` or lower this",
            )
        ]
    if not low <= desired <= high:
        return [
            Problem(
                at("desired_capacity"),
                f"{desired} is not between `min_size` ({low}) and `max_size` ({high})",
            )
        ]
    return []


def check_health_check(health_check: HealthCheckSettings) -> list[Problem]:
    """ELB refuses a health-check timeout that is not below the interval."""
    timeout, interval = health_check.timeout_seconds, health_check.interval_seconds
    if timeout < interval:
        return []
    return [
        Problem(
            at("health_check", "timeout_seconds"),
            f"{timeout} must be less than `health_check.interval_seconds` ({interval}); "
            "lower this or lengthen the interval",
        )
    ]


def check_listener(settings: HaAppTierSettings) -> list[Problem]:
    """The ALB serves HTTPS only, and an internal ALB is never open to the internet."""
    problems: list[Problem] = []
    if settings.certificate_arn is None:
        where = "an internet-facing" if settings.internet_facing else "an internal"
        problems.append(
            Problem(
                at("certificate_arn"),
                f"required: {where} ALB serves HTTPS only (PCI DSS 4.2.1); request an ACM "
                "certificate for the app's DNS name in the stack's region",
            )
        )
    if not settings.internet_facing:
        for peer, cidr in (settings.allowed_cidrs or {}).items():
            if str(ipaddress.ip_network(cidr)) in OPEN_CIDRS:
                problems.append(
                    Problem(
                        at("allowed_cidrs", peer),
                        f"an internal ALB is never open to {cidr}; name the client ranges, "
                        "or set `internet_facing` to true",
                    )
                )
    return problems


def check_root_device(settings: HaAppTierSettings) -> list[Problem]:
    """The root device the launch template encrypts is the one the AMI boots from."""
    if settings.ami_id is not None or settings.root_device_name == "/dev/xvda":
        return []
    return [
        Problem(
            at("root_device_name"),
            "Amazon Linux 2023 (the default AMI) boots from /dev/xvda; set `ami_id` too if "
            "your AMI uses another root device",
        )
    ]


def check_settings(settings: HaAppTierSettings) -> list[Problem]:
    """Rules between fields of the settings."""
    return (
        check_sizes(settings)
        + check_health_check(settings.health_check)
        + check_listener(settings)
        + check_root_device(settings)
    )


def user_data_path(path: str, base_dir: Path | None = None) -> Path:
    """Where a user-data file is read from: relative paths from the project directory
    (Pulumi runs the program with the directory of Pulumi.yaml as working directory)."""
    file = Path(path)
    return file if file.is_absolute() else (base_dir or Path.cwd()) / file


def check_user_data(settings: HaAppTierSettings, base_dir: Path | None = None) -> list[Problem]:
    """The user-data file stays inside the project, exists, is a script or a cloud-config
    (the platform runs it between its own boot parts) and fits what EC2's 16 KB leave it."""
    if settings.user_data_file is None:
        return []
    file = user_data_path(settings.user_data_file, base_dir)
    project = (base_dir or Path.cwd()).resolve()
    if not file.resolve().is_relative_to(project):
        # the boot script is reviewed with the code: one from elsewhere on the deploying
        # machine (../../, /etc/..., a link out of the repository) is not
        return [
            Problem(
                at("user_data_file"),
                f"{settings.user_data_file!r} is outside the project directory ({project}); "
                "keep the boot script in the repository (e.g. userdata/<app>.sh)",
            )
        ]
    if not file.is_file():
        return [
            Problem(
                at("user_data_file"),
                f"{settings.user_data_file!r} not found (looked at {file}); paths are "
                "relative to the project directory",
            )
        ]
    size = file.stat().st_size
    if size > MAX_APP_USER_DATA_BYTES:
        return [
            Problem(
                at("user_data_file"),
                f"{settings.user_data_file!r} is {size} bytes; EC2 accepts at most 16 KB of "
                f"user data and the platform's boot script takes {PLATFORM_USER_DATA_BYTES // 1024}"
                f" KB, so keep it under {MAX_APP_USER_DATA_BYTES} bytes or fetch larger scripts "
                "from S3 or SSM at boot",
            )
        ]
    content = file.read_bytes()
    try:
        content.decode("utf-8")
    except UnicodeDecodeError:
        kind = None
    else:
        kind = app_part_type(content)
    if kind is None:
        return [
            Problem(
                at("user_data_file"),
                f"{settings.user_data_file!r} is not a script (#!/bin/bash ...) or a "
                "#cloud-config in UTF-8: the platform runs it after its own boot script, in "
                "one MIME archive, so it cannot be gzip, an include file or an archive itself",
            )
        ]
    return []


def read_user_data(settings: HaAppTierSettings, base_dir: Path | None = None) -> bytes | None:
    """The user data file's content (after :func:`check_user_data` passed)."""
    if settings.user_data_file is None:
        return None
    return user_data_path(settings.user_data_file, base_dir).read_bytes()


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


def _service_names(data_services: object) -> bool:
    return (
        isinstance(data_services, Collection)
        and not isinstance(data_services, str | bytes)
        and all(isinstance(service, str) for service in data_services)
    )


def check_data_services(data_services: object) -> list[Problem]:
    """``data_services`` are known service names: ``["postgres"]``, never ``"postgres"``."""
    if _service_names(data_services):
        return check_services(cast(Collection[str], data_services), ())
    return [
        Problem(
            ("data_services",),
            f"expected a list of data service names like ['postgres', 'redis'] (got "
            f"{data_services!r}); ManagedDataTierSettings.services_of_client(app) lists an "
            "app's",
        )
    ]


def check_wiring(
    settings: HaAppTierSettings, network: NetworkPlan, data_services: Collection[str]
) -> list[Problem]:
    """The app fits the network it is built on."""
    problems: list[Problem] = []
    known = set(data_services) & set(DATA_SERVICES)  # unknown ones: check_data_services
    not_admitted = sorted(known - set(network.data_services))
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
                "app tier's NACLs would drop it; pick a port in that range, or widen the "
                "SecureVpc's app_ports",
            )
        )
    # Every SecureVpc has the public, app and data tiers, and its on-prem ranges are never
    # 0.0.0.0/0 (OnPremNetwork refuses it): what is left to check is the AZ count.
    if len(network.availability_zones) < 2:
        problems.append(
            Problem(
                ("network",),
                f"the network spans {len(network.availability_zones)} AZ(s); an ALB needs "
                "subnets in at least 2 AZs (the SecureVpc's availability_zones)",
            )
        )
    return problems + alb_clients(settings, network)[1]


def check_name(name: str) -> list[Problem]:
    return core_check_name(
        name,
        APP_NAME.match,
        "must be 1-20 lowercase letters, digits or '-' starting with a letter (ALB and target "
        "group names are limited to 32 characters)",
    )


def check_certificate_region(certificate_arn: Any, region: str) -> list[Problem]:
    """An ALB can only use an ACM certificate of its own region.

    ``certificate_arn`` is checked when it is a str: the stack loader's (the stack file
    names the region) and, when it resolves, an Output's (the component passes the region
    of its provider, with :func:`check_resolved_certificate`).
    """
    if isinstance(certificate_arn, str) and f":acm:{region}:" not in certificate_arn:
        return [
            Problem(
                at("certificate_arn"),
                f"must be an ACM certificate in {region} (an ALB can only use a certificate "
                "of its own region)",
            )
        ]
    return []


def check_resolved_certificate(certificate_arn: str, region: str) -> list[Problem]:
    """A certificate ARN known only at deploy (an Output): its format and its region."""
    try:
        check_certificate_arn(certificate_arn)
    except ValueError as error:
        return [Problem(at("certificate_arn"), str(error))]
    return check_certificate_region(certificate_arn, region)


def check_offered_in_region(settings: HaAppTierSettings, region: str) -> list[Problem]:
    """The instance type is offered in the stack's region (the catalogue's regions)."""
    problem = catalogue.region_problem(
        settings.instance_type,
        region,
        catalogue.current().ec2_instance_types,
        "an EC2 instance type",
    )
    return [Problem(at("instance_type"), problem)] if problem else []


def check(
    name: str,
    settings: HaAppTierSettings,
    *,
    context: StackContext,
    network: NetworkPlan | None,
    data_services: Collection[str] = (),
    region: str | None = None,
    base_dir: Path | None = None,
) -> list[Problem]:
    """Every problem of one app. ``settings`` are the environment's
    (``settings.for_environment(...)``); ``region`` is checked when known. ``network`` is
    None when the caller's network argument is not a network (reported by the caller):
    the rules that need it are skipped, every other one still runs."""
    problems = check_name(name) + check_settings(settings) + check_data_services(data_services)
    if network is not None and _service_names(data_services):
        problems += check_wiring(settings, network, data_services)
    problems += check_user_data(settings, base_dir)
    if context.is_prod:
        problems += broken_rules(PROD_RULES, settings)
    if region is not None:
        problems += check_certificate_region(settings.certificate_arn, region)
        problems += check_offered_in_region(settings, region)
    return problems
