"""What AWS does with the app tier of the real stacks, checked on their plans.

Mocks accept any log destination, bucket policy, role or alarm. These tests read the planned
documents the way the AWS service will, each stating the rule it encodes and the page it comes
from: WAF can deliver its logs and CloudWatch Logs can encrypt them, S3 can deliver the server
access logs of the ALB log buckets, the instances may read their agent configuration and take
themselves out, the patch window may patch this app's instances and no others, the alarms
compare what the services publish, and GuardDuty's runtime agent can run and report. The
controls themselves (each app of each stack has them) are checked here too, on the plan of the
real stacks.
"""

from __future__ import annotations

import ipaddress
import json
from typing import Any

import pytest
from fidelity import (
    Request,
    alarm_fires,
    allows,
    bucket_policy,
    log_resource_policies,
    logs_key_denials,
    role_allows,
    role_of,
)

from components.ha_app_tier import host
from components.testing import Plan, Registered

from conftest import StackPlanner

STACKS = ["prod", "nonprod"]
APP = "payments:index:HaAppTier"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
WAF_LOGGING = "aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration"
BUCKET = "aws:s3/bucket:Bucket"
BUCKET_LOGGING = "aws:s3/bucketLogging:BucketLogging"


@pytest.fixture(params=STACKS)
def plan(request: pytest.FixtureRequest, stack_plan: StackPlanner) -> Plan:
    return stack_plan(request.param)


def apps(plan: Plan) -> dict[str, list[Registered]]:
    """Each app of the stack and everything it builds."""
    found = {a.name: plan.descendants_of(a) for a in plan.every(APP)}
    assert found
    return found


def only(resources: list[Registered], type_: str, name: str | None = None) -> Registered:
    (found,) = [r for r in resources if r.type == type_ and (name is None or r.name == name)]
    return found


def account_and_region(plan: Plan) -> tuple[str, str]:
    arn = plan.every(LOG_GROUP)[0].outputs["arn"]
    parts = arn.split(":")
    return parts[4], parts[3]


# --- the controls are there, for every app of every stack -----------------------------------


def test_every_app_has_its_logging_patching_and_file_integrity_controls(plan: Plan) -> None:
    """PCI DSS 6.3.3 (baseline, scan, install window, instance lifetime), 10.2 (agent
    configuration, server access logs), 11.5.2 (file-integrity association): in prod and in
    nonprod alike (nonprod runs the same code, with 90-day logs)."""
    for app, resources in apps(plan).items():
        kinds = {r.type for r in resources}
        for kind in (
            "aws:ssm/parameter:Parameter",
            "aws:ssm/patchBaseline:PatchBaseline",
            "aws:ssm/patchGroup:PatchGroup",
            "aws:ssm/maintenanceWindowTask:MaintenanceWindowTask",
            BUCKET_LOGGING,
        ):
            assert kind in kinds, (app, kind)
        associations = {r.name for r in resources if r.type == "aws:ssm/association:Association"}
        assert associations == {f"{app}-patch-scan", f"{app}-fim-check"}
        asg = only(resources, "aws:autoscaling/group:Group")
        assert asg.inputs["maxInstanceLifetime"] == 30 * 86400, app


def test_every_internet_facing_alb_of_the_stack_logs_its_web_acl(plan: Plan) -> None:
    """Security Hub WAF.11 / PCI DSS 6.4.2: every web ACL logs; prod keeps the logs 365 days."""
    acls = plan.every("aws:wafv2/webAcl:WebAcl")
    configs = plan.every(WAF_LOGGING)
    assert sorted(c.inputs["resourceArn"] for c in configs) == sorted(
        a.outputs["arn"] for a in acls
    )
    for config in configs:
        (destination,) = config.inputs["logDestinationConfigs"]
        (group,) = [g for g in plan.every(LOG_GROUP) if g.outputs["arn"] == destination]
        days = 365 if group.inputs["tags"]["environment"] == "prod" else 90
        assert group.inputs["retentionInDays"] == days


# --- WAF and CloudWatch Logs ----------------------------------------------------------------


