"""HaAppTier: one application re-hosted on EC2 behind its own ALB, across every AZ.

The LOYALTY case study: "3 instances in 2 different Availability Zones, so if any instance
fails, others in other AZs pick up the workload", load-balanced, auto-scaling, auto-healing.

One HaAppTier per application (stack key `payments-platform:apps`, app name -> settings).
Every child's logical name starts with the component's name, so adding an application adds
resources and changes none of the others'.

Fixes the top complaints against the anchors (terraform-aws-modules autoscaling/alb):
- `pulumi up` never resets the desired capacity that scaling set (TFM asg #44, #72);
- the ASG pins the launch template's explicit latest version, so instance refresh fires on
  every launch-template change ($Latest does not trigger it: TFM asg #143, #155).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from ..core.alarms import Widget, raise_alarms
from ..core.aws_env import aws_env, policy_json
from ..core.kms import account_administers_key, customer_managed_key
from ..core.problems import raise_problems
from ..core.scope import Scope
from ..core.security_groups import Rule, restricted_security_group
from ..core.settings import StackContext, checked_input
from ..secure_vpc import NetworkRef, check_network_ref, plan
from . import host, operations
from .alarms import Monitored, app_alarms, app_widgets
from .checks import alb_clients, check, check_resolved_certificate, read_user_data
from .settings import HaAppTierSettings

COMPONENT = "ha-app-tier"
TYPE = "payments:index:HaAppTier"

#: Amazon Linux 2023 AMI ids are published as public SSM parameters, per architecture.
AL2023_AMI_PARAMETERS: Mapping[str, str] = {
    "x86_64": "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64",
    "arm64": "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64",
}

#: Regions launched before August 2022 deliver ALB access logs as a regional ELB account;
#: newer regions use the logdelivery.elasticloadbalancing.amazonaws.com service principal.
ELB_LOG_DELIVERY_ACCOUNTS: Mapping[str, str] = {
    "us-east-1": "127311923021",
    "us-east-2": "033677994240",
    "us-west-1": "027434742980",
    "us-west-2": "797873946194",
    "af-south-1": "098369216593",
    "ap-east-1": "754344448648",
    "ap-southeast-3": "589379963580",
    "ap-south-1": "718504428378",
    "ap-northeast-3": "383597477331",
    "ap-northeast-2": "600734575887",
    "ap-southeast-1": "114774131450",
    "ap-southeast-2": "783225319266",
    "ap-northeast-1": "582318560864",
    "ca-central-1": "985666609251",
    "eu-central-1": "054676820928",
    "eu-west-1": "156460612806",
    "eu-west-2": "652711504416",
    "eu-south-1": "635631232127",
    "eu-west-3": "009996457667",
    "eu-north-1": "897822967062",
    "me-south-1": "076674570225",
    "sa-east-1": "507241528517",
}
ELB_LOG_DELIVERY_SERVICE = "logdelivery.elasticloadbalancing.amazonaws.com"
ACCESS_LOG_PREFIX = "alb"

#: AWS managed rule groups on every web ACL, each with a fixed priority (identity by name:
#: adding a group never renumbers the others).
WAF_MANAGED_RULE_GROUPS: Mapping[str, int] = {
    "AWSManagedRulesAmazonIpReputationList": 10,
    "AWSManagedRulesCommonRuleSet": 20,
    "AWSManagedRulesKnownBadInputsRuleSet": 30,
    "AWSManagedRulesSQLiRuleSet": 40,
}
WAF_RATE_RULE_PRIORITY = 1

#: ASG metrics collected (1-minute granularity) for alarms and the dashboard.
GROUP_METRICS: tuple[aws.autoscaling.Metric, ...] = tuple(
    aws.autoscaling.Metric(m)
    for m in (
        "GroupMinSize",
        "GroupMaxSize",
        "GroupDesiredCapacity",
        "GroupInServiceInstances",
        "GroupPendingInstances",
        "GroupTerminatingInstances",
        "GroupTotalInstances",
    )
)


@dataclass(frozen=True)
class AppRef:
    """What a data tier needs of an HaAppTier (``app.ref``): its instances' security group
    (the peer a store admits), the data services that group may reach, and the instances'
    role (which may read the secrets of those stores)."""

    name: str
    instance_security_group_id: pulumi.Output[str]
    data_services: frozenset[str]
    #: the instances' IAM role: what the data tier grants its stores' secrets to
    instance_role_name: pulumi.Output[str]


class HaAppTier(pulumi.ComponentResource):
    """An application's launch template, Auto Scaling group, ALB (+ WAF and its logs, access
    logs), security groups, scaling policies, the instances' logging (CloudWatch agent
    configuration, log groups), patching (baseline, scan, install window) and file-integrity
    monitoring, alarms and dashboard widgets.

    ``network`` is the SecureVpc's ``vpc.ref``: its app ports, the on-prem ranges its app
    tier admits and the data services its NACLs admit are what this app is checked
    against. ``data_services`` are the stores the app is a client of (its instances'
    egress); ``app.ref`` gives them to ManagedDataTier's ``apps=``.
    """

    alb_dns_name: pulumi.Output[str]
    alb_arn: pulumi.Output[str]
    alb_zone_id: pulumi.Output[str]
    target_group_arn: pulumi.Output[str]
    asg_name: pulumi.Output[str]
    instance_security_group_id: pulumi.Output[str]
    alb_security_group_id: pulumi.Output[str]
    access_log_bucket: pulumi.Output[str]
    web_acl_arn: pulumi.Output[str] | None
    dashboard_widgets: list[Widget]
    ref: AppRef

    def __init__(
        self,
        name: str,
        settings: HaAppTierSettings,
        *,
        context: StackContext,
        network: NetworkRef,
        alarm_topic_arn: pulumi.Input[str],
        data_services: Iterable[str] = (),
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        settings = settings.for_environment(context.environment)
        services = data_services if isinstance(data_services, str) else tuple(data_services)
        problems = check_network_ref(network)
        problems += check(
            name,
            settings,
            context=context,
            network=None if problems else network.plan,
            data_services=services,
        )
        raise_problems("HaAppTier", name, problems, HaAppTierSettings)
        app_user_data = read_user_data(settings)
        services = tuple(sorted(set(services)))

        super().__init__(TYPE, name, None, opts)
        scope = Scope(self, name, context, COMPONENT, aws_env(self), extra_tags={"app": name})

        alb_sg = alb_security_group(scope, settings, network)
        instance_sg = instance_security_group(scope, settings, network, services, alb_sg)
        logs = access_log_bucket(scope, settings)
        operations.server_access_logs(scope, settings, logs.bucket)
        alb = load_balancer(scope, settings, network, alb_sg, logs)
        tg = target_group(scope, settings, network)
        https = listeners(scope, settings, alb, tg)
        logging = operations.host_logging(scope, settings)
        acl = web_acl(scope, settings, alb) if settings.internet_facing else None
        if acl is not None:
            operations.waf_logging(scope, settings, acl, logging.key)
        self.web_acl_arn = acl.arn if acl is not None else None
        autoscaling_role = autoscaling_service_linked_role(scope)
        key = ebs_key(scope, autoscaling_role)
        role = instance_role(scope)
        profile = instance_profile(scope, role)
        user_data = instance_user_data(scope, settings, logging, app_user_data)
        template = launch_template(scope, settings, instance_sg, profile, key, user_data, logging)
        asg = auto_scaling_group(scope, settings, network, template, tg, autoscaling_role)
        operations.instance_boot_policy(scope, role, logging, asg)
        scaling_policies(scope, settings, asg, alb, tg, https)
        fim = (
            operations.file_integrity(scope, settings, logging)
            if settings.file_integrity.enabled
            else None
        )
        operations.patching(scope, settings, logging, fim)
        monitored = Monitored(
            alb.arn_suffix,
            tg.arn_suffix,
            asg.name,
            region=scope.env.region,
            web_acl_name=acl.name if acl is not None else None,
            fim_namespace=operations.fim_namespace(scope) if fim is not None else None,
            fim_interval_days=settings.file_integrity.interval_days,
        )
        # The alarms have always carried the standard tags only (no `app` tag).
        raise_alarms(
            dataclasses.replace(scope, extra_tags={}),
            app_alarms(name, settings, monitored),
            alarm_topic_arn,
        )
        self.dashboard_widgets = app_widgets(name, monitored, scope.env.region)

        self.alb_dns_name = alb.dns_name
        self.alb_arn = alb.arn
        self.alb_zone_id = alb.zone_id
        self.target_group_arn = tg.arn
        self.asg_name = asg.name
        self.instance_security_group_id = instance_sg.id
        self.alb_security_group_id = alb_sg.id
        self.access_log_bucket = logs.bucket.bucket
        self.ref = AppRef(name, instance_sg.id, frozenset(services), role.name)
        self.register_outputs(
            {
                "albDnsName": self.alb_dns_name,
                "albArn": self.alb_arn,
                "albZoneId": self.alb_zone_id,
                "targetGroupArn": self.target_group_arn,
                "asgName": self.asg_name,
                "instanceSecurityGroupId": self.instance_security_group_id,
                "albSecurityGroupId": self.alb_security_group_id,
                "accessLogBucket": self.access_log_bucket,
            }
        )


# --- security groups ---------------------------------------------------------------------


def alb_security_group(
    scope: Scope, settings: HaAppTierSettings, network: NetworkRef
) -> aws.ec2.SecurityGroup:
    """HTTPS (and HTTP, redirected, when internet-facing) from the clients; out to the app
    port in the app tier only."""
    n = scope.name
    clients, _ = alb_clients(settings, network.plan)
    ingress = [Rule("https", 443, cidrs=clients, description="HTTPS from clients")]
    if settings.internet_facing:
        # Port 80 only ever answers with a 301 to HTTPS (see listeners).
        ingress.append(Rule("http", 80, cidrs=clients, description="HTTP, redirected"))
    return restricted_security_group(
        f"{n}-alb",
        vpc_id=network.vpc_id,
        description=f"{n} ALB: HTTPS from clients, app port to the app tier",
        context=scope.context,
        component=scope.component,
        ingress=ingress,
        # The ALB reaches targets (and health checks them) in the app tier only. A CIDR
        # rather than the instance SG keeps the two groups free of a creation cycle.
        egress=[
            Rule(
                "app",
                settings.app_port,
                cidrs={"app-tier": network.tier_cidrs["app"]},
                description="to targets",
            )
        ],
        internet_facing_web=settings.internet_facing,
        parent=scope.parent,
    )


def instance_security_group(
    scope: Scope,
    settings: HaAppTierSettings,
    network: NetworkRef,
    services: Iterable[str],
    alb_sg: aws.ec2.SecurityGroup,
) -> aws.ec2.SecurityGroup:
    """The app port from the ALB's group only; out 443 and the ports of ``services``."""
    n = scope.name
    egress = [
        Rule(
            "https",
            443,
            # 443 out: package repositories and AWS APIs via the NAT gateway, and the
            # interface endpoints (SSM, KMS, logs ...) inside the VPC.
            cidrs={"internet": plan.ANYWHERE},
            security_groups={"endpoints": network.endpoint_security_group_id},
            description="HTTPS to AWS APIs and endpoints",
        )
    ]
    for service in services:
        svc = plan.SERVICES[service]
        egress.append(
            Rule(
                service,
                svc.from_port,
                svc.to_port,
                cidrs={"data-tier": network.tier_cidrs["data"]},
                description=f"to the {service} data store",
            )
        )
    return restricted_security_group(
        f"{n}-instances",
        vpc_id=network.vpc_id,
        description=f"{n} instances: app port from the ALB only",
        context=scope.context,
        component=scope.component,
        ingress=[
            Rule(
                "app",
                settings.app_port,
                security_groups={"alb": alb_sg.id},
                description="from the ALB",
            )
        ],
        egress=egress,
        parent=scope.parent,
    )


