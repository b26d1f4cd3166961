"""How an HaAppTier is operated and evidenced: its logs, patching and file integrity.

One step function per group of children, each taking the component's :class:`Scope` first
(``component.py`` calls them in order):

- :func:`host_logging`: a CMK for the app's log groups, the groups the instances write to,
  and the CloudWatch agent configuration (an SSM parameter) the boot script loads;
- :func:`instance_boot_policy`: what the instances' role needs for that boot (read the
  parameter, mark itself unhealthy) and for the SSM agent behind VPC endpoints;
- :func:`waf_logging`: the web ACL's full logs, KMS-encrypted, with credentials redacted;
- :func:`server_access_logs`: S3 server access logs of the ALB's log bucket;
- :func:`patching`: an Amazon Linux 2023 patch baseline, a daily scan, a weekly install
  window run by a role that may patch only this app's instances;
- :func:`file_integrity`: AIDE documents, the State Manager association that compares the
  files, and the metric filters the alarms read.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from ..core.aws_env import assume_role_policy, policy_json
from ..core.kms import customer_managed_key, logs_key_policy
from ..core.s3 import private_bucket
from ..core.scope import Scope
from ..secure_vpc.endpoint_policies import AWS_OWNED_BUCKETS
from . import host
from .settings import HaAppTierSettings

#: The tag the instances carry for Systems Manager (agreed with the LandingZone: the Operator
#: permission set may run its named SSM documents only on instances whose
#: ``ssm:resourceTag/ssm-managed-by`` is the project).
SSM_MANAGED_BY_TAG = "ssm-managed-by"
#: Patch Manager picks an instance's baseline by this tag ("Patch groups": `Patch Group` or
#: `PatchGroup`; the one without a space also works with instance metadata tags).
PATCH_GROUP_TAG = "PatchGroup"
#: GuardDuty Runtime Monitoring's inclusion tag: with automated agent configuration enabled
#: for the account, GuardDuty manages its agent on every instance; with inclusion tags only,
#: on instances tagged `GuardDutyManaged: true` ("How Runtime Monitoring works with Amazon
#: EC2 instances"). The tag keeps the app's hosts covered either way.
GUARDDUTY_MANAGED_TAG = "GuardDutyManaged"

#: The AWS-owned buckets the SSM agent reads from for Run Command, patching and Distributor
#: packages (the GuardDuty agent is one): the same list the S3 endpoint's policy admits.
#: Behind an S3 VPC endpoint the instance profile must allow them explicitly (Systems Manager
#: User Guide, "SSM Agent communications with AWS managed S3 buckets"; "Reference: Amazon S3
#: buckets for patching operations").
SSM_AGENT_BUCKETS = AWS_OWNED_BUCKETS["SSM Agent"]

#: Patch Manager's document with lifecycle hooks (SSM Agent 3.0.502+): a hook before the
#: install and one after it (before any reboot) ("SSM Command document for patching:
#: AWS-RunPatchBaselineWithHooks").
PATCH_DOCUMENT = "AWS-RunPatchBaselineWithHooks"
SCAN_DOCUMENT = "AWS-RunPatchBaseline"
#: An install window: 3 hours, no new task in its last hour.
WINDOW_HOURS = 3
WINDOW_CUTOFF_HOURS = 1

#: Headers WAF logs never keep: session cookies and bearer tokens would let a log reader
#: act as the user (PCI DSS 3.3, 8.3.1: authentication data is not stored after use).
WAF_REDACTED_HEADERS = ("authorization", "cookie")
#: S3 server access logs of the ALB log bucket are kept under this prefix.
SERVER_ACCESS_LOG_PREFIX = "alb-logs/"


def patch_group(scope: Scope) -> str:
    """The app's patch group (and the prefix of its SSM names): unique per app and stack."""
    ctx = scope.context
    return f"{ctx.project}-{ctx.environment}-{scope.name}"


def instance_tags(scope: Scope) -> dict[str, str]:
    """What the instances carry besides the standard tags: who manages them through SSM,
    their patch group, and GuardDuty's inclusion tag."""
    return {
        SSM_MANAGED_BY_TAG: scope.context.project,
        PATCH_GROUP_TAG: patch_group(scope),
        GUARDDUTY_MANAGED_TAG: "true",
    }


