"""ManagedDataTier stores, part B: ElastiCache Redis/Valkey, Amazon MQ for RabbitMQ, OpenSearch.

Each scenario builds a ManagedDataTier holding the three stores (settings in Python names),
on a real SecureVpc and the apps' references (``AppRef``), once per module; the tests assert
properties of the recorded plan. The rules of these stores are refused before anything
registers, on a network reference planned without a VPC.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import pulumi
import pytest
from pydantic import ValidationError

from components import ComponentConfigError
from components.core.settings import STANDARD_TAG_KEYS, StackContext
from components.ha_app_tier import AppRef
from components.iam_check import Request, allows
from components.managed_data_tier import (
    ManagedDataTier,
    ManagedDataTierSettings,
    OpenSearchSettings,
    RabbitMqSettings,
    RedisAppAccess,
    RedisSettings,
)
from components.managed_data_tier.lambdas import rabbitmq_users
from components.secure_vpc import (
    NetworkRef,
    SecureVpc,
    SecureVpcSettings,
    plan_network,
)
from components.testing import (
    DEFAULT_ACCOUNT_ID,
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
SLR = "aws:iam/serviceLinkedRole:ServiceLinkedRole"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
TIER = "payments:index:ManagedDataTier"


@dataclasses.dataclass
class Run:
    plan: Plan
    tier: ManagedDataTier

    def store(self, store: str) -> list[Registered]:
        return [r for r in self.plan if r.name.startswith(f"data-{store}-")]

    def one(self, type_: str) -> Registered:
        found = self.plan.of_type(type_)
        assert len(found) == 1, f"{len(found)} x {type_}"
        return found[0]

    @property
    def key_arn(self) -> Any:
        return self.plan.named("data-key").outputs["arn"]

    def key(self, purpose: str) -> Any:
        """The ARN of the tier's ``secrets`` or ``logs`` key."""
        return self.plan.named(f"data-{purpose}-key").outputs["arn"]

    def data_subnet_ids(self) -> dict[str, str]:
        return {
            r.name[-1]: r.outputs["id"]
            for r in self.plan.of_type("aws:ec2/subnet:Subnet")
            if r.name.startswith("t-data-")
        }


def app_refs(
    settings: ManagedDataTierSettings, services: Mapping[str, Iterable[str]] | None = None
) -> dict[str, AppRef]:
    """An AppRef per app, reaching the services its stores serve (or those given)."""
    reach = services or {app: settings.services_of_client(app) for app in APPS}
    return {app: stub_app(app, served) for app, served in reach.items()}


def fake_network(
    settings: ManagedDataTierSettings,
    *,
    azs: Iterable[str] = ("a", "b", "c"),
    data_services: Iterable[str] | None = None,
) -> NetworkRef:
    """A NetworkRef planned for ``settings`` (or admitting only ``data_services``), with no
    VPC behind it: a refused data tier then registers nothing at all."""
    plan = plan_network(
        SecureVpcSettings(availability_zones=list(azs)),
        on_prem={},
        data_services=settings.data_services() if data_services is None else data_services,
        dms_source_engines=(),
    )
    return stub_network(plan, "t")


def _run(
    environment: str,
    *,
    name: str = "data",
    real_vpc: bool = True,
    monitor: RecordingMonitor | None = None,
    apps: Mapping[str, Iterable[str]] | None = None,
    azs: Iterable[str] = ("a", "b", "c"),
    data_services: Iterable[str] | None = None,
    **stores: Any,
) -> Run:
    """One program holding a ManagedDataTier with the given stores (settings, or functions
    making them inside the run when they hold Outputs)."""
    made: list[ManagedDataTier] = []

    def program() -> None:
        context = StackContext(environment=environment)  # type: ignore[arg-type]
        settings = ManagedDataTierSettings(
            **{k: v() if callable(v) else v for k, v in stores.items()}
        )
        if real_vpc:
            network = SecureVpc(
                "t",
                SecureVpcSettings(availability_zones=list(azs)),
                context=context,
                data_services=settings.data_services(),
            ).ref
        else:
            network = fake_network(settings, azs=azs, data_services=data_services)
        tier = ManagedDataTier(
            name,
            settings,
            context=context,
            network=network,
            alarm_topic_arn=TOPIC,
            apps=app_refs(settings, apps),
        )
        made.append(tier)
        pulumi.export("stores", tier.stores)

    plan = run_offline(program, monitor=monitor)
    return Run(plan, made[0])


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
    """The prod settings in a nonprod stack: the nonprod defaults fill what they leave out."""
    return _run("nonprod", azs=("a", "b"), **_prod_stores())


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
    key = prod.key_arn
    group = prod.one(REDIS_GROUP).inputs
    assert group["atRestEncryptionEnabled"] is True
    assert group["kmsKeyId"] == key
    domain = prod.one(DOMAIN).inputs
    assert domain["encryptAtRest"] == {"enabled": True, "kmsKeyId": key}


