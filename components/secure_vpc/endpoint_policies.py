"""VPC endpoint policies: who may use each endpoint of the VPC, and on what (PCI DSS 1.3.2,
the CDE's traffic to AWS services named as precisely as its traffic to the internet).

An endpoint without a policy lets any credentials reach any resource of the service: stolen
keys of another AWS account could carry card data out through our own endpoint to their
bucket. Each policy here admits only the organization's principals acting on the
organization's resources (``aws:PrincipalOrgID`` and ``aws:ResourceOrgID``; without an
organization id, the stack's own account: ``aws:PrincipalAccount`` and
``aws:ResourceAccount``), following AWS's data perimeter examples
(https://github.com/aws-samples/data-perimeter-policy-examples, vpc_endpoint_policies/),
plus the AWS-owned resources the hosts need:

- Systems Manager: Amazon's own documents (AWS-RunPatchBaseline, AmazonInspector2-*, the
  session documents) and public parameters live in AWS's accounts (ssm_endpoint_policy.json).
- S3 (gateway): the stack's own buckets (the stack's account only, not the whole
  organization), and ``s3:GetObject`` on the buckets AWS documents for the agents and
  packages the hosts install: the Amazon Linux 2023 repositories (``dnf`` reaches them through
  this endpoint), the SSM Agent's buckets and the CloudWatch agent's. Those requests are
  unauthenticated or signed by AWS, so that statement names no principal.
- guardduty-data: the GuardDuty security agent's events, authenticated by the instance
  identity role: the policy GuardDuty documents, limited to the account or organization
  (https://docs.aws.amazon.com/guardduty/latest/ug/eksrunmon-prereq-deploy-security-agent.html).

These are pure functions of the organization, account, partition and region, so a test can
evaluate the documents as IAM does (``components.iam_check``).
"""

from __future__ import annotations

from typing import Any

#: Documented AWS-owned buckets the hosts read from, by what needs them; ``{region}`` is the
#: stack's region. Only ``s3:GetObject`` is allowed on them.
AWS_OWNED_BUCKETS: dict[str, tuple[str, ...]] = {
    # Amazon Linux 2023 package repositories (and kernel live patches): dnf on AL2023 reads
    # them from S3 in the instance's region.
    # https://docs.aws.amazon.com/linux/al2023/ug/live-patching.html ; the data perimeter
    # examples list them (vpc_endpoint_policies/README.md, "Amazon EC2 Linux patching")
    "Amazon Linux 2023 repositories": ("al2023-repos-{region}-de612dc2", "al2023-{region}"),
    # SSM Agent: updates, plugins, Distributor packages (the GuardDuty and Inspector agents
    # come as Distributor packages), document attachments and patch baseline snapshots.
    # https://docs.aws.amazon.com/systems-manager/latest/userguide/ssm-agent-minimum-s3-permissions.html
    # (the Windows- and macOS-only buckets are left out: the hosts run Amazon Linux)
    "SSM Agent": (
        "aws-ssm-{region}",
        "amazon-ssm-{region}",
        "amazon-ssm-packages-{region}",
        "{region}-birdwatcher-prod",
        "aws-ssm-distributor-file-{region}",
        "aws-ssm-document-attachments-{region}",
        "patch-baseline-snapshot-{region}",
    ),
    # CloudWatch agent packages (when installed from S3 rather than the AL2023 repository)
    # https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/download-cloudwatch-agent-commandline.html
    "CloudWatch agent": ("amazoncloudwatch-agent-{region}", "amazoncloudwatch-agent"),
}


def aws_owned_bucket_arns(partition: str, region: str) -> list[str]:
    """The object ARNs of the AWS-owned buckets the hosts read, in ``region``."""
    return [
        f"arn:{partition}:s3:::{bucket.format(region=region)}/*"
        for buckets in AWS_OWNED_BUCKETS.values()
        for bucket in buckets
    ]


def principal_condition(organization_id: str | None, account_id: str) -> dict[str, str]:
    """The principals an endpoint admits: the organization's, else the account's."""
    if organization_id:
        return {"aws:PrincipalOrgID": organization_id}
    return {"aws:PrincipalAccount": account_id}


def resource_condition(organization_id: str | None, account_id: str) -> dict[str, str]:
    """The resources an endpoint reaches: the organization's, else the account's."""
    if organization_id:
        return {"aws:ResourceOrgID": organization_id}
    return {"aws:ResourceAccount": account_id}


def _within(organization_id: str | None) -> str:
    return "Organization" if organization_id else "Account"


def _document(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def _perimeter(organization_id: str | None, account_id: str) -> dict[str, Any]:
    scope = _within(organization_id)
    return {
        "Sid": f"{scope}PrincipalsTo{scope}Resources",
        "Effect": "Allow",
        "Principal": "*",
        "Action": "*",
        "Resource": "*",
        "Condition": {
            "StringEquals": {
                **principal_condition(organization_id, account_id),
                **resource_condition(organization_id, account_id),
            }
        },
    }


def interface_endpoint_policy(
    service: str, *, organization_id: str | None, account_id: str, partition: str, region: str
) -> dict[str, Any]:
    """The policy of the interface endpoint of ``service`` (``ssm``, ``logs`` ...)."""
    if service == "guardduty-data":
        return _document(
            {
                "Sid": f"{_within(organization_id)}SecurityAgents",
                "Effect": "Allow",
                "Principal": "*",
                "Action": "*",
                "Resource": "*",
                "Condition": {"StringEquals": principal_condition(organization_id, account_id)},
            }
        )
    statements = [_perimeter(organization_id, account_id)]
    if service == "ssm":
        statements.append(
            {
                "Sid": f"{_within(organization_id)}PrincipalsToAmazonDocumentsAndParameters",
                "Effect": "Allow",
                "Principal": "*",
                "Action": ["ssm:Describe*", "ssm:Get*", "ssm:List*"],
                "Resource": [
                    f"arn:{partition}:ssm:{region}::document/*",
                    f"arn:{partition}:ssm:{region}::parameter/aws/*",
                ],
                "Condition": {"StringEquals": principal_condition(organization_id, account_id)},
            }
        )
    return _document(*statements)


def gateway_endpoint_policy(
    service: str, *, organization_id: str | None, account_id: str, partition: str, region: str
) -> dict[str, Any]:
    """The policy of the gateway endpoint of ``service`` (``s3`` or ``dynamodb``)."""
    if service != "s3":
        return _document(_perimeter(organization_id, account_id))
    scope = _within(organization_id)
    return _document(
        {
            "Sid": f"{scope}PrincipalsToTheStacksOwnBuckets",
            "Effect": "Allow",
            "Principal": "*",
            "Action": "*",
            "Resource": "*",
            "Condition": {
                "StringEquals": {
                    **principal_condition(organization_id, account_id),
                    "aws:ResourceAccount": account_id,
                }
            },
        },
        {
            "Sid": "ReadAwsOwnedAgentAndPackageBuckets",
            "Effect": "Allow",
            "Principal": "*",
            "Action": "s3:GetObject",
            "Resource": aws_owned_bucket_arns(partition, region),
        },
    )