def fim_namespace(scope: Scope) -> str:
    """The CloudWatch namespace of the app's file-integrity metrics."""
    return f"{scope.context.project}/{scope.name}"


def _by_patch_group(scope: Scope) -> dict[str, Any]:
    return {"key": f"tag:{PATCH_GROUP_TAG}", "values": [patch_group(scope)]}


# --- logs --------------------------------------------------------------------------------


@dataclass(frozen=True)
class HostLogging:
    """The app's log groups (by role), their key, and the agent configuration."""

    key: aws.kms.Key
    names: host.HostLogGroups
    groups: Mapping[str, aws.cloudwatch.LogGroup]
    agent_parameter: aws.ssm.Parameter
    agent_parameter_name: str
    agent_config_sha256: str


def host_logging(scope: Scope, settings: HaAppTierSettings) -> HostLogging:
    """A CMK for the app's log groups (one key per app: its logs, nobody else's), the groups
    the instances write to (PCI DSS 10.2, 10.3.2, 10.5.1), and the agent configuration."""
    n, ctx, env = scope.name, scope.context, scope.env
    key = customer_managed_key(
        f"{n}-logs",
        description=f"{n} app tier log groups (instances, WAF, patching, file integrity)",
        policy=logs_key_policy(env),
        context=ctx,
        component=scope.component,
        parent=scope.parent,
    )
    names = host.HostLogGroups.of(ctx.project, ctx.environment, n)
    groups = {
        role: aws.cloudwatch.LogGroup(
            f"{n}-{role}-logs",
            name=name,
            retention_in_days=settings.log_retention_days,
            kms_key_id=key.arn,
            tags=scope.tags(),
            opts=scope.stateful_opts(),
        )
        for role, name in (
            ("system", names.system),
            ("application", names.application),
            ("file-integrity", names.file_integrity),
            ("patching", names.patching),
        )
    }
    files = settings.app_log_files or host.default_app_log_files(n)
    config = host.agent_config_json(
        host.agent_config(names, files, file_integrity=settings.file_integrity.enabled)
    )
    parameter_name = f"/{ctx.project}/{ctx.environment}/{n}/cloudwatch-agent"
    parameter = aws.ssm.Parameter(
        f"{n}-cloudwatch-agent",
        name=parameter_name,
        description=f"{n}: CloudWatch agent configuration its instances load at boot",
        type="String",
        # not a secret: `value` would make Pulumi keep it (and the plan) encrypted
        insecure_value=config,
        tier="Standard",
        tags=scope.tags(),
        # the groups exist before an instance can ship to them
        opts=scope.opts(depends_on=list(groups.values())),
    )
    return HostLogging(key, names, groups, parameter, parameter_name, host.sha256(config))


def instance_boot_policy(
    scope: Scope,
    role: aws.iam.Role,
    logging: HostLogging,
    asg: aws.autoscaling.Group,
) -> aws.iam.RolePolicy:
    """What the boot script and the SSM agent need beyond the two managed policies: the
    agent configuration, marking this app's own instances unhealthy, the AWS-owned buckets
    the SSM agent reads through the S3 endpoint. No secret, no key: the data tier alone
    grants the app its stores' secrets."""
    env = scope.env
    buckets = pulumi.Output.all(env.partition, env.region).apply(
        lambda p: [
            f"arn:{p[0]}:s3:::{bucket.format(region=p[1])}/*" for bucket in SSM_AGENT_BUCKETS
        ]
    )
    return aws.iam.RolePolicy(
        f"{scope.name}-instance-boot",
        name=f"{scope.name}-boot",
        role=role.id,
        policy=policy_json(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Sid": "ReadAgentConfiguration",
                        "Effect": "Allow",
                        "Action": "ssm:GetParameter",
                        "Resource": logging.agent_parameter.arn,
                    },
                    {
                        # a boot that cannot load the agent takes its own instance out
                        "Sid": "MarkOwnInstanceUnhealthy",
                        "Effect": "Allow",
                        "Action": "autoscaling:SetInstanceHealth",
                        "Resource": asg.arn,
                    },
                    {
                        "Sid": "SsmAgentReadsAwsOwnedBuckets",
                        "Effect": "Allow",
                        "Action": "s3:GetObject",
                        "Resource": buckets,
                    },
                ],
            }
        ),
        opts=scope.opts(),
    )