# --- access logs ---------------------------------------------------------------------------


@dataclass(frozen=True)
class AccessLogs:
    bucket: aws.s3.Bucket
    policy: aws.s3.BucketPolicy  # the ALB waits for it: ELB test-writes when logging starts


def access_log_bucket(scope: Scope, settings: HaAppTierSettings) -> AccessLogs:
    """The ALB's access-log bucket: private, SSE-S3, expiring, TLS-only."""
    n = scope.name
    # SSE-S3 only (ELB cannot deliver to SSE-KMS); the logs hold no card data (PCI DSS 10.3.x
    # protects them through access control and retention instead)
    bucket, pab = operations.log_bucket(
        scope, f"{n}-alb-logs", settings, rule_id="expire-access-logs"
    )
    policy = aws.s3.BucketPolicy(
        f"{n}-alb-logs",
        bucket=bucket.id,
        policy=log_bucket_policy(scope, bucket),
        # S3 rejects concurrent policy and public-access-block changes on one bucket.
        opts=scope.opts(depends_on=[pab]),
    )
    return AccessLogs(bucket, policy)


def log_bucket_policy(scope: Scope, bucket: aws.s3.Bucket) -> pulumi.Output[str]:
    """ELB delivers under ``alb/AWSLogs/<account>/``; nothing is read or written over HTTP."""
    env = scope.env
    principal = pulumi.Output.all(env.partition, env.region).apply(
        lambda p: (
            {"AWS": f"arn:{p[0]}:iam::{ELB_LOG_DELIVERY_ACCOUNTS[p[1]]}:root"}
            if p[1] in ELB_LOG_DELIVERY_ACCOUNTS
            else {"Service": ELB_LOG_DELIVERY_SERVICE}
        )
    )
    log_objects = pulumi.Output.concat(
        bucket.arn, f"/{ACCESS_LOG_PREFIX}/AWSLogs/", env.account_id, "/*"
    )
    return policy_json(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "ElbDeliversAccessLogs",
                    "Effect": "Allow",
                    "Principal": principal,
                    "Action": "s3:PutObject",
                    "Resource": log_objects,
                },
                {
                    # PCI DSS 4.2.1: never read or write the logs over plain HTTP.
                    "Sid": "DenyInsecureTransport",
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "s3:*",
                    "Resource": [bucket.arn, pulumi.Output.concat(bucket.arn, "/*")],
                    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                },
            ],
        }
    )


