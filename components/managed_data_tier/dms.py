"""AWS DMS for the migration phase: on-prem PostgreSQL/MySQL/MongoDB into the stores here.

Credentials never sit in config or in plain state: sources are read through Secrets Manager
secrets the on-prem DBAs own (``secretArn``), via a role only the regional DMS service can
assume; targets get a generated migration user whose password lives in a Secrets Manager
secret under the tier's secrets key (RDS-managed master secrets carry no host/port, which DMS
needs). The password of an RDS target's migration user rotates every ``secretRotationDays``
with the function AWS provides for the engine (Secrets Manager's single-user rotation
templates, deployed from the Serverless Application Repository), which DMS reads from the
secret when it connects. A DocumentDB target is the exception: the provider cannot give DMS a
secret for it (terraform-provider-aws #39930), so its password sits in the endpoint and is not
rotated; it lasts as long as the migration does (``dms.retired``).
"""

from __future__ import annotations

import json
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_random as random

from ..core.alarms import Alarm, Widget
from ..core.aws_env import assume_role_policy, policy_json
from ..core.scope import Scope
from ..core.security_groups import Rule, restricted_security_group
from ..core.settings import checked_input
from ..secure_vpc import NetworkRef
from .alarms import dms_alarms, dms_widgets
from .common import DataTierScope
from .rotation import function_log_group, function_security_group, rotation_schedule
from .settings import (
    DmsSettings,
    check_dms_certificate_arn,
    check_kms_key_arn,
    check_secret_arn,
)

#: The migration user DMS writes with; a DBA creates it with the password from its secret.
MIGRATION_USER = "dms_migration"
#: Characters every engine and DMS accept in a password (no / @ " ' ; space).
PASSWORD_SPECIALS = "!#$%^*-_=+"


@dataclass(frozen=True)
class DmsTarget:
    """A store here that a task writes to."""

    key: str  # e.g. rds-loyalty
    engine: str  # DMS engine name: postgres, mysql, docdb
    host: pulumi.Output[str]
    port: int
    database_name: str  # '' = the source's database name (DocumentDB keeps it)


def dms_security_group(
    scope: Scope,
    network: NetworkRef,
    settings: DmsSettings,
    target_ports: Mapping[str, int],
) -> aws.ec2.SecurityGroup:
    """Egress only: to each source on its network and port, to the data tier on the target
    ports (``target_ports``: `rds-loyalty` -> 5432), and to the VPC interface endpoints
    (Secrets Manager, KMS, logs) on 443. The stores DMS writes to admit this group."""
    on_prem_cidrs = network.on_prem_cidrs
    egress: list[Rule] = []
    for name, source in sorted(settings.sources.items()):
        egress.append(
            Rule(
                f"source-{name}",
                source.effective_port,
                cidrs={source.on_prem_network: on_prem_cidrs[source.on_prem_network]},
                description=f"DMS reads {source.engine} source {name}",
            )
        )
    for key, port in sorted(target_ports.items()):
        egress.append(
            Rule(
                f"target-{key}",
                port,
                cidrs={"data": network.tier_cidrs["data"]},
                description=f"DMS writes to {key}",
            )
        )
    egress.append(
        Rule(
            "endpoints",
            443,
            security_groups={"vpce": network.endpoint_security_group_id},
            description="AWS APIs through the VPC interface endpoints",
        )
    )
    return restricted_security_group(
        f"{scope.name}-dms-sg",
        vpc_id=network.vpc_id,
        description="DMS replication instance: egress to its sources and targets only",
        context=scope.context,
        component=scope.component,
        egress=egress,
        parent=scope.parent,
    )