def test_waf_can_deliver_its_logs_and_only_into_its_own_group(plan: Plan) -> None:
    """WAF delivers to CloudWatch Logs as delivery.logs.amazonaws.com, which may write only
    where a log resource policy lets it (logs:CreateLogStream and logs:PutLogEvents on the
    group's streams, with aws:SourceAccount and aws:SourceArn ``arn:aws:logs:<region>:
    <account>:*``): CloudWatch Logs User Guide, "Enabling logging from AWS services", "Logs
    sent to CloudWatch Logs". The destination's name must start with aws-waf-logs- (WAF
    Developer Guide, "AWS WAF logging destinations")."""
    account, region = account_and_region(plan)
    policies = log_resource_policies(plan)
    for config in plan.every(WAF_LOGGING):
        (group_arn,) = config.inputs["logDestinationConfigs"]
        assert group_arn.split(":")[6].startswith("aws-waf-logs-")
        source = f"arn:aws:logs:{region}:{account}:delivery-source:waf-acl"
        for action in ("logs:CreateLogStream", "logs:PutLogEvents"):
            request = Request(
                action,
                resource=f"{group_arn}:log-stream:aws-waf-logs-stream",
                principal={"Service": "delivery.logs.amazonaws.com"},
                context={"aws:SourceAccount": account, "aws:SourceArn": source},
            )
            assert any(allows(p, request) for p in policies), (action, group_arn)
        stranger = Request(
            "logs:PutLogEvents",
            resource=f"{group_arn}:log-stream:x",
            principal={"Service": "delivery.logs.amazonaws.com"},
            context={
                "aws:SourceAccount": "999999999999",
                "aws:SourceArn": "arn:aws:logs:us-east-1:999999999999:delivery-source:x",
            },
        )
        assert not any(allows(p, stranger) for p in policies), "confused deputy"
        elsewhere = Request(
            "logs:PutLogEvents",
            resource=f"arn:aws:logs:{region}:{account}:log-group:/other:log-stream:x",
            principal={"Service": "delivery.logs.amazonaws.com"},
            context={"aws:SourceAccount": account, "aws:SourceArn": source},
        )
        policy = next(
            p
            for p in plan.every("aws:cloudwatch/logResourcePolicy:LogResourcePolicy")
            if p.urn in config.dependencies
        )
        assert not allows(policy.inputs["policyDocument"], elsewhere)


def test_cloudwatch_logs_may_encrypt_every_log_group_of_the_app_tier(plan: Plan) -> None:
    """A group with a CMK receives events only if the key policy lets
    logs.<region>.amazonaws.com use it with the group's encryption context; otherwise the
    agent's, WAF's and Run Command's PutLogEvents fail. https://docs.aws.amazon.com/
    AmazonCloudWatch/latest/logs/encrypt-log-data-kms.html"""
    for app, resources in apps(plan).items():
        groups = [r for r in resources if r.type == LOG_GROUP]
        assert len(groups) >= 4, app
        for group in groups:
            assert logs_key_denials(plan, group) == [], group.name


# --- S3 server access logs ------------------------------------------------------------------