def waf_logging(
    scope: Scope, settings: HaAppTierSettings, acl: aws.wafv2.WebAcl, key: aws.kms.Key
) -> aws.wafv2.WebAclLoggingConfiguration:
    """Every request the web ACL inspects, to a CloudWatch log group whose name starts with
    ``aws-waf-logs-`` (WAF refuses any other), encrypted with the app's log key, kept
    ``log_retention_days``, with the Authorization and Cookie headers redacted (PCI DSS 6.4.2,
    10.2; Security Hub WAF.11).

    WAF delivers through CloudWatch Logs' vended-logs path as ``delivery.logs.amazonaws.com``,
    which needs a log resource policy. Written here for this group only (WAF would otherwise
    append it to an account-wide policy, which has a 5,120-character limit: CloudWatch Logs
    User Guide, "Enabling logging from AWS services", "Logs sent to CloudWatch Logs")."""
    n, ctx, env = scope.name, scope.context, scope.env
    group = aws.cloudwatch.LogGroup(
        f"{n}-waf-logs",
        name=f"aws-waf-logs-{ctx.project}-{ctx.environment}-{n}",
        retention_in_days=settings.log_retention_days,
        kms_key_id=key.arn,
        tags=scope.tags(),
        opts=scope.stateful_opts(),
    )
    delivery = aws.cloudwatch.LogResourcePolicy(
        f"{n}-waf-logs",
        policy_name=f"{ctx.project}-{ctx.environment}-{n}-waf-logs",
        policy_document=policy_json(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Sid": "AWSLogDeliveryWrite",
                        "Effect": "Allow",
                        "Principal": {"Service": "delivery.logs.amazonaws.com"},
                        "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                        "Resource": group.arn.apply(lambda arn: f"{arn}:log-stream:*"),
                        "Condition": {
                            "StringEquals": {"aws:SourceAccount": env.account_id},
                            "ArnLike": {"aws:SourceArn": env.arn("logs", "*")},
                        },
                    }
                ],
            }
        ),
        opts=scope.opts(),
    )
    return aws.wafv2.WebAclLoggingConfiguration(
        f"{n}-waf-logs",
        resource_arn=acl.arn,
        log_destination_configs=[group.arn],
        redacted_fields=[
            aws.wafv2.WebAclLoggingConfigurationRedactedFieldArgs(
                single_header=aws.wafv2.WebAclLoggingConfigurationRedactedFieldSingleHeaderArgs(
                    name=header
                )
            )
            for header in WAF_REDACTED_HEADERS
        ],
        # WAF checks the delivery permission when logging is switched on
        opts=scope.opts(depends_on=[delivery]),
    )


def log_bucket(
    scope: Scope, name: str, settings: HaAppTierSettings, *, rule_id: str
) -> tuple[aws.s3.Bucket, aws.s3.BucketPublicAccessBlock]:
    """A private log bucket ``name`` (and its public access block): SSE-S3, the only
    encryption ELB access logs and S3 server access logs can be delivered to (ELB user guide,
    "Enable access logs"; aws-cdk #21947), objects and old versions gone after
    ``access_log_retention_days``. Nonprod may be torn down with its logs; prod logs are
    evidence (PCI DSS 10.5.1)."""
    ctx = scope.context
    bucket, pab = private_bucket(
        name,
        context=ctx,
        tags=scope.tags(Name=name),
        parent=scope.parent,
        force_destroy=not ctx.is_prod,
    )
    aws.s3.BucketServerSideEncryptionConfiguration(
        name,
        bucket=bucket.id,
        rules=[
            aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
                apply_server_side_encryption_by_default=aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                    sse_algorithm="AES256"
                ),
            )
        ],
        opts=scope.opts(),
    )
    days = settings.access_log_retention_days
    aws.s3.BucketLifecycleConfiguration(
        name,
        bucket=bucket.id,
        rules=[
            aws.s3.BucketLifecycleConfigurationRuleArgs(
                id=rule_id,
                status="Enabled",
                filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
                expiration=aws.s3.BucketLifecycleConfigurationRuleExpirationArgs(days=days),
                noncurrent_version_expiration=aws.s3.BucketLifecycleConfigurationRuleNoncurrentVersionExpirationArgs(
                    noncurrent_days=days
                ),
                abort_incomplete_multipart_upload=aws.s3.BucketLifecycleConfigurationRuleAbortIncompleteMultipartUploadArgs(
                    days_after_initiation=7
                ),
            )
        ],
        opts=scope.opts(),
    )
    return bucket, pab