# --- load balancer -----------------------------------------------------------------------


def load_balancer(
    scope: Scope,
    settings: HaAppTierSettings,
    network: NetworkRef,
    alb_sg: aws.ec2.SecurityGroup,
    logs: AccessLogs,
) -> aws.lb.LoadBalancer:
    """Internet-facing in the public tier, or internal in the app tier."""
    n = scope.name
    tier = "public" if settings.internet_facing else "app"
    return aws.lb.LoadBalancer(
        f"{n}-alb",
        load_balancer_type="application",
        internal=not settings.internet_facing,
        subnets=network.tier_subnet_ids(tier),
        security_groups=[alb_sg.id],
        drop_invalid_header_fields=True,
        enable_deletion_protection=scope.context.is_prod,
        access_logs=aws.lb.LoadBalancerAccessLogsArgs(
            bucket=logs.bucket.bucket, prefix=ACCESS_LOG_PREFIX, enabled=True
        ),
        tags=scope.tags(Name=f"{n}-alb"),
        # ELB test-writes to the bucket when access logs are enabled: the policy first.
        opts=scope.opts(depends_on=[logs.policy]),
    )


def target_group(
    scope: Scope, settings: HaAppTierSettings, network: NetworkRef
) -> aws.lb.TargetGroup:
    """HTTP to the app port, health-checked and drained as configured."""
    n, hc = scope.name, settings.health_check
    return aws.lb.TargetGroup(
        f"{n}-tg",
        target_type="instance",
        port=settings.app_port,
        protocol="HTTP",
        vpc_id=network.vpc_id,
        deregistration_delay=settings.deregistration_delay_seconds,
        health_check=aws.lb.TargetGroupHealthCheckArgs(
            enabled=True,
            protocol="HTTP",
            port="traffic-port",
            path=hc.path,
            matcher=hc.matcher,
            interval=hc.interval_seconds,
            timeout=hc.timeout_seconds,
            healthy_threshold=hc.healthy_threshold,
            unhealthy_threshold=hc.unhealthy_threshold,
        ),
        tags=scope.tags(Name=f"{n}-tg"),
        opts=scope.opts(),
    )


