"""The egress firewall: an AWS Network Firewall between the NAT'd tiers and the NAT gateways
that lets out only connections to the domains the settings list (PCI DSS 1.3.2).

Routing (the distributed model with a NAT gateway, one firewall endpoint per NAT AZ:
https://docs.aws.amazon.com/network-firewall/latest/developerguide/arch-igw-ngw.html and
https://aws.amazon.com/blogs/networking-and-content-delivery/deployment-models-for-aws-network-firewall/):

    app subnet (AZ x)  --0.0.0.0/0-->  firewall endpoint (AZ e)  --0.0.0.0/0-->  NAT (AZ e)
    NAT subnet = public subnet (AZ e): app-x CIDR --> firewall endpoint (AZ e)   (the return)

where e is x's own AZ with a NAT per AZ, or the NAT's AZ with a single NAT. The firewall sees
the instances' own addresses (before NAT), both directions of every flow, in one AZ: AWS
supports no asymmetric routing through a middlebox endpoint
(https://docs.aws.amazon.com/vpc/latest/userguide/gateway-route-tables.html). The public
subnet that holds the NAT also holds load balancer nodes, whose traffic to the app subnets
the return route sends through the endpoint too; so each app subnet routes the public
subnet of its egress AZ through the same endpoint, and that traffic crosses it both ways
(the firewall passes VPC-internal traffic statelessly, without inspecting it).

Rules: a stateful domain allow-list (TLS SNI and HTTP Host) in strict order, with the
default actions drop-established and alert-established, so a connection that is not TLS or
HTTP to a listed domain is dropped once established and logged
(https://docs.aws.amazon.com/network-firewall/latest/developerguide/stateful-rule-groups-domain-names.html,
https://docs.aws.amazon.com/network-firewall/latest/developerguide/suricata-rule-evaluation-order.html).

Logs: alert and flow logs to their own CMK-encrypted log groups, delivered by CloudWatch
Logs' log delivery service, which the groups' resource policy admits for this account only
(https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/AWS-logs-infrastructure-V2-CloudWatchLogs.html).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from ..core.aws_env import policy_json
from ..core.scope import Scope
from . import plan as net
from .network import NetworkPlan
from .settings import MAX_ALLOWED_DOMAINS, SecureVpcSettings

#: Capacity of the domain allow-list rule group: fixed, since a change replaces the group
#: (each domain takes one rule per target type: TLS SNI and HTTP Host).
DOMAIN_RULE_CAPACITY = 2 * MAX_ALLOWED_DOMAINS
#: Capacity of the stateless rule group that passes VPC-internal traffic (one rule, one
#: source and one destination; room for more VPC ranges without replacing it).
IN_VPC_RULE_CAPACITY = 10
#: Firewall log types, each to its own log group.
LOG_TYPES = ("ALERT", "FLOW")


@dataclass(frozen=True)
class EgressFirewall:
    """The firewall and, per AZ letter with a firewall endpoint, the endpoint's id."""

    firewall: aws.networkfirewall.Firewall
    endpoint_ids: Mapping[str, pulumi.Output[str]]
    log_groups: Mapping[str, aws.cloudwatch.LogGroup]  # log type -> group


def build_egress_firewall(
    scope: Scope,
    settings: SecureVpcSettings,
    plan: NetworkPlan,
    vpc: aws.ec2.Vpc,
    subnets: Mapping[tuple[str, str], aws.ec2.Subnet],
    log_key: aws.kms.Key,
) -> EgressFirewall:
    """The firewall with one endpoint in the firewall subnet of each NAT AZ, its policy and
    its logs."""
    policy = firewall_policy(scope, settings, plan)
    firewall = aws.networkfirewall.Firewall(
        f"{scope.name}-egress",
        description=f"Egress of {scope.name}: TLS/HTTP to the allowed domains only",
        vpc_id=vpc.id,
        firewall_policy_arn=policy.arn,
        subnet_mappings=[
            aws.networkfirewall.FirewallSubnetMappingArgs(
                subnet_id=subnets[(net.FIREWALL_TIER, az)].id
            )
            for az in plan.firewall_azs
        ],
        # deleting the firewall cuts the CDE's egress: prod keeps it until a reviewed change
        # turns the protection off
        delete_protection=scope.context.is_prod,
        tags=scope.tags(Name=f"{scope.name}-egress"),
        opts=scope.opts(),
    )
    endpoint_ids = {
        az: endpoint_in_subnet(firewall, subnets[(net.FIREWALL_TIER, az)].id)
        for az in plan.firewall_azs
    }
    groups = firewall_logs(scope, settings, firewall, log_key)
    return EgressFirewall(firewall, endpoint_ids, groups)