def server_access_logs(
    scope: Scope, settings: HaAppTierSettings, source: aws.s3.Bucket
) -> aws.s3.Bucket:
    """S3 server access logs of the ALB log bucket (who read or deleted the access logs:
    PCI DSS 10.2.1.3; Security Hub S3.9), in a bucket of their own: same account and
    region, SSE-S3 only, no Object Lock, written by ``logging.s3.amazonaws.com`` through the
    bucket policy (ACLs are disabled) for this source bucket only (Amazon S3 User Guide,
    "Enabling Amazon S3 server access logging"). The target bucket does not log itself:
    that would loop, and AWS advises against it."""
    n, env = scope.name, scope.env
    target, pab = log_bucket(
        scope, f"{n}-alb-logs-access", settings, rule_id="expire-server-access-logs"
    )
    policy = aws.s3.BucketPolicy(
        f"{n}-alb-logs-access",
        bucket=target.id,
        policy=policy_json(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Sid": "S3ServerAccessLogsPolicy",
                        "Effect": "Allow",
                        "Principal": {"Service": "logging.s3.amazonaws.com"},
                        "Action": "s3:PutObject",
                        "Resource": pulumi.Output.concat(
                            target.arn, "/", SERVER_ACCESS_LOG_PREFIX, "*"
                        ),
                        "Condition": {
                            "ArnLike": {"aws:SourceArn": source.arn},
                            "StringEquals": {"aws:SourceAccount": env.account_id},
                        },
                    },
                    {
                        "Sid": "DenyInsecureTransport",
                        "Effect": "Deny",
                        "Principal": "*",
                        "Action": "s3:*",
                        "Resource": [target.arn, pulumi.Output.concat(target.arn, "/*")],
                        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                    },
                ],
            }
        ),
        opts=scope.opts(depends_on=[pab]),
    )
    aws.s3.BucketLogging(
        f"{n}-alb-logs",
        bucket=source.id,
        target_bucket=target.id,
        target_prefix=SERVER_ACCESS_LOG_PREFIX,
        opts=scope.opts(depends_on=[policy]),
    )
    return target


# --- patching ----------------------------------------------------------------------------


@dataclass(frozen=True)
class FimDocuments:
    check: aws.ssm.Document
    baseline: aws.ssm.Document


