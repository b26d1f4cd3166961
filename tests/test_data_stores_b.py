"""ManagedDataTier stores, part B: ElastiCache Redis, Amazon MQ for RabbitMQ, OpenSearch.

Each builder runs under mocks inside a stand-in ManagedDataTier parent, with a real SecureVpc
for the network, a KMS key for the data-tier CMK and app security groups for the clients.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterator
from typing import Any

import pulumi
import pulumi_aws as aws
import pytest
from pydantic import ValidationError

from components.core.aws_env import aws_env
from components.core.security_groups import restricted_security_group
from components.core.settings import STANDARD_TAG_KEYS, StackContext
from components.managed_data_tier.common import DataTierScope, StoreResult
from components.managed_data_tier.opensearch import OpenSearchSettings, build_opensearch
from components.managed_data_tier.rabbitmq import RabbitMqSettings, build_rabbitmq
from components.managed_data_tier.redis import RedisSettings, build_redis
from components.secure_vpc import NetworkRef, SecureVpc, SecureVpcSettings
from components.testing import (
    DEFAULT_ACCOUNT_ID,
    Plan,
    PlatformMocks,
    RecordingMonitor,
    Registered,
    run_offline,
)

TOPIC = "arn:aws:sns:ap-southeast-1:111122223333:platform-alarms"
MASTER_ROLE = f"arn:aws:iam::{DEFAULT_ACCOUNT_ID}:role/search-admin"
APPS = ("loyalty", "mmf", "reporting")  # reporting is an app no store declares
STORE_PREFIXES = ("data-redis", "data-rabbitmq", "data-opensearch")

REDIS_GROUP = "aws:elasticache/replicationGroup:ReplicationGroup"
BROKER = "aws:mq/broker:Broker"
DOMAIN = "aws:opensearch/domain:Domain"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
SECRET = "aws:secretsmanager/secret:Secret"
PASSWORD = "random:index/randomPassword:RandomPassword"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"


@dataclasses.dataclass
class Run:
    plan: Plan
    results: dict[str, Any]

    def store(self, store: str) -> list[Registered]:
        return [r for r in self.plan if r.name.startswith(f"data-{store}-")]

    def one(self, type_: str) -> Registered:
        found = self.plan.of_type(type_)
        assert len(found) == 1, f"{len(found)} x {type_}"
        return found[0]

    def out(self, store: str, field: str) -> Any:
        value = getattr(self.results[store], field)
        return pulumi.runtime.sync_await._sync_await(value.future()) if value is not None else None

    def data_subnet_ids(self) -> dict[str, str]:
        return {
            r.name[-1]: r.outputs["id"]
            for r in self.plan.of_type("aws:ec2/subnet:Subnet")
            if r.name.startswith("t-data-")
        }


def _program(
    environment: str,
    results: dict[str, Any],
    *,
    redis: RedisSettings | None = None,
    rabbitmq: RabbitMqSettings | None = None,
    opensearch: OpenSearchSettings | None = None,
    azs: tuple[str, ...] = ("a", "b", "c"),
    name: str = "data",
    full_network: bool = True,
) -> Callable[[], None]:
    def program() -> None:
        ctx = StackContext.model_validate({"environment": environment})
        network = _network(ctx, azs) if full_network else _stub_network(azs)
        parent = pulumi.ComponentResource("payments:index:ManagedDataTier", name)
        key = aws.kms.Key("data-tier-key", opts=pulumi.ResourceOptions(parent=parent))
        apps = {
            app: restricted_security_group(
                f"{app}-instances",
                vpc_id=network.vpc_id,
                description=f"{app} instances",
                context=ctx,
                component="ha-app-tier",
                parent=parent,
            ).id
            for app in APPS
        }
        scope = DataTierScope(
            parent=parent,
            name=name,
            context=ctx,
            env=aws_env(parent),
            network=network,
            kms_key=key,
            alarm_topic_arn=TOPIC,
            app_security_groups=apps,
        )
        results["key_arn"] = key.arn
        try:
            if redis is not None:
                results["redis"] = build_redis(scope, redis)
            if rabbitmq is not None:
                results["rabbitmq"] = build_rabbitmq(scope, rabbitmq)
            if opensearch is not None:
                results["opensearch"] = build_opensearch(scope, opensearch)
        except ValueError as exc:
            results["error"] = exc

    return program


def _network(ctx: StackContext, azs: tuple[str, ...]) -> NetworkRef:
    vpc = SecureVpc(
        "t",
        SecureVpcSettings(availability_zones=["a", "b", "c"]),
        context=ctx,
        data_services=["redis", "rabbitmq", "opensearch"],
    )
    return dataclasses.replace(vpc.ref, availability_zones=azs)


def _stub_network(azs: tuple[str, ...]) -> NetworkRef:
    """A NetworkRef without a VPC behind it: enough for the checks that run first."""

    def out(value: str) -> pulumi.Output[str]:
        return pulumi.Output.from_input(value)

    return NetworkRef(
        vpc_id=out("vpc-stub"),
        vpc_cidr="10.10.0.0/16",
        availability_zones=azs,
        tier_cidrs={"data": "10.10.64.0/19"},
        subnet_ids={"data": {az: out(f"subnet-data-{az}") for az in azs}},
        route_table_ids={"data": {az: out(f"rtb-data-{az}") for az in azs}},
        endpoint_security_group_id=out("sg-endpoints"),
        db_subnet_group_name=out("t-db"),
        docdb_subnet_group_name=out("t-docdb"),
        cache_subnet_group_name=out("t-cache"),
        on_prem_cidrs={},
    )


def _run(environment: str, **stores: Any) -> Run:
    results: dict[str, Any] = {}
    plan = run_offline(_program(environment, results, **stores))
    resolved = {
        k: v
        if not isinstance(v, pulumi.Output)
        else pulumi.runtime.sync_await._sync_await(v.future())
        for k, v in results.items()
    }
    return Run(plan, resolved)


def _prod_stores() -> dict[str, Any]:
    return {
        "redis": RedisSettings(clients=["loyalty", "mmf"]),
        "rabbitmq": RabbitMqSettings(clients=["mmf"]),
        "opensearch": OpenSearchSettings(clients=["loyalty"], master_user_arn=MASTER_ROLE),
    }


@pytest.fixture(scope="module")
def prod() -> Run:
    return _run("prod", **_prod_stores())


@pytest.fixture(scope="module")
def nonprod() -> Run:
    return _run(
        "nonprod",
        redis=RedisSettings(
            clients=["loyalty"],
            node_type="cache.t4g.small",
            replicas_per_shard=0,
            automatic_failover=False,
            multi_az=False,
            snapshot_retention_days=1,
            log_retention_days=30,
        ),
        rabbitmq=RabbitMqSettings(
            clients=["mmf"], deployment_mode="SINGLE_INSTANCE", host_instance_type="mq.t3.micro"
        ),
        opensearch=OpenSearchSettings(
            clients=["loyalty"],
            master_user_arn=MASTER_ROLE,
            instance_type="t3.medium.search",
            instance_count=1,
            zone_awareness=1,
            dedicated_masters=False,
            auto_tune=False,
            volume_size_gib=20,
        ),
    )


def _walk(value: Any) -> Iterator[Any]:
    if isinstance(value, dict):
        for v in value.values():
            yield from _walk(v)
    elif isinstance(value, list | tuple):
        for v in value:
            yield from _walk(v)
    else:
        yield value


# --- encryption ----------------------------------------------------------------------------


def test_redis_and_opensearch_encrypt_at_rest_with_the_data_tier_cmk(prod: Run) -> None:
    key = prod.results["key_arn"]
    group = prod.one(REDIS_GROUP).inputs
    assert group["atRestEncryptionEnabled"] is True
    assert group["kmsKeyId"] == key
    domain = prod.one(DOMAIN).inputs
    assert domain["encryptAtRest"] == {"enabled": True, "kmsKeyId": key}


def test_secrets_and_logs_of_the_stores_are_encrypted_with_the_cmk(prod: Run) -> None:
    key = prod.results["key_arn"]
    secrets = [r for r in prod.plan.of_type(SECRET) if r.name.startswith(STORE_PREFIXES)]
    logs = [r for r in prod.plan.of_type(LOG_GROUP) if r.name.startswith(STORE_PREFIXES)]
    assert {r.name for r in secrets} == {"data-redis-credentials", "data-rabbitmq-credentials"}
    assert len(logs) == 2 + 4  # redis slow+engine, opensearch audit/index/search/app
    for r in secrets + logs:
        assert r.inputs["kmsKeyId"] == key, r.name


def test_rabbitmq_uses_the_aws_owned_key_because_a_cmk_is_activemq_only(prod: Run) -> None:
    # AWS rejects EncryptionOptions for RabbitMQ; sending one would fail `pulumi up`.
    assert "encryptionOptions" not in prod.one(BROKER).inputs


def test_redis_requires_tls_for_every_connection(prod: Run) -> None:
    group = prod.one(REDIS_GROUP).inputs
    assert group["transitEncryptionEnabled"] is True
    assert group["transitEncryptionMode"] == "required"


def test_opensearch_enforces_https_with_tls_1_2_or_later_and_node_to_node_tls(
    prod: Run,
) -> None:
    domain = prod.one(DOMAIN).inputs
    assert domain["nodeToNodeEncryption"] == {"enabled": True}
    endpoint = domain["domainEndpointOptions"]
    assert endpoint["enforceHttps"] is True
    assert endpoint["tlsSecurityPolicy"] in (
        "Policy-Min-TLS-1-2-PFS-2023-10",
        "Policy-Min-TLS-1-2-2019-07",
    )


# --- network placement and access ----------------------------------------------------------


def test_stores_are_private_and_in_data_subnets(prod: Run) -> None:
    data = prod.data_subnet_ids()
    broker = prod.one(BROKER).inputs
    assert broker["publiclyAccessible"] is False
    assert broker["subnetIds"] == [data["a"], data["b"], data["c"]]
    domain = prod.one(DOMAIN).inputs
    assert domain["vpcOptions"]["subnetIds"] == [data["a"], data["b"], data["c"]]
    assert prod.one(REDIS_GROUP).inputs["subnetGroupName"] == "t-cache"
    cache_group = prod.plan.named("t-cache", "aws:elasticache/subnetGroup:SubnetGroup")
    assert sorted(cache_group.inputs["subnetIds"]) == sorted(data.values())


def test_each_store_admits_only_its_declared_clients_on_its_port(prod: Run) -> None:
    app_sgs = {app: prod.plan.named(f"{app}-instances").outputs["id"] for app in APPS}
    expected = {
        "redis": (6379, {"loyalty", "mmf"}),
        "rabbitmq": (5671, {"mmf"}),
        "opensearch": (443, {"loyalty"}),
    }
    for store, (port, clients) in expected.items():
        sg = prod.plan.named(f"data-{store}-sg")
        rules = [
            r for r in prod.plan.of_type(INGRESS) if r.inputs["securityGroupId"] == sg.outputs["id"]
        ]
        assert {r.inputs["referencedSecurityGroupId"] for r in rules} == {
            app_sgs[c] for c in clients
        }, store
        for rule in rules:
            assert (rule.inputs["fromPort"], rule.inputs["toPort"]) == (port, port)
            assert "cidrIpv4" not in rule.inputs and "cidrIpv6" not in rule.inputs
        assert not [
            r for r in prod.plan.of_type(EGRESS) if r.inputs["securityGroupId"] == sg.outputs["id"]
        ], f"{store} SG has egress rules"
    # the store resources use exactly their own SG
    assert prod.one(REDIS_GROUP).inputs["securityGroupIds"] == [
        prod.plan.named("data-redis-sg").outputs["id"]
    ]
    assert prod.one(BROKER).inputs["securityGroups"] == [
        prod.plan.named("data-rabbitmq-sg").outputs["id"]
    ]
    assert prod.one(DOMAIN).inputs["vpcOptions"]["securityGroupIds"] == [
        prod.plan.named("data-opensearch-sg").outputs["id"]
    ]


# --- credentials ---------------------------------------------------------------------------


def test_no_generated_password_appears_in_plain_text(prod: Run) -> None:
    passwords = {r.outputs["result"] for r in prod.plan.of_type(PASSWORD)}
    assert len(passwords) == 3  # redis default + app, rabbitmq admin
    seen_in: set[str] = set()
    for r in prod.plan:
        for key, value in r.inputs.items():
            if any(isinstance(v, str) and any(p in v for p in passwords) for v in _walk(value)):
                seen_in.add(r.name)
                assert key in r.secret_paths, f"{r.name}.{key} holds a password in plain text"
    assert seen_in == {
        "data-redis-default-user",
        "data-redis-app-user",
        "data-redis-credentials",
        "data-rabbitmq-broker",
        "data-rabbitmq-credentials",
    }
    for store in ("redis", "rabbitmq", "opensearch"):
        outputs = json.dumps(_resolved(prod, store))
        assert not any(p in outputs for p in passwords), store


def _resolved(run: Run, store: str) -> dict[str, Any]:
    """What a store hands back to ManagedDataTier (and the stack), with Outputs resolved."""
    result: StoreResult = run.results[store]
    return {
        "endpoint": run.out(store, "endpoint"),
        "port": result.port,
        "security_group_id": run.out(store, "security_group_id"),
        "secret_arn": run.out(store, "secret_arn"),
    }


def test_stores_give_back_the_secret_arn_and_an_endpoint(prod: Run) -> None:
    assert (
        _resolved(prod, "redis")["secret_arn"]
        == prod.plan.named("data-redis-credentials", SECRET).outputs["arn"]
    )
    assert (
        _resolved(prod, "rabbitmq")["secret_arn"]
        == prod.plan.named("data-rabbitmq-credentials", SECRET).outputs["arn"]
    )
    assert _resolved(prod, "opensearch")["secret_arn"] is None  # IAM auth: no credential
    assert _resolved(prod, "redis")["endpoint"].startswith("master.")
    assert _resolved(prod, "rabbitmq")["endpoint"].startswith("amqps://")
    assert _resolved(prod, "opensearch")["endpoint"].startswith("vpc-data-search")


def test_redis_requires_auth_through_rbac_users_with_default_user_off(prod: Run) -> None:
    group = prod.one(REDIS_GROUP).inputs
    assert "authToken" not in group  # auth tokens rotate unsafely (provider #33439, #15561)
    user_group = prod.plan.named("data-redis-users").inputs
    assert group["userGroupIds"] == [user_group["userGroupId"]]
    default = prod.plan.named("data-redis-default-user").inputs
    app = prod.plan.named("data-redis-app-user").inputs
    assert sorted(user_group["userIds"]) == sorted([default["userId"], app["userId"]])
    assert default["userName"] == "default"
    assert default["accessString"].split()[0] == "off"
    assert app["accessString"].split()[0] == "on" and "-@dangerous" in app["accessString"]
    for user in (default, app):
        assert user["authenticationMode"]["type"] == "password"
        assert not user.get("noPasswordRequired")


# --- OpenSearch access ---------------------------------------------------------------------


def test_opensearch_policy_admits_only_this_account_never_anonymous(prod: Run) -> None:
    policy = json.loads(prod.one(DOMAIN).inputs["accessPolicies"])
    for statement in policy["Statement"]:
        assert statement["Effect"] == "Allow"
        assert statement["Principal"] == {"AWS": f"arn:aws:iam::{DEFAULT_ACCOUNT_ID}:root"}
        assert statement["Resource"].endswith(":domain/data-search/*")


def test_opensearch_fine_grained_access_control_with_iam_only(prod: Run) -> None:
    security = prod.one(DOMAIN).inputs["advancedSecurityOptions"]
    assert security["enabled"] is True
    assert security["anonymousAuthEnabled"] is False
    assert security["internalUserDatabaseEnabled"] is False
    assert security["masterUserOptions"] == {"masterUserArn": MASTER_ROLE}


def test_opensearch_publishes_audit_slow_and_error_logs_it_is_allowed_to_write(
    prod: Run,
) -> None:
    domain = prod.one(DOMAIN)
    published = {
        o["logType"]: o["cloudwatchLogGroupArn"] for o in domain.inputs["logPublishingOptions"]
    }
    assert set(published) == {
        "AUDIT_LOGS",
        "INDEX_SLOW_LOGS",
        "SEARCH_SLOW_LOGS",
        "ES_APPLICATION_LOGS",
    }
    assert all(o["enabled"] for o in domain.inputs["logPublishingOptions"])
    policy_resource = prod.one("aws:cloudwatch/logResourcePolicy:LogResourcePolicy")
    assert policy_resource.urn in domain.dependencies  # AWS checks it at domain creation
    [statement] = json.loads(policy_resource.inputs["policyDocument"])["Statement"]
    assert statement["Principal"] == {"Service": "es.amazonaws.com"}
    assert statement["Condition"]["StringEquals"] == {"aws:SourceAccount": DEFAULT_ACCOUNT_ID}
    assert sorted(statement["Resource"]) == sorted(f"{arn}:*" for arn in published.values())


# --- availability and data safety ----------------------------------------------------------


def test_prod_redis_is_multi_az_with_a_replica_in_another_az(prod: Run) -> None:
    group = prod.one(REDIS_GROUP).inputs
    assert group["multiAzEnabled"] is True and group["automaticFailoverEnabled"] is True
    assert group["numCacheClusters"] >= 2
    azs = group["preferredCacheClusterAzs"]
    assert len(set(azs)) == len(azs) == group["numCacheClusters"]


def test_prod_rabbitmq_is_a_multi_az_cluster(prod: Run) -> None:
    broker = prod.one(BROKER).inputs
    assert broker["deploymentMode"] == "CLUSTER_MULTI_AZ"
    assert broker["engineType"] == "RabbitMQ"
    assert broker["autoMinorVersionUpgrade"] is True
    assert broker["logs"] == {"general": True}


def test_prod_opensearch_spans_three_azs_with_dedicated_masters(prod: Run) -> None:
    cluster = prod.one(DOMAIN).inputs["clusterConfig"]
    assert cluster["zoneAwarenessEnabled"] is True
    assert cluster["zoneAwarenessConfig"] == {"availabilityZoneCount": 3}
    assert cluster["instanceCount"] % 3 == 0
    assert cluster["dedicatedMasterEnabled"] is True and cluster["dedicatedMasterCount"] == 3
    ebs = prod.one(DOMAIN).inputs["ebsOptions"]
    assert ebs["ebsEnabled"] is True and ebs["volumeType"] == "gp3"
    assert prod.one(DOMAIN).inputs["autoTuneOptions"]["desiredState"] == "ENABLED"


def test_prod_protects_stateful_resources_and_keeps_a_final_snapshot(prod: Run) -> None:
    for type_ in (REDIS_GROUP, BROKER, DOMAIN):
        assert prod.one(type_).protect, type_
    for r in prod.plan:
        if r.type in (SECRET, LOG_GROUP) and r.name.startswith(STORE_PREFIXES):
            assert r.protect, r.name
    assert prod.one(REDIS_GROUP).inputs["finalSnapshotIdentifier"] == "prod-data-redis-final"
    assert prod.one(REDIS_GROUP).inputs["snapshotRetentionLimit"] >= 1


def test_nonprod_is_cheaper_and_unprotected(nonprod: Run) -> None:
    for type_ in (REDIS_GROUP, BROKER, DOMAIN):
        assert not nonprod.one(type_).protect, type_
    data = nonprod.data_subnet_ids()
    broker = nonprod.one(BROKER).inputs
    assert broker["deploymentMode"] == "SINGLE_INSTANCE"
    assert broker["subnetIds"] == [data["a"]]  # AWS: a single instance takes one subnet
    domain = nonprod.one(DOMAIN).inputs
    assert domain["clusterConfig"]["zoneAwarenessEnabled"] is False
    assert "zoneAwarenessConfig" not in domain["clusterConfig"]
    assert domain["vpcOptions"]["subnetIds"] == [data["a"]]
    assert "autoTuneOptions" not in domain  # t3 nodes reject Auto-Tune
    group = nonprod.one(REDIS_GROUP).inputs
    assert group["numCacheClusters"] == 1 and group["multiAzEnabled"] is False
    assert "finalSnapshotIdentifier" not in group
    # still encrypted and authenticated
    assert group["transitEncryptionMode"] == "required" and group["kmsKeyId"]


# --- alarms, names, tags -------------------------------------------------------------------


def test_alarms_cover_the_key_metrics_and_notify_the_topic_on_alarm_and_ok(prod: Run) -> None:
    alarms = [r for r in prod.plan.of_type(ALARM) if r.name.startswith(STORE_PREFIXES)]
    for alarm in alarms:
        assert alarm.inputs["alarmActions"] == [TOPIC], alarm.name
        assert alarm.inputs["okActions"] == [TOPIC], alarm.name

    def metrics(prefix: str) -> set[str]:
        found: set[str | None] = set()
        for a in alarms:
            if a.name.startswith(prefix):
                found.add(a.inputs.get("metricName"))
                for q in a.inputs.get("metricQueries", []):
                    found.add(q.get("metric", {}).get("metricName"))
        return {m for m in found if m}

    assert {
        "EngineCPUUtilization",
        "DatabaseMemoryUsagePercentage",
        "CurrConnections",
        "ReplicationLag",
    } <= metrics("data-redis-")
    assert {"MessageCount", "RabbitMQMemUsed", "RabbitMQMemLimit", "SystemCpuUtilization"} <= (
        metrics("data-rabbitmq-")
    )
    assert {
        "ClusterStatus.red",
        "ClusterStatus.yellow",
        "FreeStorageSpace",
        "CPUUtilization",
        "JVMMemoryPressure",
    } <= metrics("data-opensearch-")
    red = prod.plan.named("data-opensearch-red")
    assert red.inputs["threshold"] == 1 and red.inputs["statistic"] == "Maximum"
    # every Redis node is watched, by the node id ElastiCache gives it
    group_id = prod.one(REDIS_GROUP).outputs["id"]
    nodes = {
        a.inputs["dimensions"]["CacheClusterId"]
        for a in alarms
        if a.name.startswith("data-redis-") and a.inputs["metricName"] == "EngineCPUUtilization"
    }
    assert nodes == {f"{group_id}-001", f"{group_id}-002"}


def test_children_are_named_by_store_and_role_under_the_data_tier(prod: Run) -> None:
    parent = prod.plan.named("data", "payments:index:ManagedDataTier")
    for store in ("redis", "rabbitmq", "opensearch"):
        children = prod.store(store)
        assert children, store
        for r in children:
            assert r.parent == parent.urn, r.name
    assert not [r for r in prod.plan if r.name.startswith("data-") and r.name[-1].isdigit()
                and r.type != ALARM]  # fmt: skip


def test_every_taggable_store_resource_has_the_standard_tags(prod: Run) -> None:
    tagged = 0
    for r in prod.plan:
        if r.name.startswith(STORE_PREFIXES) and "tags" in r.inputs:
            tagged += 1
            assert set(STANDARD_TAG_KEYS) <= set(r.inputs["tags"]), r.name
            assert r.inputs["tags"]["component"] == "managed-data-tier", r.name
    untaggable = {
        PASSWORD,
        "aws:secretsmanager/secretVersion:SecretVersion",
        "aws:cloudwatch/logResourcePolicy:LogResourcePolicy",
    }
    for r in prod.plan:
        if r.name.startswith(STORE_PREFIXES) and r.type not in untaggable:
            assert "tags" in r.inputs, f"{r.name} ({r.type}) is untagged"
    assert tagged > 20


def test_widgets_are_given_for_the_dashboard(prod: Run) -> None:
    for store in ("redis", "rabbitmq", "opensearch"):
        assert prod.results[store].widgets, store


# --- validation ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "values", "key"),
    [
        (RedisSettings, {"replicasPerShard": 0}, "redis.automaticFailover"),
        (RedisSettings, {"shards": 2}, "redis.shards"),
        (
            RedisSettings,
            {"multiAz": True, "automaticFailover": False, "replicasPerShard": 1},
            "redis.multiAz",
        ),
        (
            RedisSettings,
            {"clusterMode": "enabled", "automaticFailover": False, "multiAz": False},
            "redis.automaticFailover",
        ),
        (RedisSettings, {"engineVersion": "6.2"}, "redis.engineVersion"),
        (RedisSettings, {"engineVersion": "7"}, "redis.engineVersion"),
        (RedisSettings, {"engine": "valkey", "engineVersion": "7.1"}, "redis.engineVersion"),
        (RedisSettings, {"nodeType": "r7g.large"}, "redis.nodeType"),
        (RedisSettings, {"snapshotWindow": "5pm"}, "redis.snapshotWindow"),
        (RedisSettings, {"maintenanceWindow": "sunday"}, "redis.maintenanceWindow"),
        (RedisSettings, {"parameters": {"cluster-enabled": "yes"}}, "redis.parameters"),
        (RedisSettings, {"logRetentionDays": 366}, "redis.logRetentionDays"),
        (RabbitMqSettings, {"engineVersion": "3.11"}, "rabbitmq.engineVersion"),
        (RabbitMqSettings, {"engineVersion": "latest"}, "rabbitmq.engineVersion"),
        (
            RabbitMqSettings,
            {"engineVersion": "4.2", "hostInstanceType": "mq.m5.large"},
            "rabbitmq.engineVersion",
        ),
        (RabbitMqSettings, {"autoMinorVersionUpgrade": False}, "rabbitmq.autoMinorVersionUpgrade"),
        (RabbitMqSettings, {"hostInstanceType": "mq.t3.micro"}, "rabbitmq.hostInstanceType"),
        (RabbitMqSettings, {"hostInstanceType": "m5.large"}, "rabbitmq.hostInstanceType"),
        (RabbitMqSettings, {"adminUsername": "guest"}, "rabbitmq.adminUsername"),
        (RabbitMqSettings, {"maintenanceTime": "25:00"}, "rabbitmq.maintenanceTime"),
        (OpenSearchSettings, {}, "opensearch.masterUserArn"),
        (OpenSearchSettings, {"masterUserArn": "admin"}, "opensearch.masterUserArn"),
        (
            OpenSearchSettings,
            {"masterUserArn": MASTER_ROLE, "engineVersion": "Elasticsearch_7.10"},
            "opensearch.engineVersion",
        ),
        (
            OpenSearchSettings,
            {"masterUserArn": MASTER_ROLE, "instanceCount": 4},
            "opensearch.instanceCount",
        ),
        (
            OpenSearchSettings,
            {"masterUserArn": MASTER_ROLE, "instanceType": "t3.small.search", "zoneAwareness": 1},
            "opensearch.autoTune",
        ),
        (
            OpenSearchSettings,
            {"masterUserArn": MASTER_ROLE, "domainName": "Payments_Search"},
            "opensearch.domainName",
        ),
        (
            OpenSearchSettings,
            {"masterUserArn": MASTER_ROLE, "logRetentionDays": 2},
            "opensearch.logRetentionDays",
        ),
    ],
)
def test_bad_settings_are_rejected_naming_the_key(
    model: type[RedisSettings | RabbitMqSettings | OpenSearchSettings],
    values: dict[str, Any],
    key: str,
) -> None:
    with pytest.raises(ValidationError) as info:
        model.model_validate(values)
    assert key in str(info.value)


def _rejected(
    environment: str, azs: tuple[str, ...] = ("a", "b", "c"), **stores: Any
) -> tuple[str, Plan]:
    results: dict[str, Any] = {}
    monitor = RecordingMonitor(PlatformMocks())
    plan = run_offline(
        _program(environment, results, azs=azs, full_network=False, **stores), monitor=monitor
    )
    assert "error" in results, "expected the builder to reject the settings"
    return str(results["error"]), plan


@pytest.mark.parametrize(
    ("stores", "azs", "key"),
    [
        ({"redis": RedisSettings(clients=["billing"])}, ("a", "b", "c"), "redis.clients"),
        ({"rabbitmq": RabbitMqSettings(clients=["billing"])}, ("a", "b", "c"), "rabbitmq.clients"),
        (
            {"opensearch": OpenSearchSettings(clients=["billing"], master_user_arn=MASTER_ROLE)},
            ("a", "b", "c"),
            "opensearch.clients",
        ),
        (
            {"opensearch": OpenSearchSettings(master_user_arn=MASTER_ROLE)},
            ("a",),
            "opensearch.zoneAwareness is 3 but the network has 1 AZ",
        ),
        ({"redis": RedisSettings()}, ("a",), "redis.multiAz"),
    ],
)
def test_settings_the_stack_cannot_satisfy_are_rejected_before_anything_registers(
    stores: dict[str, Any], azs: tuple[str, ...], key: str
) -> None:
    message, plan = _rejected("prod", azs, **stores)
    assert key in message
    assert not [r for r in plan if r.name.startswith(STORE_PREFIXES)]


def test_a_default_domain_name_too_long_for_opensearch_asks_for_domain_name() -> None:
    results: dict[str, Any] = {}
    monitor = RecordingMonitor(PlatformMocks())
    plan = run_offline(
        _program(
            "nonprod",
            results,
            opensearch=OpenSearchSettings(master_user_arn=MASTER_ROLE),
            name="cardholder-data-environment",
            full_network=False,
        ),
        monitor=monitor,
    )
    assert "opensearch.domainName" in str(results["error"])
    assert not [r for r in plan if r.name.startswith("cardholder-data-environment-opensearch")]


def test_valkey_cluster_mode_shards_get_their_family_endpoint_and_per_node_alarms() -> None:
    results: dict[str, Any] = {}
    settings = RedisSettings(
        clients=["loyalty"],
        engine="valkey",
        engine_version="8.0",
        cluster_mode="enabled",
        shards=2,
        replicas_per_shard=1,
    )
    plan = run_offline(_program("prod", results, redis=settings, full_network=False))
    run = Run(plan, results)
    group = run.one(REDIS_GROUP)
    assert group.inputs["engine"] == "valkey"
    assert (group.inputs["numNodeGroups"], group.inputs["replicasPerNodeGroup"]) == (2, 1)
    assert "numCacheClusters" not in group.inputs
    params = plan.named("data-redis-params").inputs
    assert params["family"] == "valkey8"
    assert {"name": "cluster-enabled", "value": "yes"} in params["parameters"]
    for user in ("data-redis-users", "data-redis-default-user", "data-redis-app-user"):
        assert plan.named(user).inputs["engine"] == "valkey"
    # clients of a sharded group must use the configuration endpoint
    assert run.out("redis", "endpoint").startswith("clustercfg.")
    gid = group.outputs["id"]
    watched = {
        a.inputs["dimensions"]["CacheClusterId"]
        for a in plan.of_type(ALARM)
        if a.inputs.get("metricName") == "EngineCPUUtilization"
    }
    assert watched == {f"{gid}-{s:04d}-{n:03d}" for s in (1, 2) for n in (1, 2)}