def firewall_policy(
    scope: Scope, settings: SecureVpcSettings, plan: NetworkPlan
) -> aws.networkfirewall.FirewallPolicy:
    domains = aws.networkfirewall.RuleGroup(
        f"{scope.name}-egress-domains",
        description="Domains the NAT'd tiers may reach (TLS SNI, HTTP Host)",
        type="STATEFUL",
        capacity=DOMAIN_RULE_CAPACITY,
        rule_group=aws.networkfirewall.RuleGroupRuleGroupArgs(
            rule_variables=aws.networkfirewall.RuleGroupRuleGroupRuleVariablesArgs(
                # the default HOME_NET, said explicitly: the rules apply to what leaves
                # the VPC
                ip_sets=[
                    aws.networkfirewall.RuleGroupRuleGroupRuleVariablesIpSetArgs(
                        key="HOME_NET",
                        ip_set=aws.networkfirewall.RuleGroupRuleGroupRuleVariablesIpSetIpSetArgs(
                            definitions=[plan.vpc_cidr]
                        ),
                    )
                ]
            ),
            rules_source=aws.networkfirewall.RuleGroupRuleGroupRulesSourceArgs(
                rules_source_list=aws.networkfirewall.RuleGroupRuleGroupRulesSourceRulesSourceListArgs(
                    generated_rules_type="ALLOWLIST",
                    target_types=["TLS_SNI", "HTTP_HOST"],
                    targets=list(settings.egress_firewall.allowed_domains),
                )
            ),
            stateful_rule_options=aws.networkfirewall.RuleGroupRuleGroupStatefulRuleOptionsArgs(
                rule_order="STRICT_ORDER"
            ),
        ),
        tags=scope.tags(Name=f"{scope.name}-egress-domains"),
        opts=scope.opts(),
    )
    in_vpc = aws.networkfirewall.RuleGroup(
        f"{scope.name}-egress-in-vpc",
        description="Pass traffic between the VPC's own subnets (load balancers and targets)",
        type="STATELESS",
        capacity=IN_VPC_RULE_CAPACITY,
        rule_group=aws.networkfirewall.RuleGroupRuleGroupArgs(
            rules_source=aws.networkfirewall.RuleGroupRuleGroupRulesSourceArgs(
                stateless_rules_and_custom_actions=aws.networkfirewall.RuleGroupRuleGroupRulesSourceStatelessRulesAndCustomActionsArgs(
                    stateless_rules=[
                        aws.networkfirewall.RuleGroupRuleGroupRulesSourceStatelessRulesAndCustomActionsStatelessRuleArgs(
                            priority=1,
                            rule_definition=aws.networkfirewall.RuleGroupRuleGroupRulesSourceStatelessRulesAndCustomActionsStatelessRuleRuleDefinitionArgs(
                                actions=["aws:pass"],
                                match_attributes=aws.networkfirewall.RuleGroupRuleGroupRulesSourceStatelessRulesAndCustomActionsStatelessRuleRuleDefinitionMatchAttributesArgs(
                                    sources=[
                                        aws.networkfirewall.RuleGroupRuleGroupRulesSourceStatelessRulesAndCustomActionsStatelessRuleRuleDefinitionMatchAttributesSourceArgs(
                                            address_definition=plan.vpc_cidr
                                        )
                                    ],
                                    destinations=[
                                        aws.networkfirewall.RuleGroupRuleGroupRulesSourceStatelessRulesAndCustomActionsStatelessRuleRuleDefinitionMatchAttributesDestinationArgs(
                                            address_definition=plan.vpc_cidr
                                        )
                                    ],
                                ),
                            ),
                        )
                    ]
                )
            )
        ),
        tags=scope.tags(Name=f"{scope.name}-egress-in-vpc"),
        opts=scope.opts(),
    )
    return aws.networkfirewall.FirewallPolicy(
        f"{scope.name}-egress",
        description="Egress allow-list: drop what is not TLS/HTTP to a listed domain",
        firewall_policy=aws.networkfirewall.FirewallPolicyFirewallPolicyArgs(
            stateless_default_actions=["aws:forward_to_sfe"],
            stateless_fragment_default_actions=["aws:forward_to_sfe"],
            stateless_rule_group_references=[
                aws.networkfirewall.FirewallPolicyFirewallPolicyStatelessRuleGroupReferenceArgs(
                    priority=10, resource_arn=in_vpc.arn
                )
            ],
            stateful_engine_options=aws.networkfirewall.FirewallPolicyFirewallPolicyStatefulEngineOptionsArgs(
                rule_order="STRICT_ORDER"
            ),
            # drop (and log) what no rule passes, once the TCP handshake is done: the
            # handshake must pass for the TLS ClientHello's SNI to be seen at all
            stateful_default_actions=["aws:drop_established", "aws:alert_established"],
            stateful_rule_group_references=[
                aws.networkfirewall.FirewallPolicyFirewallPolicyStatefulRuleGroupReferenceArgs(
                    priority=10, resource_arn=domains.arn
                )
            ],
        ),
        tags=scope.tags(Name=f"{scope.name}-egress"),
        opts=scope.opts(),
    )