def listener_certificate(scope: Scope, settings: HaAppTierSettings) -> pulumi.Input[str]:
    """The HTTPS listener's certificate, checked when the provider's region resolves: an ACM
    certificate ARN (a str was already checked before anything was registered; an Output,
    a certificate made in the same program or read from another stack, is checked now) in
    the region of the component's provider. A wrong one fails the deploy with the message
    the stack loader gives a stack file's."""
    arn = settings.certificate_arn
    assert arn is not None  # checks: required

    def in_region(region: str) -> pulumi.Input[str]:
        def check(value: str) -> str:
            problems = check_resolved_certificate(value, region)
            raise_problems("HaAppTier", scope.name, problems, HaAppTierSettings)
            return value

        checked = checked_input(pulumi.Output.from_input(arn), check)
        assert checked is not None
        return checked

    return scope.env.region.apply(in_region)


def listeners(
    scope: Scope, settings: HaAppTierSettings, alb: aws.lb.LoadBalancer, tg: aws.lb.TargetGroup
) -> aws.lb.Listener:
    """HTTPS (TLS 1.2+) forwarding to the targets; HTTP only redirects (internet-facing)."""
    n = scope.name
    https = aws.lb.Listener(
        f"{n}-https",
        load_balancer_arn=alb.arn,
        port=443,
        protocol="HTTPS",
        ssl_policy=settings.tls_policy,
        certificate_arn=listener_certificate(scope, settings),
        default_actions=[aws.lb.ListenerDefaultActionArgs(type="forward", target_group_arn=tg.arn)],
        tags=scope.tags(),
        opts=scope.opts(),
    )
    if settings.internet_facing:
        # Browsers typing http:// land here; nothing is ever served in clear text.
        aws.lb.Listener(
            f"{n}-http",
            load_balancer_arn=alb.arn,
            port=80,
            protocol="HTTP",
            default_actions=[
                aws.lb.ListenerDefaultActionArgs(
                    type="redirect",
                    redirect=aws.lb.ListenerDefaultActionRedirectArgs(
                        protocol="HTTPS", port="443", status_code="HTTP_301"
                    ),
                )
            ],
            tags=scope.tags(),
            opts=scope.opts(),
        )
    return https


