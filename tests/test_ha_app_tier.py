"""HaAppTier: what an application owner, the on-call engineer and a PCI assessor rely on.

Each scenario runs the offline program once (module-scoped fixtures); the tests assert
properties of the recorded plan. Bad input is refused before anything is registered, naming
the Python argument the caller must change.
"""

from __future__ import annotations

import base64
import email
import gzip
import json
import os
import re
import stat
import subprocess
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import pulumi
import pulumi_aws as aws
import pytest
from pydantic import ValidationError

from components.core.onprem import OnPremNetwork
from components.core.problems import ComponentConfigError
from components.core.settings import (
    MAX_EXTRA_TAGS,
    MAX_TAGS_PER_RESOURCE,
    STANDARD_TAG_KEYS,
    StackContext,
)
from components.ha_app_tier import AppRef, HaAppTier, HaAppTierSettings, host, operations
from components.ha_app_tier.checks import MAX_APP_USER_DATA_BYTES
from components.ha_app_tier.component import (
    AL2023_AMI_PARAMETERS,
    ELB_LOG_DELIVERY_SERVICE,
    WAF_MANAGED_RULE_GROUPS,
)
from components.ha_app_tier.settings import schedule_interval_days
from components.secure_vpc import NetworkRef, SecureVpc, SecureVpcSettings, plan_network
from components.secure_vpc import plan as network_plan
from components.testing import Plan, PlatformMocks, RecordingMonitor, Registered, run_offline

CERT = "arn:aws:acm:ap-southeast-1:111122223333:certificate/12345678-1234-1234-1234-123456789012"
TOPIC = "arn:aws:sns:ap-southeast-1:111122223333:platform-alarms"
COMPONENT_TYPE = "payments:index:HaAppTier"
SG_INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
SG_EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
LISTENER = "aws:lb/listener:Listener"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
UNTAGGABLE = {
    "aws:iam/rolePolicy:RolePolicy",
    "aws:s3/bucketLogging:BucketLogging",
    "aws:ssm/patchGroup:PatchGroup",
    "aws:ssm/maintenanceWindowTarget:MaintenanceWindowTarget",
    "aws:ssm/maintenanceWindowTask:MaintenanceWindowTask",
    "aws:cloudwatch/logMetricFilter:LogMetricFilter",
    "aws:cloudwatch/logResourcePolicy:LogResourcePolicy",
    "aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration",
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls",
    "aws:s3/bucketVersioning:BucketVersioning",
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
    "aws:s3/bucketPolicy:BucketPolicy",
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
    "aws:kms/alias:Alias",
    "aws:wafv2/webAclAssociation:WebAclAssociation",
    "aws:autoscaling/policy:Policy",
}
USER_DATA = "#!/bin/bash\nsystemctl enable --now loyalty\n"
ON_PREM = {
    "dc1": OnPremNetwork(cidr="172.16.0.0/16", nacl_slot=1),
    "branch": OnPremNetwork(cidr="192.168.10.0/24", nacl_slot=2),
}
EVERY_SERVICE = ("postgres", "redis", "documentdb", "rabbitmq", "opensearch")