def test_secrets_and_logs_of_the_stores_are_encrypted_with_their_own_keys(prod: Run) -> None:
    """PCI DSS 3.6.1: the secrets under the secrets key, the logs under the logs key, neither
    under the key of the stores' data."""
    secrets = [r for r in prod.plan.of_type(SECRET) if r.name.startswith(STORE_PREFIXES)]
    logs = [r for r in prod.plan.of_type(LOG_GROUP) if r.name.startswith(STORE_PREFIXES)]
    # the broker's admin and mmf's own user; Redis apps use IAM authentication: no secret
    assert {r.name for r in secrets} == {
        "data-rabbitmq-credentials",
        "data-rabbitmq-mmf-credentials",
    }
    # redis slow+engine, opensearch audit/index/search/app, the RabbitMQ users function
    assert len(logs) == 2 + 4 + 1
    for r in secrets:
        assert r.inputs["kmsKeyId"] == prod.key("secrets"), r.name
    for r in logs:
        assert r.inputs["kmsKeyId"] == prod.key("logs"), r.name


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
    """Each store admits its client apps on its port; the broker also admits the tier's own
    RabbitMQ users function on 443, the management API (and nothing else does)."""
    peers = {app: stub_id("sg", app) for app in APPS}
    peers["users-function"] = prod.plan.named("data-rabbitmq-users-sg").outputs["id"]
    expected = {
        "redis": {("loyalty", 6379), ("mmf", 6379)},
        "rabbitmq": {("mmf", 5671), ("users-function", 443)},
        "opensearch": {("loyalty", 443)},
    }
    for store, admitted in expected.items():
        sg = prod.plan.named(f"data-{store}-sg")
        rules = [
            r for r in prod.plan.of_type(INGRESS) if r.inputs["securityGroupId"] == sg.outputs["id"]
        ]
        assert {
            (r.inputs["referencedSecurityGroupId"], r.inputs["fromPort"], r.inputs["toPort"])
            for r in rules
        } == {(peers[p], port, port) for p, port in admitted}, store
        for rule in rules:
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
    assert len(passwords) == 3  # redis default (switched off), rabbitmq admin and mmf
    seen_in: set[str] = set()
    for r in prod.plan:
        for key, value in r.inputs.items():
            if any(isinstance(v, str) and any(p in v for p in passwords) for v in _walk(value)):
                seen_in.add(r.name)
                assert key in r.secret_paths, f"{r.name}.{key} holds a password in plain text"
    assert seen_in == {
        "data-redis-default-user",
        "data-rabbitmq-broker",
        "data-rabbitmq-credentials",
        "data-rabbitmq-mmf-credentials",
    }
    for store in ("redis", "rabbitmq", "opensearch"):
        outputs = json.dumps(_resolved(prod, store))
        assert not any(p in outputs for p in passwords), store


def _resolved(run: Run, store: str) -> dict[str, Any]:
    """What the data tier gives the stack for a store (its ``stores`` output)."""
    output = run.plan.stack_outputs["stores"][store]
    return {
        "endpoint": output["endpoint"],
        "port": output["port"],
        "security_group_id": output["securityGroupId"],
        "secret_arn": output["secretArn"],
    }


def test_stores_give_back_the_secret_arn_and_an_endpoint(prod: Run) -> None:
    assert _resolved(prod, "redis")["secret_arn"] is None  # apps authenticate with IAM
    assert (
        _resolved(prod, "rabbitmq")["secret_arn"]
        == prod.plan.named("data-rabbitmq-credentials", SECRET).outputs["arn"]
    )
    stores = prod.plan.stack_outputs["stores"]
    # each client app: its own user, and (RabbitMQ) the ARN of its own secret
    assert stores["redis"]["appUsers"] == {
        "loyalty": "prod-data-redis-loyalty",
        "mmf": "prod-data-redis-mmf",
    }
    assert stores["rabbitmq"]["appUsers"] == {"mmf": "mmf"}
    assert stores["rabbitmq"]["appSecretArns"] == {
        "mmf": prod.plan.named("data-rabbitmq-mmf-credentials", SECRET).outputs["arn"]
    }
    assert _resolved(prod, "opensearch")["secret_arn"] is None  # IAM auth: no credential
    assert _resolved(prod, "redis")["endpoint"].startswith("master.")
    assert _resolved(prod, "rabbitmq")["endpoint"].startswith("amqps://")
    assert _resolved(prod, "opensearch")["endpoint"].startswith("vpc-data-search")


def test_redis_requires_auth_through_rbac_users_with_default_user_off(prod: Run) -> None:
    """Every connection authenticates as a user of the group; the required `default` user
    is switched off; no auth token (auth tokens rotate unsafely: provider #33439, #15561)."""
    group = prod.one(REDIS_GROUP).inputs
    assert "authToken" not in group
    user_group = prod.plan.named("data-redis-users").inputs
    assert group["userGroupIds"] == [user_group["userGroupId"]]
    default = prod.plan.named("data-redis-default-user").inputs
    apps = {app: prod.plan.named(f"data-redis-user-{app}").inputs for app in ("loyalty", "mmf")}
    assert sorted(user_group["userIds"]) == sorted(
        [default["userId"], *(u["userId"] for u in apps.values())]
    )
    assert default["userName"] == "default"
    assert default["accessString"].split()[0] == "off"
    assert default["authenticationMode"]["type"] == "password"
    assert not default.get("noPasswordRequired")
    assert not [r for r in prod.plan if r.name == "data-redis-app-user"]


def test_each_redis_app_is_its_own_iam_user_with_its_own_keys_and_commands(prod: Run) -> None:
    """PCI DSS 7.2.5/8.2.2/8.6: each client app connects as its own user, authenticated by
    its instance role (ElastiCache IAM authentication: Valkey 7.2+/Redis OSS 7.0+ with TLS,
    user id equal to user name, `elasticache:Connect` on the group and on the user:
    AmazonElastiCache/latest/dg/auth-iam.html), with an access string of its own key and
    channel prefix and no dangerous command; no password exists to leak or rotate."""
    group = prod.one(REDIS_GROUP)
    policies = _access_policies(prod)
    for app in ("loyalty", "mmf"):
        user = prod.plan.named(f"data-redis-user-{app}")
        inputs = user.inputs
        assert inputs["authenticationMode"] == {"type": "iam"}
        assert inputs["userId"] == inputs["userName"] == f"prod-data-redis-{app}"
        rules = inputs["accessString"].split()
        assert rules[0] == "on"
        assert rules[1:3] == [f"~{app}:*", f"&{app}:*"]
        assert "~*" not in rules and "+@all" not in rules
        assert rules[3] == "-@all" and rules[-1] == "-@dangerous"
        document = json.loads(policies[app].inputs["policy"])
        for other in ("loyalty", "mmf"):
            other_user = prod.plan.named(f"data-redis-user-{other}").outputs["arn"]
            for resource in (group.outputs["arn"], other_user):
                connect = Request("elasticache:Connect", resource)
                if resource == other_user:
                    assert allows(document, connect) is (other == app), (app, other)
                else:
                    assert allows(document, connect), app


