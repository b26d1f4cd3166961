"""PCI DSS v4.0.1 rules over what the Pulumi engine receives for each resource.

Each rule is a plain function, written once and run in two places:

- inside the CrossGuard policy pack (``policy-pack/``), where ``pulumi preview --policy-pack``
  calls it with the resource's inputs as the engine sends them (``args.props``: Pulumi
  names, numbers as floats, nested objects and lists as read-only mappings and sequences,
  and, during a preview, values not yet known raise ``UnknownValueError``, which
  pulumi-policy reports as "can't run policy during preview" rather than a verdict);
- offline, on the plans of ``components.plan`` (the test suite and ``python -m
  components.plan <stack> --policy``), with the same inputs as the mocks registered them.

A rule sees only what the engine sees. An input left out is judged by the default the
provider then applies (an RDS instance without ``storageEncrypted`` is unencrypted; a DMS
replication instance without ``publiclyAccessible`` is public: the DMS API's default is
true), and each rule says so. What no input shows (a Redis user's command ACL, a bucket
policy's effect on a principal) is not judged here.

Resource rules look at one resource: ``check(type, inputs, options) -> [message]``. Stack
rules look at the relations between resources (a bucket and its public access block; a VPC
and its flow log): ``check(resources) -> [(resource, message)]``; they read each resource's
``props`` (the engine's AnalyzeStack sends outputs after a deployment and the planned inputs
during a preview; offline, the mocks' outputs, which hold the inputs and the id).

This module imports only the standard library: the policy pack loads it by path, in a
virtual environment that holds pulumi-policy but not this package or pulumi-aws.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

#: Stacks whose violations block a deployment, by the stack's environment (config
#: ``<project>:environment``, else the stack's name). Everything else is advisory.
MANDATORY_ENVIRONMENTS = frozenset({"prod"})

MANDATORY = "mandatory"
ADVISORY = "advisory"


class Options(Protocol):
    """The resource options a rule may read (pulumi-policy's PolicyResourceOptions)."""

    @property
    def protect(self) -> bool: ...


class StackResource(Protocol):
    """One resource of the stack as a stack rule sees it (pulumi-policy's PolicyResource)."""

    @property
    def resource_type(self) -> str: ...

    @property
    def props(self) -> Mapping[str, Any]: ...

    @property
    def urn(self) -> str: ...

    @property
    def name(self) -> str: ...


Check = Callable[[str, Mapping[str, Any], Options], list[str]]
StackCheck = Callable[[Sequence[StackResource]], list[tuple[StackResource, str]]]


@dataclass(frozen=True)
class ResourceRule:
    """A rule over one resource's inputs (and options)."""

    name: str
    requirement: str  # PCI DSS v4.0.1 requirement(s), e.g. "3.5.1"
    description: str
    types: frozenset[str]
    check: Check

    def applies_to(self, resource_type: str) -> bool:
        return resource_type in self.types


@dataclass(frozen=True)
class StackRule:
    """A rule over the relations between the stack's resources."""

    name: str
    requirement: str
    description: str
    check: StackCheck


def enforcement(stack: str, config: Mapping[str, Any], project: str = "") -> str:
    """``mandatory`` for a stack whose environment is prod, ``advisory`` otherwise."""
    environment = str(config.get(f"{project}:environment") or stack) if project else stack
    return MANDATORY if environment in MANDATORY_ENVIRONMENTS else ADVISORY


# --- reading inputs ---------------------------------------------------------------------------


def _true(value: Any) -> bool:
    """Some bridged booleans are strings (a launch template's ``ebs.encrypted``)."""
    return value is True or (isinstance(value, str) and value.lower() == "true")


def _false(value: Any) -> bool:
    return value is False or (isinstance(value, str) and value.lower() == "false")


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def _items(value: Any) -> list[Any]:
    """A list input as a list (the engine's proxies are sequences, not lists)."""
    if isinstance(value, Sequence) and not isinstance(value, str):
        return [value[i] for i in range(len(value))]
    return []


def _parameters(inputs: Mapping[str, Any]) -> dict[str, str]:
    """A parameter group's ``parameters`` as name -> value."""
    return {
        str(p.get("name")): str(p.get("value")) for p in map(_obj, _items(inputs.get("parameters")))
    }


def _obj(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _set(value: Any) -> bool:
    return value not in (None, "", [], {})


def _json(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return None
    return value


# --- encryption at rest (3.5.1) ---------------------------------------------------------------


def _encryption_at_rest(type_: str, inputs: Mapping[str, Any], _: Options) -> list[str]:
    flag = {
        "aws:rds/instance:Instance": "storageEncrypted",
        "aws:rds/cluster:Cluster": "storageEncrypted",
        "aws:docdb/cluster:Cluster": "storageEncrypted",
        "aws:neptune/cluster:Cluster": "storageEncrypted",
        "aws:efs/fileSystem:FileSystem": "encrypted",
        "aws:ebs/volume:Volume": "encrypted",
        "aws:redshift/cluster:Cluster": "encrypted",
        "aws:elasticache/replicationGroup:ReplicationGroup": "atRestEncryptionEnabled",
    }.get(type_)
    if flag is not None:
        if not _true(inputs.get(flag)):
            return [f"`{flag}` is not true (the provider's default is unencrypted)"]
        return []
    if type_ == "aws:opensearch/domain:Domain":
        if not _true(_obj(inputs.get("encryptAtRest")).get("enabled")):
            return ["`encryptAtRest.enabled` is not true"]
        return []
    if type_ == "aws:ebs/encryptionByDefault:EncryptionByDefault":
        return ["`enabled` is false"] if _false(inputs.get("enabled")) else []
    if type_ == "aws:ec2/launchTemplate:LaunchTemplate":
        return [
            f"block device {m.get('deviceName')!r} is not encrypted (`ebs.encrypted`)"
            for m in map(_obj, _items(inputs.get("blockDeviceMappings")))
            if m.get("ebs") is not None and not _true(_obj(m.get("ebs")).get("encrypted"))
        ]
    if type_ == "aws:ec2/instance:Instance":
        root = _obj(inputs.get("rootBlockDevice"))
        return [] if _true(root.get("encrypted")) else ["`rootBlockDevice.encrypted` is not true"]
    return []


# --- customer-managed keys (3.6.1) ------------------------------------------------------------

#: Where each type names its KMS key (the provider encrypts with an AWS-managed or AWS-owned
#: key when it is empty, a key whose policy and custodians the account does not control).
_KEY_INPUTS: dict[str, str] = {
    "aws:rds/instance:Instance": "kmsKeyId",
    "aws:rds/cluster:Cluster": "kmsKeyId",
    "aws:docdb/cluster:Cluster": "kmsKeyId",
    "aws:elasticache/replicationGroup:ReplicationGroup": "kmsKeyId",
    "aws:cloudwatch/logGroup:LogGroup": "kmsKeyId",
    "aws:secretsmanager/secret:Secret": "kmsKeyId",
    "aws:sns/topic:Topic": "kmsMasterKeyId",
    "aws:cloudtrail/trail:Trail": "kmsKeyId",
    "aws:dms/replicationInstance:ReplicationInstance": "kmsKeyArn",
    "aws:efs/fileSystem:FileSystem": "kmsKeyId",
}


def _customer_managed_key(type_: str, inputs: Mapping[str, Any], _: Options) -> list[str]:
    if type_ in _KEY_INPUTS:
        key = _KEY_INPUTS[type_]
        return [] if _set(inputs.get(key)) else [f"`{key}` is empty: an AWS-managed key is used"]
    if type_ == "aws:opensearch/domain:Domain":
        if not _set(_obj(inputs.get("encryptAtRest")).get("kmsKeyId")):
            return ["`encryptAtRest.kmsKeyId` is empty: an AWS-managed key is used"]
        return []
    if type_ == "aws:mq/broker:Broker":
        options = _obj(inputs.get("encryptionOptions"))
        if options.get("useAwsOwnedKey") is False and _set(options.get("kmsKeyId")):
            return []
        return ["`encryptionOptions` does not name a customer-managed key (default: AWS-owned)"]
    if type_ == "aws:ec2/launchTemplate:LaunchTemplate":
        return [
            f"block device {m.get('deviceName')!r} has no `ebs.kmsKeyId`"
            for m in map(_obj, _items(inputs.get("blockDeviceMappings")))
            if m.get("ebs") is not None and not _set(_obj(m.get("ebs")).get("kmsKeyId"))
        ]
    return []


def _key_rotation(type_: str, inputs: Mapping[str, Any], _: Options) -> list[str]:
    spec = inputs.get("customerMasterKeySpec") or inputs.get("keySpec") or "SYMMETRIC_DEFAULT"
    if spec != "SYMMETRIC_DEFAULT":
        return []  # AWS rotates only symmetric encryption keys
    problems = [] if _true(inputs.get("enableKeyRotation")) else ["`enableKeyRotation` is not true"]
    period = _number(inputs.get("rotationPeriodInDays"))
    if period is not None and period > 365:
        problems.append(f"`rotationPeriodInDays` is {period:.0f} (more than a year)")
    return problems


# --- public exposure (1.3.1, 1.4.4) -----------------------------------------------------------


def _not_public(type_: str, inputs: Mapping[str, Any], _: Options) -> list[str]:
    if type_ == "aws:dms/replicationInstance:ReplicationInstance":
        # CreateReplicationInstance: "The default value is true" when the input is left out
        if not _false(inputs.get("publiclyAccessible")):
            return ["`publiclyAccessible` is not false (the DMS API's default is public)"]
        return []
    if type_ == "aws:opensearch/domain:Domain":
        if not _items(_obj(inputs.get("vpcOptions")).get("subnetIds")):
            return ["the domain has no `vpcOptions.subnetIds`: its endpoint is public"]
        return []
    if _true(inputs.get("publiclyAccessible")):
        return ["`publiclyAccessible` is true"]
    return []


def _no_public_ip(type_: str, inputs: Mapping[str, Any], _: Options) -> list[str]:
    if type_ == "aws:ec2/subnet:Subnet":
        return ["`mapPublicIpOnLaunch` is true"] if _true(inputs.get("mapPublicIpOnLaunch")) else []
    if type_ == "aws:ec2/instance:Instance":
        if _true(inputs.get("associatePublicIpAddress")):
            return ["`associatePublicIpAddress` is true"]
        return []
    return [
        f"network interface {n.get('deviceIndex', 0)!r} sets `associatePublicIpAddress`"
        for n in map(_obj, _items(inputs.get("networkInterfaces")))
        if _true(n.get("associatePublicIpAddress"))
    ]


_ANYWHERE = frozenset({"0.0.0.0/0", "::/0"})
#: Ports the internet may reach: HTTPS only. An HTTP listener that only redirects is an
#: exception to waive, not a default.
INTERNET_PORTS = frozenset({443})
#: Administration ports no NACL may open to the internet (AWS Config
#: nacl-no-unrestricted-ssh-rdp; PCI DSS 1.3.1 and 2.2.7 for non-console admin access).
ADMIN_PORTS = (22, 3389)


def _ports(inputs: Mapping[str, Any]) -> tuple[float, float] | None:
    """(from, to) of a rule, None for every port (protocol -1 or all)."""
    protocol = str(inputs.get("ipProtocol", inputs.get("protocol", "")) or "").lower()
    if protocol in ("-1", "all"):
        return None
    low, high = _number(inputs.get("fromPort")), _number(inputs.get("toPort"))
    if low is None or high is None:
        return None
    return low, high


def _internet_ingress(type_: str, inputs: Mapping[str, Any], _: Options) -> list[str]:
    rules: list[Mapping[str, Any]]
    if type_ == "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule":
        sources = [inputs.get("cidrIpv4"), inputs.get("cidrIpv6")]
        rules = [inputs] if _ANYWHERE & {s for s in sources if isinstance(s, str)} else []
    elif type_ == "aws:ec2/securityGroupRule:SecurityGroupRule":
        cidrs = {*_items(inputs.get("cidrBlocks")), *_items(inputs.get("ipv6CidrBlocks"))}
        rules = [inputs] if inputs.get("type") == "ingress" and _ANYWHERE & cidrs else []
    else:  # an inline rule of aws:ec2/securityGroup:SecurityGroup
        rules = [
            r
            for r in map(_obj, _items(inputs.get("ingress")))
            if _ANYWHERE & {*_items(r.get("cidrBlocks")), *_items(r.get("ipv6CidrBlocks"))}
        ]
    problems = []
    for rule in rules:
        ports = _ports(rule)
        if ports is None:
            problems.append("admits every port from the internet")
        elif not (ports[0] == ports[1] and ports[0] in INTERNET_PORTS):
            problems.append(
                f"admits TCP/UDP {ports[0]:.0f}-{ports[1]:.0f} from the internet "
                f"(only {sorted(INTERNET_PORTS)} may be)"
            )
    return problems


def _nacl_entries(type_: str, inputs: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    if type_ == "aws:ec2/networkAclRule:NetworkAclRule":
        if _true(inputs.get("egress")):
            return []
        return [
            {
                "action": inputs.get("ruleAction"),
                "cidrBlock": inputs.get("cidrBlock") or inputs.get("ipv6CidrBlock"),
                "protocol": inputs.get("protocol"),
                "fromPort": inputs.get("fromPort"),
                "toPort": inputs.get("toPort"),
            }
        ]
    return [
        {**e, "cidrBlock": e.get("cidrBlock") or e.get("ipv6CidrBlock")}
        for e in map(_obj, _items(inputs.get("ingress")))
    ]


def _nacl_admin_ports(type_: str, inputs: Mapping[str, Any], _: Options) -> list[str]:
    problems = []
    for entry in _nacl_entries(type_, inputs):
        if (
            str(entry.get("action", "")).lower() != "allow"
            or entry.get("cidrBlock") not in _ANYWHERE
        ):
            continue
        protocol = str(entry.get("protocol", "")).lower()
        if protocol not in ("-1", "all", "tcp", "udp", "6", "17"):
            continue
        ports = _ports(entry)
        opened = [p for p in ADMIN_PORTS if ports is None or ports[0] <= p <= ports[1]]
        if opened:
            problems.append(
                f"ingress from {entry.get('cidrBlock')} admits administration port(s) "
                f"{', '.join(map(str, opened))}"
            )
    return problems


def _nacl_all_traffic(type_: str, inputs: Mapping[str, Any], _: Options) -> list[str]:
    return [
        f"ingress from {entry.get('cidrBlock')} admits every protocol and port"
        for entry in _nacl_entries(type_, inputs)
        if str(entry.get("action", "")).lower() == "allow"
        and str(entry.get("protocol", "")).lower() in ("-1", "all")
    ]


def _default_sg_closed(type_: str, inputs: Mapping[str, Any], _: Options) -> list[str]:
    return [
        f"the default security group has {direction} rules"
        for direction in ("ingress", "egress")
        if _items(inputs.get(direction))
    ]


# --- encryption in transit (4.2.1) ------------------------------------------------------------

#: ELB security policies that negotiate nothing older than TLS 1.2 (the ELB User Guide's
#: "TLS 1.2 and later" policies); ELBSecurityPolicy-2016-08, the default, admits TLS 1.0.
_TLS12_POLICY = re.compile(r"TLS13|TLS-1-2|FS-1-2")


def _tls_in_transit(type_: str, inputs: Mapping[str, Any], _: Options) -> list[str]:
    if type_ in ("aws:lb/listener:Listener", "aws:alb/listener:Listener"):
        protocol = str(inputs.get("protocol") or "").upper()
        if protocol == "HTTP":
            actions = list(map(_obj, _items(inputs.get("defaultActions"))))
            redirects = [
                a
                for a in actions
                if a.get("type") == "redirect"
                and str(_obj(a.get("redirect")).get("protocol", "")).upper() == "HTTPS"
            ]
            if not actions or len(redirects) != len(actions):
                return ["an HTTP listener that does not redirect every request to HTTPS"]
        if protocol in ("HTTPS", "TLS"):
            policy = str(inputs.get("sslPolicy") or "ELBSecurityPolicy-2016-08")
            if not _TLS12_POLICY.search(policy):
                return [f"`sslPolicy` {policy} admits TLS older than 1.2"]
        return []
    if type_ == "aws:elasticache/replicationGroup:ReplicationGroup":
        problems = []
        if not _true(inputs.get("transitEncryptionEnabled")):
            problems.append("`transitEncryptionEnabled` is not true")
        if str(inputs.get("transitEncryptionMode") or "required") != "required":
            problems.append("`transitEncryptionMode` is not `required`: clients may use plain text")
        return problems
    if type_ == "aws:opensearch/domain:Domain":
        endpoint = _obj(inputs.get("domainEndpointOptions"))
        problems = []
        if not _true(endpoint.get("enforceHttps")):
            problems.append("`domainEndpointOptions.enforceHttps` is not true")
        if not str(endpoint.get("tlsSecurityPolicy") or "").startswith("Policy-Min-TLS-1-2"):
            problems.append("`domainEndpointOptions.tlsSecurityPolicy` admits TLS older than 1.2")
        if not _true(_obj(inputs.get("nodeToNodeEncryption")).get("enabled")):
            problems.append("`nodeToNodeEncryption.enabled` is not true")
        return problems
    if type_ == "aws:dms/endpoint:Endpoint":
        engine = str(inputs.get("engineName") or "")
        if engine in ("s3", "kinesis", "dynamodb"):
            return []  # reached through AWS APIs (HTTPS), no sslMode
        if str(inputs.get("sslMode") or "none") == "none":
            return ["`sslMode` is none"]
        return []
    if type_ == "aws:rds/parameterGroup:ParameterGroup":
        params = _parameters(inputs)
        if params.get("rds.force_ssl") == "0" or params.get("require_secure_transport") in (
            "0",
            "OFF",
        ):
            return ["the parameter group lets clients connect without TLS"]
        return []
    if type_ == "aws:docdb/clusterParameterGroup:ClusterParameterGroup":
        params = _parameters(inputs)
        return ["`tls` is disabled"] if params.get("tls") == "disabled" else []
    return []


# --- logging (10.2.1), audit trail (10.2.1, 10.3.2, 10.3.4), retention (10.5.1) ---------------


def _logging(type_: str, inputs: Mapping[str, Any], _: Options) -> list[str]:
    if type_ in ("aws:lb/loadBalancer:LoadBalancer", "aws:alb/loadBalancer:LoadBalancer"):
        if str(inputs.get("loadBalancerType") or "application") == "gateway":
            return []
        if not _true(_obj(inputs.get("accessLogs")).get("enabled")):
            return ["`accessLogs.enabled` is not true"]
        return []
    if type_ in ("aws:rds/instance:Instance", "aws:rds/cluster:Cluster"):
        if not _items(inputs.get("enabledCloudwatchLogsExports")):
            return ["`enabledCloudwatchLogsExports` is empty"]
        return []
    if type_ == "aws:docdb/cluster:Cluster":
        if "audit" not in _items(inputs.get("enabledCloudwatchLogsExports")):
            return ["`enabledCloudwatchLogsExports` does not export `audit`"]
        return []
    if type_ == "aws:elasticache/replicationGroup:ReplicationGroup":
        if not _items(inputs.get("logDeliveryConfigurations")):
            return ["`logDeliveryConfigurations` is empty"]
        return []
    if type_ == "aws:opensearch/domain:Domain":
        audit = [
            o
            for o in map(_obj, _items(inputs.get("logPublishingOptions")))
            if o.get("logType") == "AUDIT_LOGS" and o.get("enabled") is not False
        ]
        return [] if audit else ["no enabled `AUDIT_LOGS` in `logPublishingOptions`"]
    if type_ == "aws:mq/broker:Broker":
        logs = _obj(inputs.get("logs"))
        if not (_true(logs.get("general")) or _true(logs.get("audit"))):
            return ["`logs` publishes neither general nor audit logs"]
        return []
    return []


def _audit_trail(type_: str, inputs: Mapping[str, Any], _: Options) -> list[str]:
    problems = []
    if _false(inputs.get("enableLogging")):
        problems.append("`enableLogging` is false")
    if not _true(inputs.get("isMultiRegionTrail")):
        problems.append("`isMultiRegionTrail` is not true: activity in other regions is missed")
    if _false(inputs.get("includeGlobalServiceEvents")):
        problems.append("`includeGlobalServiceEvents` is false: IAM and STS calls are missed")
    if not _true(inputs.get("enableLogFileValidation")):
        problems.append("`enableLogFileValidation` is not true: changes to logs go unnoticed")
    if not _set(inputs.get("cloudWatchLogsGroupArn")):
        problems.append("`cloudWatchLogsGroupArn` is empty: nothing alerts on the trail")
    return problems


#: CloudWatch Logs retention a log group needs: a year (PCI DSS 10.5.1). 0 or none: kept
#: forever.
MIN_RETENTION_DAYS = 365


def _log_retention(type_: str, inputs: Mapping[str, Any], _: Options) -> list[str]:
    days = _number(inputs.get("retentionInDays"))
    if days is not None and 0 < days < MIN_RETENTION_DAYS:
        return [f"`retentionInDays` is {days:.0f} (less than {MIN_RETENTION_DAYS})"]
    return []


# --- hosts, identities and data safety ---------------------------------------------------------


def _imdsv2(type_: str, inputs: Mapping[str, Any], _: Options) -> list[str]:
    if str(_obj(inputs.get("metadataOptions")).get("httpTokens") or "optional") != "required":
        return ["`metadataOptions.httpTokens` is not `required`: IMDSv1 answers"]
    return []


def _password_policy(type_: str, inputs: Mapping[str, Any], _: Options) -> list[str]:
    problems = []
    length = _number(inputs.get("minimumPasswordLength")) or 8.0
    if length < 12:
        problems.append(f"`minimumPasswordLength` is {length:.0f} (8.3.6: at least 12)")
    if not (
        _true(inputs.get("requireNumbers"))
        and (
            _true(inputs.get("requireLowercaseCharacters"))
            or _true(inputs.get("requireUppercaseCharacters"))
        )
    ):
        problems.append("passwords need not hold both letters and digits (8.3.6)")
    reuse = _number(inputs.get("passwordReusePrevention")) or 0.0
    if reuse < 4:
        problems.append(f"`passwordReusePrevention` is {reuse:.0f} (8.3.7: at least 4)")
    age = _number(inputs.get("maxPasswordAge")) or 0.0
    if not 0 < age <= 90:
        problems.append("`maxPasswordAge` is not between 1 and 90 days (8.3.9)")
    return problems


#: Stateful types whose loss loses account data or audit history: each is protected
#: (Pulumi ``protect``) and keeps the service's own deletion guard where it has one.
STATEFUL_TYPES = frozenset(
    {
        "aws:rds/instance:Instance",
        "aws:rds/cluster:Cluster",
        "aws:docdb/cluster:Cluster",
        "aws:elasticache/replicationGroup:ReplicationGroup",
        "aws:opensearch/domain:Domain",
        "aws:mq/broker:Broker",
        "aws:s3/bucket:Bucket",
        "aws:kms/key:Key",
        "aws:cloudwatch/logGroup:LogGroup",
        "aws:secretsmanager/secret:Secret",
    }
)


def _data_safety(type_: str, inputs: Mapping[str, Any], options: Options) -> list[str]:
    if type_ == "aws:secretsmanager/secret:Secret":
        # Secrets Manager keeps a deleted secret for its recovery window (7-30 days): a
        # secret may be retired by a reviewed change, but never deleted outright
        if _number(inputs.get("recoveryWindowInDays")) == 0:
            return ["`recoveryWindowInDays` is 0: deleting it is immediate and final"]
        return []
    problems = [] if options.protect else ["not protected (`protect`): `pulumi up` could delete it"]
    if type_ in (
        "aws:rds/instance:Instance",
        "aws:rds/cluster:Cluster",
        "aws:docdb/cluster:Cluster",
    ):
        if not _true(inputs.get("deletionProtection")):
            problems.append("`deletionProtection` is not true")
        if _true(inputs.get("skipFinalSnapshot")):
            problems.append("`skipFinalSnapshot` is true: deleting it keeps no snapshot")
    if type_ == "aws:s3/bucket:Bucket" and _true(inputs.get("forceDestroy")):
        problems.append("`forceDestroy` is true: deleting it deletes every object")
    return problems


# --- the rules --------------------------------------------------------------------------------

RESOURCE_RULES: tuple[ResourceRule, ...] = (
    ResourceRule(
        "encryption-at-rest",
        "3.5.1",
        "Stored data is encrypted: databases, caches, search domains, volumes.",
        frozenset(
            {
                "aws:rds/instance:Instance",
                "aws:rds/cluster:Cluster",
                "aws:docdb/cluster:Cluster",
                "aws:neptune/cluster:Cluster",
                "aws:efs/fileSystem:FileSystem",
                "aws:ebs/volume:Volume",
                "aws:redshift/cluster:Cluster",
                "aws:elasticache/replicationGroup:ReplicationGroup",
                "aws:opensearch/domain:Domain",
                "aws:ebs/encryptionByDefault:EncryptionByDefault",
                "aws:ec2/launchTemplate:LaunchTemplate",
                "aws:ec2/instance:Instance",
            }
        ),
        _encryption_at_rest,
    ),
    ResourceRule(
        "customer-managed-key",
        "3.6.1",
        "Stored data, secrets and logs are encrypted with a customer-managed KMS key, whose "
        "policy names who may use and administer it.",
        frozenset(
            {
                *_KEY_INPUTS,
                "aws:opensearch/domain:Domain",
                "aws:mq/broker:Broker",
                "aws:ec2/launchTemplate:LaunchTemplate",
            }
        ),
        _customer_managed_key,
    ),
    ResourceRule(
        "kms-key-rotation",
        "3.7.4",
        "Symmetric KMS keys rotate their key material at least yearly.",
        frozenset({"aws:kms/key:Key"}),
        _key_rotation,
    ),
    ResourceRule(
        "not-publicly-accessible",
        "1.4.4",
        "Databases, brokers, replication instances and search domains have no public endpoint.",
        frozenset(
            {
                "aws:rds/instance:Instance",
                "aws:rds/clusterInstance:ClusterInstance",
                "aws:docdb/clusterInstance:ClusterInstance",
                "aws:redshift/cluster:Cluster",
                "aws:mq/broker:Broker",
                "aws:dms/replicationInstance:ReplicationInstance",
                "aws:opensearch/domain:Domain",
            }
        ),
        _not_public,
    ),
    ResourceRule(
        "no-public-ip",
        "1.4.4",
        "Subnets and instances give no public IP address of their own.",
        frozenset(
            {
                "aws:ec2/subnet:Subnet",
                "aws:ec2/instance:Instance",
                "aws:ec2/launchTemplate:LaunchTemplate",
            }
        ),
        _no_public_ip,
    ),
    ResourceRule(
        "internet-ingress-https-only",
        "1.3.1, 1.4.2",
        "Security groups admit the internet (0.0.0.0/0, ::/0) on HTTPS only.",
        frozenset(
            {
                "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
                "aws:ec2/securityGroupRule:SecurityGroupRule",
                "aws:ec2/securityGroup:SecurityGroup",
            }
        ),
        _internet_ingress,
    ),
    ResourceRule(
        "nacl-admin-ports-closed",
        "1.3.1, 2.2.7",
        "No network ACL admits SSH (22) or RDP (3389) from the internet.",
        frozenset(
            {
                "aws:ec2/networkAclRule:NetworkAclRule",
                "aws:ec2/networkAcl:NetworkAcl",
                "aws:ec2/defaultNetworkAcl:DefaultNetworkAcl",
            }
        ),
        _nacl_admin_ports,
    ),
    ResourceRule(
        "nacl-no-all-traffic",
        "1.3.1",
        "No network ACL entry admits every protocol and port: each names what is needed.",
        frozenset(
            {
                "aws:ec2/networkAclRule:NetworkAclRule",
                "aws:ec2/networkAcl:NetworkAcl",
                "aws:ec2/defaultNetworkAcl:DefaultNetworkAcl",
            }
        ),
        _nacl_all_traffic,
    ),
    ResourceRule(
        "default-security-group-closed",
        "1.3.1",
        "The default security group of a VPC admits and sends nothing.",
        frozenset({"aws:ec2/defaultSecurityGroup:DefaultSecurityGroup"}),
        _default_sg_closed,
    ),
    ResourceRule(
        "tls-in-transit",
        "4.2.1",
        "Connections use TLS 1.2 or later: listeners, caches, search domains, database "
        "parameters and migration endpoints.",
        frozenset(
            {
                "aws:lb/listener:Listener",
                "aws:alb/listener:Listener",
                "aws:elasticache/replicationGroup:ReplicationGroup",
                "aws:opensearch/domain:Domain",
                "aws:dms/endpoint:Endpoint",
                "aws:rds/parameterGroup:ParameterGroup",
                "aws:docdb/clusterParameterGroup:ClusterParameterGroup",
            }
        ),
        _tls_in_transit,
    ),
    ResourceRule(
        "logging-enabled",
        "10.2.1",
        "Load balancers, databases, caches, search domains and brokers publish their logs.",
        frozenset(
            {
                "aws:lb/loadBalancer:LoadBalancer",
                "aws:alb/loadBalancer:LoadBalancer",
                "aws:rds/instance:Instance",
                "aws:rds/cluster:Cluster",
                "aws:docdb/cluster:Cluster",
                "aws:elasticache/replicationGroup:ReplicationGroup",
                "aws:opensearch/domain:Domain",
                "aws:mq/broker:Broker",
            }
        ),
        _logging,
    ),
    ResourceRule(
        "audit-trail",
        "10.2.1, 10.3.4",
        "The CloudTrail trail records every region and global service, validates its files "
        "and feeds CloudWatch Logs.",
        frozenset({"aws:cloudtrail/trail:Trail"}),
        _audit_trail,
    ),
    ResourceRule(
        "log-retention",
        "10.5.1",
        "CloudWatch log groups keep logs for at least a year.",
        frozenset({"aws:cloudwatch/logGroup:LogGroup"}),
        _log_retention,
    ),
    ResourceRule(
        "imdsv2-required",
        "2.2.6",
        "Instances answer only IMDSv2 (session tokens) on the metadata service.",
        frozenset({"aws:ec2/launchTemplate:LaunchTemplate", "aws:ec2/instance:Instance"}),
        _imdsv2,
    ),
    ResourceRule(
        "password-policy",
        "8.3.6, 8.3.7, 8.3.9",
        "IAM passwords: 12+ characters with letters and digits, 4 not reused, 90 days at most.",
        frozenset({"aws:iam/accountPasswordPolicy:AccountPasswordPolicy"}),
        _password_policy,
    ),
    ResourceRule(
        "data-safety",
        "10.5.1, 12.10.1",
        "Stores of account data and audit logs cannot be deleted by a routine update: "
        "protected, with deletion protection and a final snapshot where the service has them.",
        STATEFUL_TYPES,
        _data_safety,
    ),
)


# --- stack rules ------------------------------------------------------------------------------


def _of(resources: Sequence[StackResource], *types: str) -> list[StackResource]:
    return [r for r in resources if r.resource_type in types]


def _ids(resource: StackResource) -> set[str]:
    """What other resources use to name ``resource``: its id, ARN or name outputs."""
    props = resource.props
    return {
        str(props.get(k))
        for k in ("id", "arn", "bucket", "name")
        if isinstance(props.get(k), str) and props.get(k)
    }


def _referencing(
    resources: Sequence[StackResource], type_: str, key: str
) -> dict[str, list[StackResource]]:
    """value of ``key`` -> the resources of ``type_`` that hold it."""
    out: dict[str, list[StackResource]] = {}
    for r in _of(resources, type_):
        value = r.props.get(key)
        if isinstance(value, str):
            out.setdefault(value, []).append(r)
    return out


def _each_without(
    resources: Sequence[StackResource],
    type_: str,
    satellite: str,
    key: str,
    message: str,
    accept: Callable[[StackResource], bool] = lambda _: True,
) -> list[tuple[StackResource, str]]:
    """Each resource of ``type_`` that no ``satellite`` names in ``key`` (accepted by
    ``accept``)."""
    by_value = _referencing(resources, satellite, key)
    return [
        (r, message)
        for r in _of(resources, type_)
        if not any(accept(s) for i in _ids(r) for s in by_value.get(i, []))
    ]


def _s3_public_access_blocked(
    resources: Sequence[StackResource],
) -> list[tuple[StackResource, str]]:
    def complete(block: StackResource) -> bool:
        return all(
            _true(block.props.get(k))
            for k in (
                "blockPublicAcls",
                "blockPublicPolicy",
                "ignorePublicAcls",
                "restrictPublicBuckets",
            )
        )

    return _each_without(
        resources,
        "aws:s3/bucket:Bucket",
        "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
        "bucket",
        "no public access block with all four settings true",
        complete,
    )


def _s3_encrypted(resources: Sequence[StackResource]) -> list[tuple[StackResource, str]]:
    return _each_without(
        resources,
        "aws:s3/bucket:Bucket",
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
        "bucket",
        "no default encryption configuration",
    )


def _denies_plain_http(policy: Any) -> bool:
    for statement in _items(_obj(_json(policy)).get("Statement")):
        statement = _obj(statement)
        condition = _obj(_obj(statement.get("Condition")).get("Bool"))
        if (
            statement.get("Effect") == "Deny"
            and str(condition.get("aws:SecureTransport")).lower() == "false"
        ):
            return True
    return False


def _s3_tls_only(resources: Sequence[StackResource]) -> list[tuple[StackResource, str]]:
    return _each_without(
        resources,
        "aws:s3/bucket:Bucket",
        "aws:s3/bucketPolicy:BucketPolicy",
        "bucket",
        "no bucket policy denying requests without TLS (aws:SecureTransport)",
        lambda policy: _denies_plain_http(policy.props.get("policy")),
    )


def _log_targets(resources: Sequence[StackResource]) -> set[str]:
    """Names of the buckets that receive logs (S3 access logs, ALB logs, CloudTrail, AWS
    Config, flow logs)."""
    targets = {
        str(r.props.get("targetBucket"))
        for r in _of(resources, "aws:s3/bucketLogging:BucketLogging")
    }
    for lb in _of(
        resources, "aws:lb/loadBalancer:LoadBalancer", "aws:alb/loadBalancer:LoadBalancer"
    ):
        targets.add(str(_obj(lb.props.get("accessLogs")).get("bucket")))
    for r in _of(
        resources, "aws:cloudtrail/trail:Trail", "aws:cfg/deliveryChannel:DeliveryChannel"
    ):
        targets.add(str(r.props.get("s3BucketName")))
    for r in _of(resources, "aws:ec2/flowLog:FlowLog"):
        destination = str(r.props.get("logDestination") or "")
        if destination.startswith("arn:aws:s3:::"):
            targets.add(destination.removeprefix("arn:aws:s3:::").split("/")[0])
    return targets


def _s3_access_logging(resources: Sequence[StackResource]) -> list[tuple[StackResource, str]]:
    # the bucket that receives S3 access logs cannot usefully log to itself
    access_log_targets = {
        str(r.props.get("targetBucket"))
        for r in _of(resources, "aws:s3/bucketLogging:BucketLogging")
    }
    missing = _each_without(
        resources,
        "aws:s3/bucket:Bucket",
        "aws:s3/bucketLogging:BucketLogging",
        "bucket",
        "no S3 server access logging",
    )
    return [(r, m) for r, m in missing if not _ids(r) & access_log_targets]


def _log_bucket_retention(resources: Sequence[StackResource]) -> list[tuple[StackResource, str]]:
    targets = _log_targets(resources)
    lifecycles = _referencing(
        resources, "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", "bucket"
    )
    found = []
    for bucket in _of(resources, "aws:s3/bucket:Bucket"):
        if not _ids(bucket) & targets:
            continue
        for lifecycle in (lc for i in _ids(bucket) for lc in lifecycles.get(i, [])):
            for rule in map(_obj, _items(lifecycle.props.get("rules"))):
                days = _number(_obj(rule.get("expiration")).get("days"))
                if (
                    rule.get("status") != "Disabled"
                    and days is not None
                    and days < MIN_RETENTION_DAYS
                ):
                    found.append(
                        (
                            bucket,
                            f"log objects expire after {days:.0f} days (rule {rule.get('id')!r})",
                        )
                    )
    return found


def _flow_logs(resources: Sequence[StackResource]) -> list[tuple[StackResource, str]]:
    return _each_without(
        resources, "aws:ec2/vpc:Vpc", "aws:ec2/flowLog:FlowLog", "vpcId", "no VPC flow log"
    )


def _is_internet_facing(lb: StackResource) -> bool:
    kind = str(lb.props.get("loadBalancerType") or "application")
    return kind == "application" and not _true(lb.props.get("internal"))


def _waf_on_internet_alb(resources: Sequence[StackResource]) -> list[tuple[StackResource, str]]:
    missing = _each_without(
        resources,
        "aws:lb/loadBalancer:LoadBalancer",
        "aws:wafv2/webAclAssociation:WebAclAssociation",
        "resourceArn",
        "an internet-facing application load balancer without a WAF web ACL",
    )
    return [(r, m) for r, m in missing if _is_internet_facing(r)]


def _waf_logging(resources: Sequence[StackResource]) -> list[tuple[StackResource, str]]:
    return _each_without(
        resources,
        "aws:wafv2/webAcl:WebAcl",
        "aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration",
        "resourceArn",
        "no logging configuration: blocked and allowed requests are not recorded",
    )


def _secret_rotation(resources: Sequence[StackResource]) -> list[tuple[StackResource, str]]:
    return _each_without(
        resources,
        "aws:secretsmanager/secret:Secret",
        "aws:secretsmanager/secretRotation:SecretRotation",
        "secretId",
        "never rotated: no SecretRotation",
    )


STACK_RULES: tuple[StackRule, ...] = (
    StackRule(
        "s3-public-access-blocked",
        "1.4.4",
        "Every bucket has a public access block with all four settings on.",
        _s3_public_access_blocked,
    ),
    StackRule(
        "s3-encrypted",
        "3.5.1",
        "Every bucket has a default encryption configuration.",
        _s3_encrypted,
    ),
    StackRule(
        "s3-tls-only",
        "4.2.1",
        "Every bucket's policy denies requests made without TLS.",
        _s3_tls_only,
    ),
    StackRule(
        "s3-access-logging",
        "10.2.1",
        "Every bucket, but the one receiving S3 access logs, logs the requests made to it.",
        _s3_access_logging,
    ),
    StackRule(
        "log-bucket-retention",
        "10.5.1",
        "Buckets that receive logs keep them for at least a year.",
        _log_bucket_retention,
    ),
    StackRule(
        "vpc-flow-logs",
        "10.2.1",
        "Every VPC records its traffic in a flow log.",
        _flow_logs,
    ),
    StackRule(
        "waf-on-internet-alb",
        "6.4.2",
        "Every internet-facing application load balancer is behind a WAF web ACL.",
        _waf_on_internet_alb,
    ),
    StackRule(
        "waf-logging",
        "10.2.1, 6.4.2",
        "Every WAF web ACL logs the requests it sees.",
        _waf_logging,
    ),
    StackRule(
        "secret-rotation",
        "8.3.9, 8.6.3",
        "Every Secrets Manager secret rotates.",
        _secret_rotation,
    ),
)

RULE_NAMES = frozenset([*(r.name for r in RESOURCE_RULES), *(r.name for r in STACK_RULES)])


@dataclass(frozen=True)
class Finding:
    """A rule's verdict on one resource."""

    rule: str
    requirement: str
    urn: str
    name: str
    type: str
    message: str


def resource_findings(
    resource_type: str, inputs: Mapping[str, Any], options: Options, urn: str, name: str
) -> Iterator[Finding]:
    """What every resource rule says of one resource."""
    for rule in RESOURCE_RULES:
        if rule.applies_to(resource_type):
            for message in rule.check(resource_type, inputs, options):
                yield Finding(rule.name, rule.requirement, urn, name, resource_type, message)


def stack_findings(resources: Sequence[StackResource]) -> Iterator[Finding]:
    """What every stack rule says of the stack."""
    for rule in STACK_RULES:
        for resource, message in rule.check(resources):
            yield Finding(
                rule.name,
                rule.requirement,
                resource.urn,
                resource.name,
                resource.resource_type,
                message,
            )


def rule_table() -> Iterable[tuple[str, str, str]]:
    """(name, requirement, description) of every rule, for docs and the pack."""
    for rule in RESOURCE_RULES:
        yield rule.name, rule.requirement, rule.description
    for stack_rule in STACK_RULES:
        yield stack_rule.name, stack_rule.requirement, stack_rule.description