class RecordingMocks(PlatformMocks):
    """PlatformMocks that also keep the invokes (token, args) the program made, and give an
    ACM certificate the ARN shape ACM gives it (``certificate/<uuid>``)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def call(self, args: Any) -> Any:
        self.calls.append((args.token, dict(args.args)))
        return super().call(args)

    def new_resource(self, args: Any) -> tuple[str, dict[str, Any]]:
        resource_id, state = super().new_resource(args)
        if args.typ == "aws:acm/certificate:Certificate":
            region = args.inputs.get("region") or self.region
            resource_id = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
            state["arn"] = f"arn:aws:acm:{region}:{self.account_id}:certificate/{resource_id}"
        return resource_id, state


def loyalty_settings(**overrides: Any) -> HaAppTierSettings:
    """LOYALTY as a stack file writes it (camelCase keys)."""
    return HaAppTierSettings.model_validate(
        {
            "internetFacing": True,
            "certificateArn": CERT,
            "userDataFile": "userdata/loyalty.sh",
            **overrides,
        }
    )


def mmf_settings(**overrides: Any) -> HaAppTierSettings:
    """MMF as a Python caller writes it: internal, Graviton, sizes left to the environment."""
    return HaAppTierSettings(**{"instance_type": "m7g.large", "certificate_arn": CERT, **overrides})


def vpc_program(
    environment: str, apps: Mapping[str, tuple[HaAppTierSettings, Iterable[str]]]
) -> Callable[[], None]:
    """A SecureVpc whose app tier admits the on-prem ranges, and one HaAppTier per app."""

    def program() -> None:
        context = StackContext(environment=environment)
        vpc = SecureVpc(
            environment,
            SecureVpcSettings(availability_zones=["a", "b", "c"], on_prem_access=["app"]),
            context=context,
            on_prem=ON_PREM,
            data_services=EVERY_SERVICE,
        )
        for name, (settings, data_services) in apps.items():
            app = HaAppTier(
                name,
                settings,
                context=context,
                network=vpc.ref,
                alarm_topic_arn=TOPIC,
                data_services=data_services,
            )
            for output in (
                "alb_dns_name",
                "alb_arn",
                "alb_zone_id",
                "target_group_arn",
                "asg_name",
                "instance_security_group_id",
                "alb_security_group_id",
                "access_log_bucket",
            ):
                pulumi.export(f"{name}.{output}", getattr(app, output))
            pulumi.export(f"{name}.widgets", app.dashboard_widgets)
            pulumi.export(f"{name}.ref", app.ref.instance_security_group_id)

    return program


@pytest.fixture(scope="module")
def project_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("project")
    (root / "userdata").mkdir()
    (root / "userdata" / "loyalty.sh").write_text(USER_DATA)
    return root


def _in_dir(directory: Path, run: Callable[[], Plan]) -> Plan:
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(directory)
        return run()


LOYALTY_SERVICES = ["postgres", "redis"]
PROD_MMF = {"min_size": 2, "desired_capacity": 2, "max_size": 4}


@pytest.fixture(scope="module")
def prod(project_dir: Path) -> tuple[Plan, RecordingMocks]:
    """Prod: LOYALTY, internet-facing, client of PostgreSQL and Redis."""
    mocks = RecordingMocks()
    program = vpc_program("prod", {"loyalty": (loyalty_settings(), LOYALTY_SERVICES)})
    return _in_dir(project_dir, lambda: run_offline(program, mocks=mocks)), mocks


@pytest.fixture(scope="module")
def prod_two_apps(project_dir: Path) -> Plan:
    """The same stack after MMF (internal, Graviton) is added."""
    program = vpc_program(
        "prod",
        {
            "loyalty": (loyalty_settings(), LOYALTY_SERVICES),
            "mmf": (mmf_settings(**PROD_MMF), ["documentdb", "rabbitmq", "opensearch"]),
        },
    )
    return _in_dir(project_dir, lambda: run_offline(program))


@pytest.fixture(scope="module")
def nonprod() -> tuple[Plan, RecordingMocks]:
    """Nonprod: MMF, internal ALB reachable from the two on-prem ranges, Graviton instances,
    sizes and log retention left to the nonprod defaults."""
    mocks = RecordingMocks()
    program = vpc_program("nonprod", {"mmf": (mmf_settings(), ["documentdb"])})
    return run_offline(program, mocks=mocks), mocks


def app_resources(plan: Plan, app: str) -> list[Registered]:
    return plan.descendants_of(plan.named(app, COMPONENT_TYPE))


def one(plan: Plan, app: str, type_: str, name: str | None = None) -> Registered:
    found = [
        r for r in app_resources(plan, app) if r.type == type_ and (name is None or r.name == name)
    ]
    assert len(found) == 1, f"{len(found)} {type_} {name or ''}"
    return found[0]


def bucket_part(plan: Plan, app: str, type_: str, bucket: Registered) -> Registered:
    """The one ``type_`` (policy, lifecycle ...) of ``bucket``."""
    (found,) = [
        r
        for r in app_resources(plan, app)
        if r.type == type_ and r.inputs["bucket"] == bucket.outputs["id"]
    ]
    return found


def sg_rules(plan: Plan, app: str, group: str, rule_type: str) -> list[Registered]:
    sg = one(plan, app, "aws:ec2/securityGroup:SecurityGroup", group)
    return [
        r
        for r in app_resources(plan, app)
        if r.type == rule_type and r.inputs["securityGroupId"] == sg.outputs["id"]
    ]


# --- compute ---------------------------------------------------------------------------


def test_asg_runs_in_the_app_subnets_of_every_az(prod: tuple[Plan, RecordingMocks]) -> None:
    plan, _ = prod
    asg = one(plan, "loyalty", "aws:autoscaling/group:Group")
    subnets = [plan.by_id(i) for i in asg.inputs["vpcZoneIdentifiers"]]
    assert all(s is not None and s.inputs["tags"]["tier"] == "app" for s in subnets)
    azs = {s.inputs["availabilityZone"] for s in subnets if s is not None}
    assert len(azs) >= 2
    assert azs == {"ap-southeast-1a", "ap-southeast-1b", "ap-southeast-1c"}
    assert (asg.inputs["minSize"], asg.inputs["desiredCapacity"], asg.inputs["maxSize"]) == (
        3,
        3,
        9,
    )


def test_launch_template_requires_imdsv2_and_encrypts_every_volume_with_the_app_key(
    prod: tuple[Plan, RecordingMocks],
) -> None:
    plan, _ = prod
    lt = one(plan, "loyalty", "aws:ec2/launchTemplate:LaunchTemplate")
    meta = lt.inputs["metadataOptions"]
    assert meta["httpTokens"] == "required"
    assert meta["httpPutResponseHopLimit"] == 1
    key = one(plan, "loyalty", "aws:kms/key:Key", "loyalty-ebs")
    assert key.inputs["enableKeyRotation"] is True
    assert key.protect, "the EBS key is protected in prod"
    volumes = lt.inputs["blockDeviceMappings"]
    assert volumes, "the root volume is mapped explicitly"
    for volume in volumes:
        assert volume["ebs"]["encrypted"] == "true"
        assert volume["ebs"]["kmsKeyId"] == key.outputs["arn"]
        assert volume["ebs"]["volumeType"] == "gp3"
    assert volumes[0]["deviceName"] == "/dev/xvda"


def test_instances_have_no_public_ip_no_ssh_key_and_detailed_monitoring(
    prod: tuple[Plan, RecordingMocks],
) -> None:
    plan, _ = prod
    lt = one(plan, "loyalty", "aws:ec2/launchTemplate:LaunchTemplate")
    assert "keyName" not in lt.inputs
    assert lt.inputs["monitoring"] == {"enabled": True}
    (nic,) = lt.inputs["networkInterfaces"]
    assert nic["associatePublicIpAddress"] == "false"
    instance_sg = one(plan, "loyalty", "aws:ec2/securityGroup:SecurityGroup", "loyalty-instances")
    assert nic["securityGroups"] == [instance_sg.outputs["id"]]


def test_instance_role_has_ssm_core_the_cloudwatch_agent_and_its_boot_only(
    prod: tuple[Plan, RecordingMocks],
) -> None:
    plan, _ = prod
    role = one(plan, "loyalty", "aws:iam/role:Role", "loyalty-instance-role")
    trust = json.loads(role.inputs["assumeRolePolicy"])
    assert [s["Principal"] for s in trust["Statement"]] == [{"Service": "ec2.amazonaws.com"}]
    attached = {
        r.inputs["policyArn"]
        for r in app_resources(plan, "loyalty")
        if r.type == "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
    }
    assert attached == {
        "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore",
        "arn:aws:iam::aws:policy/CloudWatchAgentServerPolicy",
    }
    inline = [
        r
        for r in app_resources(plan, "loyalty")
        if r.type == "aws:iam/rolePolicy:RolePolicy" and r.inputs["role"] == role.outputs["id"]
    ]
    assert [r.name for r in inline] == ["loyalty-instance-boot"]
    actions = {
        a
        for s in json.loads(inline[0].inputs["policy"])["Statement"]
        for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
    }
    # its secrets are the data tier's to grant (and only the app's own): none here
    assert actions == {"ssm:GetParameter", "autoscaling:SetInstanceHealth", "s3:GetObject"}
    profile = one(plan, "loyalty", "aws:iam/instanceProfile:InstanceProfile")
    assert profile.inputs["role"] == role.outputs["name"]
    lt = one(plan, "loyalty", "aws:ec2/launchTemplate:LaunchTemplate")
    assert lt.inputs["iamInstanceProfile"]["arn"] == profile.outputs["arn"]


def test_ebs_key_lets_the_groups_service_linked_role_encrypt_and_attach_volumes(
    prod: tuple[Plan, RecordingMocks],
) -> None:
    plan, _ = prod
    asg = one(plan, "loyalty", "aws:autoscaling/group:Group")
    slr = one(plan, "loyalty", "aws:iam/serviceLinkedRole:ServiceLinkedRole")
    assert slr.inputs["awsServiceName"] == "autoscaling.amazonaws.com"
    assert asg.inputs["serviceLinkedRoleArn"] == slr.outputs["arn"]
    policy = json.loads(one(plan, "loyalty", "aws:kms/key:Key", "loyalty-ebs").inputs["policy"])
    by_principal = [s for s in policy["Statement"] if s["Principal"] == {"AWS": slr.outputs["arn"]}]
    actions = {
        a
        for s in by_principal
        for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
    }
    assert {"kms:Decrypt", "kms:GenerateDataKey*", "kms:ReEncrypt*", "kms:CreateGrant"} <= actions
    grant = next(s for s in by_principal if s["Action"] == "kms:CreateGrant")
    assert grant["Condition"] == {"Bool": {"kms:GrantIsForAWSResource": "true"}}


def test_default_ami_is_latest_al2023_from_ssm_and_graviton_gets_arm64(
    prod: tuple[Plan, RecordingMocks], nonprod: tuple[Plan, RecordingMocks]
) -> None:
    for (plan, mocks), arch in ((prod, "x86_64"), (nonprod, "arm64")):
        names = [a["name"] for t, a in mocks.calls if t == "aws:ssm/getParameter:getParameter"]
        assert names == [AL2023_AMI_PARAMETERS[arch]]
        app = "loyalty" if arch == "x86_64" else "mmf"
        lt = one(plan, app, "aws:ec2/launchTemplate:LaunchTemplate")
        assert lt.inputs["imageId"] == mocks.ami_id
        assert "imageId" not in lt.secret_paths


def user_data_parts(lt: Registered) -> list[tuple[str, str, str]]:
    """(file name, content type, text) of each part of a launch template's user data, in
    the order cloud-init runs them (by file name)."""
    archive = email.message_from_bytes(base64.b64decode(lt.inputs["userData"]))
    assert archive.get_content_type() == "multipart/mixed"
    parts = [
        (str(p.get_filename()), p.get_content_type(), p.get_payload(decode=True).decode())
        for p in archive.walk()
        if not p.is_multipart()
    ]
    assert [p[0] for p in parts] == sorted(p[0] for p in parts), "cloud-init runs by name"
    return parts


def test_user_data_runs_the_platform_boot_then_the_configured_file_then_the_fim_baseline(
    prod: tuple[Plan, RecordingMocks],
) -> None:
    plan, _ = prod
    lt = one(plan, "loyalty", "aws:ec2/launchTemplate:LaunchTemplate")
    (boot, app, fim) = user_data_parts(lt)
    assert boot[:2] == ("00-payments-platform-boot.sh", "text/x-shellscript")
    assert app == ("50-loyalty.sh", "text/x-shellscript", USER_DATA)
    assert fim[:2] == ("90-payments-platform-fim.sh", "text/x-shellscript")
    parameter = one(plan, "loyalty", "aws:ssm/parameter:Parameter")
    assert f"-c 'ssm:{parameter.outputs['name']}'" in boot[2]
    assert "aide -A '!/var/log' --init" in fim[2]
    # the parameter exists before any instance can boot and load it
    assert parameter.urn in lt.dependencies


def test_asg_pins_the_template_version_heals_via_elb_and_keeps_scaled_capacity(
    prod: tuple[Plan, RecordingMocks],
) -> None:
    plan, _ = prod
    asg = one(plan, "loyalty", "aws:autoscaling/group:Group")
    lt = one(plan, "loyalty", "aws:ec2/launchTemplate:LaunchTemplate")
    assert asg.inputs["launchTemplate"] == {
        "id": lt.outputs["id"],
        "version": str(lt.outputs["latestVersion"]),
    }
    assert asg.inputs["launchTemplate"]["version"] not in ("$Latest", "$Default")
    assert lt.inputs["updateDefaultVersion"] is True
    assert asg.inputs["healthCheckType"] == "ELB"
    assert asg.inputs["healthCheckGracePeriod"] == 300
    refresh = asg.inputs["instanceRefresh"]
    assert refresh["strategy"] == "Rolling"
    assert refresh["preferences"]["minHealthyPercentage"] == 100
    maintenance = asg.inputs["instanceMaintenancePolicy"]
    assert maintenance["minHealthyPercentage"] == 100
    assert 100 < maintenance["maxHealthyPercentage"] <= 200
    assert asg.inputs["capacityRebalance"] is False
    assert "desiredCapacity" in asg.ignore_changes
    assert "GroupInServiceInstances" in asg.inputs["enabledMetrics"]
    tg = one(plan, "loyalty", "aws:lb/targetGroup:TargetGroup")
    assert asg.inputs["targetGroupArns"] == [tg.outputs["arn"]]


def test_target_tracking_scales_on_cpu_and_alb_requests_per_target(
    prod: tuple[Plan, RecordingMocks],
) -> None:
    plan, _ = prod
    alb = one(plan, "loyalty", "aws:lb/loadBalancer:LoadBalancer")
    tg = one(plan, "loyalty", "aws:lb/targetGroup:TargetGroup")
    https = one(plan, "loyalty", "aws:lb/listener:Listener", "loyalty-https")
    policies = {
        r.inputs["targetTrackingConfiguration"]["predefinedMetricSpecification"][
            "predefinedMetricType"
        ]: r
        for r in app_resources(plan, "loyalty")
        if r.type == "aws:autoscaling/policy:Policy"
    }
    assert set(policies) == {"ASGAverageCPUUtilization", "ALBRequestCountPerTarget"}
    requests = policies["ALBRequestCountPerTarget"]
    label = requests.inputs["targetTrackingConfiguration"]["predefinedMetricSpecification"][
        "resourceLabel"
    ]
    assert label == f"{alb.outputs['arnSuffix']}/{tg.outputs['arnSuffix']}"
    assert https.urn in requests.dependencies


# --- network ---------------------------------------------------------------------------


def _component_rules(plan: Plan) -> list[Registered]:
    return [
        r
        for app in ("loyalty", "mmf")
        if any(x.name == app and x.type == COMPONENT_TYPE for x in plan)
        for r in app_resources(plan, app)
        if r.type in (SG_INGRESS, SG_EGRESS)
    ]


def test_no_rule_opens_22_and_only_the_internet_facing_alb_takes_the_internet_on_80_443(
    prod_two_apps: Plan, nonprod: tuple[Plan, RecordingMocks]
) -> None:
    for plan in (prod_two_apps, nonprod[0]):
        rules = _component_rules(plan)
        assert rules
        for rule in rules:
            assert not rule.inputs["fromPort"] <= 22 <= rule.inputs["toPort"], rule.name
            if rule.type == SG_INGRESS and rule.inputs.get("cidrIpv4") == "0.0.0.0/0":
                assert rule.name.startswith("loyalty-alb-in-"), rule.name
                assert rule.inputs["fromPort"] in (80, 443)
                assert rule.inputs["fromPort"] == rule.inputs["toPort"]


def test_instances_admit_only_the_alb_security_group_on_the_app_port(
    prod: tuple[Plan, RecordingMocks],
) -> None:
    plan, _ = prod
    alb_sg = one(plan, "loyalty", "aws:ec2/securityGroup:SecurityGroup", "loyalty-alb")
    (rule,) = sg_rules(plan, "loyalty", "loyalty-instances", SG_INGRESS)
    assert rule.inputs["referencedSecurityGroupId"] == alb_sg.outputs["id"]
    assert (rule.inputs["fromPort"], rule.inputs["toPort"]) == (8080, 8080)
    assert "cidrIpv4" not in rule.inputs


def test_instance_egress_is_443_plus_exactly_the_declared_data_ports_to_the_data_tier(
    prod: tuple[Plan, RecordingMocks],
) -> None:
    plan, _ = prod
    data_tier = str(
        network_plan.tier_block("10.10.0.0/16", network_plan.STANDARD_TIER_SLOTS["data"])
    )
    egress = sg_rules(plan, "loyalty", "loyalty-instances", SG_EGRESS)
    data = {
        (r.inputs["fromPort"], r.inputs.get("cidrIpv4"))
        for r in egress
        if r.inputs["fromPort"] != 443
    }
    assert data == {(5432, data_tier), (6379, data_tier)}
    https = [r for r in egress if r.inputs["fromPort"] == 443]
    endpoint_sg = plan.named("prod-endpoints", "aws:ec2/securityGroup:SecurityGroup")
    assert {
        r.inputs.get("cidrIpv4") or r.inputs.get("referencedSecurityGroupId") for r in https
    } == {
        "0.0.0.0/0",
        endpoint_sg.outputs["id"],
    }


def test_internal_alb_admits_only_https_from_the_vpc_and_named_on_prem_ranges(
    nonprod: tuple[Plan, RecordingMocks],
) -> None:
    plan, _ = nonprod
    alb = one(plan, "mmf", "aws:lb/loadBalancer:LoadBalancer")
    assert alb.inputs["internal"] is True
    subnets = [plan.by_id(i) for i in alb.inputs["subnets"]]
    assert {s.inputs["tags"]["tier"] for s in subnets if s is not None} == {"app"}
    ingress = sg_rules(plan, "mmf", "mmf-alb", SG_INGRESS)
    assert {(r.inputs["fromPort"], r.inputs["cidrIpv4"]) for r in ingress} == {
        (443, "10.10.0.0/16"),
        (443, "172.16.0.0/16"),
        (443, "192.168.10.0/24"),
    }
    assert not [r for r in app_resources(plan, "mmf") if r.name == "mmf-http"]
    assert not [r for r in app_resources(plan, "mmf") if r.type.startswith("aws:wafv2/")]


# --- load balancer -------------------------------------------------------------------


def test_http_only_redirects_to_https_and_https_uses_tls12_plus_and_the_certificate(
    prod: tuple[Plan, RecordingMocks],
) -> None:
    plan, _ = prod
    http = one(plan, "loyalty", "aws:lb/listener:Listener", "loyalty-http")
    assert http.inputs["port"] == 80
    (action,) = http.inputs["defaultActions"]
    assert action["type"] == "redirect"
    assert action["redirect"]["protocol"] == "HTTPS"
    assert action["redirect"]["statusCode"] == "HTTP_301"
    https = one(plan, "loyalty", "aws:lb/listener:Listener", "loyalty-https")
    assert (https.inputs["port"], https.inputs["protocol"]) == (443, "HTTPS")
    assert https.inputs["sslPolicy"] == "ELBSecurityPolicy-TLS13-1-2-2021-06"
    assert https.inputs["certificateArn"] == CERT
    tg = one(plan, "loyalty", "aws:lb/targetGroup:TargetGroup")
    assert https.inputs["defaultActions"] == [
        {"type": "forward", "targetGroupArn": tg.outputs["arn"]}
    ]


def test_prod_alb_is_public_hardened_protected_and_logs_to_its_own_bucket(
    prod: tuple[Plan, RecordingMocks],
) -> None:
    plan, _ = prod
    alb = one(plan, "loyalty", "aws:lb/loadBalancer:LoadBalancer")
    assert alb.inputs["internal"] is False
    assert alb.inputs["dropInvalidHeaderFields"] is True
    assert alb.inputs["enableDeletionProtection"] is True
    subnets = [plan.by_id(i) for i in alb.inputs["subnets"]]
    assert {s.inputs["tags"]["tier"] for s in subnets if s is not None} == {"public"}
    bucket = one(plan, "loyalty", "aws:s3/bucket:Bucket", "loyalty-alb-logs")
    assert alb.inputs["accessLogs"]["enabled"] is True
    assert alb.inputs["accessLogs"]["bucket"] == bucket.outputs["bucket"]
    policy = one(plan, "loyalty", "aws:s3/bucketPolicy:BucketPolicy", "loyalty-alb-logs")
    assert policy.urn in alb.dependencies, "ELB checks write access when logging is enabled"


def test_nonprod_alb_and_log_bucket_can_be_torn_down(nonprod: tuple[Plan, RecordingMocks]) -> None:
    plan, _ = nonprod
    assert (
        one(plan, "mmf", "aws:lb/loadBalancer:LoadBalancer").inputs["enableDeletionProtection"]
        is False
    )
    for name in ("mmf-alb-logs", "mmf-alb-logs-access"):
        bucket = one(plan, "mmf", "aws:s3/bucket:Bucket", name)
        assert not bucket.protect
        assert bucket.inputs["forceDestroy"] is True
    for name in ("mmf-ebs", "mmf-logs"):
        assert not one(plan, "mmf", "aws:kms/key:Key", name).protect
    groups = [r for r in app_resources(plan, "mmf") if r.type == LOG_GROUP]
    assert groups and not any(g.protect for g in groups)


def test_access_log_bucket_is_private_sse_s3_versioned_expiring_and_tls_only(
    prod: tuple[Plan, RecordingMocks],
) -> None:
    plan, _ = prod
    bucket = one(plan, "loyalty", "aws:s3/bucket:Bucket", "loyalty-alb-logs")
    assert bucket.protect and bucket.inputs["forceDestroy"] is False

    def part(type_: str) -> Registered:
        return bucket_part(plan, "loyalty", type_, bucket)

    pab = part("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock").inputs
    assert all(
        pab[k]
        for k in (
            "blockPublicAcls",
            "blockPublicPolicy",
            "ignorePublicAcls",
            "restrictPublicBuckets",
        )
    )
    sse = part(
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
    ).inputs["rules"]
    # ALB access logs support SSE-S3 only; SSE-KMS would silently stop log delivery.
    assert sse[0]["applyServerSideEncryptionByDefault"]["sseAlgorithm"] == "AES256"
    assert (
        part("aws:s3/bucketVersioning:BucketVersioning").inputs["versioningConfiguration"]["status"]
        == "Enabled"
    )
    own = part("aws:s3/bucketOwnershipControls:BucketOwnershipControls").inputs["rule"]
    assert own["objectOwnership"] == "BucketOwnerEnforced"
    (rule,) = part("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration").inputs[
        "rules"
    ]
    assert rule["status"] == "Enabled" and rule["expiration"]["days"] == 365

    doc = json.loads(part("aws:s3/bucketPolicy:BucketPolicy").inputs["policy"])
    deliver = next(s for s in doc["Statement"] if s["Effect"] == "Allow")
    assert deliver["Principal"] == {"AWS": "arn:aws:iam::114774131450:root"}
    assert deliver["Action"] == "s3:PutObject"
    assert deliver["Resource"] == f"{bucket.outputs['arn']}/alb/AWSLogs/111122223333/*"
    deny = next(s for s in doc["Statement"] if s["Effect"] == "Deny")
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert set(deny["Resource"]) == {bucket.outputs["arn"], f"{bucket.outputs['arn']}/*"}


def test_regions_newer_than_august_2022_deliver_logs_via_the_service_principal() -> None:
    def program() -> None:
        HaAppTier(
            "loyalty",
            loyalty_settings(
                userDataFile=None, certificateArn=CERT.replace("ap-southeast-1", "ap-southeast-5")
            ),
            context=StackContext(environment="nonprod"),
            network=fake_network(),
            alarm_topic_arn=TOPIC,
        )

    plan = run_offline(program, config={"aws:region": "ap-southeast-5"})
    # the ALB log bucket's policy (its access-log bucket has another): by name, not by order
    policy = plan.named("loyalty-alb-logs", "aws:s3/bucketPolicy:BucketPolicy")
    doc = json.loads(policy.inputs["policy"])
    deliver = next(s for s in doc["Statement"] if s["Effect"] == "Allow")
    assert deliver["Principal"] == {"Service": ELB_LOG_DELIVERY_SERVICE}


def test_target_group_health_check_and_draining_follow_config(
    prod: tuple[Plan, RecordingMocks],
) -> None:
    plan, _ = prod
    tg = one(plan, "loyalty", "aws:lb/targetGroup:TargetGroup")
    assert (tg.inputs["port"], tg.inputs["protocol"], tg.inputs["targetType"]) == (
        8080,
        "HTTP",
        "instance",
    )
    assert tg.inputs["deregistrationDelay"] == 60
    hc = tg.inputs["healthCheck"]
    assert hc["path"] == "/health" and hc["port"] == "traffic-port"
    assert (hc["healthyThreshold"], hc["unhealthyThreshold"], hc["interval"], hc["timeout"]) == (
        3,
        3,
        15,
        5,
    )


def test_internet_facing_alb_has_a_waf_with_managed_rules_and_a_rate_limit(
    prod: tuple[Plan, RecordingMocks],
) -> None:
    plan, _ = prod
    acl = one(plan, "loyalty", "aws:wafv2/webAcl:WebAcl")
    assert acl.inputs["scope"] == "REGIONAL"
    groups = {
        r["statement"]["managedRuleGroupStatement"]["name"]: r
        for r in acl.inputs["rules"]
        if "managedRuleGroupStatement" in r["statement"]
    }
    assert set(groups) == set(WAF_MANAGED_RULE_GROUPS)
    assert all(g["overrideAction"] == {"none": {}} for g in groups.values())
    (rate,) = [r for r in acl.inputs["rules"] if "rateBasedStatement" in r["statement"]]
    assert rate["statement"]["rateBasedStatement"]["limit"] == 2000
    assert "block" in rate["action"]
    priorities = [r["priority"] for r in acl.inputs["rules"]]
    assert len(priorities) == len(set(priorities))
    assoc = one(plan, "loyalty", "aws:wafv2/webAclAssociation:WebAclAssociation")
    alb = one(plan, "loyalty", "aws:lb/loadBalancer:LoadBalancer")
    assert (assoc.inputs["resourceArn"], assoc.inputs["webAclArn"]) == (
        alb.outputs["arn"],
        acl.outputs["arn"],
    )


# --- monitoring and outputs ------------------------------------------------------------


def test_alarms_page_the_stack_topic_on_alarm_and_recovery(
    prod: tuple[Plan, RecordingMocks],
) -> None:
    plan, _ = prod
    alarms = {
        r.inputs["metricName"]: r
        for r in app_resources(plan, "loyalty")
        if r.type == "aws:cloudwatch/metricAlarm:MetricAlarm"
    }
    assert set(alarms) == {
        "HTTPCode_ELB_5XX_Count",
        "HTTPCode_Target_5XX_Count",
        "UnHealthyHostCount",
        "TargetResponseTime",
        "GroupInServiceInstances",
        "BlockedRequests",
        "FileIntegrityFindings",
        "FileIntegrityChecks",
    }
    assert {a.name for a in alarms.values()} == {
        f"loyalty-{suffix}"
        for suffix in (
            "alb-5xx",
            "target-5xx",
            "unhealthy-hosts",
            "latency-p99",
            "in-service",
            "waf-blocked",
            "fim-changes",
            "fim-silent",
        )
    }
    for alarm in alarms.values():
        assert alarm.inputs["alarmActions"] == [TOPIC]
        assert alarm.inputs["okActions"] == [TOPIC]
    unhealthy = alarms["UnHealthyHostCount"].inputs
    assert (unhealthy["threshold"], unhealthy["comparisonOperator"]) == (0, "GreaterThanThreshold")
    latency = alarms["TargetResponseTime"].inputs
    assert latency["extendedStatistic"] == "p99" and latency["threshold"] == 1.0
    in_service = alarms["GroupInServiceInstances"].inputs
    asg = one(plan, "loyalty", "aws:autoscaling/group:Group")
    assert in_service["dimensions"] == {"AutoScalingGroupName": asg.outputs["name"]}
    assert (in_service["threshold"], in_service["comparisonOperator"]) == (3, "LessThanThreshold")


def test_outputs_and_dashboard_widgets(prod: tuple[Plan, RecordingMocks]) -> None:
    plan, _ = prod
    out = plan.stack_outputs
    alb = one(plan, "loyalty", "aws:lb/loadBalancer:LoadBalancer")
    assert out["loyalty.alb_dns_name"] == alb.outputs["dnsName"]
    assert out["loyalty.alb_zone_id"] == alb.outputs["zoneId"]
    assert out["loyalty.alb_arn"] == alb.outputs["arn"]
    assert (
        out["loyalty.access_log_bucket"]
        == one(plan, "loyalty", "aws:s3/bucket:Bucket", "loyalty-alb-logs").outputs["bucket"]
    )
    assert (
        out["loyalty.asg_name"]
        == one(plan, "loyalty", "aws:autoscaling/group:Group").outputs["name"]
    )
    assert (
        out["loyalty.instance_security_group_id"]
        == one(plan, "loyalty", "aws:ec2/securityGroup:SecurityGroup", "loyalty-instances").outputs[
            "id"
        ]
    )
    metrics = {m[1] for w in out["loyalty.widgets"] for m in w["properties"]["metrics"]}
    assert {
        "RequestCount",
        "HTTPCode_ELB_5XX_Count",
        "TargetResponseTime",
        "HealthyHostCount",
        "GroupInServiceInstances",
        "CPUUtilization",
    } <= metrics


def test_every_taggable_resource_carries_the_standard_tags(
    prod: tuple[Plan, RecordingMocks],
) -> None:
    plan, _ = prod
    resources = app_resources(plan, "loyalty")
    assert resources
    for r in resources:
        if r.type in UNTAGGABLE:
            continue
        tags = r.inputs.get("tags") or {}
        if r.type == "aws:autoscaling/group:Group":
            tags = {t["key"]: t["value"] for t in tags}
        assert tags, f"{r.type} {r.name} has no tags"
        assert set(STANDARD_TAG_KEYS) <= set(tags), r.name
        assert tags["component"] == "ha-app-tier" and tags["environment"] == "prod"
    # cost and ownership per application
    for type_, name in (
        ("aws:lb/loadBalancer:LoadBalancer", None),
        ("aws:ec2/launchTemplate:LaunchTemplate", None),
        ("aws:s3/bucket:Bucket", "loyalty-alb-logs"),
        ("aws:s3/bucket:Bucket", "loyalty-alb-logs-access"),
    ):
        assert one(plan, "loyalty", type_, name).inputs["tags"]["app"] == "loyalty", type_
    asg = one(plan, "loyalty", "aws:autoscaling/group:Group")
    assert {"key": "app", "value": "loyalty", "propagateAtLaunch": False} in asg.inputs["tags"]


def test_adding_an_app_leaves_the_existing_apps_resources_unchanged(
    prod: tuple[Plan, RecordingMocks], prod_two_apps: Plan
) -> None:
    before, _ = prod

    def identity(plan: Plan) -> dict[str, tuple[str, str, str]]:
        return {
            r.urn: (r.type, r.parent, json.dumps(r.inputs, sort_keys=True, default=str))
            for r in app_resources(plan, "loyalty")
        }

    assert identity(before) == identity(prod_two_apps)
    assert app_resources(prod_two_apps, "mmf"), "the new app added resources"
    # and the VPC was not touched either
    vpc_before = {r.urn: r.inputs for r in before if r.parent_name == "prod"}
    vpc_after = {r.urn: r.inputs for r in prod_two_apps if r.parent_name == "prod"}
    assert vpc_before == vpc_after


# --- the reference a data tier takes ---------------------------------------------------


def test_ref_gives_the_data_tier_the_instances_group_and_the_declared_services(
    prod: tuple[Plan, RecordingMocks],
) -> None:
    plan, _ = prod
    instances = one(plan, "loyalty", "aws:ec2/securityGroup:SecurityGroup", "loyalty-instances")
    assert plan.stack_outputs["loyalty.ref"] == instances.outputs["id"]
    refs: list[AppRef] = []

    def program() -> None:
        app = HaAppTier(
            "loyalty",
            mmf_settings(),
            context=StackContext(environment="nonprod"),
            network=fake_network(),
            alarm_topic_arn=TOPIC,
            data_services=["redis", "postgres", "redis"],
        )
        refs.append(app.ref)

    run_offline(program)
    (ref,) = refs
    assert isinstance(ref, AppRef)
    assert (ref.name, ref.data_services) == ("loyalty", frozenset({"postgres", "redis"}))


# --- the certificate -------------------------------------------------------------------


def _listener_certificate(certificate: Callable[[], pulumi.Input[str]]) -> Plan:
    def program() -> None:
        HaAppTier(
            "loyalty",
            mmf_settings(certificate_arn=certificate()),
            context=StackContext(environment="nonprod"),
            network=fake_network(),
            alarm_topic_arn=TOPIC,
        )

    return run_offline(program, mocks=RecordingMocks())


def test_a_certificate_created_in_the_same_program_serves_the_https_listener() -> None:
    def certificate() -> pulumi.Output[str]:
        cert = aws.acm.Certificate("loyalty", domain_name="loyalty.example.com")
        return cert.arn

    plan = _listener_certificate(certificate)
    cert = plan.named("loyalty", "aws:acm/certificate:Certificate")
    https = plan.named("loyalty-https", LISTENER)
    assert https.inputs["certificateArn"] == cert.outputs["arn"]


@pytest.mark.parametrize(
    ("arn", "expected"),
    [
        (
            CERT.replace("ap-southeast-1", "us-east-1"),
            "settings.certificate_arn: must be an ACM certificate in ap-southeast-1",
        ),
        (
            "arn:aws:iam::111122223333:server-certificate/loyalty",
            "settings.certificate_arn: 'arn:aws:iam::111122223333:server-certificate/loyalty' "
            "is not an ACM certificate ARN",
        ),
    ],
)
def test_a_wrong_certificate_output_fails_when_it_resolves(arn: str, expected: str) -> None:
    """Read from another stack, the ARN is known only at deploy: the deploy fails with the
    message a str gets at once."""
    with pytest.raises(ComponentConfigError) as error:
        _listener_certificate(lambda: pulumi.Output.from_input(arn))
    assert expected in str(error.value)
    assert str(error.value).startswith("HaAppTier('loyalty'): invalid configuration")


def test_a_certificate_of_another_region_given_as_a_str_fails_too() -> None:
    with pytest.raises(ComponentConfigError, match="must be an ACM certificate in ap-southeast-1"):
        _listener_certificate(lambda: CERT.replace("ap-southeast-1", "eu-west-1"))


# --- the environment -------------------------------------------------------------------


def test_nonprod_applies_the_nonprod_defaults_where_the_caller_is_silent(
    nonprod: tuple[Plan, RecordingMocks],
) -> None:
    plan, _ = nonprod
    asg = one(plan, "mmf", "aws:autoscaling/group:Group")
    assert (asg.inputs["minSize"], asg.inputs["desiredCapacity"], asg.inputs["maxSize"]) == (
        1,
        1,
        2,
    )
    (rule,) = one(
        plan,
        "mmf",
        "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
        "mmf-alb-logs",
    ).inputs["rules"]
    assert rule["expiration"]["days"] == 90
    groups = [r for r in app_resources(plan, "mmf") if r.type == LOG_GROUP]
    assert groups and {g.inputs["retentionInDays"] for g in groups} == {90}
    # what the caller set wins over the nonprod default (t3.medium)
    lt = one(plan, "mmf", "aws:ec2/launchTemplate:LaunchTemplate")
    assert lt.inputs["instanceType"] == "m7g.large"


def test_a_nonprod_caller_may_set_only_the_maximum() -> None:
    """HaAppTierSettings(max_size=2, ...) is a whole nonprod app: min 1, desired 1."""
    settings = HaAppTierSettings(max_size=2, certificate_arn=CERT)
    plan = plan_app(settings, environment="nonprod")
    asg = plan.named("loyalty-asg", "aws:autoscaling/group:Group")
    assert (asg.inputs["minSize"], asg.inputs["desiredCapacity"], asg.inputs["maxSize"]) == (
        1,
        1,
        2,
    )
    lt = plan.named("loyalty-lt", "aws:ec2/launchTemplate:LaunchTemplate")
    assert lt.inputs["instanceType"] == "t3.medium"
    # the same settings are not a prod app: prod's minimum of 3 is above the maximum
    message = problems_of(settings)
    assert "settings.min_size: 3 is greater than `max_size` (2)" in message


def test_defaults_are_the_prod_grade_ones() -> None:
    s = HaAppTierSettings(certificate_arn=CERT)
    assert (s.min_size, s.desired_capacity, s.max_size) == (3, 3, 9)
    assert s.internet_facing is False
    assert s.waf.enabled is True
    assert s.tls_policy == "ELBSecurityPolicy-TLS13-1-2-2021-06"
    assert s.access_log_retention_days >= 365
    for model in (HaAppTierSettings, type(s.health_check), type(s.waf), type(s.scaling)):
        assert all(f.description for f in model.model_fields.values()), model


# --- bad input -------------------------------------------------------------------------


def fake_network(
    azs: tuple[str, ...] = ("a", "b"),
    *,
    data_services: Iterable[str] = ("postgres", "redis"),
    app_ports: str = "8080",
) -> NetworkRef:
    """The reference of a SecureVpc that was planned but not built (fast wiring tests)."""
    plan = plan_network(
        SecureVpcSettings(availability_zones=list(azs), app_ports=app_ports),
        on_prem={},
        data_services=data_services,
        dms_source_engines=(),
    )
    o = pulumi.Output.from_input
    return NetworkRef(
        plan=plan,
        vpc_id=o("vpc-0123456789abcdef0"),
        subnet_ids={t: {az: o(f"subnet-{t}-{az}") for az in azs} for t in plan.tiers},
        route_table_ids={t: {az: o(f"rtb-{t}-{az}") for az in azs} for t in plan.tiers},
        endpoint_security_group_id=o("sg-0123456789abcdef0"),
        db_subnet_group_name=o("db"),
        docdb_subnet_group_name=o("docdb"),
        cache_subnet_group_name=o("cache"),
    )


def build_app(
    settings: HaAppTierSettings,
    *,
    environment: str = "prod",
    name: str = "loyalty",
    network: Callable[[], Any] = fake_network,
    **kwargs: Any,
) -> HaAppTier:
    return HaAppTier(
        name,
        settings,
        context=StackContext(environment=environment),
        network=network(),
        alarm_topic_arn=TOPIC,
        **kwargs,
    )


def plan_app(settings: HaAppTierSettings, **kwargs: Any) -> Plan:
    def program() -> None:
        build_app(settings, **kwargs)

    return run_offline(program)


def refused(build: Callable[[], object]) -> tuple[str, RecordingMonitor]:
    """The ComponentConfigError ``build`` raises, and what the run registered.

    The error is caught inside the program so the run goes on until every registration
    the program started has reached the monitor (an exception escaping the program would
    end the run first, and an empty record would prove nothing).
    """
    caught: list[ComponentConfigError] = []

    def program() -> None:
        try:
            build()
        except ComponentConfigError as error:
            caught.append(error)

    monitor = RecordingMonitor(PlatformMocks())
    run_offline(program, monitor=monitor)
    assert caught, "accepted"
    return str(caught[0]), monitor


def problems_of(settings: HaAppTierSettings, **kwargs: Any) -> str:
    """The ComponentConfigError message of an HaAppTier; asserts nothing was registered."""
    message, monitor = refused(lambda: build_app(settings, **kwargs))
    assert monitor.registered == []
    assert message.startswith(f"HaAppTier('{kwargs.get('name', 'loyalty')}'): invalid")
    return message


@pytest.mark.parametrize(
    ("settings", "key"),
    [
        ({"instance_type": "m6i-large"}, "instance_type"),
        ({"instanceType": "large"}, "instance_type"),  # a stack file's key, Python's name
        ({"ami_id": "ami-xyz"}, "ami_id"),
        ({"root_device_name": "sda"}, "root_device_name"),
        ({"app_port": 22}, "app_port"),
        ({"app_port": 3389}, "app_port"),
        ({"certificate_arn": "arn:aws:iam::111122223333:server-certificate/x"}, "certificate_arn"),
        ({"allowed_cidrs": {"partner": "10.1.2.3/16"}}, "allowed_cidrs.partner"),
        ({"allowed_cidrs": {"Partner": "10.1.0.0/16"}}, "allowed_cidrs.Partner.[key]"),
        ({"health_check": {"path": "health"}}, "health_check.path"),
        ({"health_check": {"matcher": "ok"}}, "health_check.matcher"),
        ({"health_check": {"interval_seconds": 1}}, "health_check.interval_seconds"),
        ({"waf": {"rate_limit": 5}}, "waf.rate_limit"),
        ({"instance_refresh_min_healthy_percentage": 5}, "instance_refresh_min_healthy_percentage"),
        ({"access_log_retention_days": 0}, "access_log_retention_days"),
        ({"log_retention_days": 100}, "log_retention_days"),
        ({"max_instance_lifetime_days": 0}, "max_instance_lifetime_days"),
        ({"app_log_files": ["var/log/app.log"]}, "app_log_files"),
        ({"app_log_files": ["/var/log/../etc/shadow"]}, "app_log_files"),
        ({"app_log_files": []}, "app_log_files"),
        ({"patching": {"scan_schedule": "daily"}}, "patching.scan_schedule"),
        ({"patching": {"install_schedule": "cron(0 18 * * SUN)"}}, "patching.install_schedule"),
        ({"patching": {"approve_after_days": 361}}, "patching.approve_after_days"),
        ({"file_integrity": {"schedule": "rate(0 days)"}}, "file_integrity.schedule"),
        ({"alarms": {"waf_blocked_per_5_minutes": 0}}, "alarms.waf_blocked_per_5_minutes"),
        ({"unknown_key": 1}, "unknown_key"),
    ],
)
def test_a_bad_value_is_rejected_naming_the_python_field(
    settings: dict[str, Any], key: str
) -> None:
    with pytest.raises(ValidationError) as error:
        HaAppTierSettings.model_validate({"certificate_arn": CERT, **settings})
    lines = str(error.value).splitlines()
    assert lines[1] == key, lines
    assert not lines[2].strip().removeprefix("Value error, ").startswith(key.split(".")[-1])


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        (
            {"min_size": 4, "desired_capacity": 4, "max_size": 3},
            "settings.min_size: 4 is greater than `max_size` (3); raise `max_size`",
        ),
        (
            {"desired_capacity": 10},
            "settings.desired_capacity: 10 is not between `min_size` (3) and `max_size` (9)",
        ),
        (
            {"min_size": 2, "desired_capacity": 1},
            "settings.desired_capacity: 1 is not between `min_size` (2)",
        ),
        (
            {"internet_facing": True, "certificate_arn": None},
            "settings.certificate_arn: required: an internet-facing ALB serves HTTPS only",
        ),
        (
            {"certificate_arn": None},
            "settings.certificate_arn: required: an internal ALB serves HTTPS only",
        ),
        (
            {"allowed_cidrs": {"anyone": "0.0.0.0/0"}},
            "settings.allowed_cidrs['anyone']: an internal ALB is never open to 0.0.0.0/0; "
            "name the client ranges, or set `internet_facing` to true",
        ),
        (
            {"root_device_name": "/dev/sda1"},
            "settings.root_device_name: Amazon Linux 2023 (the default AMI) boots from "
            "/dev/xvda; set `ami_id` too",
        ),
        (
            {"health_check": {"interval_seconds": 5, "timeout_seconds": 5}},
            "settings.health_check.timeout_seconds: 5 must be less than "
            "`health_check.interval_seconds` (5)",
        ),
        (
            {"allowed_cidrs": {"vpc": "10.20.0.0/16"}},
            "settings.allowed_cidrs['vpc']: the names vpc and onprem-* are reserved",
        ),
        (
            {"allowed_cidrs": {"partner": "10.10.0.0/16"}},
            "settings.allowed_cidrs: 10.10.0.0/16 (partner) is already admitted as vpc",
        ),
        (
            {"app_port": 9000},
            "settings.app_port: 9000 is outside the network's app ports 8080-8080: the app "
            "tier's NACLs would drop it",
        ),
        (
            {"user_data_file": "userdata/missing.sh"},
            "settings.user_data_file: 'userdata/missing.sh' not found",
        ),
    ],
)
def test_a_broken_rule_fails_naming_the_python_key_and_registers_nothing(
    settings: dict[str, Any], expected: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert expected in problems_of(HaAppTierSettings(**{"certificate_arn": CERT, **settings}))


def test_an_ami_of_its_own_may_boot_from_another_root_device() -> None:
    settings = HaAppTierSettings(
        certificate_arn=CERT, ami_id="ami-0123456789abcdef0", root_device_name="/dev/sda1"
    )
    lt = plan_app(settings).named("loyalty-lt", "aws:ec2/launchTemplate:LaunchTemplate")
    assert lt.inputs["blockDeviceMappings"][0]["deviceName"] == "/dev/sda1"
    assert lt.inputs["imageId"] == "ami-0123456789abcdef0"


def test_oversized_user_data_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "big.sh").write_bytes(b"#" * (16 * 1024 + 1))
    monkeypatch.chdir(tmp_path)
    message = problems_of(HaAppTierSettings(certificate_arn=CERT, user_data_file="big.sh"))
    assert "settings.user_data_file: 'big.sh' is 16385 bytes; EC2 accepts at most 16 KB" in message


def test_user_data_that_leaves_no_room_for_the_platform_boot_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """16 KB is EC2's limit for the whole archive: the app's file gets what the platform's
    parts leave."""
    (tmp_path / "app.sh").write_bytes(b"#!/bin/bash\n" + b"#" * MAX_APP_USER_DATA_BYTES)
    monkeypatch.chdir(tmp_path)
    message = problems_of(HaAppTierSettings(certificate_arn=CERT, user_data_file="app.sh"))
    assert "the platform's boot script takes 6 KB, so keep it under 10240 bytes" in message
    (tmp_path / "app.sh").write_bytes(b"#!/bin/bash\n" + b"#" * (MAX_APP_USER_DATA_BYTES - 12))
    assert plan_app(HaAppTierSettings(certificate_arn=CERT, user_data_file="app.sh"))


@pytest.mark.parametrize(
    "content",
    [
        # mtime=0: a gzip header carries a timestamp, and xdist workers must collect the same
        gzip.compress(b"#!/bin/bash\necho hi\n", mtime=0),
        b"#include\nhttps://example.com/boot.sh\n",
        b"echo no interpreter line\n",
        b"#!/bin/bash\necho \xff\xfe\n",
    ],
    ids=["gzipped", "include-url", "no-interpreter", "not-utf8"],
)
def test_user_data_the_platform_cannot_run_after_its_boot_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, content: bytes
) -> None:
    (tmp_path / "app.sh").write_bytes(content)
    monkeypatch.chdir(tmp_path)
    message = problems_of(HaAppTierSettings(certificate_arn=CERT, user_data_file="app.sh"))
    assert "settings.user_data_file: 'app.sh' is not a script (#!/bin/bash ...) or a" in message


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        (
            {"min_size": 1, "desired_capacity": 1},
            "settings.min_size: prod runs >= 2 instances per app, spread over AZs",
        ),
        (
            {"internet_facing": True, "waf": {"enabled": False}},
            "settings.waf.enabled: internet-facing prod ALBs have AWS WAF (PCI DSS 6.4.2)",
        ),
        (
            {"access_log_retention_days": 90},
            "settings.access_log_retention_days: prod keeps ALB access logs >= 365 days",
        ),
        (
            {"log_retention_days": 90},
            "settings.log_retention_days: prod keeps the instances' and WAF logs >= 365 days",
        ),
        (
            {"max_instance_lifetime_days": None},
            "settings.max_instance_lifetime_days: prod replaces every instance within a set "
            "lifetime",
        ),
        (
            {"patching": {"approve_after_days": 30}},
            "settings.patching.approve_after_days: prod approves security patches within 14 days",
        ),
        (
            {"file_integrity": {"enabled": False}},
            "settings.file_integrity.enabled: prod monitors the integrity of the instances'",
        ),
        (
            {"file_integrity": {"schedule": "cron(0 3 1 * ? *)"}},
            "settings.file_integrity.schedule: prod compares critical files at least weekly",
        ),
        (
            {"file_integrity": {"schedule": "rate(10 days)"}},
            "settings.file_integrity.schedule: prod compares critical files at least weekly",
        ),
    ],
)
def test_prod_refuses_what_its_rules_forbid_and_nonprod_accepts_it(
    settings: dict[str, Any], expected: str
) -> None:
    app = HaAppTierSettings(**{"certificate_arn": CERT, **settings})
    assert expected in problems_of(app)
    assert plan_app(app, environment="nonprod").named("loyalty", COMPONENT_TYPE)


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"name": "Loyalty"}, "name: 'Loyalty' must be 1-20 lowercase letters"),
        ({"name": "loyalty-rewards-points"}, "name: 'loyalty-rewards-points' must be 1-20"),
        (
            {"data_services": ["cassandra"]},
            "data_services: unknown data service(s) ['cassandra']",
        ),
        (
            {"data_services": ["postgres", "documentdb"]},
            "data_services: the network's data-tier NACLs do not admit ['documentdb']; build "
            "the SecureVpc with data_services including them",
        ),
        ({"data_services": "postgres"}, "data_services: expected a list of data service names"),
        (
            {"network": lambda: fake_network(("a",))},
            "network: the network spans 1 AZ(s); an ALB needs subnets in at least 2 AZs",
        ),
        (
            {"network": lambda: fake_network(app_ports="9000-9099")},
            "settings.app_port: 8080 is outside the network's app ports 9000-9099",
        ),
        (
            {"network": lambda: "vpc-0123456789abcdef0"},
            "network: expected the SecureVpc's reference: pass network=vpc.ref (got str)",
        ),
    ],
)
def test_bad_wiring_names_the_argument_and_registers_nothing(
    kwargs: dict[str, Any], expected: str
) -> None:
    assert expected in problems_of(HaAppTierSettings(certificate_arn=CERT), **kwargs)


def test_passing_the_securevpc_instead_of_its_ref_is_refused_naming_vpc_ref() -> None:
    def build() -> None:
        context = StackContext()
        vpc = SecureVpc("prod", SecureVpcSettings(), context=context)
        HaAppTier(
            "loyalty",
            HaAppTierSettings(certificate_arn=CERT),
            context=context,
            network=vpc,  # type: ignore[arg-type]
            alarm_topic_arn=TOPIC,
        )

    message, monitor = refused(build)
    assert (
        "network: expected the SecureVpc's reference: pass network=vpc.ref "
        "(got the SecureVpc itself)"
    ) in message
    assert monitor.registered, "the SecureVpc itself was built"
    assert not [r for r in monitor.registered if r.name.startswith("loyalty")]


def test_every_problem_is_reported_at_once() -> None:
    message = problems_of(
        HaAppTierSettings(
            certificate_arn=CERT, min_size=1, desired_capacity=5, max_size=4, app_port=9000
        ),
        name="Loyalty",
        data_services=["cassandra"],
    )
    for key in (
        "settings.min_size: prod runs",
        "settings.desired_capacity",
        "settings.app_port",
        "name:",
        "data_services:",
    ):
        assert key in message, key


def test_a_wrong_network_argument_still_reports_the_other_problems() -> None:
    message = problems_of(
        HaAppTierSettings(certificate_arn=CERT, min_size=5),
        network=lambda: "vpc-0123456789abcdef0",
    )
    assert "network: expected the SecureVpc's reference" in message
    assert "settings.min_size: 5 is greater than `max_size`" not in message
    assert "settings.desired_capacity: 3 is not between `min_size` (5)" in message


def test_a_stack_file_gets_the_same_problems_under_its_camelcase_keys() -> None:
    from components.plan import read_stack_config
    from stacks import ConfigError, settings_from_config
    from stacks.loader import preflight

    _, config, _ = read_stack_config(Path(__file__).resolve().parents[1], "prod")
    apps = json.loads(config["payments-platform:apps"])
    apps["loyalty"]["minSize"] = 10
    apps["mmf"]["healthCheck"] = {"intervalSeconds": 5, "timeoutSeconds": 5}
    config["payments-platform:apps"] = json.dumps(apps)
    with pytest.raises(ConfigError) as error:
        preflight(settings_from_config(config), {})
    message = str(error.value)
    assert (
        "payments-platform:apps.loyalty.minSize: 10 is greater than `maxSize` (9); raise "
        "`maxSize` or lower this"
    ) in message
    assert (
        "payments-platform:apps.mmf.healthCheck.timeoutSeconds: 5 must be less than "
        "`healthCheck.intervalSeconds` (5)"
    ) in message


# --- logs, patching and file integrity (PCI DSS 6.3.3, 10.2, 11.5.2) --------------------


def log_group(plan: Plan, app: str, name: str) -> Registered:
    (group,) = [
        r for r in app_resources(plan, app) if r.type == LOG_GROUP and r.inputs["name"] == name
    ]
    return group


def test_waf_logs_every_request_to_an_encrypted_aws_waf_logs_group_without_credentials(
    prod: tuple[Plan, RecordingMocks],
) -> None:
    plan, _ = prod
    acl = one(plan, "loyalty", "aws:wafv2/webAcl:WebAcl")
    config = one(plan, "loyalty", "aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration")
    assert config.inputs["resourceArn"] == acl.outputs["arn"]
    (destination,) = config.inputs["logDestinationConfigs"]
    group = one(plan, "loyalty", LOG_GROUP, "loyalty-waf-logs")
    assert destination == group.outputs["arn"]
    # WAF refuses a destination whose name does not start with aws-waf-logs-
    assert group.inputs["name"].startswith("aws-waf-logs-")
    key = one(plan, "loyalty", "aws:kms/key:Key", "loyalty-logs")
    assert group.inputs["kmsKeyId"] == key.outputs["arn"]
    assert group.inputs["retentionInDays"] == 365 and group.protect
    redacted = {f["singleHeader"]["name"] for f in config.inputs["redactedFields"]}
    assert redacted == {"authorization", "cookie"}
    delivery = one(plan, "loyalty", "aws:cloudwatch/logResourcePolicy:LogResourcePolicy")
    assert delivery.urn in config.dependencies, "WAF checks the delivery permission"


def test_an_internal_alb_has_no_web_acl_and_so_no_waf_logs_or_alarm(
    nonprod: tuple[Plan, RecordingMocks],
) -> None:
    plan, _ = nonprod
    kinds = {r.type for r in app_resources(plan, "mmf")}
    assert not {t for t in kinds if t.startswith("aws:wafv2/")}
    names = {r.name for r in app_resources(plan, "mmf") if r.type == ALARM}
    assert "mmf-waf-blocked" not in names


def test_blocked_requests_alarm_watches_the_web_acl_by_name_region_and_all_rules(
    prod: tuple[Plan, RecordingMocks],
) -> None:
    plan, mocks = prod
    alarm = one(plan, "loyalty", ALARM, "loyalty-waf-blocked")
    acl = one(plan, "loyalty", "aws:wafv2/webAcl:WebAcl")
    i = alarm.inputs
    assert (i["namespace"], i["metricName"], i["statistic"]) == (
        "AWS/WAFV2",
        "BlockedRequests",
        "Sum",
    )
    # WAF publishes under the web ACL's name (not its visibility metric name)
    assert i["dimensions"] == {"WebACL": acl.outputs["name"], "Region": mocks.region, "Rule": "ALL"}
    assert (i["threshold"], i["comparisonOperator"], i["period"]) == (
        500,
        "GreaterThanThreshold",
        300,
    )
    # WAF reports the metric only when it is not zero: no data is no blocked request
    assert i["treatMissingData"] == "notBreaching"


def test_the_alb_log_bucket_sends_its_server_access_logs_to_a_bucket_of_its_own(
    prod: tuple[Plan, RecordingMocks],
) -> None:
    plan, _ = prod
    source = one(plan, "loyalty", "aws:s3/bucket:Bucket", "loyalty-alb-logs")
    target = one(plan, "loyalty", "aws:s3/bucket:Bucket", "loyalty-alb-logs-access")
    logging = one(plan, "loyalty", "aws:s3/bucketLogging:BucketLogging")
    assert logging.inputs["bucket"] == source.outputs["id"]
    assert logging.inputs["targetBucket"] == target.outputs["id"]
    assert logging.inputs["targetPrefix"] == operations.SERVER_ACCESS_LOG_PREFIX
    assert target.protect and "objectLockEnabled" not in target.inputs
    sse = bucket_part(
        plan,
        "loyalty",
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
        target,
    ).inputs["rules"]
    # a server access log target may only use SSE-S3 as default encryption
    assert sse[0]["applyServerSideEncryptionByDefault"]["sseAlgorithm"] == "AES256"
    (rule,) = bucket_part(
        plan, "loyalty", "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", target
    ).inputs["rules"]
    assert rule["expiration"]["days"] == 365
    policy = bucket_part(plan, "loyalty", "aws:s3/bucketPolicy:BucketPolicy", target)
    assert policy.urn in logging.dependencies
    doc = json.loads(policy.inputs["policy"])
    (deliver,) = [s for s in doc["Statement"] if s["Effect"] == "Allow"]
    assert deliver["Principal"] == {"Service": "logging.s3.amazonaws.com"}
    assert deliver["Condition"]["ArnLike"] == {"aws:SourceArn": source.outputs["arn"]}
    # the target does not log itself (S3 would log its own log deliveries forever)
    loggings = [r for r in app_resources(plan, "loyalty") if r.type == logging.type]
    assert [r.inputs["bucket"] for r in loggings] == [source.outputs["id"]]


def agent_config(plan: Plan, app: str) -> dict[str, Any]:
    parameter = one(plan, app, "aws:ssm/parameter:Parameter")
    assert parameter.inputs["type"] == "String"
    return dict(json.loads(parameter.inputs["insecureValue"]))


def test_the_stack_creates_the_cloudwatch_agent_configuration_the_instances_load(
    prod: tuple[Plan, RecordingMocks],
) -> None:
    plan, _ = prod
    config = agent_config(plan, "loyalty")
    collected = {
        f["file_path"]: f["log_group_name"]
        for f in config["logs"]["logs_collected"]["files"]["collect_list"]
    }
    system = "/payments-platform/prod/loyalty/system"
    # PCI DSS 10.2.1: logons and privilege use, the kernel audit trail, package changes
    for path in ("/var/log/secure", "/var/log/audit/audit.log", "/var/log/dnf.rpm.log"):
        assert collected[path] == system, path
    assert collected["/var/log/loyalty/*.log"] == "/payments-platform/prod/loyalty/application"
    assert collected[host.FIM_LOG] == "/payments-platform/prod/loyalty/file-integrity"
    key = one(plan, "loyalty", "aws:kms/key:Key", "loyalty-logs")
    for name in set(collected.values()):
        group = log_group(plan, "loyalty", name)
        assert group.inputs["kmsKeyId"] == key.outputs["arn"], name
        assert group.inputs["retentionInDays"] == 365 and group.protect, name
    metrics = config["metrics"]["metrics_collected"]
    assert {"mem", "disk", "swap"} <= set(metrics)
    assert config["metrics"]["append_dimensions"]["AutoScalingGroupName"] == (
        "${aws:AutoScalingGroupName}"
    )
    # a Standard parameter holds at most 4 KB
    assert len(one(plan, "loyalty", "aws:ssm/parameter:Parameter").inputs["insecureValue"]) <= 4096


def test_a_new_agent_configuration_is_a_new_launch_template_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An instance loads the configuration only at boot: a change must roll the instances."""
    monkeypatch.chdir(tmp_path)

    def user_data(**settings: Any) -> str:
        plan = plan_app(HaAppTierSettings(certificate_arn=CERT, **settings))
        return str(
            plan.named("loyalty-lt", "aws:ec2/launchTemplate:LaunchTemplate").inputs["userData"]
        )

    assert user_data() != user_data(app_log_files=["/opt/loyalty/logs/*.log"])


