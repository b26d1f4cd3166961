"""ManagedDataTier (RDS, DocumentDB, DMS, and the rules of the whole component): what a DBA,
a security reviewer or a PCI auditor checks, on offline plans.

The stores are built from the Python API (settings in Python names) the way a team's program
builds them: a SecureVpc's reference and the apps' references (``AppRef``). Runs that only
test the data tier use a network reference planned without a VPC (``fake_network``), so a
refused configuration registers nothing at all.
"""

from __future__ import annotations

import copy
import dataclasses
import json
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import pulumi
import pytest
from pydantic import ValidationError
from pydantic.alias_generators import to_camel

from components import ComponentConfigError
from components.core.kms import KEY_METADATA, RESERVED_TO_ADMINISTRATORS
from components.core.onprem import OnPremNetwork
from components.core.settings import STANDARD_TAG_KEYS, StackContext
from components.ha_app_tier import AppRef, HaAppTier, HaAppTierSettings
from components.iam_check import Request, allows, decide
from components.managed_data_tier import (
    DmsSettings,
    DmsSource,
    DmsTask,
    DocumentDbSettings,
    ManagedDataTier,
    ManagedDataTierSettings,
    OpenSearchSettings,
    RabbitMqSettings,
    RdsDatabaseSettings,
    RedisAppAccess,
    RedisSettings,
)
from components.secure_vpc import (
    NetworkPlan,
    SecureVpc,
    SecureVpcSettings,
    plan_network,
)
from components.testing import (
    Plan,
    PlatformMocks,
    RecordingMonitor,
    Registered,
    run_offline,
    stub_app,
    stub_id,
    stub_network,
)

TOPIC = "arn:aws:sns:ap-southeast-1:111122223333:platform-alarms"
ACCOUNT = "111122223333"
ON_PREM = {"hcm-dc-db": OnPremNetwork(cidr="172.16.32.0/22", nacl_slot=2)}
APPS = ("loyalty", "mmf", "backoffice")

RDS = "aws:rds/instance:Instance"
RDS_PARAMS = "aws:rds/parameterGroup:ParameterGroup"
DOCDB = "aws:docdb/cluster:Cluster"
DOCDB_INSTANCE = "aws:docdb/clusterInstance:ClusterInstance"
DOCDB_PARAMS = "aws:docdb/clusterParameterGroup:ClusterParameterGroup"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
SECRET = "aws:secretsmanager/secret:Secret"
DMS_INSTANCE = "aws:dms/replicationInstance:ReplicationInstance"
DMS_SUBNETS = "aws:dms/replicationSubnetGroup:ReplicationSubnetGroup"
DMS_ENDPOINT = "aws:dms/endpoint:Endpoint"
DMS_TASK = "aws:dms/replicationTask:ReplicationTask"
DMS_EVENTS = "aws:dms/eventSubscription:EventSubscription"
PASSWORD = "random:index/randomPassword:RandomPassword"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"

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
KMS_ARN = "arn:aws:kms:ap-southeast-1:111122223333:key/{}"

#: The case studies: LOYALTY (PostgreSQL) and MMF (PostgreSQL + MongoDB), migrated by DMS.
PROD: dict[str, Any] = {
    "rds": {
        "loyalty": {"clients": ["loyalty", "backoffice"]},
        "mmf": {"clients": ["mmf"]},
    },
    "documentdb": {"mmf": {"clients": ["mmf"]}},
    "dms": {
        "target_ca_certificate_arn": CERT_ARN.format("RDSGLOBAL"),
        "sources": {
            "loyalty-pg": {
                "engine": "postgres",
                "on_prem_network": "hcm-dc-db",
                "host": "172.16.32.10",
                "database_name": "loyalty",
                "secret_arn": SECRET_ARN.format("loyalty"),
                "certificate_arn": CERT_ARN.format("ONPREMCA"),
            },
            "mmf-mongo": {
                "engine": "mongodb",
                "on_prem_network": "hcm-dc-db",
                "host": "172.16.32.20",
                "database_name": "mmf",
                "secret_arn": SECRET_ARN.format("mmf"),
                "certificate_arn": CERT_ARN.format("ONPREMCA"),
            },
        },
        "tasks": {
            "loyalty": {
                "source": "loyalty-pg",
                "target": "rds.loyalty",
                "table_mappings": MAPPINGS,
            },
            "mmf-docs": {
                "source": "mmf-mongo",
                "target": "documentdb.mmf",
                "table_mappings": MAPPINGS,
            },
        },
    },
}


# --- building ---------------------------------------------------------------------------------


def network_plan(
    settings: ManagedDataTierSettings,
    *,
    azs: Iterable[str] = ("a", "b", "c"),
    data_services: Iterable[str] | None = None,
    dms_source_engines: Iterable[str] | None = None,
) -> NetworkPlan:
    """The plan of a VPC built for ``settings`` (what SecureVpc would admit), or one that
    admits only the given services and engines."""
    return plan_network(
        SecureVpcSettings(availability_zones=list(azs)),
        on_prem=ON_PREM,
        data_services=settings.data_services() if data_services is None else data_services,
        dms_source_engines=(
            settings.dms_source_engines() if dms_source_engines is None else dms_source_engines
        ),
        dms_target_services=settings.dms_target_services(),
    )


def app_refs(
    settings: ManagedDataTierSettings, services: Mapping[str, Iterable[str]] | None = None
) -> dict[str, AppRef]:
    """An AppRef per app, reaching the services its stores serve (or those given)."""
    reach = services or {app: settings.services_of_client(app) for app in APPS}
    return {app: stub_app(app, served) for app, served in reach.items()}


def build(
    data: dict[str, Any] | Callable[[], ManagedDataTierSettings],
    environment: str = "prod",
    *,
    real_vpc: bool = False,
    monitor: RecordingMonitor | None = None,
    name: str = "data",
    apps: Mapping[str, Iterable[str]] | None = None,
    edit_plan: Callable[[NetworkPlan], NetworkPlan] | None = None,
    **network: Any,
) -> tuple[Plan, list[ManagedDataTier]]:
    """Run one program holding a ManagedDataTier; returns the plan and the component.

    ``data`` is the settings in Python names, or a function making them inside the run
    (for settings holding Outputs).
    """
    made: list[ManagedDataTier] = []

    def program() -> None:
        context = StackContext(environment=environment)  # type: ignore[arg-type]
        settings = data() if callable(data) else ManagedDataTierSettings.model_validate(data)
        if real_vpc:
            ref = SecureVpc(
                "net",
                SecureVpcSettings(availability_zones=["a", "b", "c"]),
                context=context,
                on_prem=ON_PREM,
                data_services=settings.data_services(),
                dms_source_engines=settings.dms_source_engines(),
                dms_target_services=settings.dms_target_services(),
            ).ref
        else:
            plan = network_plan(settings, **network)
            ref = stub_network(edit_plan(plan) if edit_plan else plan)
        tier = ManagedDataTier(
            name,
            settings,
            context=context,
            network=ref,
            alarm_topic_arn=TOPIC,
            apps=app_refs(settings, apps),
        )
        made.append(tier)
        pulumi.export("stores", tier.stores)

    return run_offline(program, monitor=monitor), made


