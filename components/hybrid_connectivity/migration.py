"""The rehost landing area of HybridConnectivity: AWS Application Migration Service (MGN).

It lives with the link to the data centres because it serves only traffic from there and goes
when the last wave is cut over: `hybrid.migration` in the stack file; removing that key
deletes exactly what this module built (every logical name starts with ``<name>-mgn-``).
Its subnets come from SecureVpc's fixed plan (tier block ``STAGING_SLOT``), so their CIDRs
overlap nothing and no other subnet moves.

What AWS documents and this builds (MGN User Guide):
- "Network requirements" (preparing-environments.html, Network-Requirements.html): the
  staging area subnet hosts the replication servers (and the conversion servers); source
  servers send data to them on TCP 1500; the staging subnet reaches MGN, EC2 and S3 on 443;
  the S3 buckets (``aws-mgn-*``, ``aws-application-migration-service-*``, ``amazon-ssm-*``)
  must be allowed by an S3 endpoint's policy.
- "Installing the Agent on a secured network" (installing-agent-blocked.html): with
  VPN/DX, replication uses private IPs, an MGN interface endpoint and an S3 interface
  endpoint in the staging subnet let the agent installer reach MGN and S3 privately
  (``--endpoint``, ``--s3-endpoint``); a scoped-down MGN endpoint policy must allow
  ``execute-api:Invoke`` on ``POST/CreateSessionForMgn``.
- "Event samples" (eventbridge-events.html): the events routed to the alarm topic.

What has no API here (a documented step of docs/mgn-cutover.md): initialising the service
(``aws mgn initialize-service`` creates the service-linked role and the
AWSApplicationMigration* roles, and must run before the templates can be created), installing
the agents, and each source server's EC2 launch template (subnet, security group, instance
type), which MGN creates when the agent registers.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any, cast

import pulumi
import pulumi_aws as aws

from ..core.aws_env import policy_json
from ..core.kms import customer_managed_key, key_policy
from ..core.scope import Scope
from ..core.security_groups import Rule, restricted_security_group
from ..ha_app_tier.component import AppRef
from ..secure_vpc import NetworkRef
from ..secure_vpc import plan as net
from ..secure_vpc.component import deployed_entries, nacl_entry
from ..secure_vpc.endpoint_policies import interface_endpoint_policy
from .alarms import MIGRATION_EVENTS
from .checks import migration_sources
from .settings import HybridConnectivitySettings, MigrationSettings

#: The AWS-managed policy AWS documents for the principal that installs the replication
#: agent (MGN User Guide, "Generating the required AWS credentials"); AWS keeps it in step
#: with the agent, which a hand-written copy would not be.
AGENT_INSTALLATION_POLICY = "AWSApplicationMigrationAgentInstallationPolicy"
#: Agent installation sessions last at most an hour (the IAM minimum for a role session).
INSTALLER_SESSION_SECONDS = 3600

#: The buckets MGN's replication servers, conversion servers and agent installer read, by
#: name pattern (MGN User Guide, "Network requirements", "Communication over TCP port 443":
#: the buckets to allowlist, and the example S3 endpoint policy granting s3:GetObject).
MGN_BUCKETS = (
    "aws-mgn-clients-{region}",
    "aws-mgn-clients-hashes-{region}",
    "aws-mgn-internal-{region}",
    "aws-mgn-internal-hashes-{region}",
    "aws-application-migration-service-{region}",
    "aws-application-migration-service-hashes-{region}",
    "amazon-ssm-{region}",
)


def mgn_bucket_arns(partition: str, region: str) -> list[str]:
    """The object ARNs of MGN's buckets in ``region``."""
    return [f"arn:{partition}:s3:::{b.format(region=region)}/*" for b in MGN_BUCKETS]