def _account_roles(scope: DataTierScope) -> list[aws.iam.Role]:
    """The two roles DMS looks up by fixed name in every account; the console creates them,
    an API caller must (DMS user guide, "Creating the IAM roles to use with AWS DMS"). Kept on
    delete: after cut-over the DMS of another stack of the account may still use them."""
    roles = []
    for role_name, policy in (
        ("dms-vpc-role", "AmazonDMSVPCManagementRole"),
        ("dms-cloudwatch-logs-role", "AmazonDMSCloudWatchLogsRole"),
    ):
        role = aws.iam.Role(
            f"{scope.name}-{role_name}",
            name=role_name,
            description="Account-wide role AWS DMS requires by this exact name",
            assume_role_policy=assume_role_policy("dms.amazonaws.com", scope.env.account_id),
            tags=scope.tags(),
            opts=scope.opts(retain_on_delete=True),
        )
        aws.iam.RolePolicyAttachment(
            f"{scope.name}-{role_name}-policy",
            role=role.name,
            policy_arn=pulumi.Output.concat(
                "arn:", scope.env.partition, ":iam::aws:policy/service-role/", policy
            ),
            opts=scope.opts(),
        )
        roles.append(role)
    return roles


#: Secrets Manager's single-user rotation templates by target engine ("AWS Secrets Manager
#: rotation function templates"), published by AWS in the Serverless Application Repository.
ROTATION_TEMPLATES: Mapping[str, str] = {
    "postgres": "SecretsManagerRDSPostgreSQLRotationSingleUser",
    "mysql": "SecretsManagerRDSMySQLRotationSingleUser",
}
#: The account that publishes the rotation templates.
ROTATION_TEMPLATE_PUBLISHER = "297356227824"
#: Characters the rotation function leaves out of a new password: a space and every
#: punctuation character but those every engine and DMS accept (PASSWORD_SPECIALS).
ROTATION_EXCLUDED = " " + "".join(c for c in string.punctuation if c not in PASSWORD_SPECIALS)


def rotation_security_group(
    scope: DataTierScope, target_ports: Mapping[str, int]
) -> aws.ec2.SecurityGroup:
    """The group of the functions that rotate the migration users' passwords of the RDS
    targets (``target_ports``: `rds-loyalty` -> 5432); those stores admit it."""
    return function_security_group(scope, "dms-rotation", target_ports)


def _rotation_functions(
    scope: DataTierScope, engines: Sequence[str], security_group: aws.ec2.SecurityGroup
) -> dict[str, pulumi.Output[str]]:
    """One AWS-provided single-user rotation function per target engine, in the data subnets
    (it connects to the database as the migration user and changes its own password), with
    its log group created first; engine -> the function's ARN."""
    functions: dict[str, pulumi.Output[str]] = {}
    env = scope.env
    for engine in sorted(engines):
        name = f"{scope.name}-dms-rotation-{engine}"
        logs = function_log_group(scope, name)
        template = ROTATION_TEMPLATES[engine]
        stack = aws.serverlessrepository.CloudFormationStack(
            name,
            name=name,
            application_id=f"arn:aws:serverlessrepo:us-east-1:{ROTATION_TEMPLATE_PUBLISHER}:"
            f"applications/{template}",
            # the template creates the function's role and lets Secrets Manager invoke it
            capabilities=["CAPABILITY_IAM", "CAPABILITY_RESOURCE_POLICY"],
            parameters={
                "functionName": name,
                "endpoint": env.region.apply(
                    lambda region: f"https://secretsmanager.{region}.amazonaws.com"
                ),
                "vpcSubnetIds": pulumi.Output.all(*scope.network.tier_subnet_ids("data")).apply(
                    lambda ids: ",".join(ids)
                ),
                "vpcSecurityGroupIds": security_group.id,
                "kmsKeyArn": scope.secrets_key.arn,
                "excludeCharacters": ROTATION_EXCLUDED,
            },
            tags=scope.tags(),
            opts=scope.opts(depends_on=[logs]),
        )
        functions[engine] = stack.outputs.apply(lambda outputs: str(outputs["RotationLambdaARN"]))
    return functions


@dataclass(frozen=True)
class DmsResult:
    replication_instance: aws.dms.ReplicationInstance
    secrets_role: aws.iam.Role
    target_secret_arns: Mapping[str, pulumi.Output[str]]
    alarms: Sequence[Alarm]
    widgets: list[Widget]


