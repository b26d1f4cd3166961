"""The data tier's alarms and dashboard widgets, as data.

Each function returns the :class:`Alarm` values of one store, from its settings and the ids
AWS gives it; the component raises them all on the stack's alarm topic with
:func:`~components.core.alarms.raise_alarms` (logical name ``f"{tier}-{alarm.name}"``,
notifying on ALARM and on OK). Unless noted, an alarm needs three 5-minute periods, so a
blip does not page anyone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pulumi

from ..core.alarms import Alarm, Comparison, Query, Widget, metric_widget
from .settings import (
    DmsSettings,
    DocumentDbSettings,
    OpenSearchSettings,
    RabbitMqSettings,
    RdsDatabaseSettings,
    RedisSettings,
)

Dimensions = Mapping[str, pulumi.Input[str]]


def _sustained(
    name: str,
    description: str,
    *,
    namespace: str,
    metric: str,
    dimensions: Dimensions,
    threshold: float,
    comparison: Comparison,
    statistic: str = "Average",
) -> Alarm:
    """An alarm over three 5-minute periods."""
    return Alarm(
        name=name,
        description=description,
        namespace=namespace,
        metric=metric,
        dimensions=dimensions,
        threshold=threshold,
        comparison=comparison,
        statistic=statistic,
        evaluation_periods=3,
    )


# --- RDS -------------------------------------------------------------------------------------


def rds_alarms(key: str, identifier: str, settings: RdsDatabaseSettings) -> list[Alarm]:
    """CPU, free storage, freeable memory and connections of the instance ``identifier``
    (``key`` is the store's role, `rds-loyalty`)."""
    dims = {"DBInstanceIdentifier": identifier}
    free_bytes = (
        settings.allocated_storage_gib * 1024**3 * settings.free_storage_alarm_percent / 100
    )
    checks: list[tuple[str, str, str, float, Comparison]] = [
        (
            "cpu",
            f"CPU above {settings.cpu_alarm_percent}%",
            "CPUUtilization",
            settings.cpu_alarm_percent,
            "GreaterThanThreshold",
        ),
        (
            "storage",
            f"free storage below {settings.free_storage_alarm_percent}% of the allocated size "
            "(autoscaling may be at its ceiling)",
            "FreeStorageSpace",
            free_bytes,
            "LessThanThreshold",
        ),
        (
            "memory",
            f"freeable memory below {settings.free_memory_alarm_mib} MiB",
            "FreeableMemory",
            settings.free_memory_alarm_mib * 1024**2,
            "LessThanThreshold",
        ),
        (
            "connections",
            f"more than {settings.connections_alarm_threshold} connections",
            "DatabaseConnections",
            settings.connections_alarm_threshold,
            "GreaterThanThreshold",
        ),
    ]
    return [
        _sustained(
            f"{key}-{suffix}",
            f"RDS {identifier}: {what}",
            namespace="AWS/RDS",
            metric=metric,
            dimensions=dims,
            threshold=threshold,
            comparison=comparison,
        )
        for suffix, what, metric, threshold, comparison in checks
    ]


def rds_widgets(identifier: str, region: pulumi.Input[str]) -> list[Widget]:
    return [
        metric_widget(
            f"RDS {identifier}: CPU and connections",
            [
                ["AWS/RDS", "CPUUtilization", "DBInstanceIdentifier", identifier],
                [
                    "AWS/RDS",
                    "DatabaseConnections",
                    "DBInstanceIdentifier",
                    identifier,
                    {"yAxis": "right"},
                ],
            ],
            region=region,
        ),
        metric_widget(
            f"RDS {identifier}: free storage and memory",
            [
                ["AWS/RDS", "FreeStorageSpace", "DBInstanceIdentifier", identifier],
                ["AWS/RDS", "FreeableMemory", "DBInstanceIdentifier", identifier],
            ],
            region=region,
        ),
    ]


# --- DocumentDB --------------------------------------------------------------------------------


def docdb_alarms(
    key: str, identifier: str, settings: DocumentDbSettings, *, replicas: bool
) -> list[Alarm]:
    """CPU, freeable memory, connections and (with replicas) replica lag of the cluster."""
    dims = {"DBClusterIdentifier": identifier}
    checks: list[tuple[str, str, str, float, Comparison, str]] = [
        (
            "cpu",
            f"CPU above {settings.cpu_alarm_percent}%",
            "CPUUtilization",
            settings.cpu_alarm_percent,
            "GreaterThanThreshold",
            "Maximum",
        ),
        (
            "memory",
            f"freeable memory below {settings.free_memory_alarm_mib} MiB",
            "FreeableMemory",
            settings.free_memory_alarm_mib * 1024**2,
            "LessThanThreshold",
            "Minimum",
        ),
        (
            "connections",
            f"more than {settings.connections_alarm_threshold} connections",
            "DatabaseConnections",
            settings.connections_alarm_threshold,
            "GreaterThanThreshold",
            "Maximum",
        ),
    ]
    if replicas:
        checks.append(
            (
                "replica-lag",
                f"a replica lags more than {settings.replica_lag_alarm_ms} ms",
                "DBClusterReplicaLagMaximum",
                settings.replica_lag_alarm_ms,
                "GreaterThanThreshold",
                "Maximum",
            )
        )
    return [
        _sustained(
            f"{key}-{suffix}",
            f"DocumentDB {identifier}: {what}",
            namespace="AWS/DocDB",
            metric=metric,
            dimensions=dims,
            threshold=threshold,
            comparison=comparison,
            statistic=statistic,
        )
        for suffix, what, metric, threshold, comparison, statistic in checks
    ]


def docdb_widgets(identifier: str, region: pulumi.Input[str]) -> list[Widget]:
    return [
        metric_widget(
            f"DocumentDB {identifier}: CPU and connections",
            [
                ["AWS/DocDB", "CPUUtilization", "DBClusterIdentifier", identifier],
                [
                    "AWS/DocDB",
                    "DatabaseConnections",
                    "DBClusterIdentifier",
                    identifier,
                    {"yAxis": "right"},
                ],
            ],
            region=region,
        ),
        metric_widget(
            f"DocumentDB {identifier}: replica lag (ms)",
            [["AWS/DocDB", "DBClusterReplicaLagMaximum", "DBClusterIdentifier", identifier]],
            region=region,
            stat="Maximum",
        ),
    ]


# --- ElastiCache -------------------------------------------------------------------------------


def redis_alarms(
    name: str, settings: RedisSettings, node_ids: Mapping[str, pulumi.Input[str]]
) -> list[Alarm]:
    """Per node (ElastiCache publishes these metrics per CacheClusterId): engine CPU, memory,
    connections, replication lag. ``node_ids`` maps the suffix AWS gives each node (`001`,
    `0001-002`) to its id; the alarm is named after the suffix, never a list index."""
    checks: Mapping[str, tuple[str, str, float, str]] = {
        "cpu": ("EngineCPUUtilization", "Average", settings.cpu_alarm_percent, "engine CPU %"),
        "memory": (
            "DatabaseMemoryUsagePercentage",
            "Average",
            settings.memory_alarm_percent,
            "memory used % (evictions follow)",
        ),
        "connections": (
            "CurrConnections",
            "Maximum",
            settings.connections_alarm,
            "client connections",
        ),
        "replication-lag": (
            "ReplicationLag",
            "Maximum",
            settings.replication_lag_alarm_seconds,
            "replica lag seconds (a failover would lose writes)",
        ),
    }
    return [
        Alarm(
            name=f"redis-{suffix}-{check}",
            description=f"{name} {settings.engine} node {suffix}: {what} >= {threshold}",
            namespace="AWS/ElastiCache",
            metric=metric,
            dimensions={"CacheClusterId": node_id},
            threshold=threshold,
            comparison="GreaterThanOrEqualToThreshold",
            statistic=stat,
            evaluation_periods=3,
            # ReplicationLag is only published by replicas, and which node is the primary
            # changes on failover
            treat_missing_data="notBreaching" if check == "replication-lag" else "missing",
        )
        for suffix, node_id in node_ids.items()
        for check, (metric, stat, threshold, what) in checks.items()
    ]


def redis_widgets(
    name: str,
    settings: RedisSettings,
    node_ids: Sequence[pulumi.Input[str]],
    region: pulumi.Input[str],
) -> list[Widget]:
    return [
        metric_widget(
            f"{name} {settings.engine}: {metric}",
            [["AWS/ElastiCache", metric, "CacheClusterId", node_id] for node_id in node_ids],
            region=region,
        )
        for metric in ("EngineCPUUtilization", "DatabaseMemoryUsagePercentage", "CurrConnections")
    ]


# --- Amazon MQ for RabbitMQ --------------------------------------------------------------------


def rabbitmq_alarms(
    name: str, settings: RabbitMqSettings, broker_name: pulumi.Input[str]
) -> list[Alarm]:
    """Queue depth, CPU, too few consumers (unless ``min_consumers`` is 0) and memory."""
    dims = {"Broker": broker_name}

    def alarm(
        check: str, metric: str, threshold: float, comparison: Comparison, stat: str, what: str
    ) -> Alarm:
        return _sustained(
            f"rabbitmq-{check}",
            f"{name} RabbitMQ: {what}",
            namespace="AWS/AmazonMQ",
            metric=metric,
            dimensions=dims,
            threshold=threshold,
            comparison=comparison,
            statistic=stat,
        )

    alarms = [
        alarm(
            "queue-depth",
            "MessageCount",
            settings.queue_depth_alarm,
            "GreaterThanOrEqualToThreshold",
            "Maximum",
            f"messages queued >= {settings.queue_depth_alarm} (consumers falling behind)",
        ),
        _rabbitmq_cpu_alarm(name, settings, broker_name)
        if settings.deployment_mode == "CLUSTER_MULTI_AZ"
        else alarm(
            "cpu",
            "SystemCpuUtilization",
            settings.cpu_alarm_percent,
            "GreaterThanOrEqualToThreshold",
            "Average",
            f"CPU >= {settings.cpu_alarm_percent}%",
        ),
    ]
    if settings.min_consumers:
        alarms.append(
            alarm(
                "consumers",
                "ConsumerCount",
                settings.min_consumers,
                "LessThanThreshold",
                "Minimum",
                f"fewer than {settings.min_consumers} consumers connected",
            )
        )
    alarms.append(_rabbitmq_memory_alarm(name, settings, dims))
    return alarms


#: Amazon MQ publishes a cluster's CPU per node under the dimensions (Broker, Node); the
#: node name (``rabbit@ip-10-0-0-230.<region>.compute.internal``) carries the private IP AWS
#: gives the node, so it is unknown before the broker exists and changes when AWS replaces a
#: node. Metrics Insights finds the nodes by the broker's name instead, one series per node.
#: https://docs.aws.amazon.com/amazon-mq/latest/developer-guide/rabbitmq-logging-monitoring.html
RABBITMQ_NODE_CPU_QUERY = (
    'SELECT AVG(SystemCpuUtilization) FROM SCHEMA("AWS/AmazonMQ", Broker, Node) '
    "WHERE Broker = '{broker}' GROUP BY Node ORDER BY AVG() DESC"
)


def rabbitmq_node_cpu_query(broker_name: pulumi.Input[str]) -> pulumi.Output[str]:
    """The Metrics Insights query of each node's CPU of the broker ``broker_name``."""
    return pulumi.Output.from_input(broker_name).apply(
        lambda broker: RABBITMQ_NODE_CPU_QUERY.format(broker=broker)
    )


def _rabbitmq_cpu_alarm(
    name: str, settings: RabbitMqSettings, broker_name: pulumi.Input[str]
) -> Alarm:
    """CPU of each node of a cluster against the threshold.

    At the ``Broker`` dimension, a cluster's ``SystemCpuUtilization`` is the aggregate of its
    three nodes (0-300): compared with 85 it fired at about 28% per node, and a sum hides one
    hot node. The alarm is on a Metrics Insights query grouped by ``Node``: each node is a
    contributor, and the alarm fires when any node's 5-minute average stays at or above the
    threshold (CloudWatch: "Create a CloudWatch alarm based on a Metrics Insights query",
    multi-time-series alarms need GROUP BY and ORDER BY)."""
    return Alarm(
        name="rabbitmq-cpu",
        description=(
            f"{name} RabbitMQ: a node's CPU >= {settings.cpu_alarm_percent}% (per node; the "
            "broker-level metric of a cluster is the sum over its three nodes)"
        ),
        threshold=settings.cpu_alarm_percent,
        comparison="GreaterThanOrEqualToThreshold",
        evaluation_periods=3,
        queries=(
            Query(
                id="nodes",
                expression=rabbitmq_node_cpu_query(broker_name),
                label="SystemCpuUtilization per node",
                period=300,
                insights=True,
                returns=True,
            ),
        ),
    )


def _rabbitmq_memory_alarm(name: str, settings: RabbitMqSettings, dims: Dimensions) -> Alarm:
    """Memory used as a % of RabbitMQ's own limit: the limit depends on the instance type,
    so a fixed byte threshold would be wrong after a resize."""

    def used(query_id: str, metric: str) -> Query:
        return Query(
            id=query_id,
            metric=metric,
            namespace="AWS/AmazonMQ",
            dimensions=dims,
            statistic="Maximum",
            period=300,
        )

    return Alarm(
        name="rabbitmq-memory",
        description=(
            f"{name} RabbitMQ: memory >= {settings.memory_alarm_percent}% of the RabbitMQ "
            "memory limit (at 100% publishers are blocked)"
        ),
        threshold=settings.memory_alarm_percent,
        comparison="GreaterThanOrEqualToThreshold",
        evaluation_periods=3,
        queries=(
            used("used", "RabbitMQMemUsed"),
            used("limit", "RabbitMQMemLimit"),
            Query(
                id="percent",
                expression="100 * used / limit",
                label="memory used % of limit",
                returns=True,
            ),
        ),
    )


def rabbitmq_widgets(
    name: str, settings: RabbitMqSettings, broker_name: pulumi.Input[str], region: pulumi.Input[str]
) -> list[Widget]:
    """Queue depth, consumers, memory and CPU; a cluster's CPU one line per node (the
    broker-level figure of a cluster is the sum over its nodes, up to 300%)."""
    widgets = [
        metric_widget(
            f"{name} RabbitMQ: {metric}",
            [["AWS/AmazonMQ", metric, "Broker", broker_name]],
            region=region,
            stat=stat,
        )
        for metric, stat in (
            ("MessageCount", "Maximum"),
            ("ConsumerCount", "Minimum"),
            ("RabbitMQMemUsed", "Maximum"),
        )
    ]
    cpu: list[list[pulumi.Input[str] | dict[str, Any]]] = (
        [
            [
                {
                    "expression": rabbitmq_node_cpu_query(broker_name),
                    "label": "CPU % per node",
                    "id": "nodes",
                }
            ]
        ]
        if settings.deployment_mode == "CLUSTER_MULTI_AZ"
        else [["AWS/AmazonMQ", "SystemCpuUtilization", "Broker", broker_name]]
    )
    widgets.append(
        metric_widget(f"{name} RabbitMQ: SystemCpuUtilization", cpu, region=region, stat="Average")
    )
    return widgets


# --- OpenSearch --------------------------------------------------------------------------------


def opensearch_alarms(
    name: str, settings: OpenSearchSettings, domain_name: str, account_id: pulumi.Input[str]
) -> list[Alarm]:
    """Cluster health (red within a minute), storage, blocked writes, CPU, JVM pressure,
    snapshot failures, and cluster-manager CPU with dedicated masters."""
    dims: dict[str, pulumi.Input[str]] = {"DomainName": domain_name, "ClientId": account_id}
    free_mib = settings.volume_size_gib * 1024 * settings.free_storage_alarm_percent / 100
    checks: list[tuple[str, str, float, Comparison, str, int, int, str]] = [
        # (check, metric, threshold, comparison, stat, period, periods, what)
        ("red", "ClusterStatus.red", 1, "GreaterThanOrEqualToThreshold", "Maximum", 60, 1,
         "cluster RED: a primary shard is unassigned (data unavailable)"),
        ("yellow", "ClusterStatus.yellow", 1, "GreaterThanOrEqualToThreshold", "Maximum", 60, 5,
         "cluster YELLOW: replica shards unassigned (no redundancy)"),
        ("free-storage", "FreeStorageSpace", free_mib, "LessThanOrEqualToThreshold", "Minimum",
         300, 1, f"a node has <= {settings.free_storage_alarm_percent}% storage free"),
        ("writes-blocked", "ClusterIndexWritesBlocked", 1, "GreaterThanOrEqualToThreshold",
         "Maximum", 300, 1, "index writes blocked"),
        ("cpu", "CPUUtilization", settings.cpu_alarm_percent, "GreaterThanOrEqualToThreshold",
         "Maximum", 900, 3, f"data node CPU >= {settings.cpu_alarm_percent}%"),
        ("jvm-pressure", "JVMMemoryPressure", settings.jvm_pressure_alarm_percent,
         "GreaterThanOrEqualToThreshold", "Maximum", 300, 3,
         f"JVM memory pressure >= {settings.jvm_pressure_alarm_percent}%"),
        ("snapshot-failed", "AutomatedSnapshotFailure", 1, "GreaterThanOrEqualToThreshold",
         "Maximum", 60, 1, "automated snapshot failed"),
    ]  # fmt: skip
    if settings.dedicated_masters:
        checks.append(
            ("master-cpu", "MasterCPUUtilization", 50, "GreaterThanOrEqualToThreshold",
             "Maximum", 900, 3, "cluster-manager CPU >= 50%")
        )  # fmt: skip
    return [
        Alarm(
            name=f"opensearch-{check}",
            description=f"{name} OpenSearch {domain_name}: {what}",
            namespace="AWS/ES",
            metric=metric,
            dimensions=dims,
            threshold=threshold,
            comparison=comparison,
            statistic=stat,
            period=period,
            evaluation_periods=periods,
        )
        for check, metric, threshold, comparison, stat, period, periods, what in checks
    ]


def opensearch_widgets(
    name: str, domain_name: str, account_id: pulumi.Input[str], region: pulumi.Input[str]
) -> list[Widget]:
    return [
        metric_widget(
            f"{name} OpenSearch: {metric}",
            [["AWS/ES", metric, "DomainName", domain_name, "ClientId", account_id]],
            region=region,
            stat="Maximum",
        )
        for metric in (
            "ClusterStatus.red",
            "FreeStorageSpace",
            "CPUUtilization",
            "JVMMemoryPressure",
        )
    ]


# --- DMS ---------------------------------------------------------------------------------------


def dms_alarms(settings: DmsSettings, instance_id: str) -> list[Alarm]:
    """Free storage (cached changes) and CPU of the replication instance. Task failures are
    events, not metrics: they reach the topic through an event subscription (dms.py)."""
    dims = {"ReplicationInstanceIdentifier": instance_id}
    return [
        _sustained(
            "dms-storage",
            f"DMS {instance_id}: free storage below {settings.free_storage_alarm_gib} GiB "
            "(cached changes will stall CDC)",
            namespace="AWS/DMS",
            metric="FreeStorageSpace",
            dimensions=dims,
            threshold=settings.free_storage_alarm_gib * 1024**3,
            comparison="LessThanThreshold",
            statistic="Minimum",
        ),
        _sustained(
            "dms-cpu",
            f"DMS {instance_id}: CPU above 90%",
            namespace="AWS/DMS",
            metric="CPUUtilization",
            dimensions=dims,
            threshold=90,
            comparison="GreaterThanThreshold",
        ),
    ]


def dms_widgets(instance_id: str, region: pulumi.Input[str]) -> list[Widget]:
    return [
        metric_widget(
            f"DMS {instance_id}: CPU and free storage",
            [
                ["AWS/DMS", "CPUUtilization", "ReplicationInstanceIdentifier", instance_id],
                [
                    "AWS/DMS",
                    "FreeStorageSpace",
                    "ReplicationInstanceIdentifier",
                    instance_id,
                    {"yAxis": "right"},
                ],
            ],
            region=region,
        )
    ]
