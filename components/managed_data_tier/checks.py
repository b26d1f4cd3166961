"""Every rule of a ManagedDataTier, as pure functions returning problems.

Called by :class:`~components.managed_data_tier.ManagedDataTier` before it registers
anything, and by a stack loader gathering the checks of a whole stack. Each rule is written
once, here.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Collection, Mapping

from ..core.environment import PCI_RETENTION, EnvRule, broken_rules, each, optional
from ..core.problems import Problem, at
from ..core.settings import StackContext
from ..secure_vpc.plan import NetworkPlan
from .opensearch import DOMAIN_NAME
from .rds import MAX_STORE_NAME, STORE_NAME
from .redis import ELASTICACHE_ID, redis_user_ids
from .settings import ManagedDataTierSettings

#: The data tier's name starts the identifiers of its databases, clusters and DMS objects.
NAME = STORE_NAME

PROD_RULES: tuple[EnvRule[ManagedDataTierSettings], ...] = (
    each(
        "rds.{}.multi_az",
        "prod databases are Multi-AZ",
        lambda s: s.rds,
        lambda d: d.multi_az,
    ),
    each(
        "rds.{}.deletion_protection",
        "prod databases keep deletion protection",
        lambda s: s.rds,
        lambda d: d.deletion_protection,
    ),
    each(
        "rds.{}.log_retention_days",
        f"prod keeps database logs >= 365 days {PCI_RETENTION}",
        lambda s: s.rds,
        lambda d: d.log_retention_days >= 365,
    ),
    each(
        "documentdb.{}.deletion_protection",
        "prod clusters keep deletion protection",
        lambda s: s.documentdb,
        lambda c: c.deletion_protection,
    ),
    each(
        "documentdb.{}.instance_count",
        "prod clusters have >= 2 instances (failover to another AZ)",
        lambda s: s.documentdb,
        lambda c: c.instance_count >= 2,
    ),
    each(
        "documentdb.{}.log_retention_days",
        f"prod keeps cluster logs >= 365 days {PCI_RETENTION}",
        lambda s: s.documentdb,
        lambda c: c.log_retention_days >= 365,
    ),
    optional(
        "redis.replicas_per_shard",
        "prod Redis has >= 1 replica per shard in another AZ",
        lambda s: s.redis,
        lambda r: r.replicas_per_shard >= 1,
    ),
    optional(
        "redis.multi_az",
        "prod Redis is Multi-AZ with automatic failover",
        lambda s: s.redis,
        lambda r: r.multi_az and r.automatic_failover,
    ),
    optional(
        "redis.snapshot_retention_days",
        "prod Redis keeps snapshots >= 7 days",
        lambda s: s.redis,
        lambda r: r.snapshot_retention_days >= 7,
    ),
    optional(
        "redis.log_retention_days",
        f"prod keeps Redis logs >= 365 days {PCI_RETENTION}",
        lambda s: s.redis,
        lambda r: r.log_retention_days >= 365,
    ),
    optional(
        "rabbitmq.deployment_mode",
        "prod RabbitMQ is CLUSTER_MULTI_AZ; SINGLE_INSTANCE is for nonprod",
        lambda s: s.rabbitmq,
        lambda m: m.deployment_mode == "CLUSTER_MULTI_AZ",
    ),
    optional(
        "opensearch.zone_awareness",
        "prod OpenSearch spans >= 2 AZs",
        lambda s: s.opensearch,
        lambda o: o.zone_awareness >= 2,
    ),
    optional(
        "opensearch.instance_count",
        "prod OpenSearch has >= 3 data nodes",
        lambda s: s.opensearch,
        lambda o: o.instance_count >= 3,
    ),
    optional(
        "opensearch.dedicated_masters",
        "prod OpenSearch has dedicated cluster managers",
        lambda s: s.opensearch,
        lambda o: o.dedicated_masters,
    ),
    optional(
        "opensearch.log_retention_days",
        f"prod keeps OpenSearch logs >= 365 days {PCI_RETENTION}",
        lambda s: s.opensearch,
        lambda o: o.log_retention_days >= 365,
    ),
    optional(
        "dms.multi_az",
        "a prod replication instance is Multi-AZ",
        lambda s: s.dms,
        lambda d: d.multi_az,
    ),
)


def _store_key(store: str) -> tuple[str, ...]:
    """`rds.loyalty` -> ("rds", "loyalty"); `redis` -> ("redis",)."""
    return tuple(store.split("."))


def check_name(name: str) -> list[Problem]:
    if NAME.match(name) and len(name) <= MAX_STORE_NAME:
        return []
    return [
        Problem(
            ("name",),
            f"{name!r} must be lowercase letters, digits and single '-', start with a letter "
            f"and be at most {MAX_STORE_NAME} characters (it becomes part of AWS identifiers)",
        )
    ]


def check_clients(
    settings: ManagedDataTierSettings, network: NetworkPlan, apps: Mapping[str, Collection[str]]
) -> list[Problem]:
    """Every store admits only apps it was given, each of which can reach it: the app's
    security group has egress to the store's port, and the network's NACLs admit it."""
    problems: list[Problem] = []
    for store, (service, store_settings) in sorted(settings.stores().items()):
        key = (*_store_key(store), "clients")
        unknown = sorted(set(store_settings.clients) - set(apps))
        if unknown:
            problems.append(
                Problem(
                    at(*key),
                    f"names unknown app(s) {unknown}; use one of {sorted(apps)} (the apps "
                    "given to the data tier: apps={name: app.ref})",
                )
            )
        for app in sorted(set(store_settings.clients) & set(apps)):
            if service not in apps[app]:
                problems.append(
                    Problem(
                        at(*key),
                        f"app {app!r} has no egress to {service}: build HaAppTier({app!r}) "
                        f"with data_services including {service!r} "
                        f"(ManagedDataTierSettings.services_of_client({app!r}) lists them)",
                    )
                )
        if service not in network.data_services:
            problems.append(
                Problem(
                    ("network",),
                    f"the network's data-tier NACLs do not admit {service} ({store}); build the "
                    "SecureVpc with data_services including it "
                    "(ManagedDataTierSettings.data_services() lists them)",
                )
            )
    return problems


def check_network(settings: ManagedDataTierSettings, network: NetworkPlan) -> list[Problem]:
    """The stores fit the network's AZs and tiers."""
    problems: list[Problem] = []
    if "data" not in network.tier_slots:
        problems.append(Problem(("network",), "the network has no data tier"))
    azs = len(network.availability_zones)
    for db, rds in settings.rds.items():
        if rds.multi_az and azs < 2:
            problems.append(
                Problem(
                    at("rds", db, "multi_az"),
                    f"needs a network with at least 2 AZs (it has {azs})",
                )
            )
    for cluster, docdb in settings.documentdb.items():
        if docdb.instance_count > azs:
            problems.append(
                Problem(
                    at("documentdb", cluster, "instance_count"),
                    f"{docdb.instance_count} exceeds the network's {azs} AZs; one instance is "
                    "placed per AZ",
                )
            )
    if settings.redis is not None and settings.redis.multi_az and azs < 2:
        problems.append(
            Problem(
                at("redis", "multi_az"),
                f"needs at least 2 AZs in the network (it has {azs}); add an AZ or set "
                "`redis.multi_az` to false",
            )
        )
    if settings.opensearch is not None and settings.opensearch.zone_awareness > azs:
        problems.append(
            Problem(
                at("opensearch", "zone_awareness"),
                f"is {settings.opensearch.zone_awareness} but the network has {azs} AZ(s); "
                "lower it or add AZs to the network",
            )
        )
    return problems