def test_an_app_gets_the_redis_access_its_config_gives() -> None:
    """`redis.appAccess.<app>` sets the key patterns, channels and commands of that app's
    user; `-@dangerous` still ends it."""
    access = RedisAppAccess(keys=["cart:*", "session:*"], channels=[], commands=["+@read"])
    run = _run(
        "prod",
        real_vpc=False,
        redis=RedisSettings(clients=["loyalty", "mmf"], app_access={"loyalty": access}),
    )
    loyalty = run.plan.named("data-redis-user-loyalty").inputs["accessString"]
    assert loyalty == "on ~cart:* ~session:* -@all +@read -@dangerous"
    mmf = run.plan.named("data-redis-user-mmf").inputs["accessString"]
    assert mmf.startswith("on ~mmf:* &mmf:* -@all +@read +@write")


def test_the_shared_redis_user_stays_only_while_the_config_keeps_it() -> None:
    """`redis.sharedAppUser` keeps the password user `app` of earlier versions (and its
    secret, readable by the clients) while apps move to their own users: a running stack
    does not lose it in the same deploy that gives each app its own."""
    settings = RedisSettings(clients=["loyalty", "mmf"], shared_app_user=True)
    run = _run("prod", real_vpc=False, redis=settings)
    shared = run.plan.named("data-redis-app-user").inputs
    assert shared["userName"] == "app" and shared["authenticationMode"]["type"] == "password"
    assert shared["userId"] in run.plan.named("data-redis-users").inputs["userIds"]
    secret = run.plan.named("data-redis-credentials", SECRET)
    assert secret.inputs["kmsKeyId"] == run.key("secrets")
    for app, policy in _access_policies(run).items():
        document = json.loads(policy.inputs["policy"])
        read = Request("secretsmanager:GetSecretValue", secret.outputs["arn"])
        assert allows(document, read), app


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


def test_a_cluster_alarms_on_each_nodes_cpu_not_on_the_sum_over_its_nodes(prod: Run) -> None:
    # Amazon MQ: a cluster's broker-level SystemCpuUtilization is the aggregate of its three
    # nodes, so 85 against it fired at about 28% per node; the nodes' own series (Broker,
    # Node) are found by the broker's name, since node names carry IPs known only at creation
    broker = prod.one(BROKER)
    assert broker.inputs["deploymentMode"] == "CLUSTER_MULTI_AZ"
    cpu = prod.plan.named("data-rabbitmq-cpu", ALARM).inputs
    assert "metricName" not in cpu and "dimensions" not in cpu
    (query,) = cpu["metricQueries"]
    assert query["returnData"] is True
    assert query["period"] == 300  # a Metrics Insights query in an alarm takes a period
    assert query["expression"] == (
        'SELECT AVG(SystemCpuUtilization) FROM SCHEMA("AWS/AmazonMQ", Broker, Node) '
        f"WHERE Broker = '{broker.outputs['brokerName']}' GROUP BY Node ORDER BY AVG() DESC"
    )
    assert cpu["threshold"] == 85
    assert cpu["comparisonOperator"] == "GreaterThanOrEqualToThreshold"
    assert cpu["evaluationPeriods"] == 3
    # the dashboard draws the same per-node lines
    (widget,) = [
        w
        for w in prod.tier.dashboard_widgets
        if w["properties"]["title"] == "data RabbitMQ: SystemCpuUtilization"
    ]
    assert len(widget["properties"]["metrics"]) == 1


def test_a_single_instance_alarms_on_the_broker_cpu_which_is_its_one_node(nonprod: Run) -> None:
    broker = nonprod.one(BROKER)
    assert broker.inputs["deploymentMode"] == "SINGLE_INSTANCE"
    cpu = nonprod.plan.named("data-rabbitmq-cpu", ALARM).inputs
    assert cpu["metricName"] == "SystemCpuUtilization"
    assert cpu["dimensions"] == {"Broker": broker.outputs["brokerName"]}
    assert "metricQueries" not in cpu


def test_the_domain_waits_for_the_opensearch_service_linked_role(prod: Run) -> None:
    # AWS refuses a VPC domain in an account without AWSServiceRoleForAmazonOpenSearchService
    # ("you must enable a service-linked role ... to access your VPC"); only the console
    # creates it on its own
    role = prod.one(SLR)
    assert role.inputs["awsServiceName"] == "opensearchservice.amazonaws.com"
    assert "customSuffix" not in role.inputs  # OpenSearch takes none: one role per account
    assert role.retain_on_delete  # other domains of the account may use it
    assert role.parent == prod.plan.named("data", TIER).urn
    assert role.urn in prod.one(DOMAIN).dependencies


def test_an_account_that_has_the_role_says_so_and_no_second_one_is_created() -> None:
    run = _run(
        "prod",
        real_vpc=False,
        opensearch=OpenSearchSettings(
            clients=["loyalty"], master_user_arn=MASTER_ROLE, create_service_linked_role=False
        ),
    )
    assert not run.plan.of_type(SLR)
    assert run.plan.named("data-opensearch-logs").urn in run.one(DOMAIN).dependencies


def _access_policies(run: Run) -> dict[str, Registered]:
    tier = run.plan.named("data", TIER)
    return {
        p.name.removeprefix("data-app-").removesuffix("-access"): p
        for p in run.plan.of_type(ROLE_POLICY)
        if p.parent == tier.urn and p.name.startswith("data-app-")
    }


