"""The payments platform: one declarative program, composed per stack from its config.

Each component takes its own settings section and, by keyword, the references of the
components it depends on (``vpc.ref``, ``app.ref``), so every dependency is visible here.
Order of construction:

    LandingZone (alarm topic) -> SecureVpc -> HaAppTier per app -> HybridConnectivity
    (its migration waves land in the apps) -> ManagedDataTier (admits exactly the apps each store names) -> StackDashboard

The stack layer (``stacks``) reads the stack file and runs every component's own checks
first: a bad stack file exits with one line per problem and registers nothing (ConfigError
is a pulumi.RunError, so the CLI shows no traceback).
"""

import pulumi
import pulumi_aws as aws

from components import (
    HaAppTier,
    HybridConnectivity,
    LandingZone,
    ManagedDataTier,
    SecureVpc,
    StackDashboard,
)
from stacks import load_stack

stack = load_stack()

settings = stack.settings
env = settings.environment
context = settings.context


def account_provider(name: str, region: str) -> aws.Provider:
    """A provider that refuses to touch any account but the stack's own."""
    provider_args: dict[str, object] = {"region": region}
    if settings.account is not None:
        provider_args["allowed_account_ids"] = [settings.account.id]
        if settings.account.deploy_role_arn:
            provider_args["assume_roles"] = [
                aws.ProviderAssumeRoleArgs(
                    role_arn=settings.account.deploy_role_arn,
                    session_name=f"payments-platform-{env}",
                )
            ]
    return aws.Provider(name, **provider_args)  # type: ignore[arg-type]


# One explicit provider per stack, in its region; and the same account in us-east-1, where
# EventBridge receives root console sign-ins and IAM/STS calls (the LandingZone forwards them).
provider = account_provider(f"{env}-aws", settings.region)
in_account = pulumi.ResourceOptions(providers=[provider])
us_east_1 = (
    None
    if settings.region == "us-east-1"
    else account_provider(f"{env}-aws-us-east-1", "us-east-1")
)



def member_account_provider(key: str, account_id: pulumi.Output[str], role: str) -> aws.Provider:
    """The management stack reaches a member account (the log archive) only by assuming the
    role Organizations created there, after the stack's own deploy role (if any); the
    provider refuses any other account."""
    chain = []
    if settings.account is not None and settings.account.deploy_role_arn:
        chain.append(
            aws.ProviderAssumeRoleArgs(
                role_arn=settings.account.deploy_role_arn, session_name=f"payments-platform-{env}"
            )
        )
    chain.append(
        aws.ProviderAssumeRoleArgs(
            role_arn=account_id.apply(lambda a: f"arn:aws:iam::{a}:role/{role}"),
            session_name=f"payments-platform-{key}",
        )
    )
    return aws.Provider(
        f"{env}-aws-{key}",
        region=settings.region,
        allowed_account_ids=[account_id],  # type: ignore[list-item]
        assume_roles=chain,
    )


landing_zone = LandingZone(
    stack.landing_zone_name,
    settings.landing_zone,
    context=context,
    us_east_1_provider=us_east_1,
    member_account_provider=member_account_provider if settings.stack_role == "management" else None,
    opts=in_account,
)
alarms = landing_zone.alarm_topic_arn
pulumi.export("environment", env)
pulumi.export("alarmTopicArn", alarms)
pulumi.export("securityTopicArn", landing_zone.security_topic_arn)


def build_management() -> None:
    """The management account hosts the organization, never the platform itself."""
    StackDashboard(
        "management", context=context, widgets=landing_zone.dashboard_widgets, opts=in_account
    )
    pulumi.export("accountIds", landing_zone.account_ids)
    pulumi.export("organizationalUnitIds", landing_zone.organizational_unit_ids)
    pulumi.export("permissionSetArns", landing_zone.permission_set_arns)


def build_workload() -> None:
    """prod or nonprod: the network, the link to on-prem, the apps and their data."""
    network = SecureVpc(
        stack.name,
        settings.network,
        context=context,
        on_prem=settings.hybrid.on_prem_networks,
        data_services=settings.data_tier.data_services(),
        dms_source_engines=settings.data_tier.dms_source_engines(),
        dms_target_services=settings.data_tier.dms_target_services(),
        opts=in_account,
    )

    apps = {
        name: HaAppTier(
            name,
            app,
            context=context,
            network=network.ref,
            alarm_topic_arn=alarms,
            data_services=stack.app_data_services(name),
            opts=in_account,
        )
        for name, app in settings.apps.items()
    }

    # after the apps: a migration wave launches into its app's subnets and security group
    hybrid = HybridConnectivity(
        stack.name,
        settings.hybrid,
        context=context,
        network=network.ref,
        alarm_topic_arn=alarms,
        pre_shared_keys=stack.pre_shared_keys,
        apps={name: app.ref for name, app in apps.items()},
        opts=in_account,
    )

    data = ManagedDataTier(
        stack.name,
        settings.data_tier,
        context=context,
        network=network.ref,
        alarm_topic_arn=alarms,
        apps={name: app.ref for name, app in apps.items()},
        opts=in_account,
    )

    StackDashboard(
        stack.name,
        context=context,
        widgets=[
            *landing_zone.dashboard_widgets,
            *hybrid.dashboard_widgets,
            *(w for app in apps.values() for w in app.dashboard_widgets),
            *data.dashboard_widgets,
        ],
        opts=in_account,
    )

    # Outputs for other stacks and teams (StackReference-friendly; never a secret value).
    pulumi.export("vpcId", network.vpc_id)
    pulumi.export("vpcCidr", network.vpc_cidr)
    pulumi.export("subnetIds", network.subnet_ids)
    pulumi.export("routeTableIds", network.route_table_ids)
    pulumi.export("endpointSecurityGroupId", network.endpoint_security_group_id)
    pulumi.export("flowLogGroupName", network.flow_log_group_name)
    pulumi.export("vpnConnectionIds", hybrid.vpn_connection_ids)
    pulumi.export("vpnTunnels", hybrid.tunnels)
    pulumi.export("dxGatewayId", hybrid.dx_gateway_id)
    if hybrid.migration is not None:
        pulumi.export("migration", hybrid.migration)
    pulumi.export(
        "apps",
        {
            name: {
                "albDnsName": app.alb_dns_name,
                "instanceSecurityGroupId": app.instance_security_group_id,
                "asgName": app.asg_name,
            }
            for name, app in apps.items()
        },
    )
    pulumi.export("dataStores", data.stores)


if settings.stack_role == "management":
    build_management()
else:
    build_workload()