def build_dms(
    scope: DataTierScope,
    settings: DmsSettings,
    *,
    security_group: aws.ec2.SecurityGroup,
    targets: Mapping[str, DmsTarget],
    rotation: tuple[aws.ec2.SecurityGroup, int] | None = None,
) -> DmsResult:
    """Replication instance, endpoints, tasks and failure notifications, and the rotation of
    the RDS targets' migration users (``rotation``: the rotation functions' security group
    and the days between rotations).

    ``targets`` maps a task's target (`rds.loyalty`) to what DMS needs of that store.
    """
    name = scope.name
    account_roles = _account_roles(scope) if settings.create_account_roles else []
    subnet_group = aws.dms.ReplicationSubnetGroup(
        f"{name}-dms",
        replication_subnet_group_id=f"{name}-dms",
        replication_subnet_group_description=f"DMS in the data tier of {name}",
        subnet_ids=scope.network.tier_subnet_ids("data"),
        tags=scope.tags(),
        # DMS needs dms-vpc-role to exist before it can create a subnet group
        opts=scope.opts(depends_on=account_roles),
    )
    instance = aws.dms.ReplicationInstance(
        f"{name}-dms-instance",
        replication_instance_id=f"{name}-dms",
        replication_instance_class=settings.instance_class,
        allocated_storage=settings.allocated_storage_gib,
        engine_version=settings.engine_version,
        multi_az=settings.multi_az,
        publicly_accessible=False,
        kms_key_arn=scope.kms_key.arn,
        replication_subnet_group_id=subnet_group.replication_subnet_group_id,
        vpc_security_group_ids=[security_group.id],
        auto_minor_version_upgrade=True,
        tags=scope.tags(Name=f"{name}-dms"),
        opts=scope.opts(),
    )
    used_targets = sorted({task.target for task in settings.tasks.values()})
    credentials = {t: _target_credentials(scope, targets[t]) for t in used_targets}
    if rotation is not None:
        rotation_group, days = rotation
        rotated = {t: targets[t] for t in used_targets if targets[t].engine in ROTATION_TEMPLATES}
        functions = _rotation_functions(
            scope, sorted({t.engine for t in rotated.values()}), rotation_group
        )
        for t, target in rotated.items():
            rotation_schedule(
                scope,
                f"{name}-dms-target-{target.key}",
                credentials[t][0],
                function_arn=functions[target.engine],
                days=days,
            )
    role, role_policy = _secrets_role(
        scope, settings, [secret for secret, _ in credentials.values()]
    )
    # DMS checks it can read an endpoint's secret when the endpoint is created
    endpoint_opts = scope.opts(depends_on=[role_policy])

    sources = {
        src: aws.dms.Endpoint(
            f"{name}-dms-source-{src}",
            endpoint_id=f"{name}-source-{src}",
            endpoint_type="source",
            engine_name=source.engine,
            database_name=source.database_name,
            secrets_manager_arn=checked_input(source.secret_arn, check_secret_arn),
            secrets_manager_access_role_arn=role.arn,
            ssl_mode=source.ssl_mode,
            certificate_arn=checked_input(source.certificate_arn, check_dms_certificate_arn),
            kms_key_arn=scope.kms_key.arn,
            mongodb_settings=(
                aws.dms.EndpointMongodbSettingsArgs(
                    auth_type="password", auth_source="admin", nesting_level="none"
                )
                if source.engine == "mongodb"
                else None
            ),
            tags=scope.tags(),
            opts=endpoint_opts,
        )
        for src, source in sorted(settings.sources.items())
    }
    tasks: dict[str, aws.dms.ReplicationTask] = {}
    for task_name, task in sorted(settings.tasks.items()):
        target = targets[task.target]
        endpoint = _target_endpoint(
            scope,
            settings,
            task_name,
            target,
            database_name=target.database_name or settings.sources[task.source].database_name,
            credentials=credentials[task.target],
            role=role,
            opts=endpoint_opts,
        )
        tasks[task_name] = aws.dms.ReplicationTask(
            f"{name}-dms-task-{task_name}",
            replication_task_id=f"{name}-{task_name}",
            migration_type=task.migration_type,
            replication_instance_arn=instance.replication_instance_arn,
            source_endpoint_arn=sources[task.source].endpoint_arn,
            target_endpoint_arn=endpoint.endpoint_arn,
            table_mappings=task.table_mappings,
            replication_task_settings=json.dumps(_TASK_SETTINGS, sort_keys=True),
            start_replication_task=task.start,
            tags=scope.tags(),
            opts=scope.opts(),
        )
    _failure_notifications(scope, tasks, instance)
    return DmsResult(
        replication_instance=instance,
        secrets_role=role,
        target_secret_arns={t: secret.arn for t, (secret, _) in credentials.items()},
        alarms=dms_alarms(settings, f"{name}-dms"),
        widgets=dms_widgets(f"{name}-dms", scope.env.region),
    )