STUBBED = ("dnf", "systemctl", "curl", "aws", "agent-ctl", "aide", "cloud-init")


def run_script(
    tmp_path: Path,
    script: str,
    *,
    failing: tuple[str, ...] = (),
    agent_status: str = "running",
    aide_exit: int = 0,
    shell: str = "bash",
) -> tuple[int, list[str]]:
    """Run a platform script as cloud-init or the SSM agent would, with every command it calls
    on the host replaced by a stub that records its arguments (and fails if named in
    ``failing``); returns the exit code and the calls."""
    bin_dir, calls = tmp_path / "bin", tmp_path / "calls.log"
    bin_dir.mkdir(exist_ok=True)
    answers = {
        "curl": 'case "$*" in *api/token*) echo t;; *instance-id*) echo i-0abc;; '
        "*region*) echo ap-southeast-1;; esac",
        "agent-ctl": f'case "$*" in *status*) echo \'{{"status": "{agent_status}"}}\';; esac',
        "aide": f"exit {aide_exit}",
        "aws": 'echo "region=$AWS_DEFAULT_REGION" >> ' + str(calls),
    }
    for name in STUBBED:
        body = "exit 1" if name in failing else answers.get(name, "")
        stub = bin_dir / name
        stub.write_text(f'#!/bin/bash\necho "{name} $*" >> {calls}\n{body}\n')
        stub.chmod(stub.stat().st_mode | stat.S_IEXEC)
    paths = {
        host.AGENT_CTL: str(bin_dir / "agent-ctl"),
        host.BOOT_FAILED_MARKER: str(tmp_path / "run" / "boot-failed"),
        "/dev/console": str(tmp_path / "console"),
        "/var/log/aide": str(tmp_path / "aide-log"),
        "/var/lib/aide": str(tmp_path / "aide-db"),
    }
    for real, fake in paths.items():
        script = script.replace(real, fake)
    (tmp_path / "aide-db").mkdir(exist_ok=True)
    env = {**os.environ, "PATH": f"{bin_dir}:/usr/bin:/bin"}
    done = subprocess.run([shell, "-c", script], env=env, capture_output=True, timeout=60)
    return done.returncode, calls.read_text().splitlines() if calls.exists() else []