def refused(data: dict[str, Any], environment: str = "prod", **wiring: Any) -> str:
    """The ComponentConfigError message of a data tier; asserts nothing was registered
    (run_offline settles every registration it started before it re-raises)."""
    monitor = RecordingMonitor(PlatformMocks())
    with pytest.raises(ComponentConfigError) as error:
        build(data, environment, monitor=monitor, **wiring)
    assert monitor.registered == []
    return str(error.value)


def edit(path: str, value: Any, data: dict[str, Any] | None = None) -> dict[str, Any]:
    """A copy of ``data`` (default PROD) with the dotted Python path set to ``value``."""
    config = copy.deepcopy(PROD if data is None else data)
    node = config
    *parents, last = path.split(".")
    for part in parents:
        node = node.setdefault(part, {})
    node[last] = value
    return config


@pytest.fixture(scope="module")
def prod_run() -> tuple[Plan, list[ManagedDataTier]]:
    return build(PROD, real_vpc=True)


@pytest.fixture(scope="module")
def prod(prod_run: tuple[Plan, list[ManagedDataTier]]) -> Plan:
    return prod_run[0]


@pytest.fixture(scope="module")
def nonprod() -> Plan:
    return build(PROD, "nonprod")[0]


def data_tier(plan: Plan) -> list[Registered]:
    return plan.descendants_of(plan.named("data"))


def key_arn(plan: Plan, purpose: str = "") -> Any:
    """The ARN of the tier's data-store key, or of its ``secrets`` or ``logs`` key."""
    return plan.named(f"data-{purpose}-key" if purpose else "data-key").outputs["arn"]


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
    assert prod.of_type(RDS) and prod.of_type(DOCDB)
    for db in prod.every(RDS):
        assert db.inputs["storageEncrypted"] is True
        assert db.inputs["kmsKeyId"] == key
        assert db.inputs["performanceInsightsKmsKeyId"] == key
        assert db.inputs["masterUserSecretKmsKeyId"] == key
        assert db.inputs["publiclyAccessible"] is False
        group = subnet_group(
            prod, "aws:rds/subnetGroup:SubnetGroup", db.inputs["dbSubnetGroupName"]
        )
        assert set(group.inputs["subnetIds"]) == data_subnets
    for cluster in prod.every(DOCDB):
        assert cluster.inputs["storageEncrypted"] is True
        assert cluster.inputs["kmsKeyId"] == key
        group = subnet_group(
            prod, "aws:docdb/subnetGroup:SubnetGroup", cluster.inputs["dbSubnetGroupName"]
        )
        assert set(group.inputs["subnetIds"]) == data_subnets
    for instance in prod.every(DOCDB_INSTANCE):
        assert instance.inputs["performanceInsightsKmsKeyId"] == key
    (dms,) = prod.of_type(DMS_INSTANCE)
    assert dms.inputs["kmsKeyArn"] == key
    assert dms.inputs["publiclyAccessible"] is False
    (dms_subnets,) = prod.of_type(DMS_SUBNETS)
    assert set(dms_subnets.inputs["subnetIds"]) == data_subnets
    assert prod.of_type(DMS_ENDPOINT)
    for endpoint in prod.every(DMS_ENDPOINT):
        assert endpoint.inputs["kmsKeyArn"] == key
    tier = data_tier(prod)
    for purpose, type_ in (("logs", LOG_GROUP), ("secrets", SECRET)):
        resources = [r for r in prod.every(type_) if r in tier]
        assert resources
        for resource in resources:
            assert resource.inputs["kmsKeyId"] == key_arn(prod, purpose), resource.name


def statement(policy: dict[str, Any], sid: str) -> dict[str, Any]:
    (found,) = [s for s in policy["Statement"] if s.get("Sid") == sid]
    return found


def test_each_key_serves_one_purpose_through_its_service_only(prod: Plan) -> None:
    """PCI DSS 3.6.1/3.7: a key per purpose. The data-store key is used through the data
    services, never through Secrets Manager but for the secrets RDS keeps under it, and by
    CloudWatch Logs only to read what it wrote before the logs key; the secrets key only
    through Secrets Manager for this tier's secrets; the logs key only by CloudWatch Logs
    for this tier's log groups. Every key rotates yearly and is protected in prod."""
    keys = {p: prod.named(f"data-{p}-key" if p else "data-key") for p in ("", "secrets", "logs")}
    for key in keys.values():
        assert key.inputs["enableKeyRotation"] is True
        assert key.protect is True
    region_ = "ap-southeast-1"
    data = json.loads(keys[""].inputs["policy"])
    via = statement(data, "AccountUsesKeyThroughDataServices")["Condition"]["StringEquals"]
    assert via["kms:CallerAccount"] == ACCOUNT
    assert {s.split(".")[0] for s in via["kms:ViaService"]} == {"rds", "elasticache", "es", "dms"}
    rds_secrets = statement(data, "RdsManagedSecretsThroughSecretsManager")["Condition"]
    assert (
        rds_secrets["StringEquals"]["kms:ViaService"] == f"secretsmanager.{region_}.amazonaws.com"
    )
    assert (
        f"arn:aws:secretsmanager:{region_}:{ACCOUNT}:secret:rds!db-*"
        in (rds_secrets["ArnLike"]["kms:EncryptionContext:SecretARN"])
    )
    old_logs = statement(data, "LogsReadEventsWrittenBeforeTheLogsKey")
    assert old_logs["Action"] == ["kms:Decrypt*", "kms:Describe*"]
    secrets = json.loads(keys["secrets"].inputs["policy"])
    use = statement(secrets, "AccountUsesKeyForTheTiersSecrets")["Condition"]
    assert use["StringEquals"]["kms:ViaService"] == f"secretsmanager.{region_}.amazonaws.com"
    assert use["ArnLike"]["kms:EncryptionContext:SecretARN"] == [
        f"arn:aws:secretsmanager:{region_}:{ACCOUNT}:secret:data-*"
    ]
    logs = json.loads(keys["logs"].inputs["policy"])
    writes = statement(logs, "LogsEncryptTheTiersLogGroups")
    assert writes["Principal"] == {"Service": f"logs.{region_}.amazonaws.com"}
    assert all(
        p.startswith(f"arn:aws:logs:{region_}:{ACCOUNT}:log-group:")
        for p in writes["Condition"]["ArnLike"]["kms:EncryptionContext:aws:logs:arn"]
    )
    for policy in (data, secrets, logs):
        # no statement lets anyone of the account use a key outside the services named
        for s in policy["Statement"]:
            if s["Effect"] == "Allow" and s.get("Action") != "kms:*":
                assert "Condition" in s or set(s["Action"]) <= set(KEY_METADATA), s["Sid"]


ADMINS = [
    f"arn:aws:iam::{ACCOUNT}:role/payments-platform-deployer",
    f"arn:aws:iam::{ACCOUNT}:role/aws-reserved/sso.amazonaws.com/*/AWSReservedSSO_BreakGlass_*",
]
DEPLOYER = f"arn:aws:iam::{ACCOUNT}:role/payments-platform-deployer"
BREAK_GLASS = (
    f"arn:aws:iam::{ACCOUNT}:role/aws-reserved/sso.amazonaws.com/ap-southeast-1/"
    "AWSReservedSSO_BreakGlass_0123456789abcdef"
)
DEVELOPER = f"arn:aws:iam::{ACCOUNT}:role/aws-reserved/sso.amazonaws.com/Developer_0123"
APP = f"arn:aws:iam::{ACCOUNT}:role/loyalty-instance-role-abc1234"


