"""Environment rules, in one place.

- ``NONPROD_DEFAULTS``: the cheaper values a nonprod stack gets for keys its file does not set
  ("multiple environments with proper separation, avoiding an over-engineered solution").
  The settings models themselves default to prod-grade values.
- ``PROD_RULES``: what every prod stack must keep. A prod file that breaks one is rejected
  naming the key and the rule.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from .config import StackSettings

#: Under a map of named entries (apps, databases): defaults for every entry.
EACH = "*"


class IfPresent(dict[str, Any]):
    """Defaults for an optional section: applied only when the stack file declares it
    (a nonprod default must never create a data store)."""


NONPROD_DEFAULTS: Mapping[str, Any] = {
    "network": {
        "availabilityZones": ["a", "b"],
        "natGateways": "Single",
        "flowLogRetentionDays": 90,
    },
    "hybrid": {
        "directConnect": {"enabled": False},
        "tunnelLogRetentionDays": 90,
    },
    "apps": {
        EACH: {
            "instanceType": "t3.medium",
            "minSize": 1,
            "desiredCapacity": 1,
            "maxSize": 2,
            "accessLogRetentionDays": 90,
        }
    },
    "dataTier": {
        "rds": {
            EACH: {
                "instanceClass": "db.t4g.medium",
                "multiAz": False,
                "deletionProtection": False,
                "backupRetentionDays": 7,
                "allocatedStorageGib": 20,
                "maxAllocatedStorageGib": 100,
                "logRetentionDays": 90,
            }
        },
        "documentdb": {
            EACH: {
                "instanceClass": "db.t4g.medium",
                "instanceCount": 1,
                "deletionProtection": False,
                "backupRetentionDays": 7,
                "logRetentionDays": 90,
            }
        },
        "redis": IfPresent(
            nodeType="cache.t4g.small",
            replicasPerShard=0,
            automaticFailover=False,
            multiAz=False,
            snapshotRetentionDays=1,
            logRetentionDays=90,
        ),
        "rabbitmq": IfPresent(deploymentMode="SINGLE_INSTANCE", hostInstanceType="mq.t3.micro"),
        "opensearch": IfPresent(
            instanceType="t3.medium.search",
            instanceCount=1,
            zoneAwareness=1,
            dedicatedMasters=False,
            autoTune=False,
            volumeSizeGib=20,
            logRetentionDays=90,
        ),
        "dms": IfPresent(instanceClass="dms.t3.medium", multiAz=False, allocatedStorageGib=50),
    },
    "landingZone": {
        "trail": {"logRetentionDays": 90, "transitionDays": 30, "expirationDays": 365},
        "guardDuty": {"features": ["S3_DATA_EVENTS"]},
        "securityHub": {"pciDssVersion": None},
        "budget": {"monthlyLimitUsd": 1500},
    },
}


def apply_defaults(data: Mapping[str, Any], defaults: Mapping[str, Any]) -> dict[str, Any]:
    """``data`` with ``defaults`` filled in wherever the stack file is silent, at any depth."""
    merged = dict(data)
    for key, default in defaults.items():
        if key == EACH:
            for name, entry in merged.items():
                if isinstance(entry, Mapping):
                    merged[name] = apply_defaults(entry, default)
            continue
        if isinstance(default, Mapping):
            if isinstance(default, IfPresent) and merged.get(key) is None:
                continue
            current = merged.get(key, {})
            if isinstance(current, Mapping):
                merged[key] = apply_defaults(current, default)
        elif key not in merged:
            merged[key] = default
    return merged


@dataclass(frozen=True)
class ProdRule:
    """A rule every prod stack keeps. ``violations`` returns the keys that break it."""

    key: str
    rule: str
    violations: Callable[[StackSettings], Iterable[str]]


T = TypeVar("T")


def _one(key: str, rule: str, holds: Callable[[StackSettings], bool]) -> ProdRule:
    return ProdRule(key, rule, lambda s: [] if holds(s) else [key])


def _each(
    key: str,
    rule: str,
    items: Callable[[StackSettings], Mapping[str, T]],
    holds: Callable[[T], bool],
) -> ProdRule:
    """A rule on every named entry; ``key`` has ``{}`` where the entry's name goes."""
    return ProdRule(
        key,
        rule,
        lambda s: [key.format(name) for name, item in items(s).items() if not holds(item)],
    )