#: Task logs to CloudWatch (PCI DSS 10.2) and row validation, so cut-over is evidence-based.
_TASK_SETTINGS: Mapping[str, Any] = {
    "Logging": {"EnableLogging": True},
    "ValidationSettings": {"EnableValidation": True},
}


def _target_credentials(
    scope: DataTierScope, target: DmsTarget
) -> tuple[aws.secretsmanager.Secret, random.RandomPassword]:
    """The migration user's credentials for one target store, as DMS expects them. The
    password is generated once and kept in state as a secret (stable across runs)."""
    prefix = f"{scope.name}-dms-target-{target.key}"
    password = random.RandomPassword(
        f"{prefix}-password",
        length=32,
        special=True,
        override_special=PASSWORD_SPECIALS,
        min_lower=2,
        min_upper=2,
        min_numeric=2,
        opts=scope.opts(),
    )
    secret = aws.secretsmanager.Secret(
        f"{prefix}-secret",
        description=f"DMS migration user of {target.key} (create it on the target with this)",
        kms_key_id=scope.secrets_key.arn,
        recovery_window_in_days=30 if scope.context.is_prod else 7,
        tags=scope.tags(),
        opts=scope.opts(),
    )
    # an RDS target's secret is rotated: its first version, stale after a rotation, is never
    # written back
    rotated = target.engine in ROTATION_TEMPLATES
    aws.secretsmanager.SecretVersion(
        f"{prefix}-secret-value",
        secret_id=secret.id,
        secret_string=pulumi.Output.json_dumps(
            {
                "engine": target.engine,
                "host": target.host,
                "port": target.port,
                "username": MIGRATION_USER,
                "password": password.result,
                "dbname": target.database_name,
            }
        ),
        opts=scope.opts(ignore_changes=["secretString", "versionStages"] if rotated else None),
    )
    return secret, password


def _target_endpoint(
    scope: DataTierScope,
    settings: DmsSettings,
    task_name: str,
    target: DmsTarget,
    *,
    database_name: str,
    credentials: tuple[aws.secretsmanager.Secret, random.RandomPassword],
    role: aws.iam.Role,
    opts: pulumi.ResourceOptions,
) -> aws.dms.Endpoint:
    secret, password = credentials
    verify = settings.target_ca_certificate_arn is not None
    common: dict[str, Any] = {
        "endpoint_id": f"{scope.name}-target-{task_name}",
        "endpoint_type": "target",
        "engine_name": target.engine,
        "database_name": database_name,
        "ssl_mode": "verify-full" if verify else "require",
        "certificate_arn": checked_input(
            settings.target_ca_certificate_arn, check_dms_certificate_arn
        ),
        "kms_key_arn": scope.kms_key.arn,
        "tags": scope.tags(),
        "opts": opts,
    }
    if target.engine == "docdb":
        # DMS cannot read DocumentDB credentials from Secrets Manager: they go in as a
        # Pulumi secret (encrypted in state) and DMS encrypts them with the CMK.
        return aws.dms.Endpoint(
            f"{scope.name}-dms-target-{task_name}",
            server_name=target.host,
            port=target.port,
            username=MIGRATION_USER,
            password=password.result,  # a secret Output: encrypted in state
            **common,
        )
    return aws.dms.Endpoint(
        f"{scope.name}-dms-target-{task_name}",
        secrets_manager_arn=secret.arn,
        secrets_manager_access_role_arn=role.arn,
        **common,
    )