def as_principal(arn: str, action: str, **context: str) -> Request:
    """``action`` on a key by the role ``arn``, as KMS sees it (aws:PrincipalArn)."""
    return Request(
        action,
        principal={"AWS": arn},
        context={"aws:PrincipalArn": arn, "kms:CallerAccount": ACCOUNT, **context},
    )


@pytest.fixture(scope="module")
def administered() -> Plan:
    """The prod data tier of a stack whose administrators are the deploy and break-glass
    roles (``StackContext.administrators``)."""

    def program() -> None:
        context = StackContext(environment="prod", administrators=ADMINS)
        settings = ManagedDataTierSettings.model_validate(PROD)
        ManagedDataTier(
            "data",
            settings,
            context=context,
            network=stub_network(network_plan(settings)),
            alarm_topic_arn=TOPIC,
            apps=app_refs(settings),
        )

    return run_offline(program)


def test_only_the_administrators_delete_disable_or_repolicy_the_keys(administered: Plan) -> None:
    """PCI DSS 3.6.1.2/3.7.6: key administrators are named (the deploy and break-glass
    roles) and nobody else can schedule deletion, disable a key or its rotation, or change
    its policy, whatever IAM grants (an explicit deny); the administrators administer the
    keys and decrypt nothing directly (only through the services). KMS key policy
    evaluation: kms/latest/developerguide/key-policy-default.html."""
    keys = [k for k in administered.every("aws:kms/key:Key")]
    assert len(keys) == 3
    for key in keys:
        policy = json.loads(key.inputs["policy"])
        assert not any(s.get("Action") == "kms:*" for s in policy["Statement"]), key.name
        for action in RESERVED_TO_ADMINISTRATORS:
            assert allows(policy, as_principal(DEPLOYER, action)), (key.name, action)
            assert allows(policy, as_principal(BREAK_GLASS, action)), (key.name, action)
            for other in (DEVELOPER, APP):
                assert decide(policy, as_principal(other, action)) == "deny", (key.name, action)
        for admin in (DEPLOYER, BREAK_GLASS):
            direct = as_principal(admin, "kms:Decrypt")
            assert decide(policy, direct) == "deny", key.name
    data = json.loads(administered.named("data-key").inputs["policy"])
    through_rds = {"kms:ViaService": "rds.ap-southeast-1.amazonaws.com"}
    # the deploy role still creates encrypted databases: RDS asks for a grant on its behalf
    assert allows(data, as_principal(DEPLOYER, "kms:CreateGrant", **through_rds))
    for key in keys:
        policy = json.loads(key.inputs["policy"])
        # everyone of the account reads the configuration (auditors, AWS Config)
        assert allows(policy, as_principal(DEVELOPER, "kms:GetKeyRotationStatus"))
        # and nobody of the account uses the key directly: only through its service
        assert not allows(policy, as_principal(APP, "kms:Decrypt")), key.name


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


# --- the environment --------------------------------------------------------------------------


def test_a_nonprod_context_makes_it_cheaper_and_removable(nonprod: Plan) -> None:
    resources = data_tier(nonprod)
    assert resources
    for resource in resources:
        assert resource.protect is False, resource.name
    assert nonprod.of_type(RDS)
    for db in nonprod.every(RDS):
        assert db.inputs["multiAz"] is False
        assert db.inputs["deletionProtection"] is False
        assert db.inputs["instanceClass"] == "db.t4g.medium"
        assert db.inputs["backupRetentionPeriod"] == 7
        assert db.inputs["skipFinalSnapshot"] is False  # a last snapshot still costs little
        assert db.inputs["storageEncrypted"] is True  # nonprod still encrypts
    assert len(nonprod.of_type(DOCDB_INSTANCE)) == 1
    (dms,) = nonprod.of_type(DMS_INSTANCE)
    assert dms.inputs["multiAz"] is False
    assert dms.inputs["replicationInstanceClass"] == "dms.t3.medium"


def test_what_a_nonprod_caller_sets_wins_over_the_nonprod_defaults() -> None:
    data = {"rds": {"loyalty": {"clients": ["loyalty"], "multi_az": True}}}
    plan, _ = build(data, "nonprod")
    db = plan.named("data-rds-loyalty", RDS)
    assert db.inputs["multiAz"] is True  # explicit
    assert db.inputs["instanceClass"] == "db.t4g.medium"  # the nonprod default


def test_nonprod_defaults_never_create_a_store() -> None:
    settings = ManagedDataTierSettings().for_environment("nonprod")
    assert settings == ManagedDataTierSettings()
    assert settings.redis is None and settings.dms is None


# --- TLS, auth, logging, monitoring -----------------------------------------------------


def test_rds_parameter_groups_force_tls(prod: Plan) -> None:
    expected = {
        "postgres": ("rds.force_ssl", "1", "postgres16"),
        "mysql": ("require_secure_transport", "ON", "mysql8.0"),
    }
    assert prod.of_type(RDS)
    for db in prod.every(RDS):
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


def parameters_of(plan: Plan, db: Registered) -> dict[str, dict[str, str]]:
    group = next(
        p for p in plan.of_type(RDS_PARAMS) if p.outputs["name"] == db.inputs["parameterGroupName"]
    )
    return {p["name"]: p for p in group.inputs["parameters"]}


def test_postgresql_audits_what_each_session_changes_never_the_values_it_binds(
    prod: Plan,
) -> None:
    """PCI DSS 10.2.1-10.2.2 through pgaudit (RDS user guide, "Setting up the pgAudit
    extension"): the library preloaded next to pg_stat_statements (a custom
    shared_preload_libraries replaces RDS's default instead of adding to it, and Performance
    Insights' Top SQL needs pg_stat_statements), schema (ddl) and role/privilege (role)
    statements of every session logged, reads and writes of the card-data tables logged
    through the object audit role, statement parameters never logged (bind values may be card
    numbers: PCI DSS 3.3/3.5), catalog reads not logged. Static parameters apply at the next
    reboot (pending-reboot)."""
    assert prod.of_type(RDS)
    for db in prod.every(RDS):
        params = parameters_of(prod, db)
        expected = {
            "shared_preload_libraries": "pg_stat_statements,pgaudit",
            "pgaudit.log": "ddl,role",
            "pgaudit.role": "rds_pgaudit",
            "pgaudit.log_parameter": "0",
            "pgaudit.log_catalog": "0",
            "log_connections": "1",
        }
        for name, value in expected.items():
            assert params[name]["value"] == value, (db.name, name)
            assert params[name]["applyMethod"] == "pending-reboot"
        # what pgaudit writes goes to the exported, encrypted `postgresql` log
        assert "postgresql" in db.inputs["enabledCloudwatchLogsExports"]


def test_pgaudit_logs_what_the_config_asks_and_mysql_has_none() -> None:
    data = edit("rds.loyalty.pgaudit_log", ["ddl", "role", "write"])
    data = edit("rds.loyalty.pgaudit_object_role", None, data)
    data = edit("rds.mmf.pgaudit_log", [], data)
    data["rds"]["ledger"] = {"engine": "mysql", "clients": ["mmf"]}
    plan, _ = build(data)
    loyalty = parameters_of(plan, plan.named("data-rds-loyalty", RDS))
    assert loyalty["pgaudit.log"]["value"] == "ddl,role,write"
    assert "pgaudit.role" not in loyalty
    assert parameters_of(plan, plan.named("data-rds-mmf", RDS))["pgaudit.log"]["value"] == "none"
    ledger = parameters_of(plan, plan.named("data-rds-ledger", RDS))
    assert not [name for name in ledger if "pgaudit" in name or name == "shared_preload_libraries"]


