"""What AWS returns when a resource is created: ids, ARNs and computed attributes in their real
shapes, for the offline mocks (``components.testing.PlatformMocks``).

A mock that returns whatever the code expects proves nothing. These answers follow the
shapes the AWS APIs and the Terraform AWS provider (which pulumi-aws bridges) document: a
security group's id is ``sg-`` and 17 hex digits, a KMS key's id is a UUID, an alarm's ARN is
``arn:aws:cloudwatch:<region>:<account>:alarm:<name>``, an IAM ARN has no region. Names a
provider generates (Pulumi's auto-naming: the logical name plus ``-`` and 7 hex digits) are
generated the same way. So code that builds an ARN pattern, splits an id or reads an
attribute AWS leaves empty fails offline as it would in AWS.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Created:
    """One resource as the mocks create it."""

    type: str
    name: str  # logical name
    inputs: Mapping[str, Any]
    region: str
    account: str

    def hex(self, length: int = 17, salt: str = "") -> str:
        """Stable hex digits derived from the type, logical name and ``salt``."""
        key = f"{self.type}|{self.name}|{salt}"
        return hashlib.sha256(key.encode()).hexdigest()[:length]

    def uuid(self) -> str:
        h = self.hex(32, "uuid")
        return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-8{h[17:20]}-{h[20:32]}"

    def named(self, prop: str = "name", *, lower: bool = False) -> str:
        """The input ``prop``, or the name Pulumi's auto-naming gives it: logical name, a dash
        and 7 hex digits (lower-case where the service demands it, e.g. S3 buckets)."""
        value = self.inputs.get(prop)
        if value:
            return str(value)
        name = f"{self.name}-{self.hex(7, 'autoname')}"
        return name.lower() if lower else name

    def arn(self, service: str, resource: str, *, regional: bool = True) -> str:
        region = self.region if regional else ""
        return f"arn:aws:{service}:{region}:{self.account}:{resource}"


#: type token -> (id, extra outputs) of a created resource
Shape = Callable[[Created], tuple[str, dict[str, Any]]]


def _ec2(prefix: str, kind: str) -> Shape:
    """An EC2 resource: ``<prefix>-<17 hex>``, ARN ``arn:aws:ec2:<r>:<a>:<kind>/<id>``."""

    def shape(c: Created) -> tuple[str, dict[str, Any]]:
        resource_id = f"{prefix}-{c.hex()}"
        return resource_id, {"arn": c.arn("ec2", f"{kind}/{resource_id}")}

    return shape


def _vpc_endpoint(c: Created) -> tuple[str, dict[str, Any]]:
    """A VPC endpoint: ``vpce-`` id; a gateway endpoint has the service's managed prefix list
    (``pl-`` and 8 hex digits) for security group rules; an interface endpoint has its DNS
    entries, the regional name first
    (``vpce-<id>-<8 chars>.<service>.<region>.vpce.amazonaws.com``)."""
    resource_id = f"vpce-{c.hex()}"
    outputs: dict[str, Any] = {"arn": c.arn("ec2", f"vpc-endpoint/{resource_id}")}
    service = str(c.inputs.get("serviceName") or "")
    if c.inputs.get("vpcEndpointType") == "Gateway":
        outputs["prefixListId"] = f"pl-{c.hex(8, 'prefix-list')}"
    elif service:
        short = service.split(".", 3)[-1]
        # S3's interface endpoint names are wildcards (bucket.vpce-..., PrivateLink for S3)
        wildcard = "*." if short == "s3" else ""
        outputs["dnsEntries"] = [
            {
                "dnsName": f"{wildcard}{resource_id}-{c.hex(8, 'dns')}.{short}.{c.region}"
                ".vpce.amazonaws.com",
                "hostedZoneId": f"Z{c.hex(13, 'zone').upper()}",
            }
        ]
    return resource_id, outputs


def _cloudcontrol(c: Created) -> tuple[str, dict[str, Any]]:
    """A Cloud Control resource: its ``identifier`` (the primary identifier CloudFormation
    defines for the type) and ``properties`` (the desired state plus what the service
    computes, as JSON). MGN's templates are identified by their id (``rct-`` / ``lct-`` and
    17 hex digits) and carry their ARN."""
    type_name = str(c.inputs.get("typeName") or "")
    desired = json.loads(str(c.inputs.get("desiredState") or "{}"))
    computed: dict[str, Any] = {}
    if type_name == "AWS::MGN::ReplicationConfigurationTemplate":
        ident = f"rct-{c.hex()}"
        computed = {
            "ReplicationConfigurationTemplateID": ident,
            "Arn": c.arn("mgn", f"replication-configuration-template/{ident}"),
        }
    elif type_name == "AWS::MGN::LaunchConfigurationTemplate":
        ident = f"lct-{c.hex()}"
        computed = {
            "LaunchConfigurationTemplateId": ident,
            "Arn": c.arn("mgn", f"launch-configuration-template/{ident}"),
        }
    else:
        ident = c.uuid()
    return ident, {
        "identifier": ident,
        "properties": json.dumps({**desired, **computed}, sort_keys=True),
    }


def _plain(prefix: str) -> Shape:
    """A resource whose id is a prefix and hex digits and that has no ARN of its own."""
    return lambda c: (f"{prefix}{c.hex()}", {})


def _by_name(prop: str, arn: Callable[[Created, str], str] | None = None, **kw: Any) -> Shape:
    """A resource whose id is its (possibly auto-generated) name."""

    def shape(c: Created) -> tuple[str, dict[str, Any]]:
        name = c.named(prop, **kw)
        outputs: dict[str, Any] = {prop: name}
        if arn is not None:
            outputs["arn"] = arn(c, name)
        return name, outputs

    return shape


def _iam(kind: str) -> Shape:
    """An IAM resource: id = name; ARN global (no region)."""
    return _by_name("name", lambda c, n: c.arn("iam", f"{kind}/{n}", regional=False))


def _kms_key(c: Created) -> tuple[str, dict[str, Any]]:
    key_id = c.uuid()
    return key_id, {"keyId": key_id, "arn": c.arn("kms", f"key/{key_id}")}


def _log_group(c: Created) -> tuple[str, dict[str, Any]]:
    name = c.named()
    return name, {"name": name, "arn": c.arn("logs", f"log-group:{name}")}


def _secret(c: Created) -> tuple[str, dict[str, Any]]:
    name = c.named()
    suffix = c.hex(6, "secret")  # Secrets Manager appends 6 random characters
    arn = c.arn("secretsmanager", f"secret:{name}-{suffix}")
    return arn, {"name": name, "arn": arn}


def _lambda_function(c: Created) -> tuple[str, dict[str, Any]]:
    name = c.named()
    arn = c.arn("lambda", f"function:{name}")
    return name, {
        "name": name,
        "arn": arn,
        "qualifiedArn": f"{arn}:$LATEST",
        "invokeArn": f"arn:aws:apigateway:{c.region}:lambda:path/2015-03-31/functions/{arn}"
        "/invocations",
        "version": "$LATEST",
    }


def _sar_stack(c: Created) -> tuple[str, dict[str, Any]]:
    """A Serverless Application Repository stack: CloudFormation names it
    ``serverlessrepo-<name>``; AWS's rotation templates output the function's ARN."""
    name = c.named()
    stack_id = c.arn("cloudformation", f"stack/serverlessrepo-{name}/{c.uuid()}")
    function = (c.inputs.get("parameters") or {}).get("functionName", name)
    return stack_id, {
        "name": name,
        "outputs": {"RotationLambdaARN": c.arn("lambda", f"function:{function}")},
    }


def _load_balancer(c: Created) -> tuple[str, dict[str, Any]]:
    name = c.named()
    kind = "net" if c.inputs.get("loadBalancerType") == "network" else "app"
    suffix = f"{kind}/{name}/{c.hex(16)}"
    arn = c.arn("elasticloadbalancing", f"loadbalancer/{suffix}")
    return arn, {
        "name": name,
        "arn": arn,
        "arnSuffix": suffix,
        "dnsName": f"{'internal-' if c.inputs.get('internal') else ''}{name}-"
        f"{int(c.hex(9), 16)}.{c.region}.elb.amazonaws.com",
        "zoneId": "Z1LMS91P8CMLE5",
    }


def _target_group(c: Created) -> tuple[str, dict[str, Any]]:
    name = c.named()
    suffix = f"targetgroup/{name}/{c.hex(16)}"
    arn = c.arn("elasticloadbalancing", suffix)
    return arn, {"name": name, "arn": arn, "arnSuffix": suffix}


def _listener(c: Created) -> tuple[str, dict[str, Any]]:
    arn = c.arn("elasticloadbalancing", f"listener/app/{c.name}/{c.hex(16)}/{c.hex(16, 'l')}")
    return arn, {"arn": arn}


def _rds_instance(c: Created) -> tuple[str, dict[str, Any]]:
    identifier = c.named("identifier", lower=True)
    resource_id = "db-" + c.hex(26).upper()
    address = f"{identifier}.c{c.hex(11)}.{c.region}.rds.amazonaws.com"
    return resource_id, {
        "identifier": identifier,
        "resourceId": resource_id,
        "arn": c.arn("rds", f"db:{identifier}"),
        "address": address,
        "endpoint": f"{address}:{c.inputs.get('port', 5432)}",
        "masterUserSecrets": (
            [
                {
                    "secretArn": c.arn("secretsmanager", f"secret:rds!db-{c.uuid()}-{c.hex(6)}"),
                    "kmsKeyId": c.inputs.get("masterUserSecretKmsKeyId", ""),
                    "secretStatus": "active",
                }
            ]
            if c.inputs.get("manageMasterUserPassword")
            else []  # AWS returns none unless RDS manages the password
        ),
    }


def _docdb_cluster(c: Created) -> tuple[str, dict[str, Any]]:
    identifier = c.named("clusterIdentifier", lower=True)
    host = f"{identifier}.cluster-c{c.hex(11)}.{c.region}.docdb.amazonaws.com"
    return identifier, {
        "clusterIdentifier": identifier,
        "arn": c.arn("rds", f"cluster:{identifier}"),
        "endpoint": host,
        "readerEndpoint": host.replace(".cluster-", ".cluster-ro-"),
        "masterUserSecrets": (
            [
                {
                    "secretArn": c.arn("secretsmanager", f"secret:rds!cluster-{c.uuid()}-x1Y2z3"),
                    "kmsKeyId": "",
                    "secretStatus": "active",
                }
            ]
            if c.inputs.get("manageMasterUserPassword")
            else []
        ),
    }


def _replication_group(c: Created) -> tuple[str, dict[str, Any]]:
    group_id = c.named("replicationGroupId", lower=True)
    host = f"{group_id}.{c.hex(6)}.ng.0001.{_short_region(c.region)}.cache.amazonaws.com"
    outputs: dict[str, Any] = {
        "replicationGroupId": group_id,
        "arn": c.arn("elasticache", f"replicationgroup:{group_id}"),
        "primaryEndpointAddress": f"master.{host}",
        "readerEndpointAddress": f"replica.{host}",
    }
    if c.inputs.get("clusterMode") == "enabled":
        # cluster mode: a configuration endpoint and no primary endpoint
        outputs = {
            **{k: v for k, v in outputs.items() if not k.endswith("EndpointAddress")},
            "configurationEndpointAddress": f"clustercfg.{host}",
            "primaryEndpointAddress": "",
            "readerEndpointAddress": "",
        }
    return group_id, outputs


def _short_region(region: str) -> str:
    """ElastiCache endpoints spell the region short: ap-southeast-1 -> apse1."""
    parts = region.split("-")
    return f"{parts[0]}{''.join(p[0] for p in parts[1:-1])}{parts[-1]}"


def _broker(c: Created) -> tuple[str, dict[str, Any]]:
    broker_id = f"b-{c.uuid()}"
    name = c.named("brokerName")
    host = f"{broker_id}.mq.{c.region}.on.aws"
    return broker_id, {
        "brokerName": name,
        "arn": c.arn("mq", f"broker:{name}:{broker_id}"),
        # a RabbitMQ broker (single or cluster) has one AMQPS endpoint, behind AWS's NLB
        "instances": [
            {
                "consoleUrl": f"https://{host}",
                "endpoints": [f"amqps://{host}:5671"],
                "ipAddress": "",
            }
        ],
    }


def _opensearch(c: Created) -> tuple[str, dict[str, Any]]:
    name = c.named("domainName", lower=True)
    arn = c.arn("es", f"domain/{name}")
    return arn, {
        "domainName": name,
        "arn": arn,
        "domainId": f"{c.account}/{name}",
        "endpoint": f"vpc-{name}-{c.hex(26)}.{c.region}.es.amazonaws.com",
    }


def _dms(prop: str, kind: str, arn_prop: str) -> Shape:
    """DMS: the id is the identifier given; the ARN ends in a generated upper-case id."""

    def shape(c: Created) -> tuple[str, dict[str, Any]]:
        identifier = c.named(prop, lower=True)
        return identifier, {prop: identifier, arn_prop: c.arn("dms", f"{kind}:{c.hex(26).upper()}")}

    return shape


def _vpn_connection(c: Created) -> tuple[str, dict[str, Any]]:
    """AWS gives each tunnel an outside IP and the first/second host of its inside /30 to
    the VGW/customer side."""
    resource_id = f"vpn-{c.hex()}"
    outputs: dict[str, Any] = {"arn": c.arn("ec2", f"vpn-connection/{resource_id}")}
    for n in (1, 2):
        cidr = str(c.inputs.get(f"tunnel{n}InsideCidr") or f"169.254.{100 + n}.0/30")
        net, last = cidr.split("/")[0].rsplit(".", 1)
        outputs[f"tunnel{n}Address"] = f"13.250.{int(c.hex(2), 16)}.{n}"
        outputs[f"tunnel{n}VgwInsideAddress"] = f"{net}.{int(last) + 1}"
        outputs[f"tunnel{n}CgwInsideAddress"] = f"{net}.{int(last) + 2}"
    return resource_id, outputs


def _vpc(c: Created) -> tuple[str, dict[str, Any]]:
    resource_id = f"vpc-{c.hex()}"
    return resource_id, {
        "arn": c.arn("ec2", f"vpc/{resource_id}"),
        "defaultNetworkAclId": f"acl-{c.hex(salt='acl')}",
        "defaultSecurityGroupId": f"sg-{c.hex(salt='sg')}",
        "defaultRouteTableId": f"rtb-{c.hex(salt='rtb')}",
        "mainRouteTableId": f"rtb-{c.hex(salt='rtb')}",
    }


def _eip(c: Created) -> tuple[str, dict[str, Any]]:
    allocation = f"eipalloc-{c.hex()}"
    return allocation, {
        "allocationId": allocation,
        "publicIp": f"203.0.113.{int(c.hex(2), 16) % 250 + 1}",
        "arn": c.arn("ec2", f"elastic-ip/{allocation}"),
    }


def _service_linked_role(c: Created) -> tuple[str, dict[str, Any]]:
    service = str(c.inputs.get("awsServiceName", ""))
    base = {
        "autoscaling.amazonaws.com": "AWSServiceRoleForAutoScaling",
        "opensearchservice.amazonaws.com": "AWSServiceRoleForAmazonOpenSearchService",
        "config.amazonaws.com": "AWSServiceRoleForConfig",
        "inspector2.amazonaws.com": "AWSServiceRoleForAmazonInspector2",
    }.get(service, "AWSServiceRoleFor" + service.split(".")[0].capitalize())
    suffix = c.inputs.get("customSuffix")
    name = f"{base}_{suffix}" if suffix else base
    arn = c.arn("iam", f"role/aws-service-role/{service}/{name}", regional=False)
    return arn, {"name": name, "arn": arn, "uniqueId": "AROA" + c.hex(17).upper()}


def _organization(c: Created) -> tuple[str, dict[str, Any]]:
    org_id = f"o-{c.hex(10)}"
    root = f"r-{c.hex(4, 'root')}"
    return org_id, {
        "arn": f"arn:aws:organizations::{c.account}:organization/{org_id}",
        "masterAccountId": c.account,
        "roots": [
            {
                "id": root,
                "arn": f"arn:aws:organizations::{c.account}:root/{org_id}/{root}",
                "name": "Root",
                "policyTypes": [{"type": "SERVICE_CONTROL_POLICY", "status": "ENABLED"}],
            }
        ],
    }


def _ou(c: Created) -> tuple[str, dict[str, Any]]:
    ou_id = f"ou-{c.hex(4, 'root')}-{c.hex(8)}"
    return ou_id, {"arn": f"arn:aws:organizations::{c.account}:ou/o-{c.hex(10, 'o')}/{ou_id}"}


def _account(c: Created) -> tuple[str, dict[str, Any]]:
    account_id = str(int(c.hex(12), 16))[:12].rjust(12, "1")
    return account_id, {
        "arn": f"arn:aws:organizations::{c.account}:account/o-{c.hex(10, 'o')}/{account_id}"
    }


def _web_acl(c: Created) -> tuple[str, dict[str, Any]]:
    name = c.named()
    acl_id = c.uuid()
    scope = "global" if c.inputs.get("scope") == "CLOUDFRONT" else "regional"
    return acl_id, {"name": name, "arn": c.arn("wafv2", f"{scope}/webacl/{name}/{acl_id}")}


def _ssm_parameter(c: Created) -> tuple[str, dict[str, Any]]:
    """An SSM parameter: id = name; its ARN drops a hierarchical name's leading slash
    (``arn:aws:ssm:<r>:<a>:parameter/app/config`` for ``/app/config``)."""
    name = c.named()
    return name, {"name": name, "arn": c.arn("ssm", f"parameter/{name.lstrip('/')}")}


def _ssm_association(c: Created) -> tuple[str, dict[str, Any]]:
    association_id = c.uuid()
    return association_id, {
        "associationId": association_id,
        "arn": c.arn("ssm", f"association/{association_id}"),
    }


def _network_firewall(c: Created) -> tuple[str, dict[str, Any]]:
    """A firewall: id = ARN; AWS places one endpoint (``vpce-``) in each mapped subnet and
    reports it in the firewall's sync states (one per AZ, with the endpoint's attachment).
    The AZ of each state is not derivable from a subnet id offline, so it is left out."""
    name = c.named()
    arn = c.arn("network-firewall", f"firewall/{name}")
    states = [
        {
            "attachments": [
                {
                    "endpointId": f"vpce-{c.hex(salt=str(m.get('subnetId')))}",
                    "subnetId": m.get("subnetId"),
                    "status": "READY",
                }
            ]
        }
        for m in c.inputs.get("subnetMappings") or []
    ]
    return arn, {
        "name": name,
        "arn": arn,
        "updateToken": c.uuid(),
        "firewallStatuses": [{"syncStates": states}],
    }


def _firewall_rule_group(c: Created) -> tuple[str, dict[str, Any]]:
    name = c.named()
    kind = "stateful" if c.inputs.get("type") == "STATEFUL" else "stateless"
    arn = c.arn("network-firewall", f"{kind}-rulegroup/{name}")
    return arn, {"name": name, "arn": arn, "updateToken": c.uuid()}


def _permission_set(c: Created) -> tuple[str, dict[str, Any]]:
    instance = str(c.inputs.get("instanceArn", "arn:aws:sso:::instance/ssoins-0"))
    arn = f"arn:aws:sso:::permissionSet/{instance.rsplit('/', 1)[-1]}/ps-{c.hex(16)}"
    return f"{arn},{instance}", {"arn": arn}


SHAPES: Mapping[str, Shape] = {
    # EC2 and VPC
    "aws:ec2/vpc:Vpc": _vpc,
    "aws:ec2/subnet:Subnet": _ec2("subnet", "subnet"),
    "aws:ec2/securityGroup:SecurityGroup": lambda c: (
        (sg := f"sg-{c.hex()}"),
        {"arn": c.arn("ec2", f"security-group/{sg}"), "name": c.named()},
    ),
    "aws:ec2/routeTable:RouteTable": _ec2("rtb", "route-table"),
    "aws:ec2/networkAcl:NetworkAcl": _ec2("acl", "network-acl"),
    "aws:ec2/internetGateway:InternetGateway": _ec2("igw", "internet-gateway"),
    "aws:ec2/natGateway:NatGateway": _ec2("nat", "natgateway"),
    "aws:ec2/eip:Eip": _eip,
    "aws:ec2/vpcEndpoint:VpcEndpoint": _vpc_endpoint,
    "aws:cloudcontrol/resource:Resource": _cloudcontrol,
    "aws:networkfirewall/firewall:Firewall": _network_firewall,
    "aws:networkfirewall/ruleGroup:RuleGroup": _firewall_rule_group,
    "aws:networkfirewall/firewallPolicy:FirewallPolicy": lambda c: (
        (arn := c.arn("network-firewall", f"firewall-policy/{c.named()}")),
        {"name": c.named(), "arn": arn, "updateToken": c.uuid()},
    ),
    "aws:networkfirewall/loggingConfiguration:LoggingConfiguration": lambda c: (
        str(c.inputs.get("firewallArn")),
        {},
    ),
    "aws:ec2/flowLog:FlowLog": _ec2("fl", "vpc-flow-log"),
    "aws:ec2/launchTemplate:LaunchTemplate": lambda c: (
        (lt := f"lt-{c.hex()}"),
        {"arn": c.arn("ec2", f"launch-template/{lt}"), "latestVersion": 1, "name": c.named()},
    ),
    "aws:ec2/vpnGateway:VpnGateway": _ec2("vgw", "vpn-gateway"),
    "aws:ec2/customerGateway:CustomerGateway": _ec2("cgw", "customer-gateway"),
    "aws:ec2/vpnConnection:VpnConnection": _vpn_connection,
    "aws:ec2/routeTableAssociation:RouteTableAssociation": _plain("rtbassoc-"),
    "aws:ec2/networkAclAssociation:NetworkAclAssociation": _plain("aclassoc-"),
    "aws:ec2/networkAclRule:NetworkAclRule": _plain("nacl-"),
    "aws:ec2/route:Route": _plain("r-rtb-"),
    "aws:ec2/vpnGatewayAttachment:VpnGatewayAttachment": _plain("vpn-attachment-"),
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": _ec2(
        "sgr", "security-group-rule"
    ),
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": _ec2("sgr", "security-group-rule"),
    # load balancing, auto scaling
    "aws:lb/loadBalancer:LoadBalancer": _load_balancer,
    "aws:lb/targetGroup:TargetGroup": _target_group,
    "aws:lb/listener:Listener": _listener,
    "aws:autoscaling/group:Group": _by_name(
        "name",
        lambda c, n: c.arn(
            "autoscaling", f"autoScalingGroup:{c.uuid()}:autoScalingGroupName/{n}"
        ),
    ),
    "aws:autoscaling/policy:Policy": _by_name("name"),
    # IAM, KMS, secrets, certificates
    "aws:iam/role:Role": _iam("role"),
    "aws:iam/instanceProfile:InstanceProfile": _iam("instance-profile"),
    "aws:iam/serviceLinkedRole:ServiceLinkedRole": _service_linked_role,
    "aws:kms/key:Key": _kms_key,
    "aws:kms/alias:Alias": _by_name("name", lambda c, n: c.arn("kms", n)),
    "aws:secretsmanager/secret:Secret": _secret,
    # rotation is identified by its secret; AWS reports it enabled once configured
    "aws:secretsmanager/secretRotation:SecretRotation": lambda c: (
        str(c.inputs.get("secretId")),
        {"rotationEnabled": True},
    ),
    "aws:lambda/function:Function": _lambda_function,
    "aws:lambda/permission:Permission": _by_name("statementId"),
    "aws:lambda/invocation:Invocation": lambda c: (
        f"{c.inputs.get('functionName')}_$LATEST_{c.hex(32)}",
        {"result": "{}"},
    ),
    "aws:serverlessrepository/cloudFormationStack:CloudFormationStack": _sar_stack,
    "aws:acm/certificate:Certificate": lambda c: (
        (arn := c.arn("acm", f"certificate/{c.uuid()}")),
        {"arn": arn, "status": "PENDING_VALIDATION"},
    ),
    # logs, alarms, events, notifications
    "aws:cloudwatch/logGroup:LogGroup": _log_group,
    "aws:cloudwatch/logMetricFilter:LogMetricFilter": _by_name("name"),
    "aws:cloudwatch/logResourcePolicy:LogResourcePolicy": _by_name("policyName"),
    "aws:cloudwatch/metricAlarm:MetricAlarm": _by_name(
        "name", lambda c, n: c.arn("cloudwatch", f"alarm:{n}")
    ),
    "aws:cloudwatch/eventRule:EventRule": _by_name(
        "name", lambda c, n: c.arn("events", f"rule/{n}")
    ),
    "aws:cloudwatch/dashboard:Dashboard": lambda c: (
        (n := str(c.inputs.get("dashboardName"))),
        {"dashboardArn": c.arn("cloudwatch", f"dashboard/{n}", regional=False)},
    ),
    "aws:sns/topic:Topic": lambda c: (
        (arn := c.arn("sns", c.named())),
        {"arn": arn, "name": c.named()},
    ),
    "aws:sns/topicSubscription:TopicSubscription": lambda c: (
        (arn := f"{c.inputs.get('topic')}:{c.uuid()}"),
        {"arn": arn},
    ),
    "aws:cloudtrail/trail:Trail": _by_name(
        "name", lambda c, n: c.arn("cloudtrail", f"trail/{n}")
    ),
    # data stores
    "aws:rds/instance:Instance": _rds_instance,
    "aws:rds/parameterGroup:ParameterGroup": _by_name(
        "name", lambda c, n: c.arn("rds", f"pg:{n}"), lower=True
    ),
    "aws:rds/eventSubscription:EventSubscription": _by_name(
        "name", lambda c, n: c.arn("rds", f"es:{n}")
    ),
    "aws:rds/optionGroup:OptionGroup": _by_name(
        "name", lambda c, n: c.arn("rds", f"og:{n}"), lower=True
    ),
    "aws:rds/subnetGroup:SubnetGroup": _by_name(
        "name", lambda c, n: c.arn("rds", f"subgrp:{n}"), lower=True
    ),
    "aws:docdb/cluster:Cluster": _docdb_cluster,
    "aws:docdb/clusterInstance:ClusterInstance": _by_name(
        "identifier", lambda c, n: c.arn("rds", f"db:{n}"), lower=True
    ),
    "aws:docdb/clusterParameterGroup:ClusterParameterGroup": _by_name(
        "name", lambda c, n: c.arn("rds", f"cluster-pg:{n}"), lower=True
    ),
    "aws:docdb/subnetGroup:SubnetGroup": _by_name(
        "name", lambda c, n: c.arn("rds", f"subgrp:{n}"), lower=True
    ),
    "aws:elasticache/replicationGroup:ReplicationGroup": _replication_group,
    "aws:elasticache/parameterGroup:ParameterGroup": _by_name(
        "name", lambda c, n: c.arn("elasticache", f"parametergroup:{n}"), lower=True
    ),
    "aws:elasticache/subnetGroup:SubnetGroup": _by_name(
        "name", lambda c, n: c.arn("elasticache", f"subnetgroup:{n}"), lower=True
    ),
    "aws:elasticache/user:User": _by_name(
        "userId", lambda c, n: c.arn("elasticache", f"user:{n}")
    ),
    "aws:elasticache/userGroup:UserGroup": _by_name(
        "userGroupId", lambda c, n: c.arn("elasticache", f"usergroup:{n}")
    ),
    "aws:mq/broker:Broker": _broker,
    "aws:opensearch/domain:Domain": _opensearch,
    "aws:dms/replicationInstance:ReplicationInstance": _dms(
        "replicationInstanceId", "rep", "replicationInstanceArn"
    ),
    "aws:dms/endpoint:Endpoint": _dms("endpointId", "endpoint", "endpointArn"),
    "aws:dms/replicationTask:ReplicationTask": _dms(
        "replicationTaskId", "task", "replicationTaskArn"
    ),
    "aws:dms/replicationSubnetGroup:ReplicationSubnetGroup": _by_name(
        "replicationSubnetGroupId",
        lambda c, n: c.arn("dms", f"subgrp:{n}"),
        lower=True,
    ),
    "aws:dms/eventSubscription:EventSubscription": _by_name(
        "name", lambda c, n: c.arn("dms", f"es:{n}")
    ),
    # detection and governance
    "aws:guardduty/detector:Detector": lambda c: (
        (d := c.hex(32)),
        {"arn": c.arn("guardduty", f"detector/{d}"), "accountId": c.account},
    ),
    "aws:securityhub/account:Account": lambda c: (
        c.account,
        {"arn": c.arn("securityhub", "hub/default")},
    ),
    "aws:accessanalyzer/analyzer:Analyzer": _by_name(
        "analyzerName", lambda c, n: c.arn("access-analyzer", f"analyzer/{n}")
    ),
    "aws:cfg/recorder:Recorder": _by_name("name"),
    "aws:cfg/deliveryChannel:DeliveryChannel": _by_name("name"),
    "aws:cfg/conformancePack:ConformancePack": _by_name(
        "name", lambda c, n: c.arn("config", f"conformance-pack/{n}/conformance-pack-{c.hex(9)}")
    ),
    "aws:s3/bucketLogging:BucketLogging": lambda c: (str(c.inputs.get("bucket")), {}),
    "aws:s3/bucket:Bucket": lambda c: (
        (b := c.named("bucket", lower=True)),
        {"bucket": b, "arn": f"arn:aws:s3:::{b}", "bucketDomainName": f"{b}.s3.amazonaws.com"},
    ),
    "aws:wafv2/webAcl:WebAcl": _web_acl,
    # the logging configuration of a web ACL is known by the web ACL's ARN
    "aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration": lambda c: (
        str(c.inputs.get("resourceArn")),
        {},
    ),
    # systems manager
    "aws:ssm/parameter:Parameter": _ssm_parameter,
    "aws:ssm/association:Association": _ssm_association,
    "aws:ssm/patchBaseline:PatchBaseline": lambda c: (
        (pb := f"pb-{c.hex()}"),
        {"arn": c.arn("ssm", f"patchbaseline/{pb}")},
    ),
    # the provider's id of a patch group registration: "<patch group>,<baseline id>"
    "aws:ssm/patchGroup:PatchGroup": lambda c: (
        f"{c.inputs.get('patchGroup')},{c.inputs.get('baselineId')}",
        {},
    ),
    "aws:ssm/maintenanceWindow:MaintenanceWindow": _plain("mw-"),
    "aws:ssm/maintenanceWindowTarget:MaintenanceWindowTarget": lambda c: (c.uuid(), {}),
    "aws:ssm/maintenanceWindowTask:MaintenanceWindowTask": lambda c: (
        (task := c.uuid()),
        {"windowTaskId": task},
    ),
    "aws:organizations/organization:Organization": _organization,
    "aws:organizations/organizationalUnit:OrganizationalUnit": _ou,
    "aws:organizations/account:Account": _account,
    "aws:organizations/policy:Policy": lambda c: (
        (p := f"p-{c.hex(8)}"),
        {"arn": f"arn:aws:organizations::{c.account}:policy/o-{c.hex(10, 'o')}/"
         f"service_control_policy/{p}"},
    ),
    "aws:ssoadmin/permissionSet:PermissionSet": _permission_set,
    "aws:directconnect/gateway:Gateway": lambda c: (c.uuid(), {}),
    "aws:directconnect/privateVirtualInterface:PrivateVirtualInterface": lambda c: (
        (vif := f"dxvif-{c.hex(8)}"),
        {"arn": c.arn("directconnect", f"dxvif/{vif}")},
    ),
    # Inspector: the id joins the account ids and the resource types (Terraform provider)
    "aws:inspector2/enabler:Enabler": lambda c: (
        f"{':'.join(c.inputs.get('accountIds') or [])}-"
        f"{':'.join(c.inputs.get('resourceTypes') or [])}",
        {},
    ),
    "aws:ssm/document:Document": _by_name(
        "name", lambda c, n: c.arn("ssm", f"document/{n}")
    ),
    "aws:cloudwatch/logAccountPolicy:LogAccountPolicy": _by_name("policyName"),
    "aws:budgets/budget:Budget": lambda c: (
        f"{c.account}:{c.inputs.get('name')}",
        {"arn": f"arn:aws:budgets::{c.account}:budget/{c.inputs.get('name')}"},
    ),
}  # fmt: skip


def create(
    type_: str, name: str, inputs: Mapping[str, Any], *, region: str, account: str
) -> tuple[str, dict[str, Any]]:
    """The id and outputs AWS would return for a new resource of ``type_``: its inputs plus
    what the service computes. Types without a known shape get an id of their type's short
    name and hex digits, and no ARN (an ARN in a wrong shape would prove nothing)."""
    created = Created(type_, name, inputs, region, account)
    shape = SHAPES.get(type_)
    if shape is None:
        short = type_.split(":")[-1].lower()
        return f"{short}-{created.hex()}", dict(inputs)
    resource_id, outputs = shape(created)
    return resource_id, {**inputs, **outputs}
