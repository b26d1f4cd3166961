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

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from ..core.alarms import Widget, metric_alarm, metric_widget
from ..core.aws_env import AwsEnv, aws_env, policy_json
from ..core.kms import account_administers_key, customer_managed_key
from ..core.problems import raise_problems
from ..core.s3 import private_bucket
from ..core.security_groups import Rule, restricted_security_group
from ..core.settings import StackContext, child_opts
from ..secure_vpc import NetworkRef, check_network_ref, plan
from .checks import alb_clients, check, read_user_data
from .settings import HaAppTierSettings

COMPONENT = "ha-app-tier"

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
    (the peer a store admits) and the data services that group may reach."""

    name: str
    instance_security_group_id: pulumi.Output[str]
    data_services: frozenset[str]


class HaAppTier(pulumi.ComponentResource):
    """An application's launch template, Auto Scaling group, ALB (+ WAF, access logs),
    security groups, scaling policies, alarms and dashboard widgets."""

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
        services = tuple(sorted(set(data_services)))
        problems = check_network_ref(network) or check(
            name, settings, context=context, network=network.plan, data_services=services
        )
        raise_problems("HaAppTier", name, problems, HaAppTierSettings)
        user_data = read_user_data(settings)

        super().__init__("payments:index:HaAppTier", name, None, opts)
        self._name = name
        self._settings = settings
        self._context = context
        self._network = network
        self._env: AwsEnv = aws_env(self)

        self._alb_sg = self._alb_security_group()
        self._instance_sg = self._instance_security_group(services)
        bucket = self._access_log_bucket()
        self._alb = self._load_balancer(bucket)
        self._tg = self._target_group()
        https = self._listeners()
        self.web_acl_arn = self._web_acl() if settings.internet_facing else None
        key = self._ebs_key()
        template = self._launch_template(key, user_data)
        self._asg = self._auto_scaling_group(template)
        self._scaling_policies(https)
        self._alarms(alarm_topic_arn)
        self.dashboard_widgets = self._widgets()

        self.alb_dns_name = self._alb.dns_name
        self.alb_arn = self._alb.arn
        self.alb_zone_id = self._alb.zone_id
        self.target_group_arn = self._tg.arn
        self.asg_name = self._asg.name
        self.instance_security_group_id = self._instance_sg.id
        self.alb_security_group_id = self._alb_sg.id
        self.ref = AppRef(name, self._instance_sg.id, frozenset(services))
        self.access_log_bucket = bucket.bucket
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

    # --- helpers -------------------------------------------------------------------------

    def _tags(self, **extra: str) -> dict[str, str]:
        return self._context.tags(COMPONENT, app=self._name, **extra)

    def _opts(self, **kwargs: Any) -> pulumi.ResourceOptions:
        return child_opts(self, **kwargs)

    # --- security groups -----------------------------------------------------------------

    def _alb_security_group(self) -> aws.ec2.SecurityGroup:
        s, n = self._settings, self._name
        clients, _ = alb_clients(s, self._network.plan)
        ingress = [Rule("https", 443, cidrs=clients, description="HTTPS from clients")]
        if s.internet_facing:
            # Port 80 only ever answers with a 301 to HTTPS (see _listeners).
            ingress.append(Rule("http", 80, cidrs=clients, description="HTTP, redirected"))
        return restricted_security_group(
            f"{n}-alb",
            vpc_id=self._network.vpc_id,
            description=f"{n} ALB: HTTPS from clients, app port to the app tier",
            context=self._context,
            component=COMPONENT,
            ingress=ingress,
            # The ALB reaches targets (and health checks them) in the app tier only. A CIDR
            # rather than the instance SG keeps the two groups free of a creation cycle.
            egress=[
                Rule(
                    "app",
                    s.app_port,
                    cidrs={"app-tier": self._network.tier_cidrs["app"]},
                    description="to targets",
                )
            ],
            internet_facing_web=s.internet_facing,
            parent=self,
        )

    def _instance_security_group(self, services: tuple[str, ...]) -> aws.ec2.SecurityGroup:
        s, n = self._settings, self._name
        egress = [
            Rule(
                "https",
                443,
                # 443 out: package repositories and AWS APIs via the NAT gateway, and the
                # interface endpoints (SSM, KMS, logs ...) inside the VPC.
                cidrs={"internet": plan.ANYWHERE},
                security_groups={"endpoints": self._network.endpoint_security_group_id},
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
                    cidrs={"data-tier": self._network.tier_cidrs["data"]},
                    description=f"to the {service} data store",
                )
            )
        return restricted_security_group(
            f"{n}-instances",
            vpc_id=self._network.vpc_id,
            description=f"{n} instances: app port from the ALB only",
            context=self._context,
            component=COMPONENT,
            ingress=[
                Rule(
                    "app",
                    s.app_port,
                    security_groups={"alb": self._alb_sg.id},
                    description="from the ALB",
                )
            ],
            egress=egress,
            parent=self,
        )

    # --- access logs -----------------------------------------------------------------------

    def _access_log_bucket(self) -> aws.s3.Bucket:
        n, ctx = self._name, self._context
        bucket, pab = private_bucket(
            f"{n}-alb-logs",
            context=ctx,
            tags=self._tags(Name=f"{n}-alb-logs"),
            parent=self,
            # Nonprod may be torn down with its logs; prod logs are evidence (PCI DSS 10.5.1).
            force_destroy=not ctx.is_prod,
        )
        aws.s3.BucketServerSideEncryptionConfiguration(
            f"{n}-alb-logs",
            bucket=bucket.id,
            rules=[
                aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
                    # ALB access logs support only SSE-S3: ELB cannot write to a bucket
                    # whose default encryption is SSE-KMS (ELB user guide, "Enable access
                    # logs"; aws-cdk #21947). The logs hold no card data (PCI DSS 10.3.x
                    # protects them through access control and retention instead).
                    apply_server_side_encryption_by_default=aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                        sse_algorithm="AES256"
                    ),
                )
            ],
            opts=self._opts(),
        )
        days = self._settings.access_log_retention_days
        aws.s3.BucketLifecycleConfiguration(
            f"{n}-alb-logs",
            bucket=bucket.id,
            rules=[
                aws.s3.BucketLifecycleConfigurationRuleArgs(
                    id="expire-access-logs",
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
            opts=self._opts(),
        )
        self._log_policy = aws.s3.BucketPolicy(
            f"{n}-alb-logs",
            bucket=bucket.id,
            policy=self._log_bucket_policy(bucket),
            # S3 rejects concurrent policy and public-access-block changes on one bucket.
            opts=self._opts(depends_on=[pab]),
        )
        return bucket

    def _log_bucket_policy(self, bucket: aws.s3.Bucket) -> pulumi.Output[str]:
        env = self._env
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

    # --- load balancer -------------------------------------------------------------------

    def _load_balancer(self, bucket: aws.s3.Bucket) -> aws.lb.LoadBalancer:
        s, n = self._settings, self._name
        tier = "public" if s.internet_facing else "app"
        return aws.lb.LoadBalancer(
            f"{n}-alb",
            load_balancer_type="application",
            internal=not s.internet_facing,
            subnets=self._network.tier_subnet_ids(tier),
            security_groups=[self._alb_sg.id],
            drop_invalid_header_fields=True,
            enable_deletion_protection=self._context.is_prod,
            access_logs=aws.lb.LoadBalancerAccessLogsArgs(
                bucket=bucket.bucket, prefix=ACCESS_LOG_PREFIX, enabled=True
            ),
            tags=self._tags(Name=f"{n}-alb"),
            # ELB test-writes to the bucket when access logs are enabled: the policy first.
            opts=self._opts(depends_on=[self._log_policy]),
        )

    def _target_group(self) -> aws.lb.TargetGroup:
        s, n = self._settings, self._name
        hc = s.health_check
        return aws.lb.TargetGroup(
            f"{n}-tg",
            target_type="instance",
            port=s.app_port,
            protocol="HTTP",
            vpc_id=self._network.vpc_id,
            deregistration_delay=s.deregistration_delay_seconds,
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
            tags=self._tags(Name=f"{n}-tg"),
            opts=self._opts(),
        )

    def _listeners(self) -> aws.lb.Listener:
        s, n = self._settings, self._name
        https = aws.lb.Listener(
            f"{n}-https",
            load_balancer_arn=self._alb.arn,
            port=443,
            protocol="HTTPS",
            ssl_policy=s.tls_policy,
            certificate_arn=s.certificate_arn,
            default_actions=[
                aws.lb.ListenerDefaultActionArgs(type="forward", target_group_arn=self._tg.arn)
            ],
            tags=self._tags(),
            opts=self._opts(),
        )
        if s.internet_facing:
            # Browsers typing http:// land here; nothing is ever served in clear text.
            aws.lb.Listener(
                f"{n}-http",
                load_balancer_arn=self._alb.arn,
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
                tags=self._tags(),
                opts=self._opts(),
            )
        return https

    def _web_acl(self) -> pulumi.Output[str] | None:
        waf, n = self._settings.waf, self._name
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
            tags=self._tags(Name=f"{n}-waf"),
            opts=self._opts(),
        )
        aws.wafv2.WebAclAssociation(
            f"{n}-waf",
            resource_arn=self._alb.arn,
            web_acl_arn=acl.arn,
            opts=self._opts(),
        )
        return acl.arn

    # --- compute -----------------------------------------------------------------------

    def _ebs_key(self) -> aws.kms.Key:
        n, env, ctx = self._name, self._env, self._context
        # A custom-suffix Auto Scaling service-linked role for this app: the key policy must
        # name an existing principal (a key policy naming the default
        # AWSServiceRoleForAutoScaling fails in an account that never used Auto Scaling),
        # and only this app's ASG can use the key.
        self._slr = aws.iam.ServiceLinkedRole(
            f"{n}-autoscaling",
            aws_service_name="autoscaling.amazonaws.com",
            custom_suffix=f"{ctx.environment}-{n}",
            description=f"EC2 Auto Scaling for {n} ({ctx.environment})",
            tags=self._tags(),
            opts=self._opts(),
        )
        policy = policy_json(
            {
                "Version": "2012-10-17",
                "Statement": [
                    account_administers_key(env),
                    {
                        # Without these, the ASG's launches fail with
                        # "Client.InternalError: Client error on launch" (EBS cannot
                        # encrypt the root volume with a CMK the role may not use).
                        "Sid": "AutoScalingUsesKey",
                        "Effect": "Allow",
                        "Principal": {"AWS": self._slr.arn},
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
                        "Principal": {"AWS": self._slr.arn},
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
            context=ctx,
            component=COMPONENT,
            parent=self,
        )

    def _instance_profile(self) -> aws.iam.InstanceProfile:
        n, env = self._name, self._env
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
            tags=self._tags(),
            opts=self._opts(),
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
                opts=self._opts(),
            )
        return aws.iam.InstanceProfile(
            f"{n}-instance-profile",
            role=role.name,
            tags=self._tags(),
            opts=self._opts(),
        )

    def _image_id(self) -> pulumi.Input[str]:
        s = self._settings
        if s.ami_id is not None:
            return s.ami_id
        parameter = aws.ssm.get_parameter_output(
            name=AL2023_AMI_PARAMETERS[s.architecture],
            opts=pulumi.InvokeOutputOptions(parent=self),
        )
        # insecure_value: an AMI id is not a secret; `value` would mark the template secret.
        return parameter.insecure_value

    def _launch_template(self, key: aws.kms.Key, user_data: str | None) -> aws.ec2.LaunchTemplate:
        s, n = self._settings, self._name
        profile = self._instance_profile()
        tag_specs = [
            aws.ec2.LaunchTemplateTagSpecificationArgs(
                resource_type=kind, tags=self._tags(Name=f"{n}-{kind}")
            )
            for kind in ("instance", "volume", "network-interface")
        ]
        return aws.ec2.LaunchTemplate(
            f"{n}-lt",
            description=f"{n} app tier instances",
            image_id=self._image_id(),
            instance_type=s.instance_type,
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
                    security_groups=[self._instance_sg.id],
                )
            ],
            block_device_mappings=[
                aws.ec2.LaunchTemplateBlockDeviceMappingArgs(
                    device_name=s.root_device_name,
                    ebs=aws.ec2.LaunchTemplateBlockDeviceMappingEbsArgs(
                        volume_type="gp3",
                        volume_size=s.root_volume_size_gib,
                        encrypted="true",
                        kms_key_id=key.arn,
                        delete_on_termination="true",
                    ),
                )
            ],
            user_data=user_data,
            update_default_version=True,
            tag_specifications=tag_specs,
            tags=self._tags(Name=f"{n}-lt"),
            opts=self._opts(),
        )

    def _auto_scaling_group(self, template: aws.ec2.LaunchTemplate) -> aws.autoscaling.Group:
        s, n = self._settings, self._name
        return aws.autoscaling.Group(
            f"{n}-asg",
            vpc_zone_identifiers=self._network.tier_subnet_ids("app"),
            min_size=s.min_size,
            max_size=s.max_size,
            desired_capacity=s.desired_capacity,
            launch_template=aws.autoscaling.GroupLaunchTemplateArgs(
                id=template.id,
                # The explicit version number: a new template version is then a change to
                # the group, which starts the instance refresh ($Latest never does).
                version=template.latest_version.apply(str),
            ),
            target_group_arns=[self._tg.arn],
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
            service_linked_role_arn=self._slr.arn,
            enabled_metrics=list(GROUP_METRICS),
            metrics_granularity="1Minute",
            tags=[
                aws.autoscaling.GroupTagArgs(key=k, value=v, propagate_at_launch=False)
                for k, v in self._tags(Name=f"{n}-asg").items()
            ],
            # Scaling owns the desired capacity after creation (TFM asg #44, #72).
            opts=self._opts(ignore_changes=["desiredCapacity"]),
        )

    def _scaling_policies(self, https: aws.lb.Listener) -> None:
        s, n = self._settings, self._name
        aws.autoscaling.Policy(
            f"{n}-cpu",
            autoscaling_group_name=self._asg.name,
            policy_type="TargetTrackingScaling",
            target_tracking_configuration=aws.autoscaling.PolicyTargetTrackingConfigurationArgs(
                target_value=s.scaling.cpu_target_percent,
                predefined_metric_specification=aws.autoscaling.PolicyTargetTrackingConfigurationPredefinedMetricSpecificationArgs(
                    predefined_metric_type="ASGAverageCPUUtilization"
                ),
            ),
            opts=self._opts(),
        )
        aws.autoscaling.Policy(
            f"{n}-requests",
            autoscaling_group_name=self._asg.name,
            policy_type="TargetTrackingScaling",
            target_tracking_configuration=aws.autoscaling.PolicyTargetTrackingConfigurationArgs(
                target_value=float(s.scaling.requests_per_target),
                predefined_metric_specification=aws.autoscaling.PolicyTargetTrackingConfigurationPredefinedMetricSpecificationArgs(
                    predefined_metric_type="ALBRequestCountPerTarget",
                    resource_label=pulumi.Output.concat(
                        self._alb.arn_suffix, "/", self._tg.arn_suffix
                    ),
                ),
            ),
            # AWS rejects the resource label until the target group is behind the ALB.
            opts=self._opts(depends_on=[https]),
        )

    # --- monitoring ----------------------------------------------------------------------

    def _alarms(self, topic: pulumi.Input[str]) -> None:
        s, n = self._settings, self._name
        lb = {"LoadBalancer": self._alb.arn_suffix}
        tg = {"LoadBalancer": self._alb.arn_suffix, "TargetGroup": self._tg.arn_suffix}
        common: dict[str, Any] = {
            "parent": self,
            "context": self._context,
            "component": COMPONENT,
            "topic_arn": topic,
        }
        alb_ns = "AWS/ApplicationELB"
        metric_alarm(
            f"{n}-alb-5xx",
            description=f"{n}: the ALB returns 5xx (no healthy target, or ALB errors)",
            namespace=alb_ns,
            metric_name="HTTPCode_ELB_5XX_Count",
            dimensions=lb,
            statistic="Sum",
            threshold=s.alarms.elb_5xx_per_5_minutes,
            comparison="GreaterThanThreshold",
            evaluation_periods=1,
            treat_missing_data="notBreaching",
            **common,
        )
        metric_alarm(
            f"{n}-target-5xx",
            description=f"{n}: the application returns 5xx",
            namespace=alb_ns,
            metric_name="HTTPCode_Target_5XX_Count",
            dimensions=tg,
            statistic="Sum",
            threshold=s.alarms.target_5xx_per_5_minutes,
            comparison="GreaterThanThreshold",
            evaluation_periods=1,
            treat_missing_data="notBreaching",
            **common,
        )
        metric_alarm(
            f"{n}-unhealthy-hosts",
            description=f"{n}: at least one target fails its health check",
            namespace=alb_ns,
            metric_name="UnHealthyHostCount",
            dimensions=tg,
            statistic="Maximum",
            threshold=0,
            comparison="GreaterThanThreshold",
            period=60,
            evaluation_periods=5,
            datapoints_to_alarm=3,
            **common,
        )
        metric_alarm(
            f"{n}-latency-p99",
            description=f"{n}: p99 response time above {s.alarms.p99_latency_seconds}s",
            namespace=alb_ns,
            metric_name="TargetResponseTime",
            dimensions=tg,
            extended_statistic="p99",
            threshold=s.alarms.p99_latency_seconds,
            comparison="GreaterThanThreshold",
            period=300,
            evaluation_periods=2,
            treat_missing_data="notBreaching",
            **common,
        )
        metric_alarm(
            f"{n}-in-service",
            description=f"{n}: fewer in-service instances than minSize ({s.min_size})",
            namespace="AWS/AutoScaling",
            metric_name="GroupInServiceInstances",
            dimensions={"AutoScalingGroupName": self._asg.name},
            statistic="Minimum",
            threshold=s.min_size,
            comparison="LessThanThreshold",
            period=60,
            evaluation_periods=5,
            datapoints_to_alarm=5,
            # No data means the group is gone or metrics stopped: page someone.
            treat_missing_data="breaching",
            **common,
        )

    def _widgets(self) -> list[Widget]:
        n = self._name
        region = self._env.region
        alb: list[pulumi.Input[str]] = ["LoadBalancer", self._alb.arn_suffix]
        tg: list[pulumi.Input[str]] = [*alb, "TargetGroup", self._tg.arn_suffix]
        asg: list[pulumi.Input[str]] = ["AutoScalingGroupName", self._asg.name]
        ns = "AWS/ApplicationELB"
        return [
            metric_widget(f"{n} requests", [[ns, "RequestCount", *alb]], region=region, stat="Sum"),
            metric_widget(
                f"{n} 5xx",
                [[ns, "HTTPCode_ELB_5XX_Count", *alb], [ns, "HTTPCode_Target_5XX_Count", *tg]],
                region=region,
                stat="Sum",
            ),
            metric_widget(
                f"{n} latency p99", [[ns, "TargetResponseTime", *tg]], region=region, stat="p99"
            ),
            metric_widget(
                f"{n} healthy hosts",
                [[ns, "HealthyHostCount", *tg], [ns, "UnHealthyHostCount", *tg]],
                region=region,
                stat="Minimum",
            ),
            metric_widget(
                f"{n} in-service instances",
                [["AWS/AutoScaling", "GroupInServiceInstances", *asg]],
                region=region,
                stat="Minimum",
            ),
            metric_widget(
                f"{n} CPU", [["AWS/EC2", "CPUUtilization", *asg]], region=region, stat="Average"
            ),
        ]
