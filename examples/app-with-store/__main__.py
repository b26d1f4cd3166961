"""One application with a Redis only it can reach, in its own VPC.

The data tier's settings are written once and tell the network which ports its NACLs open
(`data_services()`) and the app which stores it may reach (`services_of_client()`); each
component checks that the others admit what it needs and refuses before registering
anything when they don't.
"""

import pulumi
import pulumi_aws as aws

from components import (
    HaAppTier,
    HaAppTierSettings,
    ManagedDataTier,
    ManagedDataTierSettings,
    SecureVpc,
    SecureVpcSettings,
    StackContext,
)
from components.managed_data_tier import RedisSettings

config = pulumi.Config()
context = StackContext(
    environment=config.get("environment") or "nonprod",
    project=pulumi.get_project(),
    owner="orders-team",
    data_classification="connected",
)
alarm_topic = config.require("alarmTopicArn")

data = ManagedDataTierSettings(redis=RedisSettings(clients=["orders"]))

vpc = SecureVpc(
    "orders",
    SecureVpcSettings(vpc_cidr=config.require("vpcCidr")),
    context=context,
    data_services=data.data_services(),
)

# A certificate created in the same program: the component takes the Output as is.
certificate = aws.acm.Certificate(
    "orders", domain_name=config.require("domainName"), validation_method="DNS"
)
app = HaAppTier(
    "orders",
    HaAppTierSettings(certificate_arn=certificate.arn, internet_facing=True, app_port=8080),
    context=context,
    network=vpc.ref,
    alarm_topic_arn=alarm_topic,
    data_services=data.services_of_client("orders"),
)

store = ManagedDataTier(
    "orders",
    data,
    context=context,
    network=vpc.ref,
    alarm_topic_arn=alarm_topic,
    apps={"orders": app.ref},
)

pulumi.export("url", pulumi.Output.concat("https://", app.alb_dns_name))
pulumi.export("redis", store.stores)