def test_s3_can_deliver_the_alb_log_buckets_server_access_logs(plan: Plan) -> None:
    """S3 writes server access logs as logging.s3.amazonaws.com, allowed s3:PutObject by the
    target's bucket policy (ACLs are disabled), with aws:SourceArn the source bucket and
    aws:SourceAccount; the target's default encryption may only be SSE-S3 and it cannot use
    Object Lock. Amazon S3 User Guide, "Enabling Amazon S3 server access logging"."""
    account, _ = account_and_region(plan)
    loggings = [r for rs in apps(plan).values() for r in rs if r.type == BUCKET_LOGGING]
    buckets = {b.outputs["id"]: b for b in plan.every(BUCKET)}
    for logging in loggings:
        source, target = buckets[logging.inputs["bucket"]], buckets[logging.inputs["targetBucket"]]
        assert source.name.endswith("-alb-logs") and source != target
        assert "objectLockEnabled" not in target.inputs
        policy = bucket_policy(plan, target)
        key = f"{target.outputs['arn']}/{logging.inputs['targetPrefix']}2026-01-01-00-00-00-ABC"
        delivery = Request(
            "s3:PutObject",
            resource=key,
            principal={"Service": "logging.s3.amazonaws.com"},
            context={
                "aws:SourceArn": source.outputs["arn"],
                "aws:SourceAccount": account,
                "aws:SecureTransport": "true",
            },
        )
        assert allows(policy, delivery), target.name
        other = Request(
            "s3:PutObject",
            resource=key,
            principal={"Service": "logging.s3.amazonaws.com"},
            context={
                "aws:SourceArn": "arn:aws:s3:::someone-elses-bucket",
                "aws:SourceAccount": account,
                "aws:SecureTransport": "true",
            },
        )
        assert not allows(policy, other), "only this source bucket logs here"
        (sse,) = [
            r
            for r in plan.of_type(
                "aws:s3/bucketServerSideEncryptionConfiguration:"
                "BucketServerSideEncryptionConfiguration"
            )
            if r.inputs["bucket"] == target.outputs["id"]
        ]
        assert sse.inputs["rules"][0]["applyServerSideEncryptionByDefault"] == {
            "sseAlgorithm": "AES256"
        }
    # every ALB log bucket is a source
    alb_buckets = {b.outputs["id"] for b in plan.every(BUCKET) if b.name.endswith("-alb-logs")}
    assert alb_buckets and alb_buckets == {r.inputs["bucket"] for r in loggings}


# --- the instances' role ----------------------------------------------------------------------


def instance_role(plan: Plan, resources: list[Registered]) -> Registered:
    profile = only(resources, "aws:iam/instanceProfile:InstanceProfile")
    (role,) = [
        r for r in plan.every("aws:iam/role:Role") if r.outputs["name"] == profile.inputs["role"]
    ]
    return role


def test_instances_read_their_own_agent_configuration_and_take_only_themselves_out(
    plan: Plan,
) -> None:
    """GetParameter (the agent's ``ssm:`` configuration) and SetInstanceHealth take
    resource-level permissions: the parameter's ARN, the group's ARN (Service Authorization
    Reference, AWS Systems Manager and Amazon EC2 Auto Scaling). An app's role reaches its
    own, never another app's."""
    found = apps(plan)
    assert len(found) >= 2, "two apps to tell apart"
    for app, resources in found.items():
        role = instance_role(plan, resources)
        parameter = only(resources, "aws:ssm/parameter:Parameter")
        asg = only(resources, "aws:autoscaling/group:Group")
        assert role_allows(plan, role, Request("ssm:GetParameter", parameter.outputs["arn"]))
        assert role_allows(plan, role, Request("autoscaling:SetInstanceHealth", asg.outputs["arn"]))
        for other, theirs in found.items():
            if other == app:
                continue
            other_asg = only(theirs, "aws:autoscaling/group:Group")
            assert not role_allows(
                plan, role, Request("autoscaling:SetInstanceHealth", other_asg.outputs["arn"])
            ), (app, other)


def test_the_ssm_agent_may_read_the_aws_owned_buckets_patching_needs(plan: Plan) -> None:
    """Behind an S3 VPC endpoint, the instance profile must allow the AWS-managed buckets
    the SSM agent reads (patch baseline snapshots, Run Command and Distributor packages such
    as the GuardDuty agent): Systems Manager User Guide, "SSM Agent communications with AWS
    managed S3 buckets", "Reference: Amazon S3 buckets for patching operations"."""
    _, region = account_and_region(plan)
    for resources in apps(plan).values():
        role = instance_role(plan, resources)
        for bucket in (f"patch-baseline-snapshot-{region}", f"aws-ssm-{region}"):
            request = Request("s3:GetObject", f"arn:aws:s3:::{bucket}/x")
            assert role_allows(plan, role, request), bucket
        assert not role_allows(plan, role, Request("s3:GetObject", "arn:aws:s3:::any-bucket/x"))


# --- the patch window ------------------------------------------------------------------------


def may_send(plan: Plan, role: Registered, resource: str, patch_group: str | None = None) -> bool:
    """Whether ``role`` may SendCommand to ``resource`` (an instance tagged ``patch_group``)."""
    context = {"ssm:resourceTag/PatchGroup": patch_group} if patch_group else {}
    return role_allows(plan, role, Request("ssm:SendCommand", resource, context=context))