def test_rds_events_of_instances_parameter_groups_and_security_groups_reach_the_topic(
    prod: Plan,
) -> None:
    """Security Hub RDS.20 (db-instance: maintenance, configuration change, failure), RDS.21
    (db-parameter-group: configuration change) and RDS.22 (db-security-group: configuration
    change, failure): an enabled event subscription per source type, to the alarm topic
    (securityhub/latest/userguide/rds-controls.html). No source ids: every database of the
    account is covered, and adding one changes no subscription."""
    subscriptions = {
        s.inputs["sourceType"]: s for s in prod.every("aws:rds/eventSubscription:EventSubscription")
    }
    required = {
        "db-instance": {"maintenance", "configuration change", "failure"},
        "db-parameter-group": {"configuration change"},
        "db-security-group": {"configuration change", "failure"},
    }
    assert set(subscriptions) == set(required)
    for source, categories in required.items():
        inputs = subscriptions[source].inputs
        assert categories <= set(inputs["eventCategories"]), source
        assert inputs["snsTopic"] == TOPIC and inputs["enabled"] is True
        assert not inputs.get("sourceIds"), source


def test_a_tier_without_rds_subscribes_to_no_rds_events() -> None:
    plan, _ = build({"documentdb": {"mmf": {"clients": ["mmf"]}}})
    assert plan.of_type("aws:rds/eventSubscription:EventSubscription") == []


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
    assert prod.of_type(RDS)
    for db in prod.every(RDS):
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
    assert prod.of_type(RDS)
    for db in prod.every(RDS):
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
    assert alarms
    for a in alarms.values():
        assert a.inputs["alarmActions"] == [TOPIC] and a.inputs["okActions"] == [TOPIC]
        assert a.inputs["alarmDescription"], a.name
        assert a.parent == prod.named("data").urn, a.name
    for store in ("rds-loyalty", "rds-mmf"):
        for metric in ("cpu", "storage", "memory", "connections"):
            # three 5-minute periods, so a blip does not page anyone
            assert alarms[f"data-{store}-{metric}"].inputs["evaluationPeriods"] == 3
    for metric in ("cpu", "memory", "connections", "replica-lag"):
        assert f"data-docdb-mmf-{metric}" in alarms
    lag = alarms["data-docdb-mmf-replica-lag"]
    assert lag.inputs["metricName"] == "DBClusterReplicaLagMaximum"
    assert lag.inputs["dimensions"] == {"DBClusterIdentifier": "data-mmf"}
    storage = alarms["data-rds-loyalty-storage"]
    # 10% of the 100 GiB allocated, in bytes as CloudWatch reports FreeStorageSpace
    assert storage.inputs["threshold"] == 100 * 1024**3 * 10 / 100
    assert {"data-dms-storage", "data-dms-cpu"} <= set(alarms)
    events = prod.every(DMS_EVENTS)
    assert {e.inputs["snsTopicArn"] for e in events} == {TOPIC}
    (instance_events,) = [e for e in events if e.inputs["sourceType"] == "replication-instance"]
    (instance,) = prod.of_type(DMS_INSTANCE)
    assert instance_events.inputs["sourceIds"] == [instance.outputs["replicationInstanceId"]]
    assert instance.urn in instance_events.dependencies  # DMS checks that the source exists


def test_each_dms_task_reports_its_failures_through_a_subscription_of_its_own(
    prod: Plan,
) -> None:
    # one subscription per task, named after it: a subscription's source ids cannot change
    # in place, so one listing every task would be replaced whenever a task is added
    tasks = {t.name.removeprefix("data-dms-task-"): t for t in prod.every(DMS_TASK)}
    assert set(tasks) == {"loyalty", "mmf-docs"}
    for name, task in tasks.items():
        events = prod.named(f"data-dms-task-events-{name}", DMS_EVENTS)
        assert events.inputs["sourceType"] == "replication-task"
        assert events.inputs["sourceIds"] == [task.outputs["replicationTaskId"]]
        assert task.urn in events.dependencies  # created once the task exists
        assert events.inputs["eventCategories"] == ["failure"]
        assert events.inputs["name"] == f"data-dms-task-failure-{name}"


def test_adding_a_dms_task_adds_resources_and_changes_none() -> None:
    task = {"source": "loyalty-pg", "target": "rds.loyalty", "table_mappings": MAPPINGS}
    before, _ = build(PROD)
    after, _ = build(edit("dms.tasks.loyalty-audit", task))
    after_by_urn = {r.urn: r for r in after}
    for resource in before:
        same = after_by_urn.get(resource.urn)
        assert same is not None, f"{resource.name} disappeared"
        assert (same.type, same.parent, same.inputs) == (
            resource.type,
            resource.parent,
            resource.inputs,
        ), resource.name
    added = {r.name for r in after if r.urn not in {b.urn for b in before}}
    assert added == {
        "data-dms-task-loyalty-audit",
        "data-dms-target-loyalty-audit",
        "data-dms-task-events-loyalty-audit",
    }


def test_retiring_dms_removes_the_migration_and_its_credentials_and_changes_nothing_else() -> None:
    """After cut-over `dms.retired` removes everything of DMS (replication instance,
    endpoints, tasks, event subscriptions, the migration users' secrets and their rotation,
    the stores' rules admitting DMS and the rotation function) while the section stays as the
    record of the migration. Every other resource keeps its name and every input, except the
    data-store key's policy, which stops letting Secrets Manager decrypt the DMS source
    secrets with it (in place: a key policy is a document). PCI DSS 8.2.6/8.3: credentials
    that serve no purpose are removed."""
    before, _ = build(PROD)
    retired = edit("dms.retired", True)
    after, _ = build(retired)
    old = {(r.type, r.name): r for r in before}
    new = {(r.type, r.name): r for r in after}
    assert set(new) < set(old)
    removed = sorted(name for (_, name) in set(old) - set(new))
    assert removed
    for name in removed:
        assert "dms" in name or name.endswith(("-in-migration-dms", "-in-rotation-rotation")), name
    assert not [r for r in after if r.type.startswith("aws:dms/")]
    assert not [r for r in after if r.type == SECRET and "dms" in r.name]
    changed = sorted(
        name
        for (type_, name), r in new.items()
        for key in set(r.inputs) | set(old[(type_, name)].inputs)
        if r.inputs.get(key) != old[(type_, name)].inputs.get(key)
    )
    assert changed == ["data-key"], changed
    for key in ("data-key",):
        diff = {
            k
            for k in set(new[("aws:kms/key:Key", key)].inputs)
            if new[("aws:kms/key:Key", key)].inputs[k] != old[("aws:kms/key:Key", key)].inputs[k]
        }
        assert diff == {"policy"}


def test_a_retired_migration_is_not_checked_against_what_has_changed_since() -> None:
    """A retired `dms` section is a record: its sources may name on-prem ranges removed since
    and its tasks stores renamed since, without refusing the stack."""
    retired = edit("dms.retired", True)
    retired = edit("dms.sources.loyalty-pg.on_prem_network", "closed-dc", retired)
    retired = edit("dms.tasks.loyalty.target", "rds.gone", retired)
    build(retired)  # no ComponentConfigError
    assert "dms.tasks['loyalty'].target" in refused(edit("dms.tasks.loyalty.target", "rds.gone"))