def _secrets_role(
    scope: DataTierScope,
    settings: DmsSettings,
    target_secrets: list[aws.secretsmanager.Secret],
) -> tuple[aws.iam.Role, aws.iam.RolePolicy]:
    """The role DMS assumes to read endpoint secrets: only these secrets and their keys.

    DMS requires the regional service principal (dms.<region>.amazonaws.com) here.
    """
    role = aws.iam.Role(
        f"{scope.name}-dms-secrets",
        description="AWS DMS reads the migration endpoints' secrets",
        assume_role_policy=assume_role_policy(
            scope.env.service_endpoint("dms"), scope.env.account_id
        ),
        tags=scope.tags(),
        opts=scope.opts(),
    )
    sources = [source for _, source in sorted(settings.sources.items())]
    secret_arns: list[pulumi.Input[str] | None] = [
        checked_input(s.secret_arn, check_secret_arn) for s in sources
    ]
    secret_arns += [s.arn for s in target_secrets]
    # the secrets key (the target secrets), the data-store key (a source secret a DBA put
    # under it before the tier had a secrets key); keys given as strings once each, in
    # order; keys from other resources as they come
    key_arns: list[pulumi.Input[str] | None] = [scope.secrets_key.arn, scope.kms_key.arn]
    key_arns += sorted({arn for s in sources if isinstance(arn := s.secret_kms_key_arn, str)})
    key_arns += [
        checked_input(s.secret_kms_key_arn, check_kms_key_arn)
        for s in sources
        if isinstance(s.secret_kms_key_arn, pulumi.Output)
    ]
    policy = aws.iam.RolePolicy(
        f"{scope.name}-dms-secrets-read",
        role=role.id,
        policy=policy_json(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Sid": "ReadEndpointSecrets",
                        "Effect": "Allow",
                        "Action": [
                            "secretsmanager:GetSecretValue",
                            "secretsmanager:DescribeSecret",
                        ],
                        "Resource": secret_arns,
                    },
                    {
                        "Sid": "DecryptEndpointSecrets",
                        "Effect": "Allow",
                        "Action": ["kms:Decrypt", "kms:DescribeKey"],
                        "Resource": key_arns,
                        "Condition": {
                            "StringEquals": {
                                "kms:ViaService": scope.env.service_endpoint("secretsmanager")
                            }
                        },
                    },
                ],
            }
        ),
        opts=scope.opts(),
    )
    return role, policy


def _failure_notifications(
    scope: DataTierScope,
    tasks: Mapping[str, aws.dms.ReplicationTask],
    instance: aws.dms.ReplicationInstance,
) -> None:
    """DMS reports task failures as events, not metrics: route them to the stack topic.

    One subscription per task, named after it: a subscription's ``source_ids`` cannot change
    in place (the provider replaces the subscription), so one subscription listing every task
    would be replaced whenever a task is added or removed. A subscription without source ids
    would also never change, but it would page this stack's on-call for every replication
    task of the account and region, other stacks' included. Each names its task by the task's
    output, so it is created once the task exists."""
    for task_name, task in sorted(tasks.items()):
        aws.dms.EventSubscription(
            f"{scope.name}-dms-task-events-{task_name}",
            name=f"{scope.name}-dms-task-failure-{task_name}",
            sns_topic_arn=scope.alarm_topic_arn,
            source_type="replication-task",
            source_ids=[task.replication_task_id],
            event_categories=["failure"],
            enabled=True,
            tags=scope.tags(),
            opts=scope.opts(),
        )
    aws.dms.EventSubscription(
        f"{scope.name}-dms-instance-events",
        name=f"{scope.name}-dms-instance",
        sns_topic_arn=scope.alarm_topic_arn,
        source_type="replication-instance",
        source_ids=[instance.replication_instance_id],
        event_categories=["failure", "failover", "low storage"],
        enabled=True,
        tags=scope.tags(),
        opts=scope.opts(),
    )