def boot_part(plan: Plan, app: str) -> str:
    lt = one(plan, app, "aws:ec2/launchTemplate:LaunchTemplate")
    return user_data_parts(lt)[0][2]


def test_the_boot_loads_the_agent_configuration_and_goes_on(
    prod: tuple[Plan, RecordingMocks], tmp_path: Path
) -> None:
    plan, _ = prod
    code, calls = run_script(tmp_path, boot_part(plan, "loyalty"))
    assert code == 0, calls
    parameter = one(plan, "loyalty", "aws:ssm/parameter:Parameter").outputs["name"]
    assert f"agent-ctl -a fetch-config -m ec2 -s -c ssm:{parameter}" in calls
    assert "dnf install -y amazon-cloudwatch-agent rsyslog audit aide" in calls
    assert not [c for c in calls if c.startswith("aws ")], "a healthy boot marks nothing"


@pytest.mark.parametrize(
    ("failing", "agent_status"),
    [(("agent-ctl",), "running"), ((), "stopped"), (("dnf",), "running")],
    ids=["configuration-not-loaded", "agent-not-running", "packages-not-installed"],
)
def test_a_boot_that_cannot_load_the_agent_marks_the_instance_unhealthy_and_fails(
    prod: tuple[Plan, RecordingMocks],
    tmp_path: Path,
    failing: tuple[str, ...],
    agent_status: str,
) -> None:
    """No instance serves without shipping its audit logs (PCI DSS 10.2.1, 10.7.2): the user
    data exits non-zero and the group replaces the instance at once."""
    plan, _ = prod
    code, calls = run_script(
        tmp_path, boot_part(plan, "loyalty"), failing=failing, agent_status=agent_status
    )
    assert code == 1
    assert (
        "aws autoscaling set-instance-health --instance-id i-0abc --health-status Unhealthy "
        "--no-should-respect-grace-period"
    ) in calls
    assert "region=ap-southeast-1" in calls
    assert (tmp_path / "run" / "boot-failed").exists(), "the parts after it stop"
    # the platform's FIM part then refuses to baseline a failed boot
    lt = one(plan, "loyalty", "aws:ec2/launchTemplate:LaunchTemplate")
    fim_code, _ = run_script(tmp_path, user_data_parts(lt)[2][2])
    assert fim_code == 1