def test_rds_targets_migration_users_rotate_with_the_function_aws_provides() -> None:
    """The password of each RDS target's migration user rotates every secretRotationDays with
    Secrets Manager's single-user rotation template for the engine, deployed from the
    Serverless Application Repository in the data subnets; its first version is never written
    back (it is stale after a rotation). Pages: secretsmanager/latest/userguide/
    reference_available-rotation-templates.html."""
    plan, _ = build(edit("secret_rotation_days", 45))
    (stack,) = plan.of_type("aws:serverlessrepository/cloudFormationStack:CloudFormationStack")
    assert stack.inputs["applicationId"] == (
        "arn:aws:serverlessrepo:us-east-1:297356227824:applications/"
        "SecretsManagerRDSPostgreSQLRotationSingleUser"
    )
    parameters = stack.inputs["parameters"]
    assert set(parameters["vpcSubnetIds"].split(",")) == {
        stub_id("subnet", f"net-data-{az}") for az in "abc"
    }
    assert parameters["kmsKeyArn"] == key_arn(plan, "secrets")
    assert parameters["functionName"] == "data-dms-rotation-postgres"
    function = stack.outputs["outputs"]["RotationLambdaARN"]
    rotations = {
        r.name: r for r in plan.of_type("aws:secretsmanager/secretRotation:SecretRotation")
    }
    secret = plan.named("data-dms-target-rds-loyalty-secret", SECRET)
    rotation = rotations["data-dms-target-rds-loyalty-rotation"]
    assert rotation.inputs["secretId"] == secret.outputs["id"]
    assert rotation.inputs["rotationLambdaArn"] == function
    assert rotation.inputs["rotationRules"] == {"automaticallyAfterDays": 45}
    assert rotation.inputs["rotateImmediately"] is False
    version = plan.named("data-dms-target-rds-loyalty-secret-value")
    assert set(version.ignore_changes) == {"secretString", "versionStages"}
    # the DocumentDB target's password sits in its endpoint (provider #39930): not rotated
    assert "data-dms-target-docdb-mmf-rotation" not in rotations
    assert plan.named("data-dms-target-docdb-mmf-secret-value").ignore_changes == ()


def test_dms_gets_the_account_roles_it_looks_up_by_name_unless_the_account_has_them(
    prod: Plan,
) -> None:
    # DMS looks up dms-vpc-role and dms-cloudwatch-logs-role by name; the console creates
    # them, an API caller must ("Creating the IAM roles to use with AWS DMS"), and without
    # dms-vpc-role DMS refuses the subnet group
    roles = {r.inputs.get("name"): r for r in prod.of_type(ROLE)}
    (subnets,) = prod.of_type(DMS_SUBNETS)
    for name in ("dms-vpc-role", "dms-cloudwatch-logs-role"):
        assert roles[name].retain_on_delete, name  # other DMS of the account may use it
        trust = json.loads(roles[name].inputs["assumeRolePolicy"])
        assert allows(
            trust,
            Request(
                "sts:AssumeRole",
                principal={"Service": "dms.amazonaws.com"},
                context={"aws:SourceAccount": ACCOUNT},
            ),
        )
    assert roles["dms-vpc-role"].urn in subnets.dependencies
    without, _ = build(edit("dms.create_account_roles", False))
    names = {r.inputs.get("name") for r in without.of_type(ROLE)}
    assert not {"dms-vpc-role", "dms-cloudwatch-logs-role"} & names


# --- what client apps may read ------------------------------------------------------------


def test_each_app_connects_as_its_own_database_user_and_reads_no_master_secret(
    prod: Plan,
) -> None:
    """PCI DSS 7.2.5/8.2.2: an app never uses the administrator account of its database.
    Each client app may `rds-db:connect` as the database user named after it (IAM database
    authentication: a 15-minute token signed by its role, no password) on exactly the
    instances that name it, and reads no master secret; DMS's migration users are not the
    apps' either."""
    dbs = {
        "rds.loyalty": prod.named("data-rds-loyalty", RDS),
        "rds.mmf": prod.named("data-rds-mmf", RDS),
    }
    cluster = prod.named("data-docdb-mmf", DOCDB)
    masters = [db.outputs["masterUserSecrets"][0]["secretArn"] for db in dbs.values()]
    masters.append(cluster.outputs["masterUserSecrets"][0]["secretArn"])
    clients = {"loyalty": {"rds.loyalty"}, "backoffice": {"rds.loyalty"}, "mmf": {"rds.mmf"}}
    tier = prod.named("data", "payments:index:ManagedDataTier")
    policies = {p.name: p for p in prod.of_type(ROLE_POLICY) if p.parent == tier.urn}
    migration = [r.outputs["arn"] for r in prod.of_type(SECRET) if "dms-target" in r.name]
    assert migration
    for app, stores in clients.items():
        policy = policies[f"data-app-{app}-access"]
        assert policy.inputs["role"].startswith(f"{app}-instance-role")
        document = json.loads(policy.inputs["policy"])
        for store, db in dbs.items():
            resource_id = db.outputs["resourceId"]
            for user in (app, "dbmaster"):
                connect = Request(
                    "rds-db:connect",
                    f"arn:aws:rds-db:ap-southeast-1:{ACCOUNT}:dbuser:{resource_id}/{user}",
                )
                expected = store in stores and user == app
                assert allows(document, connect) is expected, (app, store, user)
        for arn in [*masters, *migration]:
            assert not allows(document, Request("secretsmanager:GetSecretValue", arn)), app


def test_an_app_still_moving_off_the_master_user_reads_that_secret_only() -> None:
    """`masterSecretReaders` keeps a named client on the master secret while it moves to its
    own user: it reads that one secret and decrypts it through Secrets Manager only, for that
    secret only (the SecretARN encryption context); the other clients still do not."""
    data = edit("rds.loyalty.master_secret_readers", ["backoffice"])
    plan, _ = build(data)
    secret = plan.named("data-rds-loyalty", RDS).outputs["masterUserSecrets"][0]["secretArn"]
    other = plan.named("data-rds-mmf", RDS).outputs["masterUserSecrets"][0]["secretArn"]
    via = {
        "kms:ViaService": "secretsmanager.ap-southeast-1.amazonaws.com",
        "kms:EncryptionContext:SecretARN": secret,
    }
    for app, reads in (("backoffice", True), ("loyalty", False)):
        document = json.loads(plan.named(f"data-app-{app}-access").inputs["policy"])
        assert allows(document, Request("secretsmanager:GetSecretValue", secret)) is reads
        assert allows(document, Request("kms:Decrypt", key_arn(plan), context=via)) is reads
        assert not allows(document, Request("kms:Decrypt", key_arn(plan))), app
        assert not allows(
            document,
            Request(
                "kms:Decrypt",
                key_arn(plan),
                context={**via, "kms:EncryptionContext:SecretARN": other},
            ),
        ), app


# --- network access ---------------------------------------------------------------------


def rules_of(plan: Plan, type_: str, group: Registered) -> list[Registered]:
    return [r for r in plan.of_type(type_) if r.inputs["securityGroupId"] == group.outputs["id"]]


