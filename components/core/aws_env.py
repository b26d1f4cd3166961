"""Account, partition and region of the provider a component runs with, as Outputs.

Looked up with ``parent=`` the component, so a component given an explicit provider (another
account or region) sees that provider's account, never the default one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws


@dataclass(frozen=True)
class AwsEnv:
    account_id: pulumi.Output[str]
    partition: pulumi.Output[str]
    region: pulumi.Output[str]
    dns_suffix: pulumi.Output[str]

    def arn(self, service: str, resource: str, *, regional: bool = True) -> pulumi.Output[str]:
        """``arn:<partition>:<service>:<region>:<account>:<resource>``."""
        return pulumi.Output.all(self.partition, self.region, self.account_id).apply(
            lambda p: f"arn:{p[0]}:{service}:{p[1] if regional else ''}:{p[2]}:{resource}"
        )

    def service_endpoint(self, service: str) -> pulumi.Output[str]:
        """``<service>.<region>.amazonaws.com`` (the form kms:ViaService and principals use)."""
        return self.region.apply(lambda region: f"{service}.{region}.amazonaws.com")

    def service_name(self, service: str) -> pulumi.Output[str]:
        """``com.amazonaws.<region>.<service>`` (the form VPC endpoints use)."""
        return self.region.apply(lambda region: f"com.amazonaws.{region}.{service}")

    def root_principal(self) -> pulumi.Output[str]:
        return pulumi.Output.all(self.partition, self.account_id).apply(
            lambda p: f"arn:{p[0]}:iam::{p[1]}:root"
        )


def aws_env(parent: pulumi.Resource) -> AwsEnv:
    opts = pulumi.InvokeOutputOptions(parent=parent)
    partition = aws.get_partition_output(opts=opts)
    return AwsEnv(
        account_id=aws.get_caller_identity_output(opts=opts).account_id,
        partition=partition.partition,
        region=aws.get_region_output(opts=opts).region,
        dns_suffix=partition.dns_suffix,
    )


def policy_json(document: pulumi.Input[Any]) -> pulumi.Output[str]:
    """Render an IAM policy document (which may hold Outputs) as stable JSON.

    Built in Python rather than with ``aws.iam.get_policy_document`` so the rendered policy
    is visible in an offline plan and testable under mocks.
    """
    return pulumi.Output.from_input(document).apply(
        lambda d: json.dumps(d, sort_keys=True, separators=(",", ":"))
    )


def assume_role_policy(
    service: pulumi.Input[str], account_id: pulumi.Output[str]
) -> pulumi.Output[str]:
    """Trust policy for an AWS service (``dms.amazonaws.com``, or a regional principal such as
    ``dms.<region>.amazonaws.com``), limited to this account (confused-deputy guard)."""
    return policy_json(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": service},
                    "Action": "sts:AssumeRole",
                    "Condition": {"StringEquals": {"aws:SourceAccount": account_id}},
                }
            ],
        }
    )