def test_a_boot_that_cannot_even_mark_itself_unhealthy_powers_the_instance_off(
    prod: tuple[Plan, RecordingMocks], tmp_path: Path
) -> None:
    """A stopped instance is unhealthy to EC2 Auto Scaling too."""
    plan, _ = prod
    code, calls = run_script(tmp_path, boot_part(plan, "loyalty"), failing=("agent-ctl", "aws"))
    assert code == 1
    assert "systemctl poweroff" in calls


def test_the_instances_carry_the_ssm_patch_group_and_guardduty_tags(
    prod: tuple[Plan, RecordingMocks],
) -> None:
    plan, _ = prod
    lt = one(plan, "loyalty", "aws:ec2/launchTemplate:LaunchTemplate")
    tags = {s["resourceType"]: s["tags"] for s in lt.inputs["tagSpecifications"]}
    # agreed with the LandingZone: operators run named SSM documents on these instances only
    assert tags["instance"]["ssm-managed-by"] == "payments-platform"
    assert tags["instance"]["PatchGroup"] == "payments-platform-prod-loyalty"
    assert tags["instance"]["GuardDutyManaged"] == "true"
    assert "PatchGroup" not in tags["volume"]


def test_instances_stay_within_ec2s_50_tags_with_the_most_extra_tags_a_stack_may_set() -> None:
    context = StackContext(extra_tags={f"tag-{i}": "x" for i in range(MAX_EXTRA_TAGS)})

    def program() -> None:
        HaAppTier(
            "loyalty",
            HaAppTierSettings(certificate_arn=CERT),
            context=context,
            network=fake_network(),
            alarm_topic_arn=TOPIC,
        )

    plan = run_offline(program)
    lt = plan.named("loyalty-lt", "aws:ec2/launchTemplate:LaunchTemplate")
    assert max(len(s["tags"]) for s in lt.inputs["tagSpecifications"]) == MAX_TAGS_PER_RESOURCE