def test_each_client_app_reads_its_own_secrets_and_calls_its_domain_only(prod: Run) -> None:
    """Each app reads its own credentials only (RabbitMQ: its own user's secret; never the
    broker admin's), decrypting them through Secrets Manager for exactly those secrets, and
    calls the search domain it is a client of."""
    # loyalty: redis + opensearch; mmf: redis + rabbitmq; reporting: no store
    policies = _access_policies(prod)
    assert set(policies) == {"loyalty", "mmf"}
    admin = prod.plan.named("data-rabbitmq-credentials", SECRET).outputs["arn"]
    own = prod.plan.named("data-rabbitmq-mmf-credentials", SECRET).outputs["arn"]
    domain = prod.one(DOMAIN).outputs["arn"]
    clients = {"loyalty": {"redis", "opensearch"}, "mmf": {"redis", "rabbitmq"}}
    via = {"kms:ViaService": "secretsmanager.ap-southeast-1.amazonaws.com"}
    for app, policy in policies.items():
        assert policy.inputs["role"].startswith(f"{app}-instance-role")
        document = json.loads(policy.inputs["policy"])
        assert not allows(document, Request("secretsmanager:GetSecretValue", admin)), app
        reads = "rabbitmq" in clients[app]
        assert allows(document, Request("secretsmanager:GetSecretValue", own)) is reads, app
        search = Request("es:ESHttpPost", f"{domain}/orders/_search")
        assert allows(document, search) is ("opensearch" in clients[app]), app
        for secret, allowed in ((own, reads), (admin, False)):
            decrypt = Request(
                "kms:Decrypt",
                prod.key("secrets"),
                context={**via, "kms:EncryptionContext:SecretARN": secret},
            )
            assert allows(document, decrypt) is allowed, (app, secret)
        assert not allows(document, Request("kms:Decrypt", prod.key("secrets"))), app
        assert not allows(document, Request("kms:Decrypt", prod.key_arn, context=via)), app


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
                    if str(q.get("expression", "")).startswith("SELECT"):
                        found.add(q["expression"].split("(")[1].split(")")[0])
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
        "aws:secretsmanager/secretRotation:SecretRotation",
        "aws:cloudwatch/logResourcePolicy:LogResourcePolicy",
        "aws:iam/rolePolicy:RolePolicy",
        "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
        "aws:lambda/permission:Permission",
        "aws:lambda/invocation:Invocation",
    }
    for r in prod.plan:
        if r.name.startswith(STORE_PREFIXES) and r.type not in untaggable:
            assert "tags" in r.inputs, f"{r.name} ({r.type}) is untagged"
    assert tagged > 20


def test_widgets_are_given_for_the_dashboard(prod: Run) -> None:
    for store in ("redis", "rabbitmq", "opensearch"):
        assert prod.tier.store_results[store].widgets, store


# --- the environment -------------------------------------------------------------------------


def test_nonprod_defaults_fill_what_the_caller_left_out(nonprod: Run) -> None:
    group = nonprod.one(REDIS_GROUP).inputs
    assert group["nodeType"] == "cache.t4g.small"
    assert group["automaticFailoverEnabled"] is False
    assert group["snapshotRetentionLimit"] == 1
    assert nonprod.one(BROKER).inputs["hostInstanceType"] == "mq.t3.micro"
    cluster = nonprod.one(DOMAIN).inputs["clusterConfig"]
    assert (cluster["instanceType"], cluster["instanceCount"]) == ("t3.medium.search", 1)
    assert cluster["dedicatedMasterEnabled"] is False
    assert nonprod.one(DOMAIN).inputs["ebsOptions"]["volumeSize"] == 20


def test_a_nonprod_redis_without_replicas_needs_no_other_setting() -> None:
    run = _run(
        "nonprod",
        real_vpc=False,
        redis=RedisSettings(clients=["loyalty"], replicas_per_shard=0),
    )
    group = run.one(REDIS_GROUP).inputs
    assert group["numCacheClusters"] == 1
    assert group["automaticFailoverEnabled"] is False and group["multiAzEnabled"] is False


def test_what_a_nonprod_caller_sets_wins_over_the_nonprod_defaults() -> None:
    run = _run(
        "nonprod",
        real_vpc=False,
        opensearch=OpenSearchSettings(
            clients=["loyalty"], master_user_arn=MASTER_ROLE, zone_awareness=2, instance_count=2
        ),
    )
    cluster = run.one(DOMAIN).inputs["clusterConfig"]
    assert cluster["zoneAwarenessEnabled"] is True and cluster["instanceCount"] == 2  # explicit
    assert cluster["instanceType"] == "t3.medium.search"  # the nonprod default


def test_the_search_administrator_may_be_a_role_of_the_same_program() -> None:
    run = _run(
        "prod",
        real_vpc=False,
        opensearch=lambda: OpenSearchSettings(
            clients=["loyalty"], master_user_arn=pulumi.Output.from_input(MASTER_ROLE)
        ),
    )
    security = run.one(DOMAIN).inputs["advancedSecurityOptions"]
    assert security["masterUserOptions"] == {"masterUserArn": MASTER_ROLE}


# --- bad values: pydantic names the Python field ---------------------------------------------