def patching(
    scope: Scope,
    settings: HaAppTierSettings,
    logging: HostLogging,
    fim: FimDocuments | None,
) -> aws.ssm.MaintenanceWindowTask:
    """PCI DSS 6.3.3 and 11.3.1 on the hosts: the app's own Amazon Linux 2023 baseline
    (security updates and bug fixes approved ``approve_after_days`` after release), its patch
    group, a State Manager scan (daily, and at every instance's registration: compliance in
    Patch Manager and Security Hub SSM.1/SSM.2), and a weekly window that installs one
    instance at a time, rebooting if a patch needs it. With file-integrity monitoring the
    install compares the files first (a change made before the window is still reported)
    and takes a new baseline after it (the patch is an authorised change)."""
    n, p = scope.name, settings.patching
    group = patch_group(scope)

    def filters(classification: str, severities: list[str]) -> list[Any]:
        by_severity = {"SEVERITY": severities} if severities else {}
        return [
            aws.ssm.PatchBaselineApprovalRulePatchFilterArgs(key=key, values=values)
            for key, values in {"CLASSIFICATION": [classification], **by_severity}.items()
        ]

    # compliance level: how a missing patch counts in Patch Manager and Security Hub
    rules = [
        ("Security", ["Critical", "Important"], "CRITICAL"),
        ("Security", ["Medium", "Low"], "MEDIUM"),
        ("Bugfix", [], "LOW"),
    ]
    baseline = aws.ssm.PatchBaseline(
        f"{n}-patch-baseline",
        name=group,
        operating_system="AMAZON_LINUX_2023",
        description=(
            f"{n}: security updates and bug fixes, {p.approve_after_days} days after release"
        ),
        approval_rules=[
            aws.ssm.PatchBaselineApprovalRuleArgs(
                approve_after_days=p.approve_after_days,
                compliance_level=level,
                enable_non_security=False,
                patch_filters=filters(classification, severities),
            )
            for classification, severities, level in rules
        ],
        tags=scope.tags(),
        opts=scope.opts(),
    )
    aws.ssm.PatchGroup(
        f"{n}-patch-group", baseline_id=baseline.id, patch_group=group, opts=scope.opts()
    )
    aws.ssm.Association(
        f"{n}-patch-scan",
        name=SCAN_DOCUMENT,
        association_name=f"{group}-patch-scan",
        targets=[aws.ssm.AssociationTargetArgs(**_by_patch_group(scope))],
        parameters={"Operation": "Scan"},
        schedule_expression=p.scan_schedule,
        compliance_severity="HIGH",
        max_concurrency="50%",
        # one unreachable instance must not stop the others' scan
        max_errors="100%",
        tags=scope.tags(),
        opts=scope.opts(),
    )
    window = aws.ssm.MaintenanceWindow(
        f"{n}-patch-window",
        name=f"{group}-patch-install",
        description=f"{n}: install approved patches, one instance at a time",
        schedule=p.install_schedule,
        duration=WINDOW_HOURS,
        cutoff=WINDOW_CUTOFF_HOURS,
        allow_unassociated_targets=False,
        tags=scope.tags(),
        opts=scope.opts(),
    )
    target = aws.ssm.MaintenanceWindowTarget(
        f"{n}-patch-targets",
        window_id=window.id,
        name=f"{group}-instances",
        resource_type="INSTANCE",
        targets=[aws.ssm.MaintenanceWindowTargetTargetArgs(**_by_patch_group(scope))],
        opts=scope.opts(),
    )
    role = patch_window_role(scope)
    parameters: dict[str, list[pulumi.Input[str]]] = {
        "Operation": ["Install"],
        "RebootOption": ["RebootIfNeeded"],
    }
    if fim is not None:
        parameters["PreInstallHookDocName"] = [fim.check.name]
        parameters["PostInstallHookDocName"] = [fim.baseline.name]
    return aws.ssm.MaintenanceWindowTask(
        f"{n}-patch-install",
        window_id=window.id,
        name=f"{group}-patch-install",
        description=f"{n}: {PATCH_DOCUMENT} Install",
        task_type="RUN_COMMAND",
        task_arn=PATCH_DOCUMENT,
        priority=1,
        # one instance at a time: the others keep serving; a failure stops the window
        max_concurrency="1",
        max_errors="1",
        cutoff_behavior="CANCEL_TASK",
        service_role_arn=role.arn,
        targets=[
            aws.ssm.MaintenanceWindowTaskTargetArgs(key="WindowTargetIds", values=[target.id])
        ],
        task_invocation_parameters=aws.ssm.MaintenanceWindowTaskTaskInvocationParametersArgs(
            run_command_parameters=aws.ssm.MaintenanceWindowTaskTaskInvocationParametersRunCommandParametersArgs(
                parameters=[
                    aws.ssm.MaintenanceWindowTaskTaskInvocationParametersRunCommandParametersParameterArgs(
                        name=name, values=values
                    )
                    for name, values in parameters.items()
                ],
                # the patch run's output is evidence: kept with the app's logs
                cloudwatch_config=aws.ssm.MaintenanceWindowTaskTaskInvocationParametersRunCommandParametersCloudwatchConfigArgs(
                    cloudwatch_log_group_name=logging.groups["patching"].name,
                    cloudwatch_output_enabled=True,
                ),
            )
        ),
        opts=scope.opts(),
    )