def s3_endpoint_policy(*, partition: str, region: str) -> dict[str, Any]:
    """The staging area's S3 endpoints (gateway and interface) read MGN's software and
    nothing else: no bucket of ours or anyone's is writable through them, so a replication
    server cannot carry card data out to S3."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "ReadApplicationMigrationServiceBuckets",
                "Effect": "Allow",
                "Principal": "*",
                "Action": "s3:GetObject",
                "Resource": mgn_bucket_arns(partition, region),
            }
        ],
    }


def mgn_endpoint_policy(
    *, organization_id: str | None, account_id: str, partition: str, region: str
) -> dict[str, Any]:
    """The MGN interface endpoint: the organization's (or account's) principals on its
    resources (the platform's perimeter), plus the agent's session call, which MGN documents
    for scoped-down endpoint policies (installing-agent-blocked.html)."""
    document = interface_endpoint_policy(
        "mgn",
        organization_id=organization_id,
        account_id=account_id,
        partition=partition,
        region=region,
    )
    document["Statement"].append(
        {
            "Sid": "AgentCreatesSession",
            "Effect": "Allow",
            "Principal": "*",
            "Action": "execute-api:Invoke",
            "Resource": f"arn:{partition}:execute-api:{region}:*:*/POST/CreateSessionForMgn",
        }
    )
    return document


@dataclass(frozen=True)
class Staging:
    """The staging area's network: its subnets (by AZ letter) and route table."""

    subnets: Mapping[str, aws.ec2.Subnet]
    route_table: aws.ec2.RouteTable


@dataclass(frozen=True)
class Endpoints:
    """The staging area's endpoints and their security group."""

    security_group: aws.ec2.SecurityGroup
    s3_gateway: aws.ec2.VpcEndpoint
    mgn: aws.ec2.VpcEndpoint
    s3: aws.ec2.VpcEndpoint
    ec2: aws.ec2.VpcEndpoint | None  # None: the VPC's own ec2 endpoint serves


def build_migration(
    scope: Scope,
    settings: HybridConnectivitySettings,
    network: NetworkRef,
    vgw: aws.ec2.VpnGateway,
    vgw_attachment: aws.ec2.VpnGatewayAttachment,
    apps: Mapping[str, AppRef],
    alarm_topic_arn: pulumi.Input[str],
) -> pulumi.Output[dict[str, Any]]:
    """Every part of the landing area, in order; the stack output that tells the cutover
    team what to put in each command of the runbook."""
    migration = settings.migration
    assert migration is not None
    sources = migration_sources(settings)
    staging = staging_network(scope, network, vgw, vgw_attachment)
    staging_nacl(scope, network, staging, settings)
    endpoints = staging_endpoints(scope, network, staging, sources)
    replication_sg = replication_security_group(scope, network, endpoints, sources)
    key = staging_disk_key(scope)
    replication = replication_template(scope, migration, network, staging, replication_sg, key)
    launch = launch_template(scope, migration)
    installer = agent_installer_role(scope, migration)
    if migration.event_rules:
        migration_events(scope, alarm_topic_arn)
    return pulumi.Output.from_input(
        cast(
            Any,
            {
                "stagingSubnetIds": {az: s.id for az, s in sorted(staging.subnets.items())},
                "replicationSecurityGroupId": replication_sg.id,
                "stagingKeyArn": key.arn,
                "replicationTemplateId": replication.id,
                "launchTemplateId": launch.id,
                "agentInstallerRoleArn": installer.arn,
                "mgnEndpointDns": endpoints.mgn.dns_entries.apply(_first_dns),
                "s3EndpointDns": endpoints.s3.dns_entries.apply(_first_dns),
                "waves": {
                    wave_name: {
                        "app": wave.app,
                        "sourceServers": list(wave.source_servers),
                        "subnetIds": network.tier_subnet_ids("app"),
                        "securityGroupId": apps[wave.app].instance_security_group_id,
                    }
                    for wave_name, wave in sorted(migration.waves.items())
                },
            },
        )
    )


def _first_dns(entries: Any) -> str:
    """An interface endpoint's regional DNS name (its first DNS entry)."""
    if not entries:
        return ""
    first = entries[0]
    name = getattr(first, "dns_name", None)
    if name is None and isinstance(first, Mapping):
        name = first.get("dns_name", first.get("dnsName"))
    # an S3 interface endpoint's names are wildcards (``*.vpce-...``): the agent takes the
    # name without the ``*.``
    return str(name or "").removeprefix("*.")


def _az_name(letter: str, region: str) -> str:
    return f"{region}{letter}"


def staging_network(
    scope: Scope,
    network: NetworkRef,
    vgw: aws.ec2.VpnGateway,
    vgw_attachment: aws.ec2.VpnGatewayAttachment,
) -> Staging:
    """A staging subnet per AZ of the VPC, in the plan's staging block, and one route table
    with the VPC's local route and the routes the VGW propagates (the data centres): no
    internet gateway, NAT or firewall route, so nothing in staging reaches the internet
    and the replication servers are reachable only over VPN or Direct Connect."""
    prefix = f"{scope.name}-mgn-staging"
    subnets = {
        az: aws.ec2.Subnet(
            f"{prefix}-{az}",
            vpc_id=network.vpc_id,
            cidr_block=net.subnet_cidr(network.vpc_cidr, net.STAGING_SLOT, az),
            availability_zone=scope.env.region.apply(partial(_az_name, az)),
            map_public_ip_on_launch=False,
            tags=scope.tags(Name=f"{prefix}-{az}", tier=net.STAGING_TIER),
            opts=scope.opts(),
        )
        for az in network.availability_zones
    }
    table = aws.ec2.RouteTable(
        prefix,
        vpc_id=network.vpc_id,
        tags=scope.tags(Name=prefix, tier=net.STAGING_TIER),
        opts=scope.opts(),
    )
    for az, subnet in subnets.items():
        aws.ec2.RouteTableAssociation(
            f"{prefix}-{az}",
            subnet_id=subnet.id,
            route_table_id=table.id,
            opts=scope.opts(),
        )
    aws.ec2.VpnGatewayRoutePropagation(
        prefix,
        vpn_gateway_id=vgw.id,
        route_table_id=table.id,
        opts=scope.opts(depends_on=[vgw_attachment]),
    )
    return Staging(subnets, table)


def staging_nacl(
    scope: Scope, network: NetworkRef, staging: Staging, settings: HybridConnectivitySettings
) -> None:
    """The staging tier's NACL: TCP 1500 and HTTPS from the source ranges only (plus the
    answers), HTTPS inside the tier and to S3 (``plan.plan_staging_nacl_rules``). Rule numbers
    follow the VPC's tables, each on the number the deployed NACL holds it under."""
    prefix = f"{scope.name}-mgn-staging"
    sources = {
        name: (cidr, settings.on_prem_networks[name].nacl_slot)
        for name, cidr in migration_sources(settings).items()
    }
    acl = aws.ec2.NetworkAcl(
        prefix,
        vpc_id=network.vpc_id,
        tags=scope.tags(Name=prefix, tier=net.STAGING_TIER),
        opts=scope.opts(),
    )
    for az, subnet in staging.subnets.items():
        aws.ec2.NetworkAclAssociation(
            f"{prefix}-{az}",
            network_acl_id=acl.id,
            subnet_id=subnet.id,
            opts=scope.opts(),
        )
    deployed = deployed_entries(scope, "mgn-staging", acl)
    for rule in net.plan_staging_nacl_rules(network.vpc_cidr, sources):
        nacl_entry(scope, f"{scope.name}-mgn-{rule.key}", acl, rule, deployed)


def _policy(scope: Scope, document: Any) -> pulumi.Output[str]:
    env = scope.env
    return policy_json(
        pulumi.Output.all(env.account_id, env.partition, env.region).apply(
            lambda a: document(account_id=a[0], partition=a[1], region=a[2])
        )
    )


def staging_endpoints(
    scope: Scope, network: NetworkRef, staging: Staging, sources: Mapping[str, str]
) -> Endpoints:
    """The endpoints that keep replication and control traffic private.

    - S3 gateway endpoint on the staging route table only, reading MGN's buckets only (the
      VPC's own S3 gateway endpoint is not reused: its policy admits our buckets and the
      hosts' package repositories, not MGN's, and a route table takes one S3 gateway
      endpoint);
    - MGN interface endpoint, private DNS on (the replication servers call
      ``mgn.<region>.amazonaws.com``); the agents use its DNS name (``--endpoint``);
    - S3 interface endpoint, private DNS off, for the agents' downloads from the data centre
      (``--s3-endpoint``); inside the VPC S3 stays on the gateway endpoint;
    - EC2 interface endpoint (private DNS on: the replication servers create snapshots), unless
      the VPC already has one (``network.interfaceEndpoints``), which then serves: its policy
      is the same perimeter and its security group admits HTTPS from the whole VPC.

    Their security group admits HTTPS from the staging tier and the source ranges only."""
    prefix = f"{scope.name}-mgn"
    staging_block = str(net.tier_block(network.vpc_cidr, net.STAGING_SLOT))
    security_group = restricted_security_group(
        f"{prefix}-endpoints",
        vpc_id=network.vpc_id,
        description="MGN, EC2 and S3 endpoints of the staging area: HTTPS from staging and sources",
        context=scope.context,
        component=scope.component,
        ingress=[
            Rule(
                "https",
                443,
                cidrs={"staging": staging_block, **dict(sorted(sources.items()))},
                description="HTTPS from the replication servers and the source servers",
            )
        ],
        parent=scope.parent,
    )
    subnet_ids = [staging.subnets[az].id for az in sorted(staging.subnets)]
    org = scope.context.organization_id
    s3_policy = _policy(
        scope,
        lambda account_id, partition, region: s3_endpoint_policy(
            partition=partition, region=region
        ),
    )
    s3_gateway = aws.ec2.VpcEndpoint(
        f"{prefix}-s3-gateway",
        vpc_id=network.vpc_id,
        service_name=scope.env.service_name("s3"),
        vpc_endpoint_type="Gateway",
        route_table_ids=[staging.route_table.id],
        policy=s3_policy,
        tags=scope.tags(Name=f"{prefix}-s3-gateway"),
        opts=scope.opts(),
    )

    def interface(
        service: str, policy: pulumi.Output[str], private_dns: bool
    ) -> aws.ec2.VpcEndpoint:
        return aws.ec2.VpcEndpoint(
            f"{prefix}-{service}",
            vpc_id=network.vpc_id,
            service_name=scope.env.service_name(service),
            vpc_endpoint_type="Interface",
            policy=policy,
            private_dns_enabled=private_dns,
            subnet_ids=subnet_ids,
            security_group_ids=[security_group.id],
            tags=scope.tags(Name=f"{prefix}-{service}"),
            opts=scope.opts(),
        )

    mgn = interface(
        "mgn",
        _policy(
            scope,
            lambda account_id, partition, region: mgn_endpoint_policy(
                organization_id=org, account_id=account_id, partition=partition, region=region
            ),
        ),
        True,
    )
    s3 = interface("s3", s3_policy, False)
    ec2 = None
    if "ec2" not in network.plan.interface_endpoints:
        ec2 = interface(
            "ec2",
            _policy(
                scope,
                lambda account_id, partition, region: interface_endpoint_policy(
                    "ec2",
                    organization_id=org,
                    account_id=account_id,
                    partition=partition,
                    region=region,
                ),
            ),
            True,
        )
    return Endpoints(security_group, s3_gateway, mgn, s3, ec2)


def replication_security_group(
    scope: Scope, network: NetworkRef, endpoints: Endpoints, sources: Mapping[str, str]
) -> aws.ec2.SecurityGroup:
    """The replication servers' group: TCP 1500 from the source ranges only; out, HTTPS to
    the staging endpoints (and the VPC's, when its ec2 endpoint serves) and to S3's prefix
    list through the gateway endpoint; nothing else."""
    endpoint_groups: dict[str, pulumi.Input[str]] = {"mgn-endpoints": endpoints.security_group.id}
    if endpoints.ec2 is None:
        endpoint_groups["vpc-endpoints"] = network.endpoint_security_group_id
    return restricted_security_group(
        f"{scope.name}-mgn-replication",
        vpc_id=network.vpc_id,
        description="MGN replication servers: TCP 1500 from the source ranges only",
        context=scope.context,
        component=scope.component,
        ingress=[
            Rule(
                "mgn-replication",
                1500,
                cidrs=dict(sorted(sources.items())),
                description="Replicated data from the source servers' agents",
            )
        ],
        egress=[
            Rule(
                "https-endpoints",
                443,
                security_groups=endpoint_groups,
                description="MGN and EC2 APIs through the interface endpoints",
            ),
            Rule(
                "https-s3",
                443,
                prefix_lists={"s3": endpoints.s3_gateway.prefix_list_id},
                description="MGN's software buckets through the S3 gateway endpoint",
            ),
        ],
        parent=scope.parent,
    )


def staging_disk_key(scope: Scope) -> aws.kms.Key:
    """The key of the staging disks and their snapshots (card data while replicating, in
    prod): usable only through EC2 (``kms:ViaService``) by principals of this account, as the
    EBS default key policy does; MGN's service-linked role and the replication and conversion
    servers' roles create, attach and snapshot the volumes through EC2. Nobody decrypts with
    it directly. Protected in prod like every key; see docs/mgn-cutover.md before removal."""
    return customer_managed_key(
        f"{scope.name}-mgn-staging",
        description=f"Encrypts MGN staging disks and snapshots of {scope.name}",
        policy=key_policy(scope.env, via_services=["ec2"]),
        context=scope.context,
        component=scope.component,
        parent=scope.parent,
        iam_decides_use=False,
    )


def _desired_state(document: Mapping[str, Any]) -> pulumi.Output[str]:
    return pulumi.Output.from_input(cast(Any, document)).apply(
        lambda d: json.dumps(d, sort_keys=True, separators=(",", ":"))
    )


def _cfn_tags(tags: Mapping[str, str]) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in sorted(tags.items())]


