"""What AWS checks when the landing zone's services deliver, on the real prod and management
plans: each delivery is evaluated through ``components.iam_check`` against the policies the
plan builds, with the principal and the request context the service really uses.

Mocks accept every delivery. AWS does not: CloudTrail, AWS Config, CloudWatch, EventBridge,
Budgets and DMS each write to a bucket, a key, a log group or a topic under rules of their
own, and a missing grant fails at deploy (``InsufficientDeliveryPolicyException``) or,
worse, silently at run time (an alarm nobody hears).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

import pytest

from components.iam_check import Request, allows, decide
from components.testing import Plan, Registered
from tests.conftest import StackPlanner
from tests.fidelity import bucket_policy, key_policy, role_allows, role_of, topic_policy

TRAIL = "aws:cloudtrail/trail:Trail"
RECORDER = "aws:cfg/recorder:Recorder"
CHANNEL = "aws:cfg/deliveryChannel:DeliveryChannel"
BUCKET = "aws:s3/bucket:Bucket"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
RULE = "aws:cloudwatch/eventRule:EventRule"
TARGET = "aws:cloudwatch/eventTarget:EventTarget"
TOPIC = "aws:sns/topic:Topic"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
BUDGET = "aws:budgets/budget:Budget"
DMS_EVENTS = "aws:dms/eventSubscription:EventSubscription"
PROVIDER = "pulumi:providers:aws"

#: The region where EventBridge receives the CloudTrail events of global services.
GLOBAL_EVENTS_REGION = "us-east-1"

STACKS = ("prod", "management")


@pytest.fixture(params=STACKS)
def plan(request: pytest.FixtureRequest, stack_plan: StackPlanner) -> Plan:
    return stack_plan(request.param)


# --- reading the plan ---------------------------------------------------------------------


def _doc(value: Any) -> dict[str, Any]:
    return json.loads(value) if isinstance(value, str) else dict(value)


def the(plan: Plan, type_: str) -> Registered:
    (found,) = plan.every(type_)
    return found


def account_trail(plan: Plan) -> Registered:
    """The landing zone's own trail of the account (a management plan also has the
    organization trail, which delivers to the log-archive account)."""
    (trail,) = [t for t in plan.every(TRAIL) if not t.inputs.get("isOrganizationTrail")]
    return trail


def account_of(plan: Plan) -> str:
    return str(account_trail(plan).outputs["arn"]).split(":")[4]


def region_of(plan: Plan, resource: Registered) -> str:
    """The region a resource lives in: its provider's (every resource of the real stacks has
    an explicit provider)."""
    provider = plan.by_urn(resource.provider.rsplit("::", 1)[0])
    assert provider.type == PROVIDER, provider.type
    return str(provider.inputs["region"])


def home_region(plan: Plan) -> str:
    return region_of(plan, account_trail(plan))


def secure(**context: str) -> dict[str, str]:
    """A request context over TLS (every bucket and topic here denies anything else)."""
    return {"aws:SecureTransport": "true", **context}


def trail_bucket(plan: Plan) -> Registered:
    bucket_id = account_trail(plan).inputs["s3BucketName"]
    (bucket,) = [b for b in plan.every(BUCKET) if b.outputs["id"] == bucket_id]
    return bucket


def service(name: str) -> dict[str, str]:
    return {"Service": name}


# --- CloudTrail ---------------------------------------------------------------------------


def test_cloudtrail_may_check_and_write_its_bucket_with_its_key(plan: Plan) -> None:
    """CloudTrail checks the bucket ACL, then writes each log file to
    ``<prefix>/AWSLogs/<account>/CloudTrail/<region>/...`` with the
    ``bucket-owner-full-control`` ACL, SSE-KMS with the trail's key, and ``aws:SourceArn``
    the trail's ARN; it generates the data key itself as ``cloudtrail.amazonaws.com`` with
    the ``aws:cloudtrail:arn`` encryption context (AWS CloudTrail User Guide, "Amazon S3
    bucket policy for CloudTrail" and "Configure AWS KMS key policies for CloudTrail")."""
    trail = account_trail(plan)
    account, region = account_of(plan), home_region(plan)
    bucket = trail_bucket(plan)
    policy = bucket_policy(plan, bucket)
    key_arn = str(trail.inputs["kmsKeyId"])
    source = {"aws:SourceArn": trail.outputs["arn"], "aws:SourceAccount": account}
    acl = Request("s3:GetBucketAcl", bucket.outputs["arn"], service("cloudtrail.amazonaws.com"))
    assert allows(policy, Request(acl.action, acl.resource, acl.principal, secure(**source)))
    prefix = trail.inputs["s3KeyPrefix"]
    log_file = (
        f"{bucket.outputs['arn']}/{prefix}/AWSLogs/{account}/CloudTrail/{region}/2025/01/01/"
        f"{account}_CloudTrail_{region}_20250101T0000Z_abc.json.gz"
    )
    put = secure(
        **source,
        **{
            "s3:x-amz-acl": "bucket-owner-full-control",
            "s3:x-amz-server-side-encryption": "aws:kms",
            "s3:x-amz-server-side-encryption-aws-kms-key-id": key_arn,
        },
    )
    assert allows(
        policy, Request("s3:PutObject", log_file, service("cloudtrail.amazonaws.com"), put)
    )
    encrypt = Request(
        "kms:GenerateDataKey",
        key_arn,
        service("cloudtrail.amazonaws.com"),
        {**source, "kms:EncryptionContext:aws:cloudtrail:arn": trail.outputs["arn"]},
    )
    assert allows(key_policy(plan, key_arn), encrypt)


def test_cloudtrail_may_write_its_log_group_through_its_role(plan: Plan) -> None:
    """CloudTrail assumes the trail's CloudWatch Logs role (trusting
    ``cloudtrail.amazonaws.com``) and calls ``logs:CreateLogStream`` and ``logs:PutLogEvents``
    on the stream ``<account>_CloudTrail_<region>`` of its log group; CloudWatch Logs
    encrypts the group with its key as ``logs.<region>.amazonaws.com`` under the
    ``aws:logs:arn`` encryption context (CloudTrail User Guide, "Sending events to CloudWatch
    Logs"; CloudWatch Logs User Guide, "Encrypt log data in CloudWatch Logs using AWS KMS")."""
    trail = account_trail(plan)
    account, region = account_of(plan), home_region(plan)
    role = role_of(plan, str(trail.inputs["cloudWatchLogsRoleArn"]))
    assume = Request(
        "sts:AssumeRole", role.outputs["arn"], service("cloudtrail.amazonaws.com"),
        {"aws:SourceAccount": account},
    )  # fmt: skip
    assert allows(_doc(role.inputs["assumeRolePolicy"]), assume)
    group_arn = str(trail.inputs["cloudWatchLogsGroupArn"]).removesuffix(":*")
    (group,) = [g for g in plan.every(LOG_GROUP) if g.outputs["arn"] == group_arn]
    stream = f"{group_arn}:log-stream:{account}_CloudTrail_{region}"
    for action in ("logs:CreateLogStream", "logs:PutLogEvents"):
        assert role_allows(plan, role, Request(action, stream)), action
    key_arn = str(group.inputs["kmsKeyId"])
    encrypt = Request(
        "kms:GenerateDataKey",
        key_arn,
        service(f"logs.{region}.amazonaws.com"),
        {"kms:EncryptionContext:aws:logs:arn": group_arn},
    )
    assert allows(key_policy(plan, key_arn), encrypt)


# --- AWS Config ---------------------------------------------------------------------------


def test_config_delivers_to_its_bucket_and_key_as_the_recorders_role(plan: Plan) -> None:
    """With a customer role on the recorder (not the ``AWSServiceRoleForConfig``
    service-linked role), AWS Config delivers to a bucket of its own account AS THAT ROLE:
    ``PutDeliveryChannel`` checks the bucket (``s3:GetBucketAcl``, HeadBucket =
    ``s3:ListBucket``) and writes ``ConfigWritabilityCheckFile`` under
    ``<prefix>/AWSLogs/<account>/Config/`` with the ``bucket-owner-full-control`` ACL, SSE-KMS
    with the channel's key; S3 asks KMS for the data key with the role's credentials
    (``kms:ViaService`` s3). The ``AWS_ConfigRole`` managed policy grants none of this
    (AWS Config Developer Guide, "Permissions for the IAM Role Assigned to AWS Config",
    "Permissions for the Amazon S3 Bucket for the AWS Config Delivery Channel", "Permissions
    for the KMS Key for the AWS Config Delivery Channel")."""
    recorder, channel = the(plan, RECORDER), the(plan, CHANNEL)
    account, region = account_of(plan), home_region(plan)
    role = role_of(plan, str(recorder.inputs["roleArn"]))
    assume = Request(
        "sts:AssumeRole", role.outputs["arn"], service("config.amazonaws.com"),
        {"aws:SourceAccount": account},
    )  # fmt: skip
    assert allows(_doc(role.inputs["assumeRolePolicy"]), assume)
    (bucket,) = [b for b in plan.every(BUCKET) if b.outputs["id"] == channel.inputs["s3BucketName"]]
    policy = bucket_policy(plan, bucket)
    key_arn = str(channel.inputs["s3KmsKeyArn"])
    as_role = {"AWS": str(role.outputs["arn"])}
    checks = [
        Request("s3:GetBucketAcl", bucket.outputs["arn"], as_role, secure()),
        Request("s3:ListBucket", bucket.outputs["arn"], as_role, secure()),
        Request(
            "s3:PutObject",
            f"{bucket.outputs['arn']}/{channel.inputs['s3KeyPrefix']}/AWSLogs/{account}/Config/"
            "ConfigWritabilityCheckFile",
            as_role,
            secure(
                **{
                    "s3:x-amz-acl": "bucket-owner-full-control",
                    "s3:x-amz-server-side-encryption": "aws:kms",
                    "s3:x-amz-server-side-encryption-aws-kms-key-id": key_arn,
                }
            ),
        ),
    ]
    for request in checks:
        # same account: the role's own policy grants, the bucket policy must not deny
        assert role_allows(plan, role, request), request.action
        assert decide(policy, request) != "deny", request.action
    for action in ("kms:GenerateDataKey", "kms:Decrypt"):
        request = Request(
            action, key_arn, as_role, {"kms:ViaService": f"s3.{region}.amazonaws.com"}
        )
        # the key policy delegates to IAM (the account root), the role's policy grants
        assert allows(key_policy(plan, key_arn), request), action
        assert role_allows(plan, role, request), action


# --- the alarm and security topics ------------------------------------------------------------


def publishers(plan: Plan, topic_arn: str) -> Iterator[tuple[str, Registered]]:
    """(service principal, resource) of everything in the plan that publishes to the topic
    (a stack may have none of a kind: the tests assert what they expect to find)."""
    rules = {r.outputs["name"]: r for r in plan.of_type(RULE)}
    for resource in plan:
        inputs = resource.inputs
        if resource.type == ALARM:
            if topic_arn in [*inputs.get("alarmActions", []), *inputs.get("okActions", [])]:
                yield "cloudwatch.amazonaws.com", resource
        elif resource.type == BUDGET:
            notifications = inputs["notifications"]
            if any(topic_arn in n.get("subscriberSnsTopicArns", []) for n in notifications):
                yield "budgets.amazonaws.com", resource
        elif resource.type == DMS_EVENTS:
            if inputs["snsTopicArn"] == topic_arn:
                yield "dms.amazonaws.com", resource
        elif resource.type == TARGET and inputs["arn"] == topic_arn:
            yield "events.amazonaws.com", rules[inputs["rule"]]


def publish_allowed(plan: Plan, topic: Registered, principal: str, source: Registered) -> bool:
    """SNS lets ``principal`` publish on behalf of ``source`` (its ``aws:SourceArn``, in this
    account), and, the topic being encrypted, the key lets the service generate and decrypt
    the data key (SNS User Guide, "Encryption at rest": "Enable compatibility between event
    sources from AWS services and encrypted topics")."""
    context = {"aws:SourceAccount": account_of(plan), "aws:SourceArn": str(source.outputs["arn"])}
    publish = Request("sns:Publish", topic.outputs["arn"], service(principal), secure(**context))
    if not allows(topic_policy(plan, topic.outputs["arn"]), publish):
        return False
    key = key_policy(plan, str(topic.inputs["kmsMasterKeyId"]))
    return all(
        allows(key, Request(action, "*", service(principal), context))
        for action in ("kms:GenerateDataKey", "kms:Decrypt")
    )


@pytest.mark.parametrize("output", ["alarmTopicArn", "securityTopicArn"])
def test_every_publisher_of_the_topics_may_publish_and_use_the_key(plan: Plan, output: str) -> None:
    """Each service that sends to the alarm or security topic (CloudWatch alarms, AWS
    Budgets, DMS event subscriptions, EventBridge rules) is allowed by the topic policy and
    by the notifications key policy: an encrypted topic whose key does not admit the
    publisher drops its messages without an error anyone sees (SNS User Guide, "Encryption
    at rest"; Budgets User Guide, "Creating an Amazon SNS topic for budget notifications";
    DMS User Guide, "Working with Amazon SNS events")."""
    topic_arn = plan.stack_outputs[output]
    (topic,) = [t for t in plan.every(TOPIC) if t.outputs["arn"] == topic_arn]
    found = list(publishers(plan, topic_arn))
    assert found, f"nothing publishes to {output}"
    for principal, source in found:
        assert publish_allowed(plan, topic, principal, source), (principal, source.name)


def test_prod_alarms_budget_dms_and_findings_all_publish(stack_plan: StackPlanner) -> None:
    """In prod every kind of publisher is present, so the test above checks each: CloudWatch
    alarms, the budget and DMS event subscriptions on the alarm topic, and the migration's
    EventBridge rules (MGN events); EventBridge rules on the security topic."""
    plan = stack_plan("prod")
    alarm = {p for p, _ in publishers(plan, plan.stack_outputs["alarmTopicArn"])}
    security = {p for p, _ in publishers(plan, plan.stack_outputs["securityTopicArn"])}
    assert alarm == {
        "cloudwatch.amazonaws.com",
        "budgets.amazonaws.com",
        "dms.amazonaws.com",
        "events.amazonaws.com",
    }
    assert security == {"events.amazonaws.com"}


# --- root activity from us-east-1 ----------------------------------------------------------------


def _matches(pattern: Any, value: Any) -> bool:
    """An EventBridge pattern against an event field, for the operators used here: exact
    values, ``prefix``, ``numeric``, ``exists`` and ``anything-but`` (EventBridge User Guide,
    "Event patterns" and "Content filtering")."""
    if isinstance(pattern, Mapping):
        if not isinstance(value, Mapping):
            return False
        return all(
            _field_matches(rule, value.get(key), key in value) for key, rule in pattern.items()
        )
    raise AssertionError(f"pattern {pattern!r} is not an object")


def _field_matches(rule: Any, value: Any, present: bool) -> bool:
    if isinstance(rule, Mapping):
        return present and _matches(rule, value)
    values = value if isinstance(value, list) else [value]
    for option in rule:
        if isinstance(option, Mapping):
            ((op, arg),) = option.items()
            if op == "exists" and arg == present:
                return True
            if not present:
                continue
            if op == "prefix" and any(str(v).startswith(arg) for v in values):
                return True
            if op == "anything-but" and not any(
                v in (arg if isinstance(arg, list) else [arg]) for v in values
            ):
                return True
            if op == "numeric" and any(_numeric(arg, v) for v in values):
                return True
        elif present and option in values:
            return True
    return False


def _numeric(conditions: list[Any], value: Any) -> bool:
    if not isinstance(value, (int, float)):
        return False
    compare = {
        "=": lambda a, b: a == b,
        "<": lambda a, b: a < b,
        "<=": lambda a, b: a <= b,
        ">": lambda a, b: a > b,
        ">=": lambda a, b: a >= b,
    }
    pairs = zip(conditions[::2], conditions[1::2], strict=True)
    return all(compare[op](value, bound) for op, bound in pairs)


def test_the_pattern_matcher_can_fail() -> None:
    """The matcher the route tests rely on rejects what EventBridge would not match (EventBridge
    User Guide, "Event patterns": every field of the pattern must match; a list is any-of)."""
    pattern = {"detail-type": ["A"], "detail": {"userIdentity": {"type": ["Root"]}}}
    assert _matches(pattern, {"detail-type": "A", "detail": {"userIdentity": {"type": "Root"}}})
    assert not _matches(
        pattern, {"detail-type": "A", "detail": {"userIdentity": {"type": "IAMUser"}}}
    )
    assert not _matches(pattern, {"detail-type": "B", "detail": {"userIdentity": {"type": "Root"}}})
    assert _matches({"severity": [{"numeric": [">=", 7]}]}, {"severity": 8.5})
    assert not _matches({"severity": [{"numeric": [">=", 7]}]}, {"severity": 5})


#: What CloudTrail sends EventBridge in us-east-1 when the root user signs in to the console
#: (recorded in us-east-1 whatever the home region: CloudTrail User Guide, "AWS Management
#: Console sign-in events") or calls IAM (a global service, whose events EventBridge gets in
#: us-east-1 only: EventBridge User Guide, "AWS service events delivered via AWS CloudTrail").
ROOT_EVENTS = {
    "console sign-in": {
        "source": "aws.signin",
        "detail-type": "AWS Console Sign In via CloudTrail",
        "region": GLOBAL_EVENTS_REGION,
        "detail": {
            "eventSource": "signin.amazonaws.com",
            "eventName": "ConsoleLogin",
            "userIdentity": {"type": "Root"},
        },
    },
    "IAM call": {
        "source": "aws.iam",
        "detail-type": "AWS API Call via CloudTrail",
        "region": GLOBAL_EVENTS_REGION,
        "detail": {
            "eventSource": "iam.amazonaws.com",
            "eventName": "CreateAccessKey",
            "userIdentity": {"type": "Root"},
        },
    },
}


def _rules_matching(plan: Plan, region: str, event: Mapping[str, Any]) -> list[Registered]:
    """Rules of the default event bus in ``region`` whose pattern matches ``event``."""
    return [
        rule
        for rule in plan.of_type(RULE)
        if region_of(plan, rule) == region
        and rule.inputs.get("eventBusName", "default") == "default"
        and "eventPattern" in rule.inputs
        and _matches(_doc(rule.inputs["eventPattern"]), event)
    ]


def _targets(plan: Plan, rule: Registered) -> list[Registered]:
    return [
        t
        for t in plan.of_type(TARGET)
        if t.inputs["rule"] == rule.outputs["name"] and region_of(plan, t) == region_of(plan, rule)
    ]


def reaches_security_topic(
    plan: Plan, event: Mapping[str, Any], region: str, hops: int = 2
) -> list[str]:
    """The routes (rule names) along which ``event``, put on ``region``'s default bus,
    reaches the security topic with every permission in place: a rule targeting another
    region's default bus needs a role EventBridge may assume that allows ``events:PutEvents``
    there (EventBridge User Guide, "Sending and receiving events between AWS Regions"); a
    rule targeting the topic needs the topic and key policies to admit it."""
    account = account_of(plan)
    topic_arn = plan.stack_outputs["securityTopicArn"]
    (topic,) = [t for t in plan.every(TOPIC) if t.outputs["arn"] == topic_arn]
    routes: list[str] = []
    for rule in _rules_matching(plan, region, event):
        for target in _targets(plan, rule):
            arn = str(target.inputs["arn"])
            if arn == topic_arn and publish_allowed(plan, topic, "events.amazonaws.com", rule):
                routes.append(rule.name)
            parts = arn.split(":")
            if parts[2] == "events" and parts[5] == "event-bus/default" and hops > 1:
                if parts[3] == region or parts[4] != account or "roleArn" not in target.inputs:
                    continue
                role = role_of(plan, str(target.inputs["roleArn"]))
                assume = Request(
                    "sts:AssumeRole", role.outputs["arn"], service("events.amazonaws.com"),
                    {"aws:SourceAccount": account, "aws:SourceArn": str(rule.outputs["arn"])},
                )  # fmt: skip
                put = Request("events:PutEvents", arn)
                if allows(_doc(role.inputs["assumeRolePolicy"]), assume) and role_allows(
                    plan, role, put
                ):
                    routes += [
                        f"{rule.name} -> {then}"
                        for then in reaches_security_topic(plan, event, parts[3], hops - 1)
                    ]
    return routes


@pytest.mark.parametrize("kind", sorted(ROOT_EVENTS))
def test_root_activity_in_us_east_1_reaches_the_security_topic(plan: Plan, kind: str) -> None:
    """A root console sign-in and a root IAM call are events of us-east-1's default bus
    only; from a home region elsewhere they reach the security topic only through a rule in
    us-east-1 that forwards them (PCI DSS 10.2.1.2: all actions by the root user are
    logged and, here, alerted)."""
    assert home_region(plan) != GLOBAL_EVENTS_REGION  # the case this test is about
    routes = reaches_security_topic(plan, ROOT_EVENTS[kind], GLOBAL_EVENTS_REGION)
    assert routes, f"a root {kind} in {GLOBAL_EVENTS_REGION} reaches no security topic"


def test_root_activity_in_the_home_region_still_reaches_the_security_topic(plan: Plan) -> None:
    """A root API call of a regional service in the home region is an event of the home
    region's bus, routed there (EventBridge User Guide, "AWS service events delivered via AWS
    CloudTrail": events go to the default bus of the region they are recorded in)."""
    event = {
        "source": "aws.ec2",
        "detail-type": "AWS API Call via CloudTrail",
        "region": home_region(plan),
        "detail": {"eventSource": "ec2.amazonaws.com", "userIdentity": {"type": "Root"}},
    }
    assert reaches_security_topic(plan, event, home_region(plan), hops=1)


# --- log integrity: digests, the organization trail's archive ---------------------------------


@pytest.mark.parametrize("stack", ["prod", "nonprod", "management"])
def test_cloudtrail_digest_files_reach_the_trail_bucket(
    stack_plan: StackPlanner, stack: str
) -> None:
    """CloudTrail writes digest files with SSE-S3 whatever the trail's key ("Digest files are
    encrypted with Amazon S3-managed encryption keys (SSE-S3)": CloudTrail User Guide,
    "Encrypting CloudTrail log files with AWS KMS keys"). A bucket policy demanding SSE-KMS
    of every object silently stops them, and with them log file validation (PCI DSS 10.3.4);
    a log file still has to use the trail's key."""
    plan = stack_plan(stack)
    trail = account_trail(plan)
    account, region = account_of(plan), home_region(plan)
    bucket = trail_bucket(plan)
    policy = bucket_policy(plan, bucket)
    source = {"aws:SourceArn": trail.outputs["arn"], "aws:SourceAccount": account}
    base = f"{bucket.outputs['arn']}/{trail.inputs['s3KeyPrefix']}/AWSLogs/{account}"
    sse_s3 = secure(
        **source,
        **{
            "s3:x-amz-acl": "bucket-owner-full-control",
            "s3:x-amz-server-side-encryption": "AES256",
        },
    )
    digest = f"{base}/CloudTrail-Digest/{region}/2025/01/01/{account}_CloudTrail-Digest_x.json.gz"
    log = f"{base}/CloudTrail/{region}/2025/01/01/{account}_CloudTrail_x.json.gz"
    cloudtrail = service("cloudtrail.amazonaws.com")
    assert allows(policy, Request("s3:PutObject", digest, cloudtrail, sse_s3))
    assert decide(policy, Request("s3:PutObject", log, cloudtrail, sse_s3)) == "deny"


def _archive(plan: Plan) -> tuple[Registered, Registered, dict[str, Any]]:
    (org_trail,) = [t for t in plan.every(TRAIL) if t.inputs.get("isOrganizationTrail")]
    (bucket,) = [
        b for b in plan.every(BUCKET) if b.outputs["id"] == org_trail.inputs["s3BucketName"]
    ]
    return org_trail, bucket, bucket_policy(plan, bucket)


def test_the_organization_trail_may_write_every_accounts_logs_into_the_archive(
    stack_plan: StackPlanner,
) -> None:
    """An organization trail writes the management account's files under
    ``<prefix>/AWSLogs/<management account>/`` and every member's under
    ``<prefix>/AWSLogs/<organization id>/<account>/``, as cloudtrail.amazonaws.com with the
    trail's ARN as aws:SourceArn; it generates data keys with the management account's trail
    ARN as encryption context (CloudTrail User Guide, "Create a bucket policy for an
    organization trail" and "Configure AWS KMS key policies for CloudTrail")."""
    plan = stack_plan("management")
    org_trail, bucket, policy = _archive(plan)
    management = account_of(plan)
    org_id = plan.named("management-organization").outputs["id"]
    prod = plan.named("management-account-prod").outputs["id"]
    key_arn = str(org_trail.inputs["kmsKeyId"])
    region = home_region(plan)
    prefix = f"{bucket.outputs['arn']}/{org_trail.inputs['s3KeyPrefix']}/AWSLogs"
    source = {"aws:SourceArn": org_trail.outputs["arn"]}
    kms = {
        "s3:x-amz-acl": "bucket-owner-full-control",
        "s3:x-amz-server-side-encryption": "aws:kms",
        "s3:x-amz-server-side-encryption-aws-kms-key-id": key_arn,
    }
    cloudtrail = service("cloudtrail.amazonaws.com")
    acl = Request("s3:GetBucketAcl", bucket.outputs["arn"], cloudtrail, secure(**source))
    assert allows(policy, acl)
    for path in (
        f"{prefix}/{management}/CloudTrail/{region}/2025/01/01/x.json.gz",
        f"{prefix}/{org_id}/{prod}/CloudTrail/{region}/2025/01/01/x.json.gz",
    ):
        assert allows(policy, Request("s3:PutObject", path, cloudtrail, secure(**source, **kms)))
    digest = f"{prefix}/{org_id}/{prod}/CloudTrail-Digest/{region}/2025/01/01/x.json.gz"
    sse_s3 = {
        "s3:x-amz-acl": "bucket-owner-full-control",
        "s3:x-amz-server-side-encryption": "AES256",
    }
    assert allows(policy, Request("s3:PutObject", digest, cloudtrail, secure(**source, **sse_s3)))
    # another trail (a member account's own, say) may not write there
    other = {"aws:SourceArn": f"arn:aws:cloudtrail:{region}:{prod}:trail/x"}
    assert not allows(
        policy,
        Request("s3:PutObject", f"{prefix}/{org_id}/{prod}/x", cloudtrail, secure(**other, **kms)),
    )
    encrypt = Request(
        "kms:GenerateDataKey",
        key_arn,
        cloudtrail,
        {
            **source,
            "kms:EncryptionContext:aws:cloudtrail:arn": str(org_trail.outputs["arn"]),
        },
    )
    assert allows(key_policy(plan, key_arn), encrypt)


# --- alerts: tampering and findings reach the security topic ------------------------------------

TAMPERING_EVENTS = [
    ("cloudtrail", "StopLogging"),
    ("cloudtrail", "DeleteTrail"),
    ("cloudtrail", "UpdateTrail"),
    ("config", "StopConfigurationRecorder"),
    ("config", "DeleteConfigurationRecorder"),
    ("guardduty", "DeleteDetector"),
    ("securityhub", "DisableSecurityHub"),
    ("kms", "ScheduleKeyDeletion"),
    ("kms", "DisableKey"),
    ("logs", "DeleteLogGroup"),
    ("logs", "PutRetentionPolicy"),
]


@pytest.mark.parametrize(("service_name", "call"), TAMPERING_EVENTS)
def test_tampering_with_logging_or_detection_reaches_the_security_topic(
    prod_plan: Plan, service_name: str, call: str
) -> None:
    """PCI DSS 10.7.2: the calls the issue lists, as EventBridge receives them from
    CloudTrail on the home region's default bus (EventBridge User Guide, "AWS service
    events delivered via AWS CloudTrail"), reach the security topic with every permission."""
    region = home_region(prod_plan)
    event = {
        "source": f"aws.{service_name}",
        "detail-type": "AWS API Call via CloudTrail",
        "region": region,
        "detail": {"eventSource": f"{service_name}.amazonaws.com", "eventName": call},
    }
    assert reaches_security_topic(prod_plan, event, region, hops=1)


FINDINGS = {
    # Amazon Inspector User Guide, "Amazon EventBridge event schema for Amazon Inspector events"
    "inspector": {
        "source": "aws.inspector2",
        "detail-type": "Inspector2 Finding",
        "detail": {"severity": "CRITICAL", "status": "ACTIVE", "type": "PACKAGE_VULNERABILITY"},
    },
    # EventBridge events reference, "IAM Access Analyzer events"
    "access-analyzer": {
        "source": "aws.access-analyzer",
        "detail-type": "Access Analyzer Finding",
        "detail": {"status": "ACTIVE", "isPublic": True, "resourceType": "AWS::S3::Bucket"},
    },
}


@pytest.mark.parametrize("kind", sorted(FINDINGS))
def test_inspector_and_access_analyzer_findings_reach_the_security_topic(
    prod_plan: Plan, kind: str
) -> None:
    region = home_region(prod_plan)
    event = {**FINDINGS[kind], "region": region}
    assert reaches_security_topic(prod_plan, event, region, hops=1)
    low = {**event, "detail": {**event["detail"], "severity": "LOW"}}
    if kind == "inspector":
        assert not reaches_security_topic(prod_plan, low, region, hops=1)


# --- the SCPs: who may tamper with the audit trail --------------------------------------------

PROD = "210987654321"
SSO = f"arn:aws:iam::{PROD}:role/aws-reserved/sso.amazonaws.com"
PRINCIPALS = {
    "deploy role": f"arn:aws:iam::{PROD}:role/payments-platform-deployer",
    "operator": f"{SSO}/ap-southeast-1/AWSReservedSSO_Operator_0a1b2c3d4e5f6a7b",
    "platform admin": f"{SSO}/ap-southeast-1/AWSReservedSSO_PlatformAdmin_0a1b2c3d4e5f6a7b",
    "break-glass": f"{SSO}/ap-southeast-1/AWSReservedSSO_BreakGlass_0a1b2c3d4e5f6a7b",
    # Identity Center in us-east-1 leaves the region out of the path
    "break-glass (us-east-1)": f"{SSO}/AWSReservedSSO_BreakGlass_0a1b2c3d4e5f6a7b",
}

#: What the stacks' deploy role does to create and update the audit trail and detection
#: (the provider's calls for the resources the landing zone manages).
DEPLOY_ACTIONS = (
    "cloudtrail:CreateTrail",
    "cloudtrail:UpdateTrail",
    "cloudtrail:PutEventSelectors",
    "cloudtrail:StartLogging",
    "logs:CreateLogGroup",
    "logs:PutRetentionPolicy",
    "logs:AssociateKmsKey",
    "logs:PutAccountPolicy",
    "s3:CreateBucket",
    "s3:PutBucketPolicy",
    "s3:PutLifecycleConfiguration",
    "s3:PutBucketObjectLockConfiguration",
    "s3:PutEncryptionConfiguration",
    "s3:PutBucketVersioning",
    "s3:PutBucketLogging",
    "kms:CreateKey",
    "kms:PutKeyPolicy",
    "kms:EnableKeyRotation",
    "config:PutConfigurationRecorder",
    "config:PutDeliveryChannel",
    "config:StartConfigurationRecorder",
    "config:PutConformancePack",
    "guardduty:CreateDetector",
    "guardduty:UpdateDetector",
    "securityhub:EnableSecurityHub",
    "securityhub:BatchEnableStandards",
    "access-analyzer:CreateAnalyzer",
    "inspector2:Enable",
    "events:PutRule",
    "events:PutTargets",
    "ssm:CreateDocument",
    "ssm:UpdateDocument",
)

#: The tampering paths of the issue: each is denied to all but the break-glass path.
DESTROY_ACTIONS = (
    "logs:DeleteLogGroup",
    "cloudtrail:StopLogging",
    "cloudtrail:DeleteTrail",
    "kms:DisableKey",
    "kms:ScheduleKeyDeletion",
    "config:StopConfigurationRecorder",
    "config:DeleteConfigurationRecorder",
    "guardduty:DeleteDetector",
    "securityhub:DisableSecurityHub",
    "access-analyzer:DeleteAnalyzer",
)
CHANGE_ACTIONS = (
    "logs:PutRetentionPolicy",
    "s3:PutBucketPolicy",
    "s3:DeleteBucketPolicy",
    "cloudtrail:UpdateTrail",
    "kms:PutKeyPolicy",
    "guardduty:UpdateDetector",
)


def _scp_denies(plan: Plan, action: str, who: str, resource: str = "*") -> bool:
    request = Request(
        action,
        resource,
        context={"aws:PrincipalArn": PRINCIPALS[who], "aws:RequestedRegion": "ap-southeast-1"},
    )
    return any(
        decide(_doc(p.inputs["content"]), request) == "deny"
        for p in plan.every("aws:organizations/policy:Policy")
    )


def test_the_deploy_role_still_creates_and_updates_what_it_must(stack_plan: StackPlanner) -> None:
    """The guardrails name the deploy role for the exact changing actions: every deploy may
    still create and update the trail, log groups, buckets, keys and detectors (IAM User
    Guide, "Policy evaluation logic": an SCP Deny applies unless its condition excludes the
    principal; aws:PrincipalArn is the role ARN with its path)."""
    plan = stack_plan("management")
    for action in DEPLOY_ACTIONS:
        assert not _scp_denies(plan, action, "deploy role"), action


@pytest.mark.parametrize("action", DESTROY_ACTIONS)
def test_only_break_glass_may_stop_or_delete_the_audit_trail(
    stack_plan: StackPlanner, action: str
) -> None:
    plan = stack_plan("management")
    for who in ("operator", "platform admin", "deploy role"):
        assert _scp_denies(plan, action, who), (action, who)
    for who in ("break-glass", "break-glass (us-east-1)"):
        assert not _scp_denies(plan, action, who), (action, who)


@pytest.mark.parametrize("action", CHANGE_ACTIONS)
def test_only_the_deploy_role_and_break_glass_may_change_the_audit_trail(
    stack_plan: StackPlanner, action: str
) -> None:
    plan = stack_plan("management")
    for who in ("operator", "platform admin"):
        assert _scp_denies(plan, action, who), (action, who)
    for who in ("deploy role", "break-glass"):
        assert not _scp_denies(plan, action, who), (action, who)


def test_nobody_but_the_pipeline_changes_the_session_preferences(stack_plan: StackPlanner) -> None:
    plan = stack_plan("management")
    document = "arn:aws:ssm:ap-southeast-1:210987654321:document/SSM-SessionManagerRunShell"
    assert _scp_denies(plan, "ssm:UpdateDocument", "platform admin", document)
    assert not _scp_denies(plan, "ssm:UpdateDocument", "deploy role", document)
    assert not _scp_denies(
        plan, "ssm:UpdateDocument", "platform admin", "arn:aws:ssm:ap-southeast-1:1:document/x"
    )