def test_the_group_replaces_instances_older_than_30_days_by_default(
    prod: tuple[Plan, RecordingMocks], nonprod: tuple[Plan, RecordingMocks]
) -> None:
    for plan, app in ((prod[0], "loyalty"), (nonprod[0], "mmf")):
        asg = one(plan, app, "aws:autoscaling/group:Group")
        assert asg.inputs["maxInstanceLifetime"] == 30 * 86400


def test_patch_baseline_scan_and_install_window_cover_exactly_the_apps_instances(
    prod: tuple[Plan, RecordingMocks],
) -> None:
    plan, _ = prod
    group = "payments-platform-prod-loyalty"
    tag = [{"key": "tag:PatchGroup", "values": [group]}]
    baseline = one(plan, "loyalty", "aws:ssm/patchBaseline:PatchBaseline")
    assert baseline.inputs["operatingSystem"] == "AMAZON_LINUX_2023"
    rules = baseline.inputs["approvalRules"]
    assert {r["approveAfterDays"] for r in rules} == {7}
    classified = {
        f["values"][0] for r in rules for f in r["patchFilters"] if f["key"] == "CLASSIFICATION"
    }
    assert classified == {"Security", "Bugfix"}
    registration = one(plan, "loyalty", "aws:ssm/patchGroup:PatchGroup")
    assert registration.inputs == {"baselineId": baseline.outputs["id"], "patchGroup": group}
    scan = one(plan, "loyalty", "aws:ssm/association:Association", "loyalty-patch-scan")
    assert scan.inputs["name"] == "AWS-RunPatchBaseline"
    assert scan.inputs["parameters"] == {"Operation": "Scan"}
    assert scan.inputs["targets"] == tag
    assert scan.inputs["scheduleExpression"] == "cron(0 2 ? * * *)"
    # a new instance is scanned when it registers, not only at the next interval
    assert not scan.inputs.get("applyOnlyAtCronInterval")
    window = one(plan, "loyalty", "aws:ssm/maintenanceWindow:MaintenanceWindow")
    assert window.inputs["schedule"] == "cron(0 18 ? * SUN *)"
    assert window.inputs["allowUnassociatedTargets"] is False
    target = one(plan, "loyalty", "aws:ssm/maintenanceWindowTarget:MaintenanceWindowTarget")
    assert target.inputs["windowId"] == window.outputs["id"] and target.inputs["targets"] == tag
    task = one(plan, "loyalty", "aws:ssm/maintenanceWindowTask:MaintenanceWindowTask")
    assert task.inputs["taskArn"] == "AWS-RunPatchBaselineWithHooks"
    assert task.inputs["targets"] == [{"key": "WindowTargetIds", "values": [target.outputs["id"]]}]
    assert (task.inputs["maxConcurrency"], task.inputs["maxErrors"]) == ("1", "1")
    run = task.inputs["taskInvocationParameters"]["runCommandParameters"]
    parameters = {p["name"]: p["values"] for p in run["parameters"]}
    documents = {
        r.name: r.outputs["name"]
        for r in app_resources(plan, "loyalty")
        if r.type == "aws:ssm/document:Document"
    }
    assert parameters == {
        "Operation": ["Install"],
        "RebootOption": ["RebootIfNeeded"],
        "PreInstallHookDocName": [documents["loyalty-fim-check"]],
        "PostInstallHookDocName": [documents["loyalty-fim-baseline"]],
    }
    assert run["cloudwatchConfig"] == {
        "cloudwatchLogGroupName": "/payments-platform/prod/loyalty/patching",
        "cloudwatchOutputEnabled": True,
    }
    role = one(plan, "loyalty", "aws:iam/role:Role", "loyalty-patch-window")
    assert task.inputs["serviceRoleArn"] == role.outputs["arn"]


