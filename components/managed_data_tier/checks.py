"""Every rule of a ManagedDataTier, as pure functions returning problems.

Called by :class:`~components.managed_data_tier.ManagedDataTier` before it registers
anything, and by a stack loader gathering the checks of a whole stack. Each rule is written
once, here.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Collection, Mapping
from functools import partial

from .. import catalogue
from ..core.environment import PCI_RETENTION, EnvRule, broken_rules, each, optional
from ..core.problems import Problem, at
from ..core.problems import check_name as core_check_name
from ..core.settings import StackContext
from ..ha_app_tier import AppRef
from ..secure_vpc.network import NetworkPlan
from .redis import ELASTICACHE_ID, redis_user_ids
from .settings import (
    BROAD_REDIS_COMMANDS,
    COMPATIBLE_TARGETS,
    MAX_STORE_NAME,
    STORE_NAME,
    DmsSettings,
    ManagedDataTierSettings,
    OpenSearchSettings,
    RabbitMqSettings,
    RdsDatabaseSettings,
    RedisSettings,
    windows_overlap,
)

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
    each(
        "redis.app_access.{}.keys",
        "an app's Redis user reads and writes its own keys: `*` would be every app's",
        lambda s: s.redis.app_access if s.redis else {},
        lambda a: a.keys is None or not {"*", "allkeys"} & set(a.keys),
    ),
    each(
        "redis.app_access.{}.commands",
        f"an app's Redis user gets none of {sorted(BROAD_REDIS_COMMANDS)}",
        lambda s: s.redis.app_access if s.redis else {},
        lambda a: not BROAD_REDIS_COMMANDS & set(a.commands),
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
        lambda s: s.active_dms,
        lambda d: d.multi_az,
    ),
)


def _store_key(store: str) -> tuple[str, ...]:
    """`rds.loyalty` -> ("rds", "loyalty"); `redis` -> ("redis",)."""
    return tuple(store.split("."))


def check_name(name: str) -> list[Problem]:
    return core_check_name(
        name,
        lambda n: NAME.match(n) and len(n) <= MAX_STORE_NAME,
        "must be lowercase letters, digits and single '-', start with a letter and be at "
        f"most {MAX_STORE_NAME} characters (it becomes part of AWS identifiers)",
    )


def check_app_refs(apps: object) -> list[Problem]:
    """``apps`` maps app names to HaAppTier references (``app.ref``)."""
    if isinstance(apps, Mapping) and all(isinstance(ref, AppRef) for ref in apps.values()):
        return []
    return [
        Problem(
            ("apps",),
            "expected a mapping of app name to the HaAppTier's reference: "
            "apps={name: app.ref for name, app in apps.items()}",
        )
    ]


# --- rules between the fields of the settings --------------------------------------------------


def check_windows(settings: ManagedDataTierSettings) -> list[Problem]:
    """RDS and DocumentDB: AWS refuses a maintenance window that overlaps the backup window
    (at create time; this fails at preview instead)."""
    problems: list[Problem] = []
    for kind, stores in (("rds", settings.rds), ("documentdb", settings.documentdb)):
        for name, store in stores.items():
            if windows_overlap(store.backup_window, store.maintenance_window):
                problems.append(
                    Problem(
                        at(kind, name, "maintenance_window"),
                        f"{store.maintenance_window} overlaps the backup window "
                        f"{store.backup_window} (`{kind}.{name}.backup_window`); move one "
                        "of them",
                    )
                )
    return problems


def check_rds(name: str, rds: RdsDatabaseSettings) -> list[Problem]:
    """The engine version gives the parameter group family (`postgres16`, `mysql8.0`), and
    storage autoscaling needs a ceiling above the allocated storage."""
    problems: list[Problem] = []
    parts = rds.version.split(".")
    if rds.engine == "postgres" and int(parts[0]) < 13:
        problems.append(
            Problem(
                at("rds", name, "engine_version"),
                f"PostgreSQL {rds.version} is out of standard support on RDS; use 13 or later",
            )
        )
    if rds.engine == "mysql" and ".".join(parts[:2]) not in ("8.0", "8.4"):
        problems.append(
            Problem(
                at("rds", name, "engine_version"),
                f"{rds.version} is not a MySQL version RDS runs here; give 8.0 or 8.4 "
                "(optionally with the patch, e.g. 8.0.39)",
            )
        )
    if rds.max_allocated_storage_gib <= rds.allocated_storage_gib:
        problems.append(
            Problem(
                at("rds", name, "max_allocated_storage_gib"),
                f"{rds.max_allocated_storage_gib} GiB must exceed "
                f"`rds.{name}.allocated_storage_gib` ({rds.allocated_storage_gib} GiB) so "
                "storage autoscaling is on; raise it",
            )
        )
    return problems


def check_redis(redis: RedisSettings) -> list[Problem]:
    """Engine and version, sharding, and failover belong together (ElastiCache's rules)."""
    problems: list[Problem] = []
    version = redis.version
    if redis.engine == "redis" and version[0] != 7:
        problems.append(
            Problem(
                at("redis", "engine_version"),
                f"{redis.engine_version} with `redis.engine` redis: use 7.0 or 7.1 "
                "(TLS-required mode and RBAC users need Redis OSS 7)",
            )
        )
    # (Valkey starts at 7.2: the catalogue refuses any other version in the settings)
    if redis.shards > 1 and redis.cluster_mode == "disabled":
        problems.append(
            Problem(
                at("redis", "shards"),
                f"{redis.shards} shards need `redis.cluster_mode` enabled; enable it or use "
                "1 shard",
            )
        )
    if redis.automatic_failover and redis.replicas_per_shard < 1:
        problems.append(
            Problem(
                at("redis", "automatic_failover"),
                "has no replica to promote: set `redis.replicas_per_shard` to 1 or more, or "
                "turn failover off (and `redis.multi_az` with it)",
            )
        )
    if redis.cluster_mode == "enabled" and not redis.automatic_failover:
        problems.append(
            Problem(
                at("redis", "automatic_failover"),
                "must be on with `redis.cluster_mode` enabled (ElastiCache requires it)",
            )
        )
    if redis.multi_az and not redis.automatic_failover:
        problems.append(
            Problem(
                at("redis", "multi_az"),
                "needs `redis.automatic_failover` (and a replica per shard); turn both on or "
                "both off",
            )
        )
    return problems


def check_rabbitmq(rabbitmq: RabbitMqSettings) -> list[Problem]:
    """What Amazon MQ accepts for a RabbitMQ broker."""
    problems: list[Problem] = []
    if not rabbitmq.auto_minor_version_upgrade:
        problems.append(
            Problem(
                at("rabbitmq", "auto_minor_version_upgrade"),
                "must be true: Amazon MQ requires automatic minor version upgrades for "
                "RabbitMQ 3.13 and later",
            )
        )
    if rabbitmq.major >= 4 and not rabbitmq.host_instance_type.startswith("mq.m7g."):
        problems.append(
            Problem(
                at("rabbitmq", "engine_version"),
                f"{rabbitmq.engine_version} runs on mq.m7g instances only; set "
                "`rabbitmq.host_instance_type` to an mq.m7g type",
            )
        )
    if rabbitmq.deployment_mode == "CLUSTER_MULTI_AZ" and (
        rabbitmq.host_instance_type == "mq.t3.micro"
    ):
        problems.append(
            Problem(
                at("rabbitmq", "host_instance_type"),
                "mq.t3.micro runs SINGLE_INSTANCE brokers only; use mq.m7g.large (or larger) "
                "for `rabbitmq.deployment_mode` CLUSTER_MULTI_AZ",
            )
        )
    return problems


def check_opensearch(opensearch: OpenSearchSettings) -> list[Problem]:
    """The domain's administrator, node layout and instance type."""
    problems: list[Problem] = []
    if opensearch.master_user_arn is None:
        problems.append(
            Problem(
                at("opensearch", "master_user_arn"),
                "is required: give the ARN of the IAM role that administers fine-grained "
                "access control (arn:aws:iam::<account>:role/<name>); no internal users exist",
            )
        )
    if opensearch.instance_count % opensearch.zone_awareness:
        problems.append(
            Problem(
                at("opensearch", "instance_count"),
                f"{opensearch.instance_count} data nodes do not spread evenly over "
                f"`opensearch.zone_awareness` ({opensearch.zone_awareness}) AZs (AWS requires "
                f"an even count for 2 AZs); use a multiple of {opensearch.zone_awareness}",
            )
        )
    family = opensearch.instance_family
    if opensearch.auto_tune and family in ("t2", "t3"):
        problems.append(
            Problem(
                at("opensearch", "auto_tune"),
                f"Auto-Tune is not available on {opensearch.instance_type}; turn it off or use "
                "a non-burstable `opensearch.instance_type`",
            )
        )
    if family == "t2":
        problems.append(
            Problem(
                at("opensearch", "instance_type"),
                f"{opensearch.instance_type}: t2 nodes cannot encrypt data at rest; use t3 "
                "(nonprod) or a larger type",
            )
        )
    return problems


def check_dms(dms: DmsSettings) -> list[Problem]:
    """Sources verify the server they read from; tasks read a declared source and write to a
    kind of store its engine migrates into."""
    problems: list[Problem] = []
    for name, source in sorted(dms.sources.items()):
        if source.ssl_mode == "verify-full" and source.certificate_arn is None:
            problems.append(
                Problem(
                    at("dms", "sources", name, "certificate_arn"),
                    f"is required with `dms.sources.{name}.ssl_mode` verify-full: import the "
                    "on-prem CA as a DMS certificate (or, knowingly, use ssl_mode require)",
                )
            )
    to_documentdb: list[str] = []
    for name, task in sorted(dms.tasks.items()):
        if task.source not in dms.sources:
            problems.append(
                Problem(
                    at("dms", "tasks", name, "source"),
                    f"unknown source {task.source!r}; declare it under `dms.sources` (known: "
                    f"{sorted(dms.sources)})",
                )
            )
        else:
            engine = dms.sources[task.source].engine
            if task.target_kind not in COMPATIBLE_TARGETS[engine]:
                problems.append(
                    Problem(
                        at("dms", "tasks", name, "target"),
                        f"a {engine} source migrates into "
                        f"{sorted(COMPATIBLE_TARGETS[engine])}, not {task.target_kind}",
                    )
                )
        if task.target_kind == "documentdb":
            to_documentdb.append(name)
    if to_documentdb and dms.target_ca_certificate_arn is None:
        problems.append(
            Problem(
                at("dms", "target_ca_certificate_arn"),
                f"is required: task(s) {to_documentdb} write to DocumentDB, which DMS reaches "
                "only with TLS verify-full (import global-bundle.pem as a DMS certificate)",
            )
        )
    return problems


def check_dms_targets(settings: ManagedDataTierSettings) -> list[Problem]:
    """Every task writes to a store of this data tier, of the source's engine (a retired
    migration is a record: its stores may since have been renamed or removed)."""
    dms = settings.active_dms
    if dms is None:
        return []
    problems: list[Problem] = []
    for name, task in sorted(dms.tasks.items()):
        stores = settings.rds if task.target_kind == "rds" else settings.documentdb
        if task.target_store not in stores:
            problems.append(
                Problem(
                    at("dms", "tasks", name, "target"),
                    f"{task.target} is not a store of this data tier; declare it under "
                    f"`{task.target_kind}` (known: "
                    f"{sorted(f'{task.target_kind}.{s}' for s in stores)})",
                )
            )
            continue
        source = dms.sources.get(task.source)
        if task.target_kind == "rds" and source is not None:
            engine = settings.rds[task.target_store].engine
            if source.engine != engine:
                problems.append(
                    Problem(
                        at("dms", "tasks", name, "target"),
                        f"source engine {source.engine} differs from {task.target} "
                        f"({engine}); this platform migrates like to like",
                    )
                )
    return problems


def check_settings(settings: ManagedDataTierSettings) -> list[Problem]:
    """Every rule between fields of the settings, in every store."""
    problems = check_windows(settings)
    for name, rds in sorted(settings.rds.items()):
        problems += check_rds(name, rds)
    if settings.redis is not None:
        problems += check_redis(settings.redis)
    if settings.rabbitmq is not None:
        problems += check_rabbitmq(settings.rabbitmq)
    if settings.opensearch is not None:
        problems += check_opensearch(settings.opensearch)
    if settings.active_dms is not None:
        problems += check_dms(settings.active_dms)
    return problems + check_dms_targets(settings) + check_client_credentials(settings)


def check_client_credentials(settings: ManagedDataTierSettings) -> list[Problem]:
    """Per-app credentials name apps the store admits: master-secret readers, Redis access,
    RabbitMQ virtual hosts; each RabbitMQ client app becomes a broker user of its name."""
    problems: list[Problem] = []
    databases: list[tuple[str, str, list[str], list[str]]] = [
        ("rds", n, d.clients, d.master_secret_readers) for n, d in settings.rds.items()
    ]
    databases += [
        ("documentdb", n, c.clients, c.master_secret_readers)
        for n, c in settings.documentdb.items()
    ]
    for kind, name, clients, readers in sorted(databases):
        strangers = sorted(set(readers) - set(clients))
        if strangers:
            problems.append(
                Problem(
                    at(kind, name, "master_secret_readers"),
                    f"{strangers} are not clients of {kind}.{name}; list only apps of "
                    f"`{kind}.{name}.clients`",
                )
            )
    if settings.redis is not None:
        strangers = sorted(set(settings.redis.app_access) - set(settings.redis.clients))
        if strangers:
            problems.append(
                Problem(
                    at("redis", "app_access"),
                    f"{strangers} are not clients of redis; give access to apps of "
                    "`redis.clients` only",
                )
            )
        for app in sorted(set(settings.redis.clients) & {"default", "app"}):
            problems.append(
                Problem(
                    at("redis", "clients"),
                    f"app {app!r} cannot be a Redis user of that name (`default` and `app` "
                    "are the tier's own users); rename the app",
                )
            )
    if settings.rabbitmq is not None:
        mq = settings.rabbitmq
        strangers = sorted(set(mq.app_vhosts) - set(mq.clients))
        if strangers:
            problems.append(
                Problem(
                    at("rabbitmq", "app_vhosts"),
                    f"{strangers} are not clients of rabbitmq; give virtual hosts to apps of "
                    "`rabbitmq.clients` only",
                )
            )
        for app in sorted(mq.clients):
            if len(app) < 2 or app in ("guest", "admin", mq.admin_username):
                problems.append(
                    Problem(
                        at("rabbitmq", "clients"),
                        f"app {app!r} cannot be a broker user of that name (2-100 "
                        "characters, not 'guest', 'admin' nor `rabbitmq.admin_username`)",
                    )
                )
    return problems


# --- rules between the settings and the references ---------------------------------------------


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
    """Identifiers derived from the tier's name that AWS limits beyond the name's own rule."""
    problems: list[Problem] = []
    if settings.redis is not None:
        for user_id in redis_user_ids(name, environment, settings.redis.clients).values():
            if not ELASTICACHE_ID.match(user_id):
                problems.append(
                    Problem(
                        ("name",),
                        f"the Redis user id {user_id!r} derived from it is not a valid "
                        "ElastiCache id (letter first, lowercase, <= 40 characters); shorten "
                        "the name",
                    )
                )
    # (the default OpenSearch domain name, `<name>-search`, is valid for every valid name)
    return problems


def check_dms_target_ports(
    settings: ManagedDataTierSettings, network: NetworkPlan
) -> list[Problem]:
    """The data tier's NACLs let DMS (in the data subnets) reach each store it writes to: the
    tier admits between its own subnets only the ports DMS targets listen on."""
    stores = settings.stores()
    problems: list[Problem] = []
    for target in sorted(settings.dms_targets()):
        service = stores[target][0] if target in stores else None
        if service is not None and service not in network.dms_target_services:
            problems.append(
                Problem(
                    ("network",),
                    f"the network's data-tier NACLs do not let DMS reach {service} ({target}) "
                    "between the data subnets; build the SecureVpc with dms_target_services "
                    "including it (ManagedDataTierSettings.dms_target_services() lists them)",
                )
            )
    return problems


def check_dms_sources(settings: ManagedDataTierSettings, network: NetworkPlan) -> list[Problem]:
    """Every DMS source names a declared on-prem range, sits inside it, and the data tier's
    NACLs let DMS reach its engine."""
    if settings.active_dms is None:
        return []
    problems: list[Problem] = []
    on_prem = network.on_prem_cidrs
    for name, source in settings.active_dms.sources.items():
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


def check_offered_in_region(settings: ManagedDataTierSettings, region: str) -> list[Problem]:
    """Every instance class, node type and engine version is offered in the stack's region
    (the settings already refused what no supported region offers)."""
    known = catalogue.current()
    wanted: list[tuple[tuple[str, ...], str, Callable[[str], Collection[str]], str]] = []
    for db_name, rds in settings.rds.items():
        engine = rds.engine
        wanted.append(
            (
                ("rds", db_name, "instance_class"),
                rds.instance_class,
                partial(known.rds_instance_classes, engine),
                f"an RDS {engine} instance class",
            )
        )
        if rds.engine_version is not None:
            wanted.append(
                (
                    ("rds", db_name, "engine_version"),
                    rds.engine_version,
                    partial(known.rds_versions_accepted, engine),
                    f"an RDS {engine} version",
                )
            )
    for cluster, docdb in settings.documentdb.items():
        wanted.append(
            (
                ("documentdb", cluster, "instance_class"),
                docdb.instance_class,
                known.docdb_instance_classes,
                "a DocumentDB instance class",
            )
        )
        wanted.append(
            (
                ("documentdb", cluster, "engine_version"),
                docdb.engine_version,
                known.docdb_engine_versions,
                "a DocumentDB version",
            )
        )
    if settings.redis is not None:
        redis = settings.redis
        wanted.append(
            (
                ("redis", "node_type"),
                redis.node_type,
                known.elasticache_node_types,
                "an ElastiCache node type",
            )
        )
        wanted.append(
            (
                ("redis", "engine_version"),
                redis.engine_version,
                partial(known.elasticache_engine_versions, redis.engine),
                f"a {redis.engine} version",
            )
        )
    if settings.rabbitmq is not None:
        wanted.append(
            (
                ("rabbitmq", "host_instance_type"),
                settings.rabbitmq.host_instance_type,
                known.rabbitmq_instance_types,
                "an Amazon MQ for RabbitMQ instance type",
            )
        )
    if settings.opensearch is not None:
        search = settings.opensearch
        for field, value in (
            ("instance_type", search.instance_type),
            ("dedicated_master_type", search.dedicated_master_type),
        ):
            wanted.append(
                (
                    ("opensearch", field),
                    value,
                    known.opensearch_instance_types,
                    "an OpenSearch instance type",
                )
            )
        wanted.append(
            (
                ("opensearch", "engine_version"),
                search.engine_version,
                known.opensearch_engine_versions,
                "an OpenSearch version",
            )
        )
    if settings.active_dms is not None:
        wanted.append(
            (
                ("dms", "instance_class"),
                settings.active_dms.instance_class,
                known.dms_instance_classes,
                "a DMS replication instance class",
            )
        )
    problems: list[Problem] = []
    for key, value, offered_in, what in wanted:
        problem = catalogue.region_problem(value, region, offered_in, what)
        if problem:
            problems.append(Problem(at(*key), problem))
    return problems


def check(
    name: str,
    settings: ManagedDataTierSettings,
    *,
    context: StackContext,
    network: NetworkPlan,
    apps: Mapping[str, Collection[str]],
    region: str | None = None,
) -> list[Problem]:
    """Every problem of a data tier. ``settings`` are the environment's
    (``settings.for_environment(...)``); ``apps`` maps each app that may be a client to the
    data services its instances can reach (``HaAppTier.ref.data_services``); ``region`` is
    checked when known (a stack file names it; a component learns it only at deploy)."""
    problems = check_name(name)
    problems += check_settings(settings)
    problems += check_network(settings, network)
    problems += check_clients(settings, network, apps)
    problems += check_identifiers(settings, name, context.environment)
    problems += check_dms_sources(settings, network)
    problems += check_dms_target_ports(settings, network)
    if context.is_prod:
        problems += broken_rules(PROD_RULES, settings)
    if region is not None:
        problems += check_offered_in_region(settings, region)
    return problems