def web_acl(
    scope: Scope, settings: HaAppTierSettings, alb: aws.lb.LoadBalancer
) -> aws.wafv2.WebAcl | None:
    """AWS managed rule groups and a per-IP rate limit in front of an internet-facing ALB
    (PCI DSS 6.4.2); None when ``waf.enabled`` is false."""
    waf, n = settings.waf, scope.name
    if not waf.enabled:
        return None
    metric = re.sub(r"[^A-Za-z0-9]", "", n)

    def visibility(name: str) -> aws.wafv2.WebAclRuleVisibilityConfigArgs:
        return aws.wafv2.WebAclRuleVisibilityConfigArgs(
            cloudwatch_metrics_enabled=True,
            metric_name=f"{metric}{name}",
            sampled_requests_enabled=True,
        )

    rules = [
        aws.wafv2.WebAclRuleArgs(
            name="rate-limit-per-ip",
            priority=WAF_RATE_RULE_PRIORITY,
            action=aws.wafv2.WebAclRuleActionArgs(block=aws.wafv2.WebAclRuleActionBlockArgs()),
            statement=aws.wafv2.WebAclRuleStatementArgs(
                rate_based_statement=aws.wafv2.WebAclRuleStatementRateBasedStatementArgs(
                    limit=waf.rate_limit,
                    aggregate_key_type="IP",
                    evaluation_window_sec=waf.rate_window_seconds,
                )
            ),
            visibility_config=visibility("RateLimit"),
        )
    ]
    for group, priority in WAF_MANAGED_RULE_GROUPS.items():
        rules.append(
            aws.wafv2.WebAclRuleArgs(
                name=group,
                priority=priority,
                # Managed groups carry their own block actions; "none" keeps them.
                override_action=aws.wafv2.WebAclRuleOverrideActionArgs(
                    none=aws.wafv2.WebAclRuleOverrideActionNoneArgs()  # type: ignore[no-untyped-call]
                ),
                statement=aws.wafv2.WebAclRuleStatementArgs(
                    managed_rule_group_statement=aws.wafv2.WebAclRuleStatementManagedRuleGroupStatementArgs(
                        vendor_name="AWS", name=group
                    )
                ),
                visibility_config=visibility(group.removeprefix("AWSManagedRules")),
            )
        )
    acl = aws.wafv2.WebAcl(
        f"{n}-waf",
        scope="REGIONAL",
        description=f"{n} ALB: AWS managed rules and a per-IP rate limit",
        default_action=aws.wafv2.WebAclDefaultActionArgs(
            allow=aws.wafv2.WebAclDefaultActionAllowArgs()
        ),
        rules=rules,
        visibility_config=aws.wafv2.WebAclVisibilityConfigArgs(
            cloudwatch_metrics_enabled=True,
            metric_name=f"{metric}WebAcl",
            sampled_requests_enabled=True,
        ),
        tags=scope.tags(Name=f"{n}-waf"),
        opts=scope.opts(),
    )
    aws.wafv2.WebAclAssociation(
        f"{n}-waf",
        resource_arn=alb.arn,
        web_acl_arn=acl.arn,
        opts=scope.opts(),
    )
    return acl