def test_the_patch_window_may_patch_this_apps_instances_and_no_others(plan: Plan) -> None:
    """SendCommand is authorised on the document and on each instance it targets; an
    instance is selected by its tags through ``ssm:resourceTag/<key>`` (Systems Manager User
    Guide, "Restricting access to managed nodes based on tags"). The window assumes its role
    as ssm.amazonaws.com ("Setting up Maintenance Windows")."""
    account, region = account_and_region(plan)
    found = apps(plan)
    groups = {
        app: only(resources, "aws:ssm/patchGroup:PatchGroup").inputs["patchGroup"]
        for app, resources in found.items()
    }
    for app, resources in found.items():
        task = only(resources, "aws:ssm/maintenanceWindowTask:MaintenanceWindowTask")
        role = role_of(plan, task.inputs["serviceRoleArn"])
        assume = Request(
            "sts:AssumeRole",
            role.outputs["arn"],
            principal={"Service": "ssm.amazonaws.com"},
            context={"aws:SourceAccount": account},
        )
        assert allows(role.inputs["assumeRolePolicy"], assume)
        document = f"arn:aws:ssm:{region}::document/{task.inputs['taskArn']}"
        instance = f"arn:aws:ec2:{region}:{account}:instance/i-0123456789abcdef0"

        assert may_send(plan, role, document)
        assert may_send(plan, role, instance, groups[app])
        assert not may_send(plan, role, f"arn:aws:ssm:{region}::document/AWS-RunShellScript")
        assert not may_send(plan, role, instance), "an untagged instance"
        for other, group in groups.items():
            if other != app:
                assert not may_send(plan, role, instance, group), (app, other)


# --- alarms ---------------------------------------------------------------------------------


def test_every_alarm_of_the_app_tier_evaluates_within_cloudwatchs_limits(plan: Plan) -> None:
    """PutMetricAlarm refuses an evaluation range (Period x EvaluationPeriods) over 7 days, or
    over one day for a period under an hour (CloudWatch API Reference, PutMetricAlarm,
    Period)."""
    for resources in apps(plan).values():
        alarms = [r for r in resources if r.type == ALARM]
        assert alarms
        for alarm in alarms:
            period, periods = alarm.inputs["period"], alarm.inputs["evaluationPeriods"]
            limit = 86400 if period < 3600 else 7 * 86400
            assert period * periods <= limit, alarm.name


def test_the_blocked_requests_alarm_reads_what_waf_publishes(plan: Plan) -> None:
    """WAF publishes BlockedRequests in AWS/WAFV2 per minute, with the dimensions WebACL (the
    web ACL's name), Region (of a regional web ACL) and Rule (ALL for the web ACL's total),
    only when the count is not zero ("AWS WAF metrics and dimensions"). A dimension that
    differs (the visibility metric name instead of the web ACL's name, a missing Region) is
    another metric, which never has data: the alarm would stay silent in an attack (the AWS
    WAF Security Automations solution shipped that bug: aws-waf-security-automations #145)."""
    _, region = account_and_region(plan)
    for config in plan.every(WAF_LOGGING):
        (acl,) = [
            a
            for a in plan.every("aws:wafv2/webAcl:WebAcl")
            if a.outputs["arn"] == config.inputs["resourceArn"]
        ]
        (alarm,) = [
            a
            for a in plan.every(ALARM)
            if a.inputs.get("metricName") == "BlockedRequests"
            and a.inputs["dimensions"].get("WebACL") == acl.outputs["name"]
        ]
        assert alarm.inputs["namespace"] == "AWS/WAFV2"
        assert alarm.inputs["dimensions"] == {
            "WebACL": acl.outputs["name"],
            "Region": region,
            "Rule": "ALL",
        }
        assert not alarm_fires(alarm, None), "no data is no blocked request"
        assert alarm_fires(alarm, alarm.inputs["threshold"] + 1)