def test_file_integrity_is_compared_daily_and_changes_alarm(
    prod: tuple[Plan, RecordingMocks],
) -> None:
    plan, _ = prod
    check = one(plan, "loyalty", "aws:ssm/document:Document", "loyalty-fim-check")
    assert check.inputs["documentType"] == "Command"
    steps = json.loads(check.inputs["content"])["mainSteps"]
    assert steps[0]["inputs"]["runCommand"] == host.fim_check_commands()
    association = one(plan, "loyalty", "aws:ssm/association:Association", "loyalty-fim-check")
    assert association.inputs["name"] == check.outputs["name"]
    assert association.inputs["targets"] == [
        {"key": "tag:PatchGroup", "values": ["payments-platform-prod-loyalty"]}
    ]
    assert association.inputs["scheduleExpression"] == "cron(0 3 ? * * *)"
    # one changed instance fails its run; the others are still compared
    assert association.inputs["maxErrors"] == "100%"
    fim_group = "/payments-platform/prod/loyalty/file-integrity"
    filters = {
        r.inputs["metricTransformation"]["name"]: r
        for r in app_resources(plan, "loyalty")
        if r.type == "aws:cloudwatch/logMetricFilter:LogMetricFilter"
    }
    assert {f.inputs["logGroupName"] for f in filters.values()} == {fim_group}
    changes = one(plan, "loyalty", ALARM, "loyalty-fim-changes").inputs
    findings = filters[changes["metricName"]].inputs["metricTransformation"]
    assert changes["namespace"] == findings["namespace"] == "payments-platform/loyalty"
    assert (changes["threshold"], changes["comparisonOperator"]) == (0, "GreaterThanThreshold")
    silent = one(plan, "loyalty", ALARM, "loyalty-fim-silent").inputs
    assert (
        silent["metricName"]
        == filters["FileIntegrityChecks"].inputs["metricTransformation"]["name"]
    )
    assert silent["treatMissingData"] == "breaching"
    assert silent["period"] * silent["evaluationPeriods"] == 2 * 86400