def replication_template(
    scope: Scope,
    migration: MigrationSettings,
    network: NetworkRef,
    staging: Staging,
    security_group: aws.ec2.SecurityGroup,
    key: aws.kms.Key,
) -> aws.cloudcontrol.Resource:
    """``AWS::MGN::ReplicationConfigurationTemplate``: replication servers in the staging
    subnet of ``stagingAz``, in our security group only (not MGN's default group, which
    admits 1500 from anywhere), staging disks encrypted with our key, private IPs only.
    MGN has no point-in-time snapshot policy setting (that is Elastic Disaster Recovery's
    ``PitPolicy``); MGN keeps its own snapshots of the staging disks."""
    replication = migration.replication
    az = migration.staging_az or sorted(network.availability_zones)[0]
    tags = scope.tags(Name=f"{scope.name}-mgn-staging", tier=net.STAGING_TIER)
    return aws.cloudcontrol.Resource(
        f"{scope.name}-mgn-replication",
        type_name="AWS::MGN::ReplicationConfigurationTemplate",
        desired_state=_desired_state(
            {
                "StagingAreaSubnetId": staging.subnets[az].id,
                "AssociateDefaultSecurityGroup": False,
                "ReplicationServersSecurityGroupsIDs": [security_group.id],
                "ReplicationServerInstanceType": replication.instance_type,
                "UseDedicatedReplicationServer": replication.dedicated_servers,
                "DefaultLargeStagingDiskType": replication.large_disk_type,
                "EbsEncryption": "CUSTOM",
                "EbsEncryptionKeyArn": key.arn,
                "BandwidthThrottling": replication.bandwidth_throttling_mbps,
                # replicated data goes to the servers' private IPs over VPN/DX; no public IP
                "DataPlaneRouting": "PRIVATE_IP",
                "CreatePublicIP": False,
                "UseFipsEndpoint": False,
                # the replication servers, staging disks and snapshots carry the stack's
                # classification (cde in prod), so inventory and SCPs see them as CDE
                "StagingAreaTags": tags,
                "Tags": _cfn_tags(scope.tags(Name=f"{scope.name}-mgn-replication")),
            }
        ),
        opts=scope.opts(),
    )