def patch_window_role(scope: Scope) -> aws.iam.Role:
    """The install window's own service role (instead of the SSM service-linked role, which
    may send any command to any instance; AWS recommends a custom one: "Setting up
    Maintenance Windows"): the patch document, on this app's instances only."""
    n, env = scope.name, scope.env
    role = aws.iam.Role(
        f"{n}-patch-window",
        description=f"{n}: the patch window sends {PATCH_DOCUMENT} to this app's instances only",
        assume_role_policy=assume_role_policy("ssm.amazonaws.com", env.account_id),
        tags=scope.tags(),
        opts=scope.opts(),
    )
    aws.iam.RolePolicy(
        f"{n}-patch-window",
        role=role.id,
        policy=policy_json(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Sid": "SendThePatchDocument",
                        "Effect": "Allow",
                        "Action": "ssm:SendCommand",
                        "Resource": pulumi.Output.all(env.partition, env.region).apply(
                            lambda p: f"arn:{p[0]}:ssm:{p[1]}::document/{PATCH_DOCUMENT}"
                        ),
                    },
                    {
                        "Sid": "ToThisAppsInstancesOnly",
                        "Effect": "Allow",
                        "Action": "ssm:SendCommand",
                        "Resource": env.arn("ec2", "instance/*"),
                        "Condition": {
                            "StringEquals": {
                                f"ssm:resourceTag/{PATCH_GROUP_TAG}": patch_group(scope)
                            }
                        },
                    },
                    {
                        # these take no resource-level permission
                        "Sid": "FollowItsCommands",
                        "Effect": "Allow",
                        "Action": [
                            "ssm:CancelCommand",
                            "ssm:GetCommandInvocation",
                            "ssm:ListCommandInvocations",
                            "ssm:ListCommands",
                        ],
                        "Resource": "*",
                    },
                ],
            }
        ),
        opts=scope.opts(),
    )
    return role


# --- file integrity ----------------------------------------------------------------------


def file_integrity(scope: Scope, settings: HaAppTierSettings, logging: HostLogging) -> FimDocuments:
    """PCI DSS 11.5.2 on the CDE hosts. AWS has no managed file-integrity monitor for EC2
    (GuardDuty Runtime Monitoring watches processes and network, Inspector packages and
    CVEs, Config resource settings), so AIDE runs on every instance: baseline at boot after
    the app's user data, compared by State Manager on ``schedule`` (State Manager instead
    of cron: AL2023 has no cron, and the runs, their failures and the association's
    compliance are visible in Systems Manager). Each comparison's report goes to the app's
    file-integrity log group; the metric filters count changes (and errors) and checks."""
    n, fim = scope.name, settings.file_integrity
    group = patch_group(scope)
    documents = FimDocuments(
        check=aws.ssm.Document(
            f"{n}-fim-check",
            name=f"{group}-fim-check",
            document_type="Command",
            document_format="JSON",
            content=host.command_document(
                f"{n}: compare critical files with the AIDE baseline (PCI DSS 11.5.2)",
                host.fim_check_commands(),
            ),
            tags=scope.tags(),
            opts=scope.opts(),
        ),
        baseline=aws.ssm.Document(
            f"{n}-fim-baseline",
            name=f"{group}-fim-baseline",
            document_type="Command",
            document_format="JSON",
            content=host.command_document(
                f"{n}: take a new AIDE baseline after an authorised change (a patch)",
                host.fim_baseline_commands(),
            ),
            tags=scope.tags(),
            opts=scope.opts(),
        ),
    )
    aws.ssm.Association(
        f"{n}-fim-check",
        name=documents.check.name,
        association_name=f"{group}-fim-check",
        targets=[aws.ssm.AssociationTargetArgs(**_by_patch_group(scope))],
        schedule_expression=fim.schedule,
        # a rate cannot wait for its interval (State Manager refuses the flag with it)
        apply_only_at_cron_interval=fim.schedule.startswith("cron("),
        compliance_severity="CRITICAL",
        max_concurrency="50%",
        # a changed instance fails its run; the others must still be compared
        max_errors="100%",
        tags=scope.tags(),
        opts=scope.opts(),
    )
    namespace = fim_namespace(scope)
    results = {
        host.FIM_FINDINGS_METRIC: (host.FIM_CHANGED, host.FIM_ERROR),
        host.FIM_CHECKS_METRIC: (host.FIM_CLEAN, host.FIM_CHANGED, host.FIM_ERROR),
    }
    for metric, terms in results.items():
        aws.cloudwatch.LogMetricFilter(
            f"{n}-{_kebab(metric)}",
            name=f"{n}-{_kebab(metric)}",
            log_group_name=logging.groups["file-integrity"].name,
            pattern=" ".join(f'?"{term}"' for term in terms),
            metric_transformation=aws.cloudwatch.LogMetricFilterMetricTransformationArgs(
                name=metric, namespace=namespace, value="1", unit="Count"
            ),
            opts=scope.opts(),
        )
    return documents


def _kebab(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "-", name).lower()