# --- compute -------------------------------------------------------------------------------


def autoscaling_service_linked_role(scope: Scope) -> aws.iam.ServiceLinkedRole:
    """A custom-suffix Auto Scaling service-linked role for this app: the EBS key policy must
    name an existing principal (a key policy naming the default AWSServiceRoleForAutoScaling
    fails in an account that never used Auto Scaling), and only this app's ASG can use the
    key."""
    n, ctx = scope.name, scope.context
    return aws.iam.ServiceLinkedRole(
        f"{n}-autoscaling",
        aws_service_name="autoscaling.amazonaws.com",
        custom_suffix=f"{ctx.environment}-{n}",
        description=f"EC2 Auto Scaling for {n} ({ctx.environment})",
        tags=scope.tags(),
        opts=scope.opts(),
    )


def ebs_key(scope: Scope, autoscaling_role: aws.iam.ServiceLinkedRole) -> aws.kms.Key:
    """The CMK of the root volumes, usable by the app's Auto Scaling role."""
    n = scope.name
    policy = policy_json(
        {
            "Version": "2012-10-17",
            "Statement": [
                account_administers_key(scope.env),
                {
                    # Without these, the ASG's launches fail with
                    # "Client.InternalError: Client error on launch" (EBS cannot
                    # encrypt the root volume with a CMK the role may not use).
                    "Sid": "AutoScalingUsesKey",
                    "Effect": "Allow",
                    "Principal": {"AWS": autoscaling_role.arn},
                    "Action": [
                        "kms:Encrypt",
                        "kms:Decrypt",
                        "kms:ReEncrypt*",
                        "kms:GenerateDataKey*",
                        "kms:DescribeKey",
                    ],
                    "Resource": "*",
                },
                {
                    "Sid": "AutoScalingAttachesVolumes",
                    "Effect": "Allow",
                    "Principal": {"AWS": autoscaling_role.arn},
                    "Action": "kms:CreateGrant",
                    "Resource": "*",
                    "Condition": {"Bool": {"kms:GrantIsForAWSResource": "true"}},
                },
            ],
        }
    )
    return customer_managed_key(
        f"{n}-ebs",
        description=f"{n} app tier EBS volumes",
        policy=policy,
        context=scope.context,
        component=scope.component,
        parent=scope.parent,
    )


def instance_role(scope: Scope) -> aws.iam.Role:
    """The instances' role: SSM (Session Manager, Run Command, Patch Manager) and the
    CloudWatch agent, plus what their boot needs (``operations.instance_boot_policy``); what
    else it may do is granted by those who own it (the data tier grants each app its stores'
    secrets)."""
    n, env = scope.name, scope.env
    role = aws.iam.Role(
        f"{n}-instance-role",
        description=f"{n} instances: SSM Session Manager and the CloudWatch agent only",
        assume_role_policy=policy_json(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "ec2.amazonaws.com"},
                        "Action": "sts:AssumeRole",
                    }
                ],
            }
        ),
        tags=scope.tags(),
        opts=scope.opts(),
    )
    # PCI DSS 7.2: least privilege. Shell access is SSM Session Manager (logged), never SSH.
    for role_name, policy in (
        ("ssm", "AmazonSSMManagedInstanceCore"),
        ("cloudwatch-agent", "CloudWatchAgentServerPolicy"),
    ):
        aws.iam.RolePolicyAttachment(
            f"{n}-instance-{role_name}",
            role=role.name,
            policy_arn=pulumi.Output.concat("arn:", env.partition, ":iam::aws:policy/", policy),
            opts=scope.opts(),
        )
    return role


