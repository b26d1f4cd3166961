"""Functions that rotate the tier's passwords, and their rotation schedules (PCI DSS 8.3.9,
8.6.3: passwords of application and system accounts changed periodically, at most every 90
days here, ``secretRotationDays``).

Every function runs in the data subnets (the stores it changes passwords on are private),
reaches Secrets Manager through the VPC's interface endpoint, logs to a log group created
first (under the tier's logs key, kept a year in prod: Lambda would otherwise create it
unencrypted and keep it forever), and may be invoked by Secrets Manager of this account only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pulumi
import pulumi_aws as aws

from ..core.aws_env import assume_role_policy, policy_json
from ..core.security_groups import Rule, restricted_security_group
from .common import DataTierScope

#: The Lambda runtime of the functions the tier ships (supported by Lambda until 2028).
PYTHON_RUNTIME = "python3.12"
#: Where the code of the functions the tier ships lives.
LAMBDAS = Path(__file__).with_name("lambdas")
#: AWS's managed policy for a function in a VPC: its network interfaces and its logs.
VPC_ACCESS_POLICY = "service-role/AWSLambdaVPCAccessExecutionRole"


def function_log_group(scope: DataTierScope, function_name: str) -> aws.cloudwatch.LogGroup:
    """The log group Lambda writes to (``/aws/lambda/<function>``), created before the
    function under the tier's logs key; 365 days in prod (PCI DSS 10.5.1), 90 in nonprod."""
    return aws.cloudwatch.LogGroup(
        f"{function_name}-logs",
        name=f"/aws/lambda/{function_name}",
        retention_in_days=365 if scope.context.is_prod else 90,
        kms_key_id=scope.logs_key.arn,
        tags=scope.tags(),
        opts=scope.stateful_opts(),
    )


def function_security_group(
    scope: DataTierScope, role: str, ports: Mapping[str, int]
) -> aws.ec2.SecurityGroup:
    """Egress only: to the data tier on ``ports`` (by name) and to the VPC's interface
    endpoints on 443. The stores it reaches admit this group by reference."""
    network = scope.network
    egress = [
        Rule(
            f"store-{name}",
            port,
            cidrs={"data": network.tier_cidrs["data"]},
            description=f"{role} reaches {name}",
        )
        for name, port in sorted(ports.items())
    ]
    egress.append(
        Rule(
            "endpoints",
            443,
            security_groups={"vpce": network.endpoint_security_group_id},
            description="Secrets Manager through the VPC interface endpoint",
        )
    )
    return restricted_security_group(
        f"{scope.name}-{role}-sg",
        vpc_id=network.vpc_id,
        description=f"{role} of {scope.name}: the stores it rotates passwords on, and AWS APIs",
        context=scope.context,
        component=scope.component,
        egress=egress,
        parent=scope.parent,
    )


def secrets_policy(
    scope: DataTierScope, secret_arns: Sequence[pulumi.Input[str]]
) -> pulumi.Output[str]:
    """What a rotation function does with its secrets (the statements of AWS's rotation
    templates, "Permissions for rotation": GetSecretValue, DescribeSecret, PutSecretValue,
    UpdateSecretVersionStage on the secrets, GetRandomPassword), and their key through
    Secrets Manager for exactly those secrets."""
    return policy_json(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "RotateItsSecrets",
                    "Effect": "Allow",
                    "Action": [
                        "secretsmanager:DescribeSecret",
                        "secretsmanager:GetSecretValue",
                        "secretsmanager:PutSecretValue",
                        "secretsmanager:UpdateSecretVersionStage",
                    ],
                    "Resource": list(secret_arns),
                },
                {
                    "Sid": "GeneratePasswords",
                    "Effect": "Allow",
                    "Action": "secretsmanager:GetRandomPassword",
                    "Resource": "*",
                },
                {
                    "Sid": "UseTheSecretsKeyThroughSecretsManager",
                    "Effect": "Allow",
                    "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
                    "Resource": scope.secrets_key.arn,
                    "Condition": {
                        "StringEquals": {
                            "kms:ViaService": scope.env.service_endpoint("secretsmanager")
                        },
                        "ArnEquals": {"kms:EncryptionContext:SecretARN": list(secret_arns)},
                    },
                },
            ],
        }
    )