@pytest.mark.parametrize(
    ("model", "values", "field"),
    [
        (RedisSettings, {"engine_version": "7"}, "engine_version"),
        (RedisSettings, {"node_type": "r7g.large"}, "node_type"),
        (RedisSettings, {"snapshot_window": "5pm"}, "snapshot_window"),
        (RedisSettings, {"maintenance_window": "sunday"}, "maintenance_window"),
        (RedisSettings, {"parameters": {"cluster-enabled": "yes"}}, "parameters"),
        (RedisSettings, {"log_retention_days": 366}, "log_retention_days"),
        (RedisSettings, {"replicas_per_shard": 6}, "replicas_per_shard"),
        (RedisSettings, {"app_access": {"loyalty": {"keys": []}}}, "app_access.loyalty.keys"),
        (
            RedisSettings,
            {"app_access": {"loyalty": {"keys": ["a key"]}}},
            "app_access.loyalty.keys",
        ),
        (
            RedisSettings,
            {"app_access": {"loyalty": {"commands": ["@read"]}}},
            "app_access.loyalty.commands",
        ),
        (RabbitMqSettings, {"app_vhosts": {"mmf": "mmf vhost"}}, "app_vhosts"),
        (RabbitMqSettings, {"engine_version": "3.11"}, "engine_version"),
        (RabbitMqSettings, {"engine_version": "latest"}, "engine_version"),
        (RabbitMqSettings, {"host_instance_type": "m5.large"}, "host_instance_type"),
        (RabbitMqSettings, {"admin_username": "guest"}, "admin_username"),
        (RabbitMqSettings, {"maintenance_time": "25:00"}, "maintenance_time"),
        (OpenSearchSettings, {"master_user_arn": "admin"}, "master_user_arn"),
        (OpenSearchSettings, {"engine_version": "Elasticsearch_7.10"}, "engine_version"),
        (OpenSearchSettings, {"instance_type": "r7g.large"}, "instance_type"),
        (OpenSearchSettings, {"domain_name": "Payments_Search"}, "domain_name"),
        (OpenSearchSettings, {"off_peak_start": "6pm"}, "off_peak_start"),
        (OpenSearchSettings, {"log_retention_days": 2}, "log_retention_days"),
        (OpenSearchSettings, {"zone_awareness": 4}, "zone_awareness"),
    ],
)
def test_a_bad_value_is_rejected_naming_the_python_field(
    model: type[RedisSettings | RabbitMqSettings | OpenSearchSettings],
    values: dict[str, Any],
    field: str,
) -> None:
    with pytest.raises(ValidationError) as info:
        model(**values)
    lines = str(info.value).splitlines()
    assert lines[1].startswith(field), lines
    assert field not in lines[2], lines[2]  # the location names it; the message does not


def test_nothing_is_refused_when_the_settings_are_built() -> None:
    """Rules between fields belong to the component, which knows the environment: a nonprod
    caller may write what prod refuses, and one object serves both."""
    RedisSettings(clients=["app"], replicas_per_shard=0)
    RabbitMqSettings(host_instance_type="mq.t3.micro")
    OpenSearchSettings(instance_type="t3.small.search", instance_count=1, zone_awareness=1)


# --- rules: every problem names the Python key and nothing is registered ---------------------


def refused(environment: str = "prod", **kwargs: Any) -> str:
    """The ComponentConfigError message of a data tier; asserts nothing was registered."""
    monitor = RecordingMonitor(PlatformMocks())
    with pytest.raises(ComponentConfigError) as error:
        _run(environment, real_vpc=False, monitor=monitor, **kwargs)
    assert monitor.registered == []
    return str(error.value)


def search(**values: Any) -> OpenSearchSettings:
    return OpenSearchSettings(clients=["loyalty"], master_user_arn=MASTER_ROLE, **values)