def instance_profile(scope: Scope, role: aws.iam.Role) -> aws.iam.InstanceProfile:
    return aws.iam.InstanceProfile(
        f"{scope.name}-instance-profile",
        role=role.name,
        tags=scope.tags(),
        opts=scope.opts(),
    )


def image_id(scope: Scope, settings: HaAppTierSettings) -> pulumi.Input[str]:
    """The pinned AMI, or the latest Amazon Linux 2023 for the instance type's architecture."""
    if settings.ami_id is not None:
        return settings.ami_id
    parameter = aws.ssm.get_parameter_output(
        name=AL2023_AMI_PARAMETERS[settings.architecture],
        opts=scope.invoke_opts(),
    )
    # insecure_value: an AMI id is not a secret; `value` would mark the template secret.
    return parameter.insecure_value


def instance_user_data(
    scope: Scope,
    settings: HaAppTierSettings,
    logging: operations.HostLogging,
    app_user_data: bytes | None,
) -> str:
    """The platform's boot script (CloudWatch agent with the stack's configuration, or the
    instance is replaced), the app's own user data, then the AIDE baseline; base64."""
    fim = settings.file_integrity.enabled
    boot = host.boot_script(
        logging.agent_parameter_name, logging.agent_config_sha256, file_integrity=fim
    )
    return host.user_data(scope.name, boot, app_user_data, file_integrity=fim)


def launch_template(
    scope: Scope,
    settings: HaAppTierSettings,
    instance_sg: aws.ec2.SecurityGroup,
    profile: aws.iam.InstanceProfile,
    key: aws.kms.Key,
    user_data: str,
    logging: operations.HostLogging,
) -> aws.ec2.LaunchTemplate:
    """IMDSv2 only, no public IP, no key pair, an encrypted gp3 root volume; the instances
    carry the tags Systems Manager and GuardDuty select them by."""
    n = scope.name
    tag_specs = [
        aws.ec2.LaunchTemplateTagSpecificationArgs(
            resource_type=kind,
            tags=scope.tags(
                Name=f"{n}-{kind}",
                **(operations.instance_tags(scope) if kind == "instance" else {}),
            ),
        )
        for kind in ("instance", "volume", "network-interface")
    ]
    return aws.ec2.LaunchTemplate(
        f"{n}-lt",
        description=f"{n} app tier instances",
        image_id=image_id(scope, settings),
        instance_type=settings.instance_type,
        iam_instance_profile=aws.ec2.LaunchTemplateIamInstanceProfileArgs(arn=profile.arn),
        # IMDSv2 only, one hop: a container or proxy on the host cannot reach the
        # instance credentials (the SSRF path of the 2019 Capital One breach).
        metadata_options=aws.ec2.LaunchTemplateMetadataOptionsArgs(
            http_endpoint="enabled",
            http_tokens="required",
            http_put_response_hop_limit=1,
            instance_metadata_tags="disabled",
        ),
        monitoring=aws.ec2.LaunchTemplateMonitoringArgs(enabled=True),
        network_interfaces=[
            aws.ec2.LaunchTemplateNetworkInterfaceArgs(
                device_index=0,
                associate_public_ip_address="false",
                delete_on_termination="true",
                security_groups=[instance_sg.id],
            )
        ],
        block_device_mappings=[
            aws.ec2.LaunchTemplateBlockDeviceMappingArgs(
                device_name=settings.root_device_name,
                ebs=aws.ec2.LaunchTemplateBlockDeviceMappingEbsArgs(
                    volume_type="gp3",
                    volume_size=settings.root_volume_size_gib,
                    encrypted="true",
                    kms_key_id=key.arn,
                    delete_on_termination="true",
                ),
            )
        ],
        user_data=user_data,
        update_default_version=True,
        tag_specifications=tag_specs,
        tags=scope.tags(Name=f"{n}-lt"),
        # an instance loads the agent configuration at boot: it exists first
        opts=scope.opts(depends_on=[logging.agent_parameter]),
    )