def rabbitmq_users_function(
    scope: DataTierScope,
    *,
    broker_url: pulumi.Output[str],
    admin_secret_arn: pulumi.Output[str],
    secret_arns: Sequence[pulumi.Output[str]],
    security_group: aws.ec2.SecurityGroup,
    subnet_ids: Sequence[pulumi.Input[str]],
) -> tuple[aws.lambda_.Function, aws.lambda_.Permission]:
    """The function that keeps the broker's app users and virtual hosts and rotates every
    broker password (``lambdas/rabbitmq_users.py``)."""
    name = f"{scope.name}-rabbitmq-users"
    env = scope.env
    logs = function_log_group(scope, name)
    role = aws.iam.Role(
        name,
        description=f"{name}: broker users of {scope.name} and their passwords' rotation",
        assume_role_policy=assume_role_policy("lambda.amazonaws.com", env.account_id),
        tags=scope.tags(),
        opts=scope.opts(),
    )
    managed = aws.iam.RolePolicyAttachment(
        f"{name}-vpc-access",
        role=role.name,
        policy_arn=env.partition.apply(lambda p: f"arn:{p}:iam::aws:policy/{VPC_ACCESS_POLICY}"),
        opts=scope.opts(),
    )
    inline = aws.iam.RolePolicy(
        f"{name}-secrets",
        role=role.id,
        policy=secrets_policy(scope, secret_arns),
        opts=scope.opts(),
    )
    function = aws.lambda_.Function(
        name,
        name=name,
        description=f"RabbitMQ users, virtual hosts and password rotation of {scope.name}",
        runtime=PYTHON_RUNTIME,
        handler="index.handler",
        code=pulumi.AssetArchive(
            {"index.py": pulumi.FileAsset(str(LAMBDAS / "rabbitmq_users.py"))}
        ),
        role=role.arn,
        timeout=60,
        memory_size=128,
        vpc_config={"subnet_ids": list(subnet_ids), "security_group_ids": [security_group.id]},
        environment={"variables": {"BROKER_URL": broker_url, "ADMIN_SECRET_ARN": admin_secret_arn}},
        tags=scope.tags(),
        # Lambda checks the role may create network interfaces when the function is created
        opts=scope.opts(depends_on=[logs, managed, inline]),
    )
    permission = aws.lambda_.Permission(
        f"{name}-secretsmanager",
        action="lambda:InvokeFunction",
        function=function.name,
        principal="secretsmanager.amazonaws.com",
        source_account=env.account_id,
        opts=scope.opts(),
    )
    return function, permission


def rotation_schedule(
    scope: DataTierScope,
    name: str,
    secret: aws.secretsmanager.Secret,
    *,
    function_arn: pulumi.Input[str],
    days: int,
    depends_on: Sequence[pulumi.Resource] = (),
) -> aws.secretsmanager.SecretRotation:
    """Rotate ``secret`` with ``function_arn`` every ``days`` days, the first time ``days``
    after it is set up (not during the deploy: the user it rotates may not exist yet, e.g. a
    DMS migration user the DBA creates after the deploy)."""
    return aws.secretsmanager.SecretRotation(
        f"{name}-rotation",
        secret_id=secret.id,
        rotation_lambda_arn=function_arn,
        rotation_rules={"automatically_after_days": days},
        rotate_immediately=False,
        opts=scope.opts(depends_on=list(depends_on)),
    )


def sync_users(
    scope: DataTierScope,
    function: aws.lambda_.Function,
    users: Mapping[str, Mapping[str, pulumi.Input[str]]],
    depends_on: Sequence[pulumi.Resource],
) -> aws.lambda_.Invocation:
    """Invoke the RabbitMQ users function on deploy with the users the broker must hold; a
    change of the list (an app added or removed) invokes it again. A failure fails the
    deploy, loudly."""
    payload: dict[str, Any] = {"action": "sync", "users": users}
    return aws.lambda_.Invocation(
        f"{scope.name}-rabbitmq-users-sync",
        function_name=function.name,
        input=pulumi.Output.json_dumps(payload),
        opts=scope.opts(depends_on=list(depends_on)),
    )