def launch_template(scope: Scope, migration: MigrationSettings) -> aws.cloudcontrol.Resource:
    """``AWS::MGN::LaunchConfigurationTemplate``: how every newly registered source server's
    test and cutover instances launch. Never a public IP; never the source's private IP (the
    data centre's addresses are not in the VPC); source tags not copied (ours are set by the
    wave's EC2 launch template). Subnet, security groups and instance type are not properties
    of this type: they are in each server's EC2 launch template (docs/mgn-cutover.md)."""
    launch = migration.launch
    state: dict[str, Any] = {
        "AssociatePublicIpAddress": False,
        "CopyPrivateIp": False,
        "CopyTags": False,
        "BootMode": launch.boot_mode,
        "Licensing": {"OsByol": launch.os_byol},
        "LaunchDisposition": "STARTED" if launch.start_instances else "STOPPED",
        "TargetInstanceTypeRightSizingMethod": launch.right_sizing,
        "EnableMapAutoTagging": launch.map_migration_id is not None,
        "Tags": _cfn_tags(scope.tags(Name=f"{scope.name}-mgn-launch")),
    }
    if launch.map_migration_id is not None:
        state["MapAutoTaggingMpeId"] = launch.map_migration_id
    return aws.cloudcontrol.Resource(
        f"{scope.name}-mgn-launch",
        type_name="AWS::MGN::LaunchConfigurationTemplate",
        desired_state=_desired_state(state),
        opts=scope.opts(),
    )