def auto_scaling_group(
    scope: Scope,
    settings: HaAppTierSettings,
    network: NetworkRef,
    template: aws.ec2.LaunchTemplate,
    tg: aws.lb.TargetGroup,
    autoscaling_role: aws.iam.ServiceLinkedRole,
) -> aws.autoscaling.Group:
    """The app-tier subnets of every AZ, healed by ELB health checks, refreshed rolling."""
    s, n = settings, scope.name
    return aws.autoscaling.Group(
        f"{n}-asg",
        vpc_zone_identifiers=network.tier_subnet_ids("app"),
        min_size=s.min_size,
        max_size=s.max_size,
        desired_capacity=s.desired_capacity,
        launch_template=aws.autoscaling.GroupLaunchTemplateArgs(
            id=template.id,
            # The explicit version number: a new template version is then a change to
            # the group, which starts the instance refresh ($Latest never does).
            version=template.latest_version.apply(str),
        ),
        target_group_arns=[tg.arn],
        health_check_type="ELB",
        health_check_grace_period=s.health_check_grace_period_seconds,
        default_instance_warmup=s.instance_warmup_seconds,
        # On-demand only: capacity rebalancing is a Spot feature.
        capacity_rebalance=False,
        # Auto-healing launches the replacement before terminating the unhealthy
        # instance (min 100%), with room for about one extra instance (max 110%).
        instance_maintenance_policy=aws.autoscaling.GroupInstanceMaintenancePolicyArgs(
            min_healthy_percentage=100, max_healthy_percentage=110
        ),
        instance_refresh=aws.autoscaling.GroupInstanceRefreshArgs(
            strategy="Rolling",
            preferences=aws.autoscaling.GroupInstanceRefreshPreferencesArgs(
                min_healthy_percentage=s.instance_refresh_min_healthy_percentage,
                max_healthy_percentage=110,
                instance_warmup=str(s.instance_warmup_seconds),
                skip_matching=True,
            ),
        ),
        max_instance_lifetime=(
            s.max_instance_lifetime_days * 86400 if s.max_instance_lifetime_days else None
        ),
        service_linked_role_arn=autoscaling_role.arn,
        enabled_metrics=list(GROUP_METRICS),
        metrics_granularity="1Minute",
        tags=[
            aws.autoscaling.GroupTagArgs(key=k, value=v, propagate_at_launch=False)
            for k, v in scope.tags(Name=f"{n}-asg").items()
        ],
        # Scaling owns the desired capacity after creation (TFM asg #44, #72).
        opts=scope.opts(ignore_changes=["desiredCapacity"]),
    )


def scaling_policies(
    scope: Scope,
    settings: HaAppTierSettings,
    asg: aws.autoscaling.Group,
    alb: aws.lb.LoadBalancer,
    tg: aws.lb.TargetGroup,
    https: aws.lb.Listener,
) -> None:
    """Target tracking on average CPU and on ALB requests per target."""
    n = scope.name
    aws.autoscaling.Policy(
        f"{n}-cpu",
        autoscaling_group_name=asg.name,
        policy_type="TargetTrackingScaling",
        target_tracking_configuration=aws.autoscaling.PolicyTargetTrackingConfigurationArgs(
            target_value=settings.scaling.cpu_target_percent,
            predefined_metric_specification=aws.autoscaling.PolicyTargetTrackingConfigurationPredefinedMetricSpecificationArgs(
                predefined_metric_type="ASGAverageCPUUtilization"
            ),
        ),
        opts=scope.opts(),
    )
    aws.autoscaling.Policy(
        f"{n}-requests",
        autoscaling_group_name=asg.name,
        policy_type="TargetTrackingScaling",
        target_tracking_configuration=aws.autoscaling.PolicyTargetTrackingConfigurationArgs(
            target_value=float(settings.scaling.requests_per_target),
            predefined_metric_specification=aws.autoscaling.PolicyTargetTrackingConfigurationPredefinedMetricSpecificationArgs(
                predefined_metric_type="ALBRequestCountPerTarget",
                resource_label=pulumi.Output.concat(alb.arn_suffix, "/", tg.arn_suffix),
            ),
        ),
        # AWS rejects the resource label until the target group is behind the ALB.
        opts=scope.opts(depends_on=[https]),
    )