RULES: list[tuple[str, dict[str, Any], str]] = [
    (
        "Redis OSS before 7",
        {"redis": RedisSettings(clients=["loyalty"], engine_version="6.2")},
        "settings.redis.engine_version: 6.2 with `redis.engine` redis: use 7.0 or 7.1",
    ),
    (
        "shards without cluster mode",
        {"redis": RedisSettings(clients=["loyalty"], shards=2)},
        "settings.redis.shards: 2 shards need `redis.cluster_mode` enabled",
    ),
    (
        "failover without a replica",
        {"redis": RedisSettings(clients=["loyalty"], replicas_per_shard=0)},
        "settings.redis.automatic_failover: has no replica to promote: set "
        "`redis.replicas_per_shard` to 1 or more",
    ),
    (
        "cluster mode without failover",
        {
            "redis": RedisSettings(
                clients=["loyalty"],
                cluster_mode="enabled",
                automatic_failover=False,
                multi_az=False,
            )
        },
        "settings.redis.automatic_failover: must be on with `redis.cluster_mode` enabled",
    ),
    (
        "Multi-AZ without failover",
        {"redis": RedisSettings(clients=["loyalty"], automatic_failover=False)},
        "settings.redis.multi_az: needs `redis.automatic_failover`",
    ),
    (
        "RabbitMQ without minor upgrades",
        {"rabbitmq": RabbitMqSettings(clients=["mmf"], auto_minor_version_upgrade=False)},
        "settings.rabbitmq.auto_minor_version_upgrade: must be true",
    ),
    (
        "RabbitMQ 4 off Graviton",
        {
            "rabbitmq": RabbitMqSettings(
                clients=["mmf"], engine_version="4.2", host_instance_type="mq.m5.large"
            )
        },
        "settings.rabbitmq.engine_version: 4.2 runs on mq.m7g instances only; set "
        "`rabbitmq.host_instance_type`",
    ),
    (
        "a micro broker in a cluster",
        {"rabbitmq": RabbitMqSettings(clients=["mmf"], host_instance_type="mq.t3.micro")},
        "settings.rabbitmq.host_instance_type: mq.t3.micro runs SINGLE_INSTANCE brokers only",
    ),
    (
        "OpenSearch without an administrator",
        {"opensearch": OpenSearchSettings(clients=["loyalty"])},
        "settings.opensearch.master_user_arn: is required",
    ),
    (
        "data nodes uneven over the AZs",
        {"opensearch": search(instance_count=4)},
        "settings.opensearch.instance_count: 4 data nodes do not spread evenly over "
        "`opensearch.zone_awareness` (3) AZs",
    ),
    (
        "Auto-Tune on a burstable node",
        {"opensearch": search(instance_type="t3.small.search", instance_count=3)},
        "settings.opensearch.auto_tune: Auto-Tune is not available on t3.small.search",
    ),
    (
        "t2 search nodes",
        {"opensearch": search(instance_type="t2.medium.search", auto_tune=False)},
        "settings.opensearch.instance_type: t2.medium.search: t2 nodes cannot encrypt",
    ),
    (
        "unknown Redis client",
        {"redis": RedisSettings(clients=["billing"])},
        "settings.redis.clients: names unknown app(s) ['billing']",
    ),
    (
        "unknown RabbitMQ client",
        {"rabbitmq": RabbitMqSettings(clients=["billing"])},
        "settings.rabbitmq.clients: names unknown app(s) ['billing']",
    ),
    (
        "unknown OpenSearch client",
        {"opensearch": OpenSearchSettings(clients=["billing"], master_user_arn=MASTER_ROLE)},
        "settings.opensearch.clients: names unknown app(s) ['billing']",
    ),
    (
        "a client app without egress to the broker",
        {
            "rabbitmq": RabbitMqSettings(clients=["mmf"]),
            "apps": {"mmf": ["postgres"]},
        },
        "settings.rabbitmq.clients: app 'mmf' has no egress to rabbitmq: build HaAppTier('mmf') "
        "with data_services including 'rabbitmq'",
    ),
    (
        "a network whose NACLs do not admit the cache",
        {"redis": RedisSettings(clients=["loyalty"]), "data_services": ["postgres"]},
        "network: the network's data-tier NACLs do not admit redis (redis); build the SecureVpc "
        "with data_services including it",
    ),
    (
        "zone awareness over more AZs than the network has",
        {"opensearch": search(), "azs": ["a"]},
        "settings.opensearch.zone_awareness: is 3 but the network has 1 AZ(s)",
    ),
    (
        "Multi-AZ Redis in a one-AZ network",
        {"redis": RedisSettings(clients=["loyalty"]), "azs": ["a"]},
        "settings.redis.multi_az: needs at least 2 AZs in the network (it has 1)",
    ),
    (
        "Redis access for an app that is not a client",
        {"redis": RedisSettings(clients=["loyalty"], app_access={"mmf": RedisAppAccess()})},
        "settings.redis.app_access: ['mmf'] are not clients of redis",
    ),
    (
        "a virtual host for an app that is not a client",
        {"rabbitmq": RabbitMqSettings(clients=["mmf"], app_vhosts={"loyalty": "loyalty"})},
        "settings.rabbitmq.app_vhosts: ['loyalty'] are not clients of rabbitmq",
    ),
    (
        "a RabbitMQ client named like the admin user",
        {
            "rabbitmq": RabbitMqSettings(clients=["mmf"], admin_username="mmf"),
        },
        "settings.rabbitmq.clients: app 'mmf' cannot be a broker user of that name",
    ),
    (
        "a Redis client named like a reserved user",
        {"redis": RedisSettings(clients=["default"]), "apps": {"default": ["redis"]}},
        "settings.redis.clients: app 'default' cannot be a Redis user of that name",
    ),
]


@pytest.mark.parametrize(("kwargs", "expected"), [r[1:] for r in RULES], ids=[r[0] for r in RULES])
def test_a_broken_rule_is_refused_naming_the_python_key_and_registers_nothing(
    kwargs: dict[str, Any], expected: str
) -> None:
    message = refused(**kwargs)
    assert expected in message, message


def test_a_redis_user_id_too_long_for_elasticache_asks_for_a_shorter_name() -> None:
    message = refused(
        "nonprod", name="payments-cardholder", redis=RedisSettings(clients=["loyalty"])
    )
    assert "name: the Redis user id 'nonprod-payments-cardholder-redis-default'" in message


PROD_RULE_CASES: list[tuple[dict[str, Any], str]] = [
    (
        {
            "redis": RedisSettings(
                clients=["loyalty"], replicas_per_shard=0, automatic_failover=False, multi_az=False
            )
        },
        "settings.redis.replicas_per_shard: prod Redis has >= 1 replica per shard",
    ),
    (
        {"redis": RedisSettings(clients=["loyalty"], multi_az=False)},
        "settings.redis.multi_az: prod Redis is Multi-AZ with automatic failover",
    ),
    (
        {"redis": RedisSettings(clients=["loyalty"], snapshot_retention_days=3)},
        "settings.redis.snapshot_retention_days: prod Redis keeps snapshots >= 7 days",
    ),
    (
        {"redis": RedisSettings(clients=["loyalty"], log_retention_days=90)},
        "settings.redis.log_retention_days: prod keeps Redis logs >= 365 days",
    ),
    (
        {"rabbitmq": RabbitMqSettings(clients=["mmf"], deployment_mode="SINGLE_INSTANCE")},
        "settings.rabbitmq.deployment_mode: prod RabbitMQ is CLUSTER_MULTI_AZ",
    ),
    (
        {"opensearch": search(zone_awareness=1)},
        "settings.opensearch.zone_awareness: prod OpenSearch spans >= 2 AZs",
    ),
    (
        {"opensearch": search(zone_awareness=2, instance_count=2)},
        "settings.opensearch.instance_count: prod OpenSearch has >= 3 data nodes",
    ),
    (
        {"opensearch": search(dedicated_masters=False)},
        "settings.opensearch.dedicated_masters: prod OpenSearch has dedicated cluster managers",
    ),
    (
        {"opensearch": search(log_retention_days=90)},
        "settings.opensearch.log_retention_days: prod keeps OpenSearch logs >= 365 days",
    ),
    (
        {
            "redis": RedisSettings(
                clients=["loyalty"], app_access={"loyalty": RedisAppAccess(keys=["*"])}
            )
        },
        "settings.redis.app_access['loyalty'].keys: an app's Redis user reads and writes its "
        "own keys",
    ),
    (
        {
            "redis": RedisSettings(
                clients=["loyalty"],
                app_access={"loyalty": RedisAppAccess(commands=["+@read", "+@all"])},
            )
        },
        "settings.redis.app_access['loyalty'].commands: an app's Redis user gets none of",
    ),
]