def _store(
    key: str, rule: str, store: Callable[[StackSettings], T | None], holds: Callable[[T], bool]
) -> ProdRule:
    """A rule on an optional store: holds when the stack has no such store."""

    def violations(s: StackSettings) -> list[str]:
        value = store(s)
        return [] if value is None or holds(value) else [key]

    return ProdRule(key, rule, violations)


PCI_RETENTION = "(PCI DSS 10.5.1: keep audit logs at least 12 months)"

PROD_RULES: tuple[ProdRule, ...] = (
    _one(
        "account",
        "prod names its AWS account, so the provider refuses any other account",
        lambda s: s.account is not None,
    ),
    # network
    _one(
        "network.availabilityZones",
        "prod spans at least 2 AZs so one AZ outage leaves it up",
        lambda s: len(s.network.availability_zones) >= 2,
    ),
    _one(
        "network.natGateways",
        "prod uses OnePerAz (or None) NAT so one AZ outage does not cut the others' egress",
        lambda s: s.network.nat_gateways in ("OnePerAz", "None"),
    ),
    _one(
        "network.flowLogRetentionDays",
        f"prod keeps flow logs >= 365 days {PCI_RETENTION}",
        lambda s: s.network.flow_log_retention_days >= 365,
    ),
    # hybrid: DX or two VPN connections; VPN as DX backup
    _one(
        "hybrid.directConnect.enabled",
        "prod reaches on-prem over Direct Connect or two VPN connections",
        lambda s: (
            not s.hybrid.customer_gateways
            or s.hybrid.direct_connect.enabled
            or len(s.hybrid.customer_gateways) >= 2
        ),
    ),
    _one(
        "hybrid.customerGateways",
        "prod with on-prem ranges keeps at least one Site-to-Site VPN (a pair of tunnels)",
        lambda s: not s.hybrid.on_prem_networks or len(s.hybrid.customer_gateways) >= 1,
    ),
    _one(
        "hybrid.tunnelLogRetentionDays",
        f"prod keeps VPN tunnel logs >= 365 days {PCI_RETENTION}",
        lambda s: s.hybrid.tunnel_log_retention_days >= 365,
    ),
    # apps
    _each(
        "apps.{}.minSize",
        "prod runs >= 2 instances per app, spread over AZs",
        lambda s: s.apps,
        lambda a: a.min_size >= 2,
    ),
    _each(
        "apps.{}.waf.enabled",
        "internet-facing prod ALBs have AWS WAF (PCI DSS 6.4.2)",
        lambda s: s.apps,
        lambda a: a.waf.enabled or not a.internet_facing,
    ),
    _each(
        "apps.{}.accessLogRetentionDays",
        f"prod keeps ALB access logs >= 365 days {PCI_RETENTION}",
        lambda s: s.apps,
        lambda a: a.access_log_retention_days >= 365,
    ),
    # data tier
    _each(
        "dataTier.rds.{}.multiAz",
        "prod databases are Multi-AZ",
        lambda s: s.data_tier.rds,
        lambda d: d.multi_az,
    ),
    _each(
        "dataTier.rds.{}.deletionProtection",
        "prod databases keep deletion protection",
        lambda s: s.data_tier.rds,
        lambda d: d.deletion_protection,
    ),
    _each(
        "dataTier.rds.{}.logRetentionDays",
        f"prod keeps database logs >= 365 days {PCI_RETENTION}",
        lambda s: s.data_tier.rds,
        lambda d: d.log_retention_days >= 365,
    ),
    _each(
        "dataTier.documentdb.{}.deletionProtection",
        "prod clusters keep deletion protection",
        lambda s: s.data_tier.documentdb,
        lambda c: c.deletion_protection,
    ),
    _each(
        "dataTier.documentdb.{}.instanceCount",
        "prod clusters have >= 2 instances (failover to another AZ)",
        lambda s: s.data_tier.documentdb,
        lambda c: c.instance_count >= 2,
    ),
    _each(
        "dataTier.documentdb.{}.logRetentionDays",
        f"prod keeps cluster logs >= 365 days {PCI_RETENTION}",
        lambda s: s.data_tier.documentdb,
        lambda c: c.log_retention_days >= 365,
    ),
    _store(
        "dataTier.redis.replicasPerShard",
        "prod Redis has >= 1 replica per shard in another AZ",
        lambda s: s.data_tier.redis,
        lambda r: r.replicas_per_shard >= 1,
    ),
    _store(
        "dataTier.redis.multiAz",
        "prod Redis is Multi-AZ with automatic failover",
        lambda s: s.data_tier.redis,
        lambda r: r.multi_az and r.automatic_failover,
    ),
    _store(
        "dataTier.redis.snapshotRetentionDays",
        "prod Redis keeps snapshots >= 7 days",
        lambda s: s.data_tier.redis,
        lambda r: r.snapshot_retention_days >= 7,
    ),
    _store(
        "dataTier.redis.logRetentionDays",
        f"prod keeps Redis logs >= 365 days {PCI_RETENTION}",
        lambda s: s.data_tier.redis,
        lambda r: r.log_retention_days >= 365,
    ),
    _store(
        "dataTier.rabbitmq.deploymentMode",
        "prod RabbitMQ is CLUSTER_MULTI_AZ; SINGLE_INSTANCE is for nonprod",
        lambda s: s.data_tier.rabbitmq,
        lambda m: m.deployment_mode == "CLUSTER_MULTI_AZ",
    ),
    _store(
        "dataTier.opensearch.zoneAwareness",
        "prod OpenSearch spans >= 2 AZs",
        lambda s: s.data_tier.opensearch,
        lambda o: o.zone_awareness >= 2,
    ),
    _store(
        "dataTier.opensearch.instanceCount",
        "prod OpenSearch has >= 3 data nodes",
        lambda s: s.data_tier.opensearch,
        lambda o: o.instance_count >= 3,
    ),
    _store(
        "dataTier.opensearch.dedicatedMasters",
        "prod OpenSearch has dedicated cluster managers",
        lambda s: s.data_tier.opensearch,
        lambda o: o.dedicated_masters,
    ),
    _store(
        "dataTier.opensearch.logRetentionDays",
        f"prod keeps OpenSearch logs >= 365 days {PCI_RETENTION}",
        lambda s: s.data_tier.opensearch,
        lambda o: o.log_retention_days >= 365,
    ),
    _store(
        "dataTier.dms.multiAz",
        "a prod replication instance is Multi-AZ",
        lambda s: s.data_tier.dms,
        lambda d: d.multi_az,
    ),
    # landing zone
    _one(
        "landingZone.trail.logRetentionDays",
        f"prod keeps trail logs >= 365 days {PCI_RETENTION}",
        lambda s: s.landing_zone.trail.log_retention_days >= 365,
    ),
    _one(
        "landingZone.trail.expirationDays",
        f"prod keeps trail objects >= 365 days {PCI_RETENTION}",
        lambda s: s.landing_zone.trail.expiration_days >= 365,
    ),
    _one(
        "landingZone.trail.transitionDays",
        "prod keeps 3 months of trail logs immediately available (PCI DSS 10.5.1)",
        lambda s: s.landing_zone.trail.transition_days >= 90,
    ),
    _one(
        "landingZone.securityHub.pciDssVersion",
        "prod subscribes the Security Hub PCI DSS standard",
        lambda s: s.landing_zone.security_hub.pci_dss_version is not None,
    ),
    _one(
        "landingZone.guardDuty.features",
        "prod enables GuardDuty S3 and EBS malware protection",
        lambda s: (
            {"S3_DATA_EVENTS", "EBS_MALWARE_PROTECTION"} <= set(s.landing_zone.guard_duty.features)
        ),
    ),
    _one(
        "landingZone.awsConfig.conformancePack",
        "prod runs the PCI DSS conformance pack",
        lambda s: bool(s.landing_zone.aws_config.conformance_pack),
    ),
    _one(
        "landingZone.notifications.securitySubscriptions",
        "prod routes security findings to at least one subscriber (PCI DSS 10.7, 12.10)",
        lambda s: len(s.landing_zone.notifications.security_subscriptions) >= 1,
    ),
)


def prod_violations(settings: StackSettings) -> list[str]:
    return [f"{key}: {rule.rule}" for rule in PROD_RULES for key in rule.violations(settings)]