def test_file_integrity_alarms_fire_on_a_change_and_on_silence(plan: Plan) -> None:
    """PCI DSS 11.5.2: personnel are alerted to a change; 10.7.2: to a monitor that stopped.
    The metric filters publish only when a report line matches, so no data means no change
    for the first alarm, and no comparison at all for the second."""
    for app, resources in apps(plan).items():
        changes = only(resources, ALARM, f"{app}-fim-changes")
        silent = only(resources, ALARM, f"{app}-fim-silent")
        assert alarm_fires(changes, 1) and not alarm_fires(changes, None)
        assert alarm_fires(silent, None) and not alarm_fires(silent, 1)
        filters = {
            r.inputs["metricTransformation"]["name"]: r.inputs
            for r in resources
            if r.type == "aws:cloudwatch/logMetricFilter:LogMetricFilter"
        }
        for alarm in (changes, silent):
            metric = filters[alarm.inputs["metricName"]]["metricTransformation"]
            assert metric["namespace"] == alarm.inputs["namespace"]
        config = json.loads(only(resources, "aws:ssm/parameter:Parameter").inputs["insecureValue"])
        shipped = {
            f["file_path"]: f["log_group_name"]
            for f in config["logs"]["logs_collected"]["files"]["collect_list"]
        }
        fim_group = {f["logGroupName"] for f in filters.values()}
        assert fim_group == {shipped[host.FIM_LOG]}, "the filters read what the agent ships"


# --- GuardDuty Runtime Monitoring -------------------------------------------------------------


def covers(cidr: str, network: str) -> bool:
    return ipaddress.ip_network(network).subnet_of(ipaddress.ip_network(cidr))  # type: ignore[arg-type]


def test_guardduty_runtime_monitoring_can_manage_and_hear_its_agent_on_the_hosts(
    plan: Plan,
) -> None:
    """GuardDuty installs its agent through Systems Manager (the instance must be SSM managed:
    AmazonSSMManagedInstanceCore and the ssm, ssmmessages, ec2messages endpoints), the agent
    authenticates with the instance identity role (IMDS enabled), and it reports to the
    guardduty-data VPC endpoint GuardDuty creates in the VPC, in a subnet of its choosing,
    with its own security group ("Prerequisites for Amazon EC2 instance support", "How the
    security agent connects to GuardDuty"): the hosts must reach 443 anywhere in the VPC, or
    the network must provide the endpoint behind the endpoints' security group. Supported
    CPUs: x86_64 and Graviton2 or later (not a1)."""
    services = {
        e.inputs["serviceName"].rsplit(".", 1)[-1]: e
        for e in plan.every("aws:ec2/vpcEndpoint:VpcEndpoint")
    }
    assert {"ssm", "ssmmessages", "ec2messages"} <= set(services)
    (vpc,) = plan.every("aws:ec2/vpc:Vpc")
    vpc_cidr = vpc.inputs["cidrBlock"]
    for app, resources in apps(plan).items():
        role = instance_role(plan, resources)
        attached = {
            a.inputs["policyArn"].rsplit("/", 1)[-1]
            for a in plan.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
            if a.inputs["role"] == role.outputs["name"]
        }
        assert "AmazonSSMManagedInstanceCore" in attached, app
        template = only(resources, "aws:ec2/launchTemplate:LaunchTemplate")
        assert template.inputs["metadataOptions"]["httpEndpoint"] == "enabled"
        assert not template.inputs["instanceType"].startswith("a1."), app
        group = only(resources, "aws:ec2/securityGroup:SecurityGroup", f"{app}-instances")
        https: list[dict[str, Any]] = [
            r.inputs
            for r in plan.of_type("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule")
            if r.inputs["securityGroupId"] == group.outputs["id"]
            and r.inputs["fromPort"] <= 443 <= r.inputs["toPort"]
        ]
        to_vpc = any(r.get("cidrIpv4") and covers(r["cidrIpv4"], vpc_cidr) for r in https)
        guardduty = services.get("guardduty-data")
        to_endpoint = guardduty is not None and any(
            r.get("referencedSecurityGroupId") in guardduty.inputs.get("securityGroupIds", [])
            for r in https
        )
        assert to_vpc or to_endpoint, app