@pytest.mark.parametrize(
    ("stores", "expected"),
    PROD_RULE_CASES,
    ids=[expected.split(":")[0] for _, expected in PROD_RULE_CASES],
)
def test_prod_refuses_what_only_nonprod_may_do(stores: dict[str, Any], expected: str) -> None:
    assert expected in refused(**stores)
    _run("nonprod", real_vpc=False, **stores)  # the same settings build in nonprod


def test_valkey_cluster_mode_shards_get_their_family_endpoint_and_per_node_alarms() -> None:
    settings = RedisSettings(
        clients=["loyalty"],
        engine="valkey",
        engine_version="8.0",
        cluster_mode="enabled",
        shards=2,
        replicas_per_shard=1,
    )
    run = _run("prod", real_vpc=False, redis=settings)
    plan = run.plan
    group = run.one(REDIS_GROUP)
    assert group.inputs["engine"] == "valkey"
    assert (group.inputs["numNodeGroups"], group.inputs["replicasPerNodeGroup"]) == (2, 1)
    assert "numCacheClusters" not in group.inputs
    params = plan.named("data-redis-params").inputs
    assert params["family"] == "valkey8"
    assert {"name": "cluster-enabled", "value": "yes"} in params["parameters"]
    for user in ("data-redis-users", "data-redis-default-user", "data-redis-user-loyalty"):
        assert plan.named(user).inputs["engine"] == "valkey"
    # clients of a sharded group must use the configuration endpoint
    assert plan.stack_outputs["stores"]["redis"]["endpoint"].startswith("clustercfg.")
    gid = group.outputs["id"]
    watched = {
        a.inputs["dimensions"]["CacheClusterId"]
        for a in plan.of_type(ALARM)
        if a.inputs.get("metricName") == "EngineCPUUtilization"
    }
    assert watched == {f"{gid}-{s:04d}-{n:03d}" for s in (1, 2) for n in (1, 2)}


# --- the RabbitMQ users function (lambdas/rabbitmq_users.py), against a broker double ------


class FakeSecretsManager:
    """The Secrets Manager calls a rotation function makes, over versions kept in memory."""

    class exceptions:  # boto3's shape: client.exceptions.ResourceNotFoundException
        class ResourceNotFoundException(Exception):
            pass

    def __init__(self, secrets: Mapping[str, dict[str, Any]]) -> None:
        # arn -> version id -> (stages, value; None: registered, no value yet)
        self.versions: dict[str, dict[str, tuple[list[str], str | None]]] = {
            arn: {"v1": (["AWSCURRENT"], json.dumps(value))} for arn, value in secrets.items()
        }

    def rotate_secret(self, arn: str, token: str) -> None:
        """What RotateSecret does before it invokes the function's first step: the new
        version, staged AWSPENDING, with no value until createSecret puts one."""
        self.versions[arn][token] = (["AWSPENDING"], None)

    def describe_secret(self, *, SecretId: str) -> dict[str, Any]:
        return {
            "RotationEnabled": True,
            "VersionIdsToStages": {v: s for v, (s, _) in self.versions[SecretId].items()},
        }

    def get_secret_value(
        self, *, SecretId: str, VersionStage: str, VersionId: str | None = None
    ) -> dict[str, Any]:
        for version, (stages, value) in self.versions[SecretId].items():
            if VersionStage in stages and VersionId in (None, version) and value is not None:
                return {"SecretString": value, "VersionId": version}
        raise self.exceptions.ResourceNotFoundException(SecretId)

    def get_random_password(self, **_: Any) -> dict[str, str]:
        return {"RandomPassword": "Rotated0123456789abcdefABCDEF012"}

    def put_secret_value(
        self,
        *,
        SecretId: str,
        ClientRequestToken: str,
        SecretString: str,
        VersionStages: list[str],
    ) -> None:
        self.versions[SecretId][ClientRequestToken] = (list(VersionStages), SecretString)

    def update_secret_version_stage(
        self,
        *,
        SecretId: str,
        VersionStage: str,
        MoveToVersionId: str,
        RemoveFromVersionId: str,
    ) -> None:
        versions = self.versions[SecretId]
        old_stages, old_value = versions[RemoveFromVersionId]
        versions[RemoveFromVersionId] = (
            [*(s for s in old_stages if s != VersionStage), "AWSPREVIOUS"],
            old_value,
        )
        _, new_value = versions[MoveToVersionId]
        versions[MoveToVersionId] = ([VersionStage], new_value)