def test_each_store_admits_only_the_apps_that_declared_it(prod: Plan) -> None:
    def sg(app: str) -> str:
        return stub_id("sg", app)

    dms_sg = prod.named("data-dms-sg").outputs["id"]
    # the function rotating the DMS migration user's password connects to the RDS target
    rotation_sg = prod.named("data-dms-rotation-sg").outputs["id"]
    expected = {
        "data-rds-loyalty-sg": ({sg("loyalty"), sg("backoffice"), dms_sg, rotation_sg}, 5432),
        "data-rds-mmf-sg": ({sg("mmf")}, 5432),  # no DMS task writes to it
        "data-docdb-mmf-sg": ({sg("mmf"), dms_sg}, 27017),
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


def test_a_store_admits_the_instances_of_the_hatier_it_names() -> None:
    """The whole chain a team writes: SecureVpc -> HaAppTier -> ManagedDataTier, wired only
    through the references (``vpc.ref``, ``app.ref``) and the settings' helpers."""

    def program() -> None:
        context = StackContext()
        data = ManagedDataTierSettings(rds={"loyalty": RdsDatabaseSettings(clients=["loyalty"])})
        vpc = SecureVpc(
            "net",
            SecureVpcSettings(),
            context=context,
            data_services=data.data_services(),
            dms_source_engines=data.dms_source_engines(),
        )
        app = HaAppTier(
            "loyalty",
            HaAppTierSettings(
                certificate_arn="arn:aws:acm:ap-southeast-1:111122223333:certificate/"
                "12345678-1234-1234-1234-123456789012"
            ),
            context=context,
            network=vpc.ref,
            alarm_topic_arn=TOPIC,
            data_services=data.services_of_client("loyalty"),
        )
        ManagedDataTier(
            "data",
            data,
            context=context,
            network=vpc.ref,
            alarm_topic_arn=TOPIC,
            apps={"loyalty": app.ref},
        )

    plan = run_offline(program)
    instances = plan.named("loyalty-instances", "aws:ec2/securityGroup:SecurityGroup")
    (rule,) = rules_of(plan, INGRESS, plan.named("data-rds-loyalty-sg"))
    assert rule.inputs["referencedSecurityGroupId"] == instances.outputs["id"]
    assert (rule.inputs["fromPort"], rule.inputs["toPort"]) == (5432, 5432)
    # and the app's instances may reach the store's port in the data tier, nothing else there
    egress = {
        r.inputs["fromPort"]
        for r in rules_of(plan, EGRESS, instances)
        if r.inputs.get("cidrIpv4") == "10.10.64.0/19"
    }
    assert egress == {5432}


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
    versions = plan.of_type("aws:secretsmanager/secretVersion:SecretVersion")
    assert versions
    for version in versions:
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
    assert prod.of_type(DMS_ENDPOINT)
    assert all(policy_urn in e.dependencies for e in prod.every(DMS_ENDPOINT))
    endpoints = {e.name: e.inputs for e in prod.of_type(DMS_ENDPOINT)}
    for name in ("data-dms-source-loyalty-pg", "data-dms-source-mmf-mongo"):
        source = endpoints[name]
        assert source["endpointType"] == "source"
        assert source["secretsManagerAccessRoleArn"] == role.outputs["arn"]
        assert source["sslMode"] == "verify-full"
        assert source["certificateArn"] == CERT_ARN.format("ONPREMCA")
        assert not {"password", "username", "serverName"} & set(source)
    loyalty = endpoints["data-dms-target-loyalty"]
    assert loyalty["engineName"] == "postgres" and loyalty["databaseName"] == "loyalty"
    assert loyalty["secretsManagerArn"] in target_secrets
    assert loyalty["sslMode"] == "verify-full"
    docs = endpoints["data-dms-target-mmf-docs"]
    assert docs["engineName"] == "docdb" and docs["sslMode"] == "verify-full"
    cluster = prod.named("data-docdb-mmf", "aws:docdb/cluster:Cluster")
    assert docs["serverName"] == cluster.outputs["endpoint"]
    tasks = {t.inputs["replicationTaskId"]: t.inputs for t in prod.of_type(DMS_TASK)}
    assert tasks["data-loyalty"]["migrationType"] == "full-load-and-cdc"
    assert tasks["data-loyalty"]["startReplicationTask"] is False
    assert json.loads(tasks["data-loyalty"]["tableMappings"]) == json.loads(MAPPINGS)


def _dms_with_inputs(secret: str, kms: str, cert: str) -> Callable[[], ManagedDataTierSettings]:
    """Settings whose DMS ARNs are Outputs (of resources in the same or another stack)."""

    def settings() -> ManagedDataTierSettings:
        out = pulumi.Output.from_input
        source = DmsSource(
            engine="postgres",
            on_prem_network="hcm-dc-db",
            host="172.16.32.10",
            database_name="loyalty",
            secret_arn=out(secret),
            secret_kms_key_arn=out(kms),
            certificate_arn=out(cert),
        )
        return ManagedDataTierSettings(
            rds={"loyalty": RdsDatabaseSettings(clients=["loyalty"])},
            dms=DmsSettings(
                target_ca_certificate_arn=out(CERT_ARN.format("RDSGLOBAL")),
                sources={"loyalty-pg": source},
                tasks={
                    "loyalty": DmsTask(
                        source="loyalty-pg", target="rds.loyalty", table_mappings=MAPPINGS
                    )
                },
            ),
        )

    return settings


def test_dms_takes_its_arns_from_other_resources() -> None:
    plan, _ = build(
        _dms_with_inputs(SECRET_ARN.format("x"), KMS_ARN.format("onprem"), CERT_ARN.format("CA"))
    )
    source = plan.named("data-dms-source-loyalty-pg", DMS_ENDPOINT).inputs
    assert source["secretsManagerArn"] == SECRET_ARN.format("x")
    assert source["certificateArn"] == CERT_ARN.format("CA")
    target = plan.named("data-dms-target-loyalty", DMS_ENDPOINT).inputs
    assert target["certificateArn"] == CERT_ARN.format("RDSGLOBAL")
    policy = json.loads(plan.named("data-dms-secrets-read").inputs["policy"])
    assert SECRET_ARN.format("x") in policy["Statement"][0]["Resource"]
    assert KMS_ARN.format("onprem") in policy["Statement"][1]["Resource"]


def test_a_wrong_arn_from_another_resource_fails_the_deploy_naming_it() -> None:
    with pytest.raises(Exception, match="'arn:aws:kms:x' is not a KMS key ARN"):
        build(_dms_with_inputs(SECRET_ARN.format("x"), "arn:aws:kms:x", CERT_ARN.format("CA")))


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
    assert len(before) > 0
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
    assert set(tier.store_results) == set(stores)
    assert tier.dms_replication_instance_arn is not None
    titles = [w["properties"]["title"] for w in tier.dashboard_widgets]
    assert titles[0].startswith("RDS data-loyalty")  # stores in order, DMS last
    assert any("data-mmf" in t and "DocumentDB" in t for t in titles)
    assert titles[-1].startswith("DMS")


def test_every_taggable_resource_carries_the_standard_tags(prod: Plan) -> None:
    tagged = [r for r in data_tier(prod) if "tags" in r.inputs]
    assert len(tagged) > 40
    for resource in tagged:
        missing = set(STANDARD_TAG_KEYS) - set(resource.inputs["tags"])
        assert not missing, f"{resource.name} lacks {missing}"
        assert resource.inputs["tags"]["component"] == "managed-data-tier"


def test_the_settings_tell_the_network_and_the_apps_what_to_open() -> None:
    settings = ManagedDataTierSettings.model_validate(PROD)
    assert settings.data_services() == ["documentdb", "postgres"]
    assert settings.dms_source_engines() == ["mongodb", "postgres"]
    assert settings.services_of_client("mmf") == ["documentdb", "postgres"]
    assert settings.services_of_client("backoffice") == ["postgres"]
    assert settings.services_of_client("nobody") == []
    assert ManagedDataTierSettings().data_services() == []


# --- bad values: pydantic names the Python field ---------------------------------------------


@pytest.mark.parametrize(
    ("path", "value", "loc"),
    [
        ("rds.loyalty.backup_retention_days", 3, None),
        ("documentdb.mmf.backup_retention_days", 36, None),
        ("rds.loyalty.backup_window", "25:00-25:30", None),
        ("rds.loyalty.backup_window", "17:00-17:10", None),
        ("rds.loyalty.maintenance_window", "sunday 3am", None),
        ("rds.loyalty.instance_class", "db.t4g.micro", None),
        ("rds.loyalty.log_retention_days", 100, None),
        ("rds.loyalty.master_username", "admin", None),
        ("rds.loyalty.engine_version", "latest", None),
        # versions RDS does not offer (the catalogue), refused before any rule runs
        ("rds.loyalty.engine_version", "11", None),
        ("rds.loyalty.engine_version", "16.99", None),
        ("rds.loyalty.performance_insights_retention_days", 30, None),
        ("rds.loyalty.database_name", "1st", None),
        ("rds.loyalty.clients", ["loyalty", "loyalty"], None),
        ("documentdb.mmf.engine_version", "3.6.0", None),
        ("documentdb.mmf.master_username", "serviceadmin", None),
        ("dms.instance_class", "r6i.large", None),
        ("dms.target_ca_certificate_arn", "global-bundle.pem", None),
        ("dms.sources.loyalty-pg.secret_arn", "my-password", None),
        ("dms.sources.loyalty-pg.secret_kms_key_arn", "alias/onprem", None),
        ("dms.sources.loyalty-pg.certificate_arn", "arn:aws:acm:x", None),
        ("dms.tasks.loyalty.table_mappings", "{not json", None),
        ("dms.tasks.loyalty.table_mappings", '{"rules": []}', None),
        ("dms.tasks.loyalty.target", "redis", None),
        ("rds.loyalty.pgaudit_log", ["ddl", "everything"], "rds.loyalty.pgaudit_log.1"),
        ("rds.loyalty.pgaudit_log", ["ddl", "ddl"], None),
        ("rds.loyalty.pgaudit_object_role", "Audit Role", None),
        ("rds.loyalty.master_secret_readers", ["loyalty", "loyalty"], None),
        ("secret_rotation_days", 91, None),
        ("secret_rotation_days", 0, None),
        ("dms.retired", "after cut-over", None),
        ("rds.Loyalty_DB", {}, "rds"),
        (
            "dms.tasks.Load_All",
            {"source": "x", "target": "rds.x", "table_mappings": "{}"},
            "dms.tasks",
        ),
    ],
)
def test_a_bad_value_is_rejected_naming_the_python_field(
    path: str, value: Any, loc: str | None
) -> None:
    with pytest.raises(ValidationError) as error:
        ManagedDataTierSettings.model_validate(edit(path, value))
    lines = str(error.value).splitlines()
    expected = loc or path
    assert expected in lines[1], lines
    field = expected.split(".")[-1]
    # pydantic's location names the field; the message does not repeat it
    assert field not in lines[2] and to_camel(field) not in lines[2], lines[2]


# --- rules: every problem names the Python key and nothing is registered ---------------------


def without(path: str, data: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``data`` without the dotted Python path (the caller is silent there)."""
    config = copy.deepcopy(data)
    node = config
    *parents, last = path.split(".")
    for part in parents:
        node = node[part]
    del node[last]
    return config


RULES: list[tuple[str, dict[str, Any], dict[str, Any], str]] = [
    # (why, settings, wiring, expected line)
    (
        "windows overlap",
        edit("rds.loyalty.maintenance_window", "sun:17:15-sun:17:45"),
        {},
        "settings.rds['loyalty'].maintenance_window: sun:17:15-sun:17:45 overlaps the backup "
        "window 17:00-17:30 (`rds.loyalty.backup_window`)",
    ),
    (
        "windows overlap across midnight",
        edit(
            "documentdb.mmf",
            {
                "clients": ["mmf"],
                "backup_window": "23:45-00:15",
                "maintenance_window": "mon:00:00-mon:00:30",
            },
        ),
        {},
        "settings.documentdb['mmf'].maintenance_window: mon:00:00-mon:00:30 overlaps",
    ),
    (
        "no storage autoscaling",
        edit("rds.loyalty.max_allocated_storage_gib", 100),
        {},
        "settings.rds['loyalty'].max_allocated_storage_gib: 100 GiB must exceed "
        "`rds.loyalty.allocated_storage_gib` (100 GiB)",
    ),
    (
        "verify-full without the CA",
        without("dms.sources.loyalty-pg.certificate_arn", PROD),
        {},
        "settings.dms.sources['loyalty-pg'].certificate_arn: is required with "
        "`dms.sources.loyalty-pg.ssl_mode` verify-full",
    ),
    (
        "unknown task source",
        edit("dms.tasks.loyalty.source", "oracle-db"),
        {},
        "settings.dms.tasks['loyalty'].source: unknown source 'oracle-db'; declare it under "
        "`dms.sources`",
    ),
    (
        "incompatible target",
        edit("dms.tasks.mmf-docs.target", "rds.mmf"),
        {},
        "settings.dms.tasks['mmf-docs'].target: a mongodb source migrates into ['documentdb'], "
        "not rds",
    ),
    (
        "documentdb target without the RDS CA",
        without("dms.target_ca_certificate_arn", PROD),
        {},
        "settings.dms.target_ca_certificate_arn: is required: task(s) ['mmf-docs'] write to "
        "DocumentDB",
    ),
    (
        "target not in the tier",
        edit("dms.tasks.loyalty.target", "rds.billing"),
        {},
        "settings.dms.tasks['loyalty'].target: rds.billing is not a store of this data tier; "
        "declare it under `rds`",
    ),
    (
        "target of another engine",
        edit("rds.loyalty.engine", "mysql"),
        {},
        "settings.dms.tasks['loyalty'].target: source engine postgres differs from rds.loyalty "
        "(mysql)",
    ),
    (
        "unknown client app",
        edit("rds.loyalty.clients", ["loyalty", "payments"]),
        {},
        "settings.rds['loyalty'].clients: names unknown app(s) ['payments']",
    ),
    (
        "client app without egress to the store",
        PROD,
        {
            "apps": {
                "loyalty": ["redis"],
                "backoffice": ["postgres"],
                "mmf": ["postgres", "documentdb"],
            }
        },
        "settings.rds['loyalty'].clients: app 'loyalty' has no egress to postgres: build "
        "HaAppTier('loyalty') with data_services including 'postgres'",
    ),
    (
        "network NACLs do not admit the store",
        PROD,
        {"data_services": ["documentdb"]},
        "network: the network's data-tier NACLs do not admit postgres (rds.loyalty); build the "
        "SecureVpc with data_services including it",
    ),
    (
        "network without a data tier",
        PROD,
        {"edit_plan": lambda p: dataclasses.replace(p, tier_slots={"public": 0, "app": 1})},
        "network: the network has no data tier",
    ),
    (
        "more DocumentDB instances than AZs",
        edit("documentdb.mmf.instance_count", 4),
        {},
        "settings.documentdb['mmf'].instance_count: 4 exceeds the network's 3 AZs",
    ),
    (
        "Multi-AZ database in a one-AZ network",
        {"rds": {"loyalty": {"clients": ["loyalty"]}}},
        {"azs": ["a"]},
        "settings.rds['loyalty'].multi_az: needs a network with at least 2 AZs (it has 1)",
    ),
    (
        "unknown on-prem range",
        edit("dms.sources.loyalty-pg.on_prem_network", "sgp-dc"),
        {},
        "settings.dms.sources['loyalty-pg'].on_prem_network: unknown on-prem range 'sgp-dc'",
    ),
    (
        "DMS source engine the network does not admit",
        PROD,
        {"dms_source_engines": ["mongodb"]},
        "network: the network's data-tier NACLs do not let DMS reach postgres sources "
        "(loyalty-pg); build the SecureVpc with dms_source_engines including it",
    ),
    (
        "DMS source host outside its on-prem range",
        edit("dms.sources.loyalty-pg.host", "10.99.0.5"),
        {},
        "settings.dms.sources['loyalty-pg'].host: 10.99.0.5 is outside hcm-dc-db (172.16.32.0/22)",
    ),
    (
        "bad name",
        PROD,
        {"name": "Data_1"},
        "name: 'Data_1' must be lowercase letters, digits and single '-'",
    ),
    (
        "a master-secret reader that is not a client",
        edit("rds.loyalty.master_secret_readers", ["mmf"]),
        {},
        "settings.rds['loyalty'].master_secret_readers: ['mmf'] are not clients of rds.loyalty",
    ),
    (
        "a DocumentDB master-secret reader that is not a client",
        edit("documentdb.mmf.master_secret_readers", ["loyalty"]),
        {},
        "settings.documentdb['mmf'].master_secret_readers: ['loyalty'] are not clients of "
        "documentdb.mmf",
    ),
]


@pytest.mark.parametrize(
    ("settings", "wiring", "expected"),
    [rule[1:] for rule in RULES],
    ids=[rule[0] for rule in RULES],
)
def test_a_broken_rule_is_refused_naming_the_python_key_and_registers_nothing(
    settings: dict[str, Any], wiring: dict[str, Any], expected: str
) -> None:
    message = refused(settings, **wiring)
    assert message.startswith("ManagedDataTier(")
    assert expected in message


PROD_RULE_CASES = [
    ("rds.mmf.multi_az", False, "settings.rds['mmf'].multi_az: prod databases are Multi-AZ"),
    (
        "rds.mmf.deletion_protection",
        False,
        "settings.rds['mmf'].deletion_protection: prod databases keep deletion protection",
    ),
    (
        "rds.mmf.log_retention_days",
        90,
        "settings.rds['mmf'].log_retention_days: prod keeps database logs >= 365 days",
    ),
    (
        "documentdb.mmf.deletion_protection",
        False,
        "settings.documentdb['mmf'].deletion_protection: prod clusters keep deletion protection",
    ),
    (
        "documentdb.mmf.instance_count",
        1,
        "settings.documentdb['mmf'].instance_count: prod clusters have >= 2 instances",
    ),
    (
        "documentdb.mmf.log_retention_days",
        30,
        "settings.documentdb['mmf'].log_retention_days: prod keeps cluster logs >= 365 days",
    ),
    ("dms.multi_az", False, "settings.dms.multi_az: a prod replication instance is Multi-AZ"),
]


@pytest.mark.parametrize(("path", "value", "expected"), PROD_RULE_CASES)
def test_prod_refuses_what_only_nonprod_may_do(path: str, value: Any, expected: str) -> None:
    assert expected in refused(edit(path, value))
    build(edit(path, value), "nonprod")  # the same settings build in nonprod


def test_every_problem_is_reported_at_once() -> None:
    data = edit("rds.mmf.multi_az", False, edit("rds.loyalty.max_allocated_storage_gib", 50))
    message = refused(data, name="Data", data_services=["postgres"])
    for key in (
        "name: 'Data'",
        "settings.rds['mmf'].multi_az",
        "settings.rds['loyalty'].max_allocated_storage_gib",
        "network: the network's data-tier NACLs do not admit documentdb",
    ):
        assert key in message


# --- references -------------------------------------------------------------------------------


def test_passing_the_securevpc_instead_of_its_reference_is_refused() -> None:
    monitor = RecordingMonitor(PlatformMocks())

    def program() -> None:
        context = StackContext()
        settings = ManagedDataTierSettings.model_validate(PROD)
        vpc = SecureVpc("net", SecureVpcSettings(), context=context)
        ManagedDataTier(
            "data",
            settings,
            context=context,
            network=vpc,  # type: ignore[arg-type]
            alarm_topic_arn=TOPIC,
            apps=app_refs(settings),
        )

    with pytest.raises(ComponentConfigError) as error:
        run_offline(program, monitor=monitor)
    assert "network: expected the SecureVpc's reference: pass network=vpc.ref" in str(error.value)
    assert monitor.registered  # the SecureVpc's
    assert not [r for r in monitor.registered if r.name.startswith("data")]


def test_passing_security_group_ids_instead_of_app_references_is_refused() -> None:
    monitor = RecordingMonitor(PlatformMocks())

    def program() -> None:
        settings = ManagedDataTierSettings.model_validate(PROD)
        ManagedDataTier(
            "data",
            settings,
            context=StackContext(),
            network=stub_network(network_plan(settings)),
            alarm_topic_arn=TOPIC,
            apps={"loyalty": "sg-0loyalty"},  # type: ignore[dict-item]
        )

    with pytest.raises(ComponentConfigError, match=r"apps: expected a mapping of app name"):
        run_offline(program, monitor=monitor)
    assert monitor.registered == []


# --- the package ------------------------------------------------------------------------------


def test_the_package_exports_what_it_lists() -> None:
    import components.managed_data_tier as package

    namespace: dict[str, Any] = {}
    exec("from components.managed_data_tier import *", namespace)
    assert set(package.__all__) <= set(namespace)
    assert {"ManagedDataTier", "ManagedDataTierSettings", "RedisSettings", "check"} <= set(
        namespace
    )


def test_the_docs_reference_every_setting() -> None:
    docs = Path(__file__).parent.parent / "docs"
    text = (docs / "managed-data-tier.md").read_text() + (
        docs / "managed-data-tier-stores.md"
    ).read_text()
    for model in (
        ManagedDataTierSettings,
        RdsDatabaseSettings,
        DocumentDbSettings,
        DmsSettings,
        DmsSource,
        DmsTask,
        RedisSettings,
        RedisAppAccess,
        RabbitMqSettings,
        OpenSearchSettings,
    ):
        for name, field in model.model_fields.items():
            assert f"| `{field.alias or name}` |" in text, f"{model.__name__}.{name} undocumented"
