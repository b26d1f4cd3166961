"""The payments platform: one declarative program, composed per stack from its config.

Each component takes its own settings section and, by keyword, the outputs of the components
it depends on, so every dependency is visible here.
"""

import pulumi

from components import ConfigError, SecureVpc, load_stack_settings

try:
    settings = load_stack_settings()
except ConfigError as err:
    # A clear message, not a traceback, and nothing registered.
    raise pulumi.RunError(str(err)) from None

context = settings.context

network = SecureVpc(
    f"{settings.environment}",
    settings.network,
    context=context,
    on_prem=settings.hybrid.on_prem_networks,
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