class FakeBroker:
    """The part of the RabbitMQ management HTTP API the function uses, with its users."""

    def __init__(self, users: Mapping[str, tuple[str, list[str]]]) -> None:
        self.users = {name: {"password": pw, "tags": tags} for name, (pw, tags) in users.items()}
        self.vhosts: set[str] = {"/"}
        self.permissions: dict[tuple[str, str], dict[str, str]] = {}

    def __call__(self, request: Any) -> tuple[int, bytes]:
        import base64
        import urllib.parse

        user, _, password = (
            base64.b64decode(request.get_header("Authorization").split()[1]).decode().partition(":")
        )
        if self.users.get(user, {}).get("password") != password:
            return 401, b'{"error": "not_authorised"}'
        path = urllib.parse.urlsplit(request.full_url).path
        parts = [urllib.parse.unquote(p) for p in path.split("/")[2:]]
        body = json.loads(request.data) if request.data else None
        method = request.get_method()
        if parts == ["whoami"]:
            return 200, json.dumps({"name": user}).encode()
        if "administrator" not in self.users[user]["tags"]:
            return 401, b'{"error": "not_authorised"}'
        if parts == ["users"] and method == "GET":
            return 200, json.dumps([{"name": n, **u} for n, u in self.users.items()]).encode()
        if parts[0] == "users" and method == "GET":
            found = self.users.get(parts[1])
            return (200, json.dumps({"name": parts[1], **found}).encode()) if found else (404, b"")
        if parts[0] == "users" and method == "PUT":
            tags = [t for t in body["tags"].split(",") if t]
            self.users[parts[1]] = {"password": body["password"], "tags": tags}
            return 201, b""
        if parts[0] == "users" and method == "DELETE":
            del self.users[parts[1]]
            return 204, b""
        if parts[0] == "vhosts" and method == "PUT":
            self.vhosts.add(parts[1])
            return 201, b""
        if parts[0] == "permissions" and method == "PUT":
            self.permissions[(parts[1], parts[2])] = body
            return 201, b""
        return 404, b""


ADMIN_ARN = (
    "arn:aws:secretsmanager:ap-southeast-1:111122223333:secret:data-rabbitmq-credentials-abc"
)
MMF_ARN = (
    "arn:aws:secretsmanager:ap-southeast-1:111122223333:secret:data-rabbitmq-mmf-credentials-def"
)


@pytest.fixture
def broker_env(monkeypatch: pytest.MonkeyPatch) -> tuple[FakeSecretsManager, FakeBroker]:
    monkeypatch.setenv("BROKER_URL", "https://b-1234.mq.ap-southeast-1.on.aws")
    monkeypatch.setenv("ADMIN_SECRET_ARN", ADMIN_ARN)
    secrets = FakeSecretsManager(
        {
            ADMIN_ARN: {"username": "platform-admin", "password": "AdminPass1"},
            MMF_ARN: {"username": "mmf", "password": "MmfPass1", "vhost": "mmf"},
        }
    )
    broker = FakeBroker(
        {
            "platform-admin": ("AdminPass1", ["administrator"]),
            "monitoring-AWS-OWNED-DO-NOT-DELETE": ("x", ["monitoring"]),
            "legacy-app": ("old", ["platform-managed"]),
        }
    )
    return secrets, broker


def test_the_users_function_gives_each_app_its_user_and_vhost_and_nothing_more(
    broker_env: tuple[FakeSecretsManager, FakeBroker],
) -> None:
    """On deploy the function makes each app's virtual host and user (the password of its
    secret, full rights in its own virtual host only), deletes a user it made that no app
    has any more, and leaves the admin and Amazon MQ's own monitoring user alone."""
    secrets, broker = broker_env
    answer = rabbitmq_users.handler(
        {"action": "sync", "users": {"mmf": {"secretArn": MMF_ARN, "vhost": "mmf"}}},
        None,
        secrets=secrets,
        transport=broker,
    )
    assert answer == {"users": ["mmf"], "removed": ["legacy-app"]}
    assert broker.users["mmf"] == {"password": "MmfPass1", "tags": ["platform-managed"]}
    assert "mmf" in broker.vhosts
    assert broker.permissions == {("mmf", "mmf"): {"configure": ".*", "write": ".*", "read": ".*"}}
    assert set(broker.users) == {"platform-admin", "monitoring-AWS-OWNED-DO-NOT-DELETE", "mmf"}


def _rotate(secrets: FakeSecretsManager, broker: FakeBroker, arn: str, token: str) -> None:
    secrets.rotate_secret(arn, token)
    for step in ("createSecret", "setSecret", "testSecret", "finishSecret"):
        event = {"SecretId": arn, "ClientRequestToken": token, "Step": step}
        rabbitmq_users.handler(event, None, secrets=secrets, transport=broker)


@pytest.mark.parametrize("arn", [MMF_ARN, ADMIN_ARN], ids=["app", "admin"])
def test_a_rotation_changes_the_password_on_the_broker_then_makes_it_current(
    broker_env: tuple[FakeSecretsManager, FakeBroker], arn: str
) -> None:
    """Secrets Manager's four steps (rotate-secrets_lambda-functions.html): a new password
    (createSecret), set on the broker with the admin's current credentials (or, rotating the
    admin, its own: setSecret), accepted by the broker (testSecret), then AWSCURRENT
    (finishSecret); the old password stops working."""
    secrets, broker = broker_env
    rabbitmq_users.handler(
        {"action": "sync", "users": {"mmf": {"secretArn": MMF_ARN, "vhost": "mmf"}}},
        None,
        secrets=secrets,
        transport=broker,
    )
    user = json.loads(secrets.get_secret_value(SecretId=arn, VersionStage="AWSCURRENT")[
        "SecretString"])["username"]  # fmt: skip
    tags_before = broker.users[user]["tags"]
    _rotate(secrets, broker, arn, "v2")
    current = json.loads(
        secrets.get_secret_value(SecretId=arn, VersionStage="AWSCURRENT")["SecretString"]
    )
    assert current["password"] == "Rotated0123456789abcdefABCDEF012"
    assert broker.users[user]["password"] == current["password"]
    assert broker.users[user]["tags"] == tags_before  # the admin stays an administrator
    assert "AWSPREVIOUS" in secrets.describe_secret(SecretId=arn)["VersionIdsToStages"]["v1"]


def test_the_users_function_speaks_https_only() -> None:
    with pytest.raises(ValueError, match="HTTPS"):
        rabbitmq_users.Management("http://b-1234.mq.ap-southeast-1.on.aws", "u", "p")