def filter_matches(pattern: str, line: str) -> bool:
    """A CloudWatch Logs filter pattern of ``?"term"`` alternatives on one unstructured line."""
    terms = re.findall(r'\?"([^"]+)"', pattern)
    assert terms and pattern == " ".join(f'?"{t}"' for t in terms)
    return any(term in line for term in terms)


@pytest.mark.parametrize(
    ("aide_exit", "result", "findings"),
    [(0, "clean", False), (1, "changed", True), (4, "changed", True), (17, "error", True)],
)
def test_each_comparison_ends_with_the_line_the_metric_filters_count(
    prod: tuple[Plan, RecordingMocks],
    tmp_path: Path,
    aide_exit: int,
    result: str,
    findings: bool,
) -> None:
    """AIDE's exit code: 1-7 added, removed or changed files, above 7 an error. The check
    runs under POSIX sh (the SSM agent's shell) and exits with AIDE's code, so the
    association's run fails on a change too."""
    plan, _ = prod
    (tmp_path / "aide-db").mkdir()
    (tmp_path / "aide-db" / "aide.db.gz").write_bytes(b"baseline")
    script = "\n".join(host.fim_check_commands())
    code, calls = run_script(tmp_path, script, aide_exit=aide_exit, shell="sh")
    assert code == aide_exit
    assert "aide -A !/var/log --check" in calls
    last = (tmp_path / "aide-log" / "aide-check.log").read_text().splitlines()[-1]
    assert f"fim-result={result}" in last
    filters = {
        r.inputs["metricTransformation"]["name"]: r.inputs["pattern"]
        for r in app_resources(plan, "loyalty")
        if r.type == "aws:cloudwatch/logMetricFilter:LogMetricFilter"
    }
    assert filter_matches(filters["FileIntegrityChecks"], last)
    assert filter_matches(filters["FileIntegrityFindings"], last) is findings


def test_a_comparison_without_a_baseline_is_an_error_not_a_pass(tmp_path: Path) -> None:
    code, _ = run_script(tmp_path, "\n".join(host.fim_check_commands()), shell="sh")
    assert code == 1
    log = (tmp_path / "aide-log" / "aide-check.log").read_text()
    assert host.FIM_ERROR in log


def test_without_file_integrity_monitoring_nothing_of_it_is_built(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    settings = HaAppTierSettings(certificate_arn=CERT, file_integrity={"enabled": False})
    plan = plan_app(settings, environment="nonprod")
    assert not plan.of_type("aws:ssm/document:Document")
    assert not plan.of_type("aws:cloudwatch/logMetricFilter:LogMetricFilter")
    assert not [a for a in plan.of_type(ALARM) if "-fim-" in a.name]
    lt = plan.named("loyalty-lt", "aws:ec2/launchTemplate:LaunchTemplate")
    parts = user_data_parts(lt)
    assert [p[0] for p in parts] == ["00-payments-platform-boot.sh"]
    assert " aide" not in parts[0][2]
    task = plan.named(
        "loyalty-patch-install", "aws:ssm/maintenanceWindowTask:MaintenanceWindowTask"
    )
    names = {
        p["name"]
        for p in task.inputs["taskInvocationParameters"]["runCommandParameters"]["parameters"]
    }
    assert names == {"Operation", "RebootOption"}


@pytest.mark.parametrize(
    ("schedule", "days"),
    [
        ("cron(0 3 ? * * *)", 1),
        ("cron(0 3 ? * SUN *)", 7),
        ("cron(0 3 ? * MON,THU *)", 7),
        ("cron(0 3 1 * ? *)", 31),
        ("cron(0 3 ? * SUN#1 *)", 31),
        ("cron(0 3 1 JAN ? *)", 366),
        ("rate(12 hours)", 1),
        ("rate(3 days)", 3),
        ("rate(30 minutes)", 1),
    ],
)
def test_how_far_apart_two_comparisons_can_be(schedule: str, days: int) -> None:
    assert schedule_interval_days(schedule) == days


def test_the_platform_parts_fit_the_room_they_leave_the_app() -> None:
    """The user data check gives the app 16 KB less the platform's share: the platform's
    parts of the longest app name and a long project stay within that share."""
    names = host.HostLogGroups.of("p" * 40, "nonprod", "a" * 20)
    boot = host.boot_script(
        f"/{'p' * 40}/nonprod/{'a' * 20}/cloudwatch-agent", "f" * 64, file_integrity=True
    )
    archive = base64.b64decode(host.user_data("a" * 20, boot, b"", file_integrity=True))
    assert len(archive) <= host.PLATFORM_USER_DATA_BYTES
    assert names.system.endswith("/system")