def agent_installer_role(scope: Scope, migration: MigrationSettings) -> aws.iam.Role:
    """The role whose 1-hour credentials an engineer passes to the agent installer on a
    source server (``aws sts assume-role``, then the installer's ``--aws-access-key-id``,
    ``--aws-secret-access-key`` and ``--aws-session-token``): no long-lived access key on a
    server (PCI DSS 8.6.2). Only the named installers (default: the stack's administrators)
    may assume it; it holds the AWS-managed agent-installation policy and nothing else."""
    env = scope.env
    installers = sorted(migration.agent_installers or scope.context.administrators)
    role = aws.iam.Role(
        f"{scope.name}-mgn-agent-installer",
        description="Assumed for 1 hour to install the MGN replication agent on a source server",
        max_session_duration=INSTALLER_SESSION_SECONDS,
        assume_role_policy=policy_json(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Sid": "NamedInstallersOnly",
                        "Effect": "Allow",
                        "Principal": {"AWS": env.root_principal()},
                        "Action": "sts:AssumeRole",
                        "Condition": {"ArnLike": {"aws:PrincipalArn": installers}},
                    }
                ],
            }
        ),
        tags=scope.tags(),
        opts=scope.opts(),
    )
    aws.iam.RolePolicyAttachment(
        f"{scope.name}-mgn-agent-installer",
        role=role.name,
        policy_arn=env.partition.apply(
            lambda p: f"arn:{p}:iam::aws:policy/{AGENT_INSTALLATION_POLICY}"
        ),
        opts=scope.opts(),
    )
    return role


def migration_events(scope: Scope, alarm_topic_arn: pulumi.Input[str]) -> None:
    """MGN's events to the alarm topic, from the default bus of the stack's region (MGN
    emits them where it replicates). The topic admits EventBridge rules of this account."""
    for event in MIGRATION_EVENTS:
        rule = aws.cloudwatch.EventRule(
            f"{scope.name}-{event.name}",
            description=f"MGN: {event.why}"[:512],
            event_pattern=event.pattern(),
            tags=scope.tags(),
            opts=scope.opts(),
        )
        aws.cloudwatch.EventTarget(
            f"{scope.name}-{event.name}",
            rule=rule.name,
            arn=alarm_topic_arn,
            target_id="alarm-topic",
            opts=scope.opts(),
        )
