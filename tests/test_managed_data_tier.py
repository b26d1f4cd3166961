"""ManagedDataTier (RDS, DocumentDB, DMS): what a DBA, a security reviewer or a PCI auditor
checks, on offline plans."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pulumi
import pytest
from pydantic import ValidationError

from components.core.environment import apply_defaults
from components.core.onprem import OnPremNetwork
from components.core.settings import STANDARD_TAG_KEYS, Environment, StackContext
from components.managed_data_tier import (
    ManagedDataTier,
    ManagedDataTierSettings,
)
from components.secure_vpc import NetworkRef, SecureVpc, SecureVpcSettings
from components.testing import Plan, PlatformMocks, RecordingMonitor, Registered, run_offline


def with_nonprod_defaults(data: dict[str, Any]) -> dict[str, Any]:
    """The data tier section as a nonprod stack sees it (components/environments.py)."""
    return apply_defaults(data, NONPROD_DEFAULTS["dataTier"])


TOPIC = "arn:aws:sns:ap-southeast-1:111122223333:platform-alarms"
APPS = {"loyalty": "sg-0loyalty", "mmf": "sg-0mmf", "backoffice": "sg-0backoffice"}
ACCOUNT = "111122223333"
ON_PREM = {"hcm-dc-db": OnPremNetwork(cidr="172.16.32.0/22", nacl_slot=2)}

RDS = "aws:rds/instance:Instance"
RDS_PARAMS = "aws:rds/parameterGroup:ParameterGroup"
DOCDB = "aws:docdb/cluster:Cluster"
DOCDB_INSTANCE = "aws:docdb/clusterInstance:ClusterInstance"
DOCDB_PARAMS = "aws:docdb/clusterParameterGroup:ClusterParameterGroup"
SG = "aws:ec2/securityGroup:SecurityGroup"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
KEY = "aws:kms/key:Key"
SECRET = "aws:secretsmanager/secret:Secret"
DMS_INSTANCE = "aws:dms/replicationInstance:ReplicationInstance"
DMS_SUBNETS = "aws:dms/replicationSubnetGroup:ReplicationSubnetGroup"
DMS_ENDPOINT = "aws:dms/endpoint:Endpoint"
DMS_TASK = "aws:dms/replicationTask:ReplicationTask"
DMS_EVENTS = "aws:dms/eventSubscription:EventSubscription"
PASSWORD = "random:index/randomPassword:RandomPassword"

MAPPINGS = json.dumps(
    {
        "rules": [
            {
                "rule-type": "selection",
                "rule-id": "1",
                "rule-name": "everything",
                "object-locator": {"schema-name": "%", "table-name": "%"},
                "rule-action": "include",
            }
        ]
    }
)
SECRET_ARN = "arn:aws:secretsmanager:ap-southeast-1:111122223333:secret:onprem/{}-AbCdEf"
CERT_ARN = "arn:aws:dms:ap-southeast-1:111122223333:cert:{}"

#: The case studies: LOYALTY (PostgreSQL) and MMF (PostgreSQL + MongoDB), migrated by DMS.
PROD: dict[str, Any] = {
    "rds": {
        "loyalty": {"clients": ["loyalty", "backoffice"]},
        "mmf": {"clients": ["mmf"]},
    },
    "documentdb": {"mmf": {"clients": ["mmf"]}},
    "dms": {
        "targetCaCertificateArn": CERT_ARN.format("RDSGLOBAL"),
        "sources": {
            "loyalty-pg": {
                "engine": "postgres",
                "onPremNetwork": "hcm-dc-db",
                "host": "172.16.32.10",
                "databaseName": "loyalty",
                "secretArn": SECRET_ARN.format("loyalty"),
                "certificateArn": CERT_ARN.format("ONPREMCA"),
            },
            "mmf-mongo": {
                "engine": "mongodb",
                "onPremNetwork": "hcm-dc-db",
                "host": "172.16.32.20",
                "databaseName": "mmf",
                "secretArn": SECRET_ARN.format("mmf"),
                "certificateArn": CERT_ARN.format("ONPREMCA"),
            },
        },
        "tasks": {
            "loyalty": {"source": "loyalty-pg", "target": "rds.loyalty", "tableMappings": MAPPINGS},
            "mmf-docs": {
                "source": "mmf-mongo",
                "target": "documentdb.mmf",
                "tableMappings": MAPPINGS,
            },
        },
    },
}


def fake_network(azs: tuple[str, ...] = ("a", "b", "c")) -> NetworkRef:
    """A NetworkRef without a VPC: for runs where only the data tier matters."""
    out = pulumi.Output.from_input
    tiers = {"public": "10.10.0.0/19", "app": "10.10.32.0/19", "data": "10.10.64.0/19"}
    return NetworkRef(
        vpc_id=out("vpc-0fake"),
        vpc_cidr="10.10.0.0/16",
        availability_zones=azs,
        tier_cidrs=tiers,
        subnet_ids={t: {az: out(f"subnet-{t}-{az}") for az in azs} for t in tiers},
        route_table_ids={t: {az: out(f"rtb-{t}-{az}") for az in azs} for t in tiers},
        endpoint_security_group_id=out("sg-0endpoints"),
        db_subnet_group_name=out("net-db"),
        docdb_subnet_group_name=out("net-docdb"),
        cache_subnet_group_name=out("net-cache"),
        on_prem_cidrs={n: o.cidr for n, o in ON_PREM.items()},
    )


def build(
    config: dict[str, Any],
    *,
    environment: Environment = "prod",
    real_vpc: bool = False,
    monitor: RecordingMonitor | None = None,
) -> tuple[Plan, list[ManagedDataTier]]:
    """Run one stack holding a ManagedDataTier; returns the plan and the component."""
    made: list[ManagedDataTier] = []

    def program() -> None:
        context = StackContext(environment=environment)
        raw = with_nonprod_defaults(config) if environment == "nonprod" else config
        settings = ManagedDataTierSettings.model_validate(raw)
        if real_vpc:
            network = SecureVpc(
                "net",
                SecureVpcSettings(availability_zones=["a", "b", "c"]),
                context=context,
                on_prem=ON_PREM,
                data_services=settings.data_services(),
                dms_source_engines=settings.dms_source_engines(),
            ).ref
        else:
            network = fake_network()
        tier = ManagedDataTier(
            "data",
            settings,
            context=context,
            network=network,
            alarm_topic_arn=TOPIC,
            app_security_groups=APPS,
        )
        made.append(tier)
        pulumi.export("stores", tier.stores)

    return run_offline(program, monitor=monitor), made


@pytest.fixture(scope="module")
def prod_run() -> tuple[Plan, list[ManagedDataTier]]:
    return build(PROD, real_vpc=True)


@pytest.fixture(scope="module")
def prod(prod_run: tuple[Plan, list[ManagedDataTier]]) -> Plan:
    return prod_run[0]


@pytest.fixture(scope="module")
def nonprod() -> Plan:
    return build(PROD, environment="nonprod")[0]


def data_tier(plan: Plan) -> list[Registered]:
    return plan.descendants_of(plan.named("data"))


def key_arn(plan: Plan) -> Any:
    return plan.named("data-key").outputs["arn"]


def by_id(plan: Plan, resource_id: Any) -> Registered:
    found = plan.by_id(resource_id)
    assert found is not None, f"no resource has id {resource_id}"
    return found


def data_subnet_ids(plan: Plan) -> set[Any]:
    return {
        s.outputs["id"]
        for s in plan.of_type("aws:ec2/subnet:Subnet")
        if s.inputs["tags"].get("tier") == "data"
    }


def subnet_group(plan: Plan, type_: str, name: Any) -> Registered:
    matches = [r for r in plan.of_type(type_) if r.outputs.get("name") == name]
    assert len(matches) == 1, f"no single {type_} named {name}"
    return matches[0]


# --- encryption, placement, exposure -------------------------------------------------------


def test_every_store_is_encrypted_with_the_cmk_private_and_in_data_subnets(prod: Plan) -> None:
    key = key_arn(prod)
    data_subnets = data_subnet_ids(prod)
    assert data_subnets
    for db in prod.of_type(RDS):
        assert db.inputs["storageEncrypted"] is True
        assert db.inputs["kmsKeyId"] == key
        assert db.inputs["performanceInsightsKmsKeyId"] == key
        assert db.inputs["masterUserSecretKmsKeyId"] == key
        assert db.inputs["publiclyAccessible"] is False
        group = subnet_group(
            prod, "aws:rds/subnetGroup:SubnetGroup", db.inputs["dbSubnetGroupName"]
        )
        assert set(group.inputs["subnetIds"]) == data_subnets
    for cluster in prod.of_type(DOCDB):
        assert cluster.inputs["storageEncrypted"] is True
        assert cluster.inputs["kmsKeyId"] == key
        group = subnet_group(
            prod, "aws:docdb/subnetGroup:SubnetGroup", cluster.inputs["dbSubnetGroupName"]
        )
        assert set(group.inputs["subnetIds"]) == data_subnets
    for instance in prod.of_type(DOCDB_INSTANCE):
        assert instance.inputs["performanceInsightsKmsKeyId"] == key
    (dms,) = prod.of_type(DMS_INSTANCE)
    assert dms.inputs["kmsKeyArn"] == key
    assert dms.inputs["publiclyAccessible"] is False
    (dms_subnets,) = prod.of_type(DMS_SUBNETS)
    assert set(dms_subnets.inputs["subnetIds"]) == data_subnets
    for endpoint in prod.of_type(DMS_ENDPOINT):
        assert endpoint.inputs["kmsKeyArn"] == key
    for resource in [*prod.of_type(LOG_GROUP), *prod.of_type(SECRET)]:
        if resource in data_tier(prod):
            assert resource.inputs["kmsKeyId"] == key, resource.name


def test_the_data_tier_key_rotates_and_serves_only_this_account_through_data_services(
    prod: Plan,
) -> None:
    key = prod.named("data-key")
    assert key.inputs["enableKeyRotation"] is True
    assert key.protect is True
    policy = json.loads(key.inputs["policy"])
    via = next(s for s in policy["Statement"] if s["Sid"] == "AccountUsesKeyThroughServices")
    assert via["Condition"]["StringEquals"]["kms:CallerAccount"] == ACCOUNT
    services = {s.split(".")[0] for s in via["Condition"]["StringEquals"]["kms:ViaService"]}
    assert services == {"rds", "elasticache", "secretsmanager", "dms", "es", "logs"}


# --- prod data safety -------------------------------------------------------------------


def test_prod_rds_is_multi_az_deletion_protected_snapshotted_and_protected(prod: Plan) -> None:
    instances = prod.of_type(RDS)
    assert {db.name for db in instances} == {"data-rds-loyalty", "data-rds-mmf"}
    for db in instances:
        assert db.inputs["multiAz"] is True
        assert db.inputs["deletionProtection"] is True
        assert db.inputs["skipFinalSnapshot"] is False
        assert db.inputs["finalSnapshotIdentifier"] == f"{db.inputs['identifier']}-final"
        assert db.inputs["backupRetentionPeriod"] == 14
        assert db.inputs["deleteAutomatedBackups"] is False
        assert db.inputs["copyTagsToSnapshot"] is True
        assert db.protect is True


def test_prod_documentdb_has_an_instance_per_az_and_is_kept_safe(prod: Plan) -> None:
    (cluster,) = prod.of_type(DOCDB)
    assert cluster.inputs["deletionProtection"] is True
    assert cluster.inputs["skipFinalSnapshot"] is False
    assert cluster.inputs["finalSnapshotIdentifier"] == "data-mmf-final"
    assert cluster.inputs["backupRetentionPeriod"] == 14
    assert cluster.inputs["engineVersion"] == "5.0.0"
    assert cluster.protect is True
    instances = prod.of_type(DOCDB_INSTANCE)
    assert {i.inputs["availabilityZone"] for i in instances} == {
        "ap-southeast-1a",
        "ap-southeast-1b",
        "ap-southeast-1c",
    }
    assert all(
        i.protect and i.inputs["clusterIdentifier"] == cluster.outputs["id"] for i in instances
    )


def test_nonprod_is_cheaper_and_can_be_torn_down(nonprod: Plan) -> None:
    for resource in data_tier(nonprod):
        assert resource.protect is False, resource.name
    for db in nonprod.of_type(RDS):
        assert db.inputs["multiAz"] is False
        assert db.inputs["deletionProtection"] is False
        assert db.inputs["instanceClass"] == "db.t4g.medium"
        assert db.inputs["skipFinalSnapshot"] is False  # a last snapshot still costs little
    assert len(nonprod.of_type(DOCDB_INSTANCE)) == 1
    (dms,) = nonprod.of_type(DMS_INSTANCE)
    assert dms.inputs["multiAz"] is False


# --- TLS, auth, logging, monitoring -----------------------------------------------------


def test_rds_parameter_groups_force_tls(prod: Plan) -> None:
    expected = {
        "postgres": ("rds.force_ssl", "1", "postgres16"),
        "mysql": ("require_secure_transport", "ON", "mysql8.0"),
    }
    for db in prod.of_type(RDS):
        params = next(
            p
            for p in prod.of_type(RDS_PARAMS)
            if p.outputs["name"] == db.inputs["parameterGroupName"]
        )
        name, value, family = expected[db.inputs["engine"]]
        assert {"name": name, "value": value, "applyMethod": "pending-reboot"} in params.inputs[
            "parameters"
        ]
        assert params.inputs["family"] == family


def test_documentdb_requires_tls_and_audits(prod: Plan) -> None:
    (cluster,) = prod.of_type(DOCDB)
    params = next(
        p
        for p in prod.of_type(DOCDB_PARAMS)
        if p.outputs["name"] == cluster.inputs["dbClusterParameterGroupName"]
    )
    values = {p["name"]: p["value"] for p in params.inputs["parameters"]}
    assert values["tls"] == "enabled"
    assert values["audit_logs"] == "enabled"
    assert params.inputs["family"] == "docdb5.0"
    assert sorted(cluster.inputs["enabledCloudwatchLogsExports"]) == ["audit", "profiler"]


def test_rds_uses_managed_secrets_iam_auth_insights_and_enhanced_monitoring(prod: Plan) -> None:
    role = prod.named("data-rds-monitoring")
    trust = json.loads(role.inputs["assumeRolePolicy"])
    assert trust["Statement"][0]["Principal"]["Service"] == "monitoring.rds.amazonaws.com"
    attachment = prod.named("data-rds-monitoring-policy")
    assert attachment.inputs["policyArn"].endswith("service-role/AmazonRDSEnhancedMonitoringRole")
    for db in prod.of_type(RDS):
        assert db.inputs["manageMasterUserPassword"] is True
        assert "password" not in db.inputs
        assert db.inputs["iamDatabaseAuthenticationEnabled"] is True
        assert db.inputs["performanceInsightsEnabled"] is True
        assert db.inputs["monitoringInterval"] == 60
        assert db.inputs["monitoringRoleArn"] == role.outputs["arn"]
        assert db.inputs["storageType"] == "gp3"
        assert db.inputs["maxAllocatedStorage"] > db.inputs["allocatedStorage"]
        assert db.inputs["autoMinorVersionUpgrade"] is True
        assert db.inputs["backupWindow"] == "17:00-17:30"
        assert db.inputs["maintenanceWindow"] == "sun:18:00-sun:19:00"


def test_database_logs_are_exported_into_encrypted_year_long_log_groups(prod: Plan) -> None:
    groups = {g.inputs["name"]: g for g in prod.of_type(LOG_GROUP) if g in data_tier(prod)}
    exports = {
        "postgres": {"postgresql", "upgrade"},
        "mysql": {"audit", "error", "general", "slowquery"},
    }
    for db in prod.of_type(RDS):
        logs = set(db.inputs["enabledCloudwatchLogsExports"])
        assert logs == exports[db.inputs["engine"]]
        for log in logs:
            group = groups[f"/aws/rds/instance/{db.inputs['identifier']}/{log}"]
            assert group.inputs["retentionInDays"] == 365
            assert group.protect is True
            # created before the instance, so RDS does not make an unencrypted one first
            assert group.urn in db.dependencies
    for log in ("audit", "profiler"):
        assert f"/aws/docdb/data-mmf/{log}" in groups


def test_mysql_writes_an_audit_log_and_forces_tls() -> None:
    # PROD has no MySQL database; the audit plugin is checked on a one-off MySQL store
    plan, _ = build({"rds": {"ledger": {"engine": "mysql", "clients": ["mmf"]}}})
    db = plan.named("data-rds-ledger")
    options = next(
        o
        for o in plan.of_type("aws:rds/optionGroup:OptionGroup")
        if o.outputs["name"] == db.inputs["optionGroupName"]
    )
    assert options.inputs["engineName"] == "mysql"
    assert options.inputs["options"][0]["optionName"] == "MARIADB_AUDIT_PLUGIN"
    assert "audit" in db.inputs["enabledCloudwatchLogsExports"]
    params = next(
        p for p in plan.of_type(RDS_PARAMS) if p.outputs["name"] == db.inputs["parameterGroupName"]
    )
    assert {"name": "require_secure_transport", "value": "ON", "applyMethod": "pending-reboot"} in (
        params.inputs["parameters"]
    )
    assert params.inputs["family"] == "mysql8.0"


def test_alarms_and_dms_failures_notify_the_stack_topic(prod: Plan) -> None:
    alarms = {a.name: a for a in prod.of_type(ALARM) if a in data_tier(prod)}
    for a in alarms.values():
        assert a.inputs["alarmActions"] == [TOPIC] and a.inputs["okActions"] == [TOPIC]
    for store in ("rds-loyalty", "rds-mmf"):
        for metric in ("cpu", "storage", "memory", "connections"):
            assert f"data-{store}-{metric}" in alarms
    for metric in ("cpu", "memory", "connections", "replica-lag"):
        assert f"data-docdb-mmf-{metric}" in alarms
    lag = alarms["data-docdb-mmf-replica-lag"]
    assert lag.inputs["metricName"] == "DBClusterReplicaLagMaximum"
    assert lag.inputs["dimensions"] == {"DBClusterIdentifier": "data-mmf"}
    events = {e.inputs["sourceType"]: e for e in prod.of_type(DMS_EVENTS)}
    task_events = events["replication-task"]
    assert task_events.inputs["snsTopicArn"] == TOPIC
    assert task_events.inputs["eventCategories"] == ["failure"]
    assert sorted(task_events.inputs["sourceIds"]) == ["data-loyalty", "data-mmf-docs"]
    assert events["replication-instance"].inputs["snsTopicArn"] == TOPIC


# --- network access ---------------------------------------------------------------------


def rules_of(plan: Plan, type_: str, group: Registered) -> list[Registered]:
    return [r for r in plan.of_type(type_) if r.inputs["securityGroupId"] == group.outputs["id"]]


def test_each_store_admits_only_the_apps_that_declared_it(prod: Plan) -> None:
    dms_sg = prod.named("data-dms-sg").outputs["id"]
    expected = {
        "data-rds-loyalty-sg": ({APPS["loyalty"], APPS["backoffice"], dms_sg}, 5432),
        "data-rds-mmf-sg": ({APPS["mmf"]}, 5432),  # no DMS task writes to it
        "data-docdb-mmf-sg": ({APPS["mmf"], dms_sg}, 27017),
    }
    for name, (peers, port) in expected.items():
        group = prod.named(name)
        ingress = rules_of(prod, INGRESS, group)
        assert {r.inputs.get("referencedSecurityGroupId") for r in ingress} == peers, name
        assert all("cidrIpv4" not in r.inputs and "cidrIpv6" not in r.inputs for r in ingress)
        assert {(r.inputs["fromPort"], r.inputs["toPort"]) for r in ingress} == {(port, port)}
        assert rules_of(prod, EGRESS, group) == [], f"{name}: a data store opens no connections"


def test_dms_reaches_only_its_sources_targets_and_the_aws_endpoints(prod: Plan) -> None:
    group = prod.named("data-dms-sg")
    assert rules_of(prod, INGRESS, group) == []
    egress = {
        (
            r.inputs.get("cidrIpv4") or r.inputs.get("referencedSecurityGroupId"),
            r.inputs["fromPort"],
        )
        for r in rules_of(prod, EGRESS, group)
    }
    data_block = "10.10.64.0/19"
    endpoints_sg = prod.named("net-endpoints").outputs["id"]
    assert egress == {
        ("172.16.32.0/22", 5432),  # loyalty-pg on-prem
        ("172.16.32.0/22", 27017),  # mmf-mongo on-prem
        (data_block, 5432),  # rds.loyalty
        (data_block, 27017),  # documentdb.mmf
        (endpoints_sg, 443),  # Secrets Manager, KMS, logs
    }


# --- credentials ------------------------------------------------------------------------


def test_no_secret_value_appears_in_plain_text(
    prod_run: tuple[Plan, list[ManagedDataTier]],
) -> None:
    plan = prod_run[0]
    passwords = [p.outputs["result"] for p in plan.of_type(PASSWORD)]
    assert len(passwords) == 2  # one migration user per DMS target store
    for resource in plan:
        for key, value in resource.inputs.items():
            if key in resource.secret_paths:
                continue
            text = json.dumps(value, default=str)
            for password in passwords:
                assert password not in text, f"{resource.name}.{key} holds a password in plain"
    # the only inputs holding a password are secret ones
    assert plan.named("data-dms-target-mmf-docs").secret_paths == {"password"}
    for version in plan.of_type("aws:secretsmanager/secretVersion:SecretVersion"):
        assert "secretString" in version.secret_paths
    stores = plan.stack_outputs["stores"]
    text = json.dumps(stores)
    assert not any(p in text for p in passwords)
    for store in stores.values():
        assert store["secretArn"].startswith("arn:aws:secretsmanager:")


def test_dms_reads_credentials_from_secrets_over_tls(prod: Plan) -> None:
    role = prod.named("data-dms-secrets")
    trust = json.loads(role.inputs["assumeRolePolicy"])["Statement"][0]
    # DMS only assumes a secrets-access role through its regional principal
    assert trust["Principal"]["Service"] == "dms.ap-southeast-1.amazonaws.com"
    policy = json.loads(prod.named("data-dms-secrets-read").inputs["policy"])
    readable = set(policy["Statement"][0]["Resource"])
    target_secrets = {s.outputs["arn"] for s in prod.of_type(SECRET) if "dms-target" in s.name}
    assert readable == {SECRET_ARN.format("loyalty"), SECRET_ARN.format("mmf")} | target_secrets
    policy_urn = prod.named("data-dms-secrets-read").urn
    assert all(policy_urn in e.dependencies for e in prod.of_type(DMS_ENDPOINT))
    endpoints = {e.name: e.inputs for e in prod.of_type(DMS_ENDPOINT)}
    for name in ("data-dms-source-loyalty-pg", "data-dms-source-mmf-mongo"):
        source = endpoints[name]
        assert source["endpointType"] == "source"
        assert source["secretsManagerAccessRoleArn"] == role.outputs["arn"]
        assert source["sslMode"] == "verify-full"
        assert not {"password", "username", "serverName"} & set(source)
    loyalty = endpoints["data-dms-target-loyalty"]
    assert loyalty["engineName"] == "postgres" and loyalty["databaseName"] == "loyalty"
    assert loyalty["secretsManagerArn"] in target_secrets
    assert loyalty["sslMode"] == "verify-full"
    docs = endpoints["data-dms-target-mmf-docs"]
    assert docs["engineName"] == "docdb" and docs["sslMode"] == "verify-full"
    assert docs["serverName"] == "data-mmf.cluster-c0ffee.ap-southeast-1.docdb.amazonaws.com"
    tasks = {t.inputs["replicationTaskId"]: t.inputs for t in prod.of_type(DMS_TASK)}
    assert tasks["data-loyalty"]["migrationType"] == "full-load-and-cdc"
    assert tasks["data-loyalty"]["startReplicationTask"] is False
    assert json.loads(tasks["data-loyalty"]["tableMappings"]) == json.loads(MAPPINGS)


# --- identity and outputs ---------------------------------------------------------------


def test_adding_a_database_and_a_documentdb_changes_no_other_store() -> None:
    small = {"rds": {"loyalty": {"clients": ["loyalty"]}}}
    grown = {
        "rds": {"loyalty": {"clients": ["loyalty"]}, "mmf": {"clients": ["mmf"]}},
        "documentdb": {"mmf": {"clients": ["mmf"]}},
    }
    before, _ = build(small)
    after, _ = build(grown)
    after_by_urn = {r.urn: r for r in after}
    for resource in before:
        same = after_by_urn.get(resource.urn)
        assert same is not None, f"{resource.name} disappeared"
        assert (same.type, same.parent, same.inputs, same.protect) == (
            resource.type,
            resource.parent,
            resource.inputs,
            resource.protect,
        ), resource.name
    assert len(after) > len(before)


def test_outputs_give_each_store_endpoint_port_secret_arn_and_group(
    prod_run: tuple[Plan, list[ManagedDataTier]],
) -> None:
    plan, (tier,) = prod_run
    stores = plan.stack_outputs["stores"]
    assert set(stores) == {"rds.loyalty", "rds.mmf", "documentdb.mmf"}
    assert stores["rds.loyalty"]["port"] == 5432
    assert stores["rds.loyalty"]["endpoint"].startswith("data-loyalty.")
    assert (
        stores["documentdb.mmf"]["securityGroupId"] == plan.named("data-docdb-mmf-sg").outputs["id"]
    )
    titles = {w["properties"]["title"] for w in tier.dashboard_widgets}
    assert any("data-loyalty" in t for t in titles)
    assert any("data-mmf" in t and "DocumentDB" in t for t in titles)
    assert any(t.startswith("DMS") for t in titles)


def test_every_taggable_resource_carries_the_standard_tags(prod: Plan) -> None:
    tagged = [r for r in data_tier(prod) if "tags" in r.inputs]
    assert len(tagged) > 40
    for resource in tagged:
        missing = set(STANDARD_TAG_KEYS) - set(resource.inputs["tags"])
        assert not missing, f"{resource.name} lacks {missing}"
        assert resource.inputs["tags"]["component"] == "managed-data-tier"


def test_settings_tell_the_network_which_ports_and_dms_engines_to_open() -> None:
    settings = ManagedDataTierSettings.model_validate(PROD)
    assert settings.data_services() == ["documentdb", "postgres"]
    assert settings.dms_source_engines() == ["mongodb", "postgres"]
    assert ManagedDataTierSettings().data_services() == []


# --- bad input ----------------------------------------------------------------------------


def edit(change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    config = copy.deepcopy(PROD)
    change(config)
    return config


def set_key(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(config: dict[str, Any]) -> None:
        node = config
        *parents, last = path.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[last] = value

    return change


SETTINGS_ERRORS = [
    ("rds.loyalty.backupRetentionDays", 3, "backupRetentionDays"),
    ("documentdb.mmf.backupRetentionDays", 6, "backupRetentionDays"),
    ("rds.loyalty.backupWindow", "25:00-25:30", "backupWindow"),
    ("rds.loyalty.backupWindow", "17:00-17:10", "backupWindow"),
    ("rds.loyalty.maintenanceWindow", "sunday 3am", "maintenanceWindow"),
    ("rds.loyalty.maintenanceWindow", "sun:17:15-sun:17:45", "overlaps backupWindow"),
    ("documentdb.mmf.maintenanceWindow", "mon:17:20-mon:18:00", "overlaps backupWindow"),
    ("rds.loyalty.maxAllocatedStorageGib", 100, "maxAllocatedStorageGib"),
    ("rds.loyalty.instanceClass", "db.t4g.micro", "instanceClass"),
    ("rds.loyalty.logRetentionDays", 100, "logRetentionDays"),
    ("rds.loyalty.masterUsername", "admin", "masterUsername"),
    ("rds.loyalty.engineVersion", "11", "engineVersion"),
    ("rds.loyalty.engineVersion", "latest", "engineVersion"),
    ("dms.tasks.loyalty.tableMappings", "{not json", "tableMappings"),
    ("dms.tasks.loyalty.tableMappings", '{"rules": []}', "tableMappings"),
    ("dms.tasks.loyalty.target", "rds.billing", "dms.tasks.loyalty.target"),
    ("dms.tasks.loyalty.target", "redis", "target"),
    ("dms.tasks.mmf-docs.target", "rds.mmf", "tasks.mmf-docs.target"),
    ("dms.tasks.loyalty.source", "oracle-db", "tasks.loyalty.source"),
    ("dms.sources.loyalty-pg.certificateArn", None, "certificateArn"),
    ("dms.sources.loyalty-pg.secretArn", "my-password", "secretArn"),
    ("dms.targetCaCertificateArn", None, "targetCaCertificateArn"),
    ("rds.Loyalty_DB", {}, "Loyalty_DB"),
]


@pytest.mark.parametrize(("path", "value", "message"), SETTINGS_ERRORS)
def test_bad_settings_are_rejected_naming_the_key(path: str, value: Any, message: str) -> None:
    with pytest.raises(ValidationError) as error:
        ManagedDataTierSettings.model_validate(edit(set_key(path, value)))
    assert message in str(error.value)


def test_backup_window_wrapping_midnight_is_checked_against_maintenance() -> None:
    config = edit(set_key("rds.loyalty.backupWindow", "23:45-00:15"))
    config["rds"]["loyalty"]["maintenanceWindow"] = "mon:00:00-mon:00:30"
    with pytest.raises(ValidationError, match="maintenanceWindow"):
        ManagedDataTierSettings.model_validate(config)
    config["rds"]["loyalty"]["maintenanceWindow"] = "mon:00:30-mon:01:00"
    ManagedDataTierSettings.model_validate(config)  # adjacent, not overlapping


STACK_ERRORS = [
    (set_key("rds.loyalty.clients", ["loyalty", "payments"]), "rds.loyalty.clients"),
    (set_key("documentdb.mmf.clients", ["ledger"]), "documentdb.mmf.clients"),
    (set_key("documentdb.mmf.instanceCount", 4), "documentdb.mmf.instanceCount"),
    (set_key("dms.sources.loyalty-pg.onPremNetwork", "sgp-dc"), "onPremNetwork"),
    (set_key("dms.sources.loyalty-pg.host", "10.99.0.5"), "dms.sources.loyalty-pg.host"),
]


@pytest.mark.parametrize(("change", "message"), STACK_ERRORS)
def test_config_that_does_not_fit_the_stack_registers_nothing(
    change: Callable[[dict[str, Any]], None], message: str
) -> None:
    monitor = RecordingMonitor(PlatformMocks())
    with pytest.raises(ValueError, match=message.replace(".", r"\.")):
        build(edit(change), monitor=monitor)
    assert monitor.registered == []


def test_redis_rabbitmq_and_opensearch_plug_in_without_touching_the_databases() -> None:
    small = {"rds": {"loyalty": {"clients": ["loyalty"]}}}
    before, _ = build(small)
    after, _ = build({**small, "redis": {"clients": ["loyalty"]}})
    assert "redis" in after.stack_outputs["stores"]
    assert (
        after.stack_outputs["stores"]["rds.loyalty"]
        == before.stack_outputs["stores"]["rds.loyalty"]
    )
    after_by_urn = {r.urn: r for r in after}
    for resource in before:
        assert after_by_urn[resource.urn].inputs == resource.inputs, resource.name


def test_nonprod_defaults_never_override_what_the_stack_file_sets() -> None:
    raw = with_nonprod_defaults({"rds": {"loyalty": {"multiAz": True}}, "dms": {}})
    assert raw["rds"]["loyalty"]["multiAz"] is True
    assert raw["rds"]["loyalty"]["instanceClass"] == "db.t4g.medium"
    assert raw["dms"]["multiAz"] is False
    assert "redis" not in with_nonprod_defaults({})  # an absent store is never created


def test_the_docs_reference_every_setting() -> None:
    from pathlib import Path

    from components.managed_data_tier import DmsSettings, DocumentDbSettings, RdsDatabaseSettings
    from components.managed_data_tier.dms import DmsSource, DmsTask

    docs = (Path(__file__).parent.parent / "docs" / "managed-data-tier.md").read_text()
    for model in (
        ManagedDataTierSettings,
        RdsDatabaseSettings,
        DocumentDbSettings,
        DmsSettings,
        DmsSource,
        DmsTask,
    ):
        for name, field in model.model_fields.items():
            assert f"| `{field.alias or name}` |" in docs, f"{model.__name__}.{name} undocumented"
