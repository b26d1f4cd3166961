"""A team's own VPC: tiered subnets, NACLs, flow logs and endpoints from one component.

No stack file of the platform is involved: the component applies the environment's
defaults and rules itself (nonprod: 2 AZs, and no NAT gateway: the hosts reach AWS through
the VPC endpoints, unless set here) and refuses bad settings before anything is registered.
"""

import pulumi

from components import SecureVpc, SecureVpcSettings, StackContext

config = pulumi.Config()
context = StackContext(
    environment=config.get("environment") or "nonprod",
    project=pulumi.get_project(),
    owner="cards-team",
    data_classification="connected",
)
vpc = SecureVpc(
    "cards",
    SecureVpcSettings(vpc_cidr=config.require("vpcCidr")),
    context=context,
)

pulumi.export("vpcId", vpc.vpc_id)
pulumi.export("subnetIds", vpc.subnet_ids)
pulumi.export("flowLogGroup", vpc.flow_log_group_name)