def check_identifiers(
    settings: ManagedDataTierSettings, name: str, environment: str
) -> list[Problem]:
    """Identifiers derived from the tier's name that AWS limits."""
    problems: list[Problem] = []
    if settings.redis is not None:
        for user_id in redis_user_ids(name, environment).values():
            if not ELASTICACHE_ID.match(user_id):
                problems.append(
                    Problem(
                        ("name",),
                        f"the Redis user id {user_id!r} derived from it is not a valid "
                        "ElastiCache id (letter first, lowercase, <= 40 characters); shorten "
                        "the name",
                    )
                )
    if settings.opensearch is not None:
        domain = settings.opensearch.resolved_domain_name(name, environment)
        if not DOMAIN_NAME.match(domain):
            problems.append(
                Problem(
                    at("opensearch", "domain_name"),
                    f"the default {domain!r} is not a valid domain name (3-28 characters, "
                    "lowercase letter first); set `opensearch.domain_name`",
                )
            )
    return problems


def check_dms_sources(settings: ManagedDataTierSettings, network: NetworkPlan) -> list[Problem]:
    """Every DMS source names a declared on-prem range, sits inside it, and the data tier's
    NACLs let DMS reach its engine."""
    if settings.dms is None:
        return []
    problems: list[Problem] = []
    on_prem = network.on_prem_cidrs
    for name, source in settings.dms.sources.items():
        if source.on_prem_network not in on_prem:
            problems.append(
                Problem(
                    at("dms", "sources", name, "on_prem_network"),
                    f"unknown on-prem range {source.on_prem_network!r}; known: "
                    f"{sorted(on_prem)} (the network's on-prem ranges)",
                )
            )
            continue
        if source.engine not in network.dms_source_engines:
            problems.append(
                Problem(
                    ("network",),
                    f"the network's data-tier NACLs do not let DMS reach {source.engine} "
                    f"sources ({name}); build the SecureVpc with dms_source_engines including "
                    "it (ManagedDataTierSettings.dms_source_engines() lists them)",
                )
            )
        try:
            address = ipaddress.ip_address(source.host)
        except ValueError:
            continue  # a DNS name: resolved through the VPC's resolver rules
        if address not in ipaddress.ip_network(on_prem[source.on_prem_network]):
            problems.append(
                Problem(
                    at("dms", "sources", name, "host"),
                    f"{source.host} is outside {source.on_prem_network} "
                    f"({on_prem[source.on_prem_network]}); the security group would not let "
                    "DMS reach it",
                )
            )
    return problems


def check(
    name: str,
    settings: ManagedDataTierSettings,
    *,
    context: StackContext,
    network: NetworkPlan,
    apps: Mapping[str, Collection[str]],
) -> list[Problem]:
    """Every problem of a data tier. ``settings`` are the environment's
    (``settings.for_environment(...)``); ``apps`` maps each app that may be a client to the
    data services its instances can reach (``HaAppTier.ref.data_services``)."""
    problems = check_name(name)
    problems += check_network(settings, network)
    problems += check_clients(settings, network, apps)
    problems += check_identifiers(settings, name, context.environment)
    problems += check_dms_sources(settings, network)
    if context.is_prod:
        problems += broken_rules(PROD_RULES, settings)
    return problems
