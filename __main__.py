"""The payments platform: one declarative program, composed per stack from its config.

Each component takes its own settings section and, by keyword, the outputs of the components
it depends on, so every dependency is visible here.
"""

import pulumi
import pulumi_aws as aws

from components import ConfigError, SecureVpc, load_stack_settings

try:
    settings = load_stack_settings()
except ConfigError as err:
    # A clear message, not a traceback, and nothing registered.
    raise pulumi.RunError(str(err)) from None

context = settings.context

# One explicit provider per stack: it refuses to touch any account but the stack's own.
provider_args: dict[str, object] = {"region": settings.region}
if settings.account is not None:
    provider_args["allowed_account_ids"] = [settings.account.id]
    if settings.account.deploy_role_arn:
        provider_args["assume_roles"] = [
            aws.ProviderAssumeRoleArgs(
                role_arn=settings.account.deploy_role_arn,
                session_name=f"payments-platform-{settings.environment}",
            )
        ]
provider = aws.Provider(f"{settings.environment}-aws", **provider_args)  # type: ignore[arg-type]
in_account = pulumi.ResourceOptions(providers=[provider])

network = SecureVpc(
    f"{settings.environment}",
    settings.network,
    context=context,
    on_prem=settings.hybrid.on_prem_networks,
    opts=in_account,
)

pulumi.export("environment", settings.environment)
pulumi.export("vpcId", network.vpc_id)
pulumi.export("vpcCidr", network.vpc_cidr)
pulumi.export("subnetIds", network.subnet_ids)
pulumi.export("routeTableIds", network.route_table_ids)
pulumi.export("endpointSecurityGroupId", network.endpoint_security_group_id)
pulumi.export("dbSubnetGroupName", network.db_subnet_group_name)
pulumi.export("docdbSubnetGroupName", network.docdb_subnet_group_name)
pulumi.export("cacheSubnetGroupName", network.cache_subnet_group_name)
pulumi.export("flowLogGroupName", network.flow_log_group_name)