def endpoint_in_subnet(
    firewall: aws.networkfirewall.Firewall, subnet_id: pulumi.Output[str]
) -> pulumi.Output[str]:
    """The id (``vpce-...``) of the firewall endpoint AWS placed in ``subnet_id``, read from
    the firewall's sync states (one per AZ, each with its endpoint's attachment)."""
    return pulumi.Output.all(firewall.firewall_statuses, subnet_id).apply(
        lambda args: _endpoint_for(args[0], args[1])
    )


def _endpoint_for(statuses: Any, subnet_id: str) -> str:
    for status in statuses or []:
        for state in _field(status, "sync_states") or []:
            for attachment in _field(state, "attachments") or []:
                if _field(attachment, "subnet_id") == subnet_id:
                    return str(_field(attachment, "endpoint_id"))
    raise ValueError(f"the egress firewall has no endpoint in subnet {subnet_id}")


def _field(value: Any, name: str) -> Any:
    """A field of a nested output: a typed object or a dict with camelCase keys."""
    if isinstance(value, Mapping):
        camel = name.split("_")[0] + "".join(p.title() for p in name.split("_")[1:])
        return value.get(camel, value.get(name))
    return getattr(value, name, None)


def firewall_logs(
    scope: Scope,
    settings: SecureVpcSettings,
    firewall: aws.networkfirewall.Firewall,
    key: aws.kms.Key,
) -> dict[str, aws.cloudwatch.LogGroup]:
    """Alert and flow logs (PCI DSS 10.2: what was dropped, and every flow that left), each
    to a CMK-encrypted group kept `egress_firewall.log_retention_days`."""
    ctx = scope.context
    groups = {
        log_type: aws.cloudwatch.LogGroup(
            f"{scope.name}-firewall-{log_type.lower()}",
            name=f"/{ctx.project}/{ctx.environment}/vpc/{scope.name}/firewall/{log_type.lower()}",
            retention_in_days=settings.egress_firewall.log_retention_days,
            kms_key_id=key.arn,
            tags=scope.tags(),
            opts=scope.stateful_opts(),
        )
        for log_type in LOG_TYPES
    }
    delivery = aws.cloudwatch.LogResourcePolicy(
        f"{scope.name}-firewall-logs",
        policy_name=f"{ctx.project}-{ctx.environment}-{scope.name}-firewall-logs",
        policy_document=delivery_policy(scope, list(groups.values())),
        opts=scope.opts(),
    )
    aws.networkfirewall.LoggingConfiguration(
        f"{scope.name}-egress",
        firewall_arn=firewall.arn,
        logging_configuration=aws.networkfirewall.LoggingConfigurationLoggingConfigurationArgs(
            log_destination_configs=[
                aws.networkfirewall.LoggingConfigurationLoggingConfigurationLogDestinationConfigArgs(
                    log_destination={"logGroup": group.name},
                    log_destination_type="CloudWatchLogs",
                    log_type=log_type,
                )
                for log_type, group in groups.items()
            ]
        ),
        opts=scope.opts(depends_on=[delivery]),
    )
    return groups


def delivery_policy(scope: Scope, groups: list[aws.cloudwatch.LogGroup]) -> pulumi.Output[str]:
    """The resource policy that lets CloudWatch Logs' log delivery service write the
    firewall's logs into these groups, for this account's sources only (the page's
    AWSLogDeliveryWrite statement, with its confused-deputy conditions)."""
    env = scope.env
    return policy_json(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "AWSLogDeliveryWrite",
                    "Effect": "Allow",
                    "Principal": {"Service": "delivery.logs.amazonaws.com"},
                    "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                    "Resource": [g.arn.apply(lambda a: f"{a}:log-stream:*") for g in groups],
                    "Condition": {
                        "StringEquals": {"aws:SourceAccount": env.account_id},
                        "ArnLike": {"aws:SourceArn": env.arn("logs", "*")},
                    },
                }
            ],
        }
    )
