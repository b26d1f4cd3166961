"""An offline plan rendered as a Terraform plan (``terraform show -json``), for scanners.

pulumi-aws is bridged from the Terraform AWS provider: every ``aws:`` resource is a
Terraform resource type and its inputs are that type's arguments under Pulumi names. This
module undoes the naming so a scanner written for Terraform (checkov's ``terraform_plan``
framework) reads the stack as it reads any Terraform plan:

- the type: ``aws:ec2/vpc:Vpc`` -> ``aws_vpc`` (:data:`TERRAFORM_TYPES`, from the provider's
  own mapping); a type missing from the table is rendered under a guessed name and listed
  by :func:`unmapped_types` (a test fails on one, so a new type is looked up, not guessed);
- the arguments: camelCase -> snake_case, and the list arguments Pulumi pluralised back to
  Terraform's singular block names (``defaultActions`` -> ``default_action``:
  :data:`RENAMED_FIELDS`);
- nested blocks: Pulumi flattens a block of at most one element to an object; a Terraform
  plan always holds blocks as lists of objects, so every object that is not a map
  (:data:`MAP_FIELDS`: tags, dimensions ...) becomes a one-element list;
- references: an input that is another resource's id or ARN is rendered as Terraform would
  plan it: unknown in ``values`` (``after_unknown``) when the referenced attribute is
  computed, and named in ``configuration`` (``"references": ["aws_s3_bucket.logs.id",
  "aws_s3_bucket.logs"]``), which is how checkov connects resources for its graph checks.
  Values computed from an id (an ARN inside a policy document) stay known: the offline plan
  resolved them, and a scanner reading them sees more than it would in a real plan.

Every resource is planned as ``create``. Secret inputs are replaced by ``[secret]`` and
marked sensitive. The top-level ``pulumi`` object (ignored by Terraform tools) maps each
address back to its URN and logical name, for matching findings with waivers.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ..testing import Plan, Registered

#: What ``terraform_version`` says: the document is not written by Terraform. checkov reads
#: a plan only when the key is present.
TERRAFORM_VERSION = "0.0.0-pulumi-offline"
FORMAT_VERSION = "1.2"
AWS_PROVIDER = "registry.terraform.io/hashicorp/aws"
RANDOM_PROVIDER = "registry.terraform.io/hashicorp/random"
SECRET = "[secret]"

#: Pulumi type token -> Terraform resource type, as pulumi-aws 7 maps them
#: (provider/resources.go, bridge-metadata.json "renames"). v7 maps ``s3.Bucket`` and the
#: other S3 resources to the Terraform resources without the former ``V2`` suffix.
TERRAFORM_TYPES: dict[str, str] = {
    "aws:accessanalyzer/analyzer:Analyzer": "aws_accessanalyzer_analyzer",
    "aws:acm/certificate:Certificate": "aws_acm_certificate",
    "aws:autoscaling/group:Group": "aws_autoscaling_group",
    "aws:autoscaling/policy:Policy": "aws_autoscaling_policy",
    "aws:budgets/budget:Budget": "aws_budgets_budget",
    "aws:cfg/conformancePack:ConformancePack": "aws_config_conformance_pack",
    "aws:cfg/deliveryChannel:DeliveryChannel": "aws_config_delivery_channel",
    "aws:cfg/recorder:Recorder": "aws_config_configuration_recorder",
    "aws:cfg/recorderStatus:RecorderStatus": "aws_config_configuration_recorder_status",
    "aws:cfg/rule:Rule": "aws_config_config_rule",
    "aws:cloudcontrol/resource:Resource": "aws_cloudcontrolapi_resource",
    "aws:cloudtrail/trail:Trail": "aws_cloudtrail",
    "aws:cloudwatch/dashboard:Dashboard": "aws_cloudwatch_dashboard",
    "aws:cloudwatch/eventRule:EventRule": "aws_cloudwatch_event_rule",
    "aws:cloudwatch/eventTarget:EventTarget": "aws_cloudwatch_event_target",
    "aws:cloudwatch/logAccountPolicy:LogAccountPolicy": "aws_cloudwatch_log_account_policy",
    "aws:cloudwatch/logDataProtectionPolicy:LogDataProtectionPolicy": (
        "aws_cloudwatch_log_data_protection_policy"
    ),
    "aws:cloudwatch/logGroup:LogGroup": "aws_cloudwatch_log_group",
    "aws:cloudwatch/logMetricFilter:LogMetricFilter": "aws_cloudwatch_log_metric_filter",
    "aws:cloudwatch/logResourcePolicy:LogResourcePolicy": "aws_cloudwatch_log_resource_policy",
    "aws:cloudwatch/metricAlarm:MetricAlarm": "aws_cloudwatch_metric_alarm",
    "aws:directconnect/gateway:Gateway": "aws_dx_gateway",
    "aws:directconnect/gatewayAssociation:GatewayAssociation": "aws_dx_gateway_association",
    "aws:directconnect/privateVirtualInterface:PrivateVirtualInterface": (
        "aws_dx_private_virtual_interface"
    ),
    "aws:dms/endpoint:Endpoint": "aws_dms_endpoint",
    "aws:dms/eventSubscription:EventSubscription": "aws_dms_event_subscription",
    "aws:dms/replicationInstance:ReplicationInstance": "aws_dms_replication_instance",
    "aws:dms/replicationSubnetGroup:ReplicationSubnetGroup": "aws_dms_replication_subnet_group",
    "aws:dms/replicationTask:ReplicationTask": "aws_dms_replication_task",
    "aws:docdb/cluster:Cluster": "aws_docdb_cluster",
    "aws:docdb/clusterInstance:ClusterInstance": "aws_docdb_cluster_instance",
    "aws:docdb/clusterParameterGroup:ClusterParameterGroup": "aws_docdb_cluster_parameter_group",
    "aws:docdb/subnetGroup:SubnetGroup": "aws_docdb_subnet_group",
    "aws:ebs/encryptionByDefault:EncryptionByDefault": "aws_ebs_encryption_by_default",
    "aws:ec2/customerGateway:CustomerGateway": "aws_customer_gateway",
    "aws:ec2/defaultNetworkAcl:DefaultNetworkAcl": "aws_default_network_acl",
    "aws:ec2/defaultRouteTable:DefaultRouteTable": "aws_default_route_table",
    "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup": "aws_default_security_group",
    "aws:ec2/eip:Eip": "aws_eip",
    "aws:ec2/flowLog:FlowLog": "aws_flow_log",
    "aws:ec2/instance:Instance": "aws_instance",
    "aws:ec2/internetGateway:InternetGateway": "aws_internet_gateway",
    "aws:ec2/launchTemplate:LaunchTemplate": "aws_launch_template",
    "aws:ec2/natGateway:NatGateway": "aws_nat_gateway",
    "aws:ec2/networkAcl:NetworkAcl": "aws_network_acl",
    "aws:ec2/networkAclAssociation:NetworkAclAssociation": "aws_network_acl_association",
    "aws:ec2/networkAclRule:NetworkAclRule": "aws_network_acl_rule",
    "aws:ec2/route:Route": "aws_route",
    "aws:ec2/routeTable:RouteTable": "aws_route_table",
    "aws:ec2/routeTableAssociation:RouteTableAssociation": "aws_route_table_association",
    "aws:ec2/securityGroup:SecurityGroup": "aws_security_group",
    "aws:ec2/subnet:Subnet": "aws_subnet",
    "aws:ec2/vpc:Vpc": "aws_vpc",
    "aws:ec2/vpcEndpoint:VpcEndpoint": "aws_vpc_endpoint",
    "aws:ec2/vpcEndpointRouteTableAssociation:VpcEndpointRouteTableAssociation": (
        "aws_vpc_endpoint_route_table_association"
    ),
    "aws:ec2/vpnConnection:VpnConnection": "aws_vpn_connection",
    "aws:ec2/vpnGateway:VpnGateway": "aws_vpn_gateway",
    "aws:ec2/vpnGatewayAttachment:VpnGatewayAttachment": "aws_vpn_gateway_attachment",
    "aws:ec2/vpnGatewayRoutePropagation:VpnGatewayRoutePropagation": (
        "aws_vpn_gateway_route_propagation"
    ),
    "aws:elasticache/parameterGroup:ParameterGroup": "aws_elasticache_parameter_group",
    "aws:elasticache/replicationGroup:ReplicationGroup": "aws_elasticache_replication_group",
    "aws:elasticache/subnetGroup:SubnetGroup": "aws_elasticache_subnet_group",
    "aws:elasticache/user:User": "aws_elasticache_user",
    "aws:elasticache/userGroup:UserGroup": "aws_elasticache_user_group",
    "aws:guardduty/detector:Detector": "aws_guardduty_detector",
    "aws:guardduty/detectorFeature:DetectorFeature": "aws_guardduty_detector_feature",
    "aws:iam/accountPasswordPolicy:AccountPasswordPolicy": "aws_iam_account_password_policy",
    "aws:iam/instanceProfile:InstanceProfile": "aws_iam_instance_profile",
    "aws:iam/policy:Policy": "aws_iam_policy",
    "aws:iam/role:Role": "aws_iam_role",
    "aws:iam/rolePolicy:RolePolicy": "aws_iam_role_policy",
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": "aws_iam_role_policy_attachment",
    "aws:iam/serviceLinkedRole:ServiceLinkedRole": "aws_iam_service_linked_role",
    "aws:inspector2/enabler:Enabler": "aws_inspector2_enabler",
    "aws:kms/alias:Alias": "aws_kms_alias",
    "aws:kms/key:Key": "aws_kms_key",
    "aws:lambda/function:Function": "aws_lambda_function",
    "aws:lambda/invocation:Invocation": "aws_lambda_invocation",
    "aws:lambda/permission:Permission": "aws_lambda_permission",
    "aws:lb/listener:Listener": "aws_lb_listener",
    "aws:lb/loadBalancer:LoadBalancer": "aws_lb",
    "aws:lb/targetGroup:TargetGroup": "aws_lb_target_group",
    "aws:mq/broker:Broker": "aws_mq_broker",
    "aws:serverlessrepository/cloudFormationStack:CloudFormationStack": (
        "aws_serverlessapplicationrepository_cloudformation_stack"
    ),
    "aws:mq/configuration:Configuration": "aws_mq_configuration",
    "aws:networkfirewall/firewall:Firewall": "aws_networkfirewall_firewall",
    "aws:networkfirewall/firewallPolicy:FirewallPolicy": "aws_networkfirewall_firewall_policy",
    "aws:networkfirewall/loggingConfiguration:LoggingConfiguration": (
        "aws_networkfirewall_logging_configuration"
    ),
    "aws:networkfirewall/ruleGroup:RuleGroup": "aws_networkfirewall_rule_group",
    "aws:opensearch/domain:Domain": "aws_opensearch_domain",
    "aws:organizations/account:Account": "aws_organizations_account",
    "aws:organizations/organization:Organization": "aws_organizations_organization",
    "aws:organizations/organizationalUnit:OrganizationalUnit": (
        "aws_organizations_organizational_unit"
    ),
    "aws:organizations/policy:Policy": "aws_organizations_policy",
    "aws:organizations/policyAttachment:PolicyAttachment": "aws_organizations_policy_attachment",
    "aws:rds/eventSubscription:EventSubscription": "aws_db_event_subscription",
    "aws:rds/instance:Instance": "aws_db_instance",
    "aws:rds/parameterGroup:ParameterGroup": "aws_db_parameter_group",
    "aws:rds/subnetGroup:SubnetGroup": "aws_db_subnet_group",
    "aws:s3/accountPublicAccessBlock:AccountPublicAccessBlock": (
        "aws_s3_account_public_access_block"
    ),
    "aws:s3/bucket:Bucket": "aws_s3_bucket",
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": (
        "aws_s3_bucket_lifecycle_configuration"
    ),
    "aws:s3/bucketLogging:BucketLogging": "aws_s3_bucket_logging",
    "aws:s3/bucketNotification:BucketNotification": "aws_s3_bucket_notification",
    "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration": (
        "aws_s3_bucket_object_lock_configuration"
    ),
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls": "aws_s3_bucket_ownership_controls",
    "aws:s3/bucketPolicy:BucketPolicy": "aws_s3_bucket_policy",
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": ("aws_s3_bucket_public_access_block"),
    "aws:s3/bucketReplicationConfig:BucketReplicationConfig": (
        "aws_s3_bucket_replication_configuration"
    ),
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": (
        "aws_s3_bucket_server_side_encryption_configuration"
    ),
    "aws:s3/bucketVersioning:BucketVersioning": "aws_s3_bucket_versioning",
    "aws:secretsmanager/secret:Secret": "aws_secretsmanager_secret",
    "aws:secretsmanager/secretPolicy:SecretPolicy": "aws_secretsmanager_secret_policy",
    "aws:secretsmanager/secretRotation:SecretRotation": "aws_secretsmanager_secret_rotation",
    "aws:secretsmanager/secretVersion:SecretVersion": "aws_secretsmanager_secret_version",
    "aws:securityhub/account:Account": "aws_securityhub_account",
    "aws:securityhub/standardsSubscription:StandardsSubscription": (
        "aws_securityhub_standards_subscription"
    ),
    "aws:sns/topic:Topic": "aws_sns_topic",
    "aws:sns/topicPolicy:TopicPolicy": "aws_sns_topic_policy",
    "aws:sns/topicSubscription:TopicSubscription": "aws_sns_topic_subscription",
    "aws:ssm/association:Association": "aws_ssm_association",
    "aws:ssm/document:Document": "aws_ssm_document",
    "aws:ssm/maintenanceWindow:MaintenanceWindow": "aws_ssm_maintenance_window",
    "aws:ssm/maintenanceWindowTarget:MaintenanceWindowTarget": "aws_ssm_maintenance_window_target",
    "aws:ssm/maintenanceWindowTask:MaintenanceWindowTask": "aws_ssm_maintenance_window_task",
    "aws:ssm/parameter:Parameter": "aws_ssm_parameter",
    "aws:ssm/patchBaseline:PatchBaseline": "aws_ssm_patch_baseline",
    "aws:ssm/patchGroup:PatchGroup": "aws_ssm_patch_group",
    "aws:ssoadmin/accountAssignment:AccountAssignment": "aws_ssoadmin_account_assignment",
    "aws:ssoadmin/managedPolicyAttachment:ManagedPolicyAttachment": (
        "aws_ssoadmin_managed_policy_attachment"
    ),
    "aws:ssoadmin/permissionSet:PermissionSet": "aws_ssoadmin_permission_set",
    "aws:ssoadmin/permissionSetInlinePolicy:PermissionSetInlinePolicy": (
        "aws_ssoadmin_permission_set_inline_policy"
    ),
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": (
        "aws_vpc_security_group_egress_rule"
    ),
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": (
        "aws_vpc_security_group_ingress_rule"
    ),
    "aws:wafv2/webAcl:WebAcl": "aws_wafv2_web_acl",
    "aws:wafv2/webAclAssociation:WebAclAssociation": "aws_wafv2_web_acl_association",
    "aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration": (
        "aws_wafv2_web_acl_logging_configuration"
    ),
    "random:index/randomPassword:RandomPassword": "random_password",
}

#: Arguments Pulumi renamed from Terraform's (a list block named in the singular gets a
#: plural name in Pulumi), by Terraform type, keyed by the Pulumi path (outer names joined
#: with dots, list positions left out). Those of the types above, from the provider's docs.
RENAMED_FIELDS: dict[str, dict[str, str]] = {
    "aws_autoscaling_group": {"vpcZoneIdentifiers": "vpc_zone_identifier", "tags": "tag"},
    "aws_budgets_budget": {"notifications": "notification"},
    "aws_cloudtrail": {
        "eventSelectors": "event_selector",
        "eventSelectors.dataResources": "data_resource",
        "advancedEventSelectors": "advanced_event_selector",
        "advancedEventSelectors.fieldSelectors": "field_selector",
        "insightSelectors": "insight_selector",
    },
    "aws_cloudwatch_metric_alarm": {"metricQueries": "metric_query"},
    "aws_db_parameter_group": {"parameters": "parameter"},
    "aws_default_route_table": {"routes": "route"},
    "aws_docdb_cluster_parameter_group": {"parameters": "parameter"},
    "aws_elasticache_parameter_group": {"parameters": "parameter"},
    "aws_elasticache_replication_group": {
        "logDeliveryConfigurations": "log_delivery_configuration"
    },
    "aws_guardduty_detector_feature": {"additionalConfigurations": "additional_configuration"},
    "aws_lb_listener": {"defaultActions": "default_action"},
    "aws_mq_broker": {"users": "user"},
    "aws_s3_bucket_lifecycle_configuration": {
        "rules": "rule",
        "rules.transitions": "transition",
        "rules.noncurrentVersionTransitions": "noncurrent_version_transition",
    },
    "aws_s3_bucket_server_side_encryption_configuration": {"rules": "rule"},
    "aws_ssm_patch_baseline": {
        "approvalRules": "approval_rule",
        "approvalRules.patchFilters": "patch_filter",
        "globalFilters": "global_filter",
        "sources": "source",
    },
    "aws_ssm_maintenance_window_target": {"targets": "targets"},
    "aws_wafv2_web_acl": {
        "rules": "rule",
        "rules.statement.managedRuleGroupStatement.ruleActionOverrides": ("rule_action_override"),
    },
    "aws_wafv2_web_acl_logging_configuration": {"redactedFields": "redacted_fields"},
}

#: Object-valued arguments that are maps (their keys are data, not argument names): kept as
#: objects, keys unchanged.
MAP_FIELDS = frozenset({"tags", "tagsAll", "dimensions", "variables", "parameters"})

#: Outputs by which another resource refers to this one.
REFERENCE_ATTRIBUTES = ("id", "arn")
#: What a reference may carry after an ARN and still name the resource.
INTERPOLATION_SUFFIXES = (":*", "/*")


def terraform_type(pulumi_type: str) -> str:
    """The Terraform type of a Pulumi type token; a guess (``aws_<module>_<name>``) for a
    token missing from :data:`TERRAFORM_TYPES` (see :func:`unmapped_types`)."""
    if pulumi_type in TERRAFORM_TYPES:
        return TERRAFORM_TYPES[pulumi_type]
    provider, _, rest = pulumi_type.partition(":")
    module = rest.split("/")[0]
    name = rest.split(":")[-1]
    return f"{provider}_{module}_{snake(name)}"


def unmapped_types(plan: Plan) -> list[str]:
    """The resource types of ``plan`` whose Terraform type is only guessed."""
    return sorted(
        {r.type for r in _rendered(plan) if r.type not in TERRAFORM_TYPES},
    )


def snake(name: str) -> str:
    """``enableKeyRotation`` -> ``enable_key_rotation``; ``tunnel1IkeVersions`` ->
    ``tunnel1_ike_versions`` (digits stay with the word before them, as in Terraform)."""
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()


def _rendered(plan: Plan) -> list[Registered]:
    """The resources a Terraform plan would hold: custom resources, not providers."""
    return [r for r in plan if r.custom and not r.type.startswith("pulumi:providers:")]


@dataclass(frozen=True)
class _Ref:
    address: str
    attribute: str
    known: bool  # the value is an input of the referenced resource (known at plan time)


def _address_names(resources: Iterable[Registered]) -> dict[str, str]:
    """URN -> ``<type>.<name>``: the logical name where Terraform allows it, made unique."""
    taken: set[str] = set()
    out: dict[str, str] = {}
    for r in sorted(resources, key=lambda r: r.urn):  # registration order is not stable
        base = re.sub(r"[^A-Za-z0-9_-]", "_", r.name)
        if not re.match(r"[A-Za-z_]", base):
            base = f"_{base}"
        address = f"{terraform_type(r.type)}.{base}"
        n = 2
        while address in taken:
            address = f"{terraform_type(r.type)}.{base}_{n}"
            n += 1
        taken.add(address)
        out[r.urn] = address
    return out


def _references(resources: Iterable[Registered], addresses: Mapping[str, str]) -> dict[str, _Ref]:
    refs: dict[str, _Ref] = {}
    for r in resources:
        inputs = {v for v in r.inputs.values() if isinstance(v, str)}
        for attribute in REFERENCE_ATTRIBUTES:
            value = r.outputs.get(attribute)
            if isinstance(value, str) and len(value) > 3 and value not in refs:
                refs[value] = _Ref(addresses[r.urn], attribute, value in inputs)
    return refs


class _Renderer:
    def __init__(self, tf_type: str, refs: Mapping[str, _Ref], self_address: str) -> None:
        self.renames = RENAMED_FIELDS.get(tf_type, {})
        self.refs = refs
        self.self_address = self_address

    def _ref(self, value: Any) -> _Ref | None:
        """The resource ``value`` names: its id or ARN, or an ARN with the ``:*`` / ``/*``
        a policy or a trail appends (Terraform: ``"${aws_cloudwatch_log_group.x.arn}:*"``)."""
        if not isinstance(value, str):
            return None
        ref = self.refs.get(value)
        if ref is None and value.endswith(INTERPOLATION_SUFFIXES):
            ref = self.refs.get(value[:-2])
        return ref if ref is not None and ref.address != self.self_address else None

    @staticmethod
    def _expression(ref: _Ref) -> list[str]:
        return [f"{ref.address}.{ref.attribute}", ref.address]

    def block(
        self, obj: Mapping[str, Any], path: str
    ) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
        """(values, after_unknown, expressions) of an object of arguments."""
        values: dict[str, Any] = {}
        unknown: dict[str, Any] = {}
        expressions: dict[str, Any] = {}
        for key, raw in obj.items():
            if raw is None:
                continue
            key_path = f"{path}.{key}" if path else key
            name = self.renames.get(key_path) or snake(key)
            value, unk, expr = self.value(raw, key_path, key)
            if unk is True:
                unknown[name] = True
            else:
                values[name] = value
                if unk:
                    unknown[name] = unk
            if expr:
                expressions[name] = expr
        return values, unknown, expressions

    def value(self, raw: Any, path: str, key: str) -> tuple[Any, Any, Any]:
        ref = self._ref(raw)
        if ref is not None:
            expression = {"references": self._expression(ref)}
            return (raw, False, expression) if ref.known else (None, True, expression)
        if isinstance(raw, float) and raw.is_integer():
            return int(raw), False, None
        if isinstance(raw, Mapping):
            if key in MAP_FIELDS:
                return {k: _plain(v) for k, v in raw.items()}, False, None
            values, unknown, expressions = self.block(raw, path)
            return [values], [unknown] if unknown else False, [expressions] if expressions else None
        if isinstance(raw, list):
            return self.sequence(raw, path, key)
        return raw, False, None

    def sequence(self, raw: list[Any], path: str, key: str) -> tuple[Any, Any, Any]:
        if raw and all(isinstance(item, Mapping) for item in raw) and key not in MAP_FIELDS:
            rendered = [self.block(item, path) for item in raw]
            unknowns = [u for _, u, _ in rendered]
            expressions = [e for _, _, e in rendered]
            return (
                [v for v, _, _ in rendered],
                unknowns if any(unknowns) else False,
                expressions if any(expressions) else None,
            )
        values: list[Any] = []
        unknown: list[bool] = []
        references: list[str] = []
        for item in raw:
            ref = self._ref(item)
            if ref is not None:
                references += self._expression(ref)
            if ref is not None and not ref.known:
                values.append(None)
                unknown.append(True)
            else:
                values.append(_plain(item))
                unknown.append(False)
        if unknown and all(unknown):
            return None, True, {"references": references}
        return (
            values,
            unknown if any(unknown) else False,
            ({"references": references} if references else None),
        )


def _plain(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _masked(value: Any) -> Any:
    """A secret input with every string in it replaced (structure kept for scanners)."""
    if isinstance(value, str):
        return SECRET
    if isinstance(value, list):
        return [_masked(v) for v in value]
    if isinstance(value, Mapping):
        return {k: _masked(v) for k, v in value.items()}
    return value


def _provider_aliases(plan: Plan) -> tuple[dict[str, str], dict[str, Any]]:
    """Provider reference (``<urn>::<id>``) -> provider config key; and provider_config. The
    provider most resources use is the default (``aws``); the others are aliases named by
    their region (registration order is not stable: Pulumi registers concurrently)."""
    providers = {f"{p.urn}::{p.outputs.get('id')}": p for p in plan.of_type("pulumi:providers:aws")}
    use = Counter(r.provider for r in plan if r.provider in providers)
    ordered = sorted(providers, key=lambda ref: (-use[ref], providers[ref].urn))
    keys: dict[str, str] = {}
    config: dict[str, Any] = {}
    for ref in ordered:
        p = providers[ref]
        region = str(p.inputs.get("region") or "")
        key = "aws" if not keys else "aws." + re.sub(r"[^a-z0-9]", "_", region or p.name)
        keys[ref] = key
        entry: dict[str, Any] = {
            "name": "aws",
            "full_name": AWS_PROVIDER,
            "expressions": {"region": {"constant_value": region}},
        }
        if key != "aws":
            entry["alias"] = key.split(".", 1)[1]
        config[key] = entry
    return keys, config


def render_tfplan(plan: Plan, *, stack: str = "") -> dict[str, Any]:
    """The plan as the JSON document ``terraform show -json <planfile>`` writes."""
    resources = _rendered(plan)
    addresses = _address_names(resources)
    refs = _references(resources, addresses)
    provider_keys, provider_config = _provider_aliases(plan)
    planned: list[dict[str, Any]] = []
    changes: list[dict[str, Any]] = []
    configuration: list[dict[str, Any]] = []
    urns: dict[str, dict[str, str]] = {}
    for r in resources:
        address = addresses[r.urn]
        tf_type, _, name = address.partition(".")
        provider_name = RANDOM_PROVIDER if tf_type.startswith("random_") else AWS_PROVIDER
        inputs = {k: (_masked(v) if k in r.secret_paths else v) for k, v in r.inputs.items()}
        values, unknown, expressions = _Renderer(tf_type, refs, address).block(inputs, "")
        sensitive = {snake(k): True for k in r.secret_paths}
        common = {
            "address": address,
            "mode": "managed",
            "type": tf_type,
            "name": name,
            "provider_name": provider_name,
        }
        planned.append({**common, "schema_version": 0, "values": values, "sensitive_values": {}})
        changes.append(
            {
                **common,
                "change": {
                    "actions": ["create"],
                    "before": None,
                    "after": values,
                    "after_unknown": unknown,
                    "before_sensitive": False,
                    "after_sensitive": sensitive,
                },
            }
        )
        conf: dict[str, Any] = {
            "address": address,
            "mode": "managed",
            "type": tf_type,
            "name": name,
            "provider_config_key": provider_keys.get(r.provider, "aws")
            if provider_name == AWS_PROVIDER
            else "random",
            "expressions": expressions,
            "schema_version": 0,
        }
        configuration.append(conf)
        urns[address] = {"urn": r.urn, "name": r.name, "type": r.type}
    return {
        "format_version": FORMAT_VERSION,
        "terraform_version": TERRAFORM_VERSION,
        "planned_values": {"root_module": {"resources": planned}},
        "resource_changes": changes,
        "configuration": {
            "provider_config": provider_config,
            "root_module": {"resources": configuration},
        },
        "errored": False,
        "pulumi": {"stack": stack, "resources": urns},
    }
