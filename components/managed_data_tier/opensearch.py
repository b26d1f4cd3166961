"""Amazon OpenSearch Service domain (VPC) of ManagedDataTier.

PCI DSS: 1.3 (VPC-only domain, only declared apps reach it), 3.5 (at rest with the data-tier
CMK), 4.2 (HTTPS enforced with a TLS 1.2+ policy, node-to-node TLS), 7.2/8.3 (fine-grained
access control with IAM only: no internal users, no anonymous access; the domain policy
admits principals of this account only), 10.2 (audit, slow and error logs in CloudWatch).
"""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from ..core.aws_env import policy_json
from ..core.settings import checked_input
from ..secure_vpc.plan import SERVICES
from .alarms import opensearch_alarms, opensearch_widgets
from .common import (
    DataTierScope,
    StoreResult,
    encrypted_log_group,
    first_azs,
    store_security_group,
)
from .settings import OpenSearchSettings, check_iam_role_arn

HTTPS_PORT = SERVICES["opensearch"].from_port

#: Log types the domain publishes, each to its own log group (AUDIT_LOGS needs FGAC).
LOG_TYPES = ("AUDIT_LOGS", "INDEX_SLOW_LOGS", "SEARCH_SLOW_LOGS", "ES_APPLICATION_LOGS")


def build_opensearch(scope: DataTierScope, settings: OpenSearchSettings) -> StoreResult:
    prefix = f"{scope.name}-opensearch"
    domain_name = settings.resolved_domain_name(scope.name)
    # Known before creation, so the access and log policies can name the domain exactly.
    domain_arn = scope.env.arn("es", f"domain/{domain_name}")
    sg = store_security_group(scope, "opensearch", port=HTTPS_PORT, clients=settings.clients)
    log_groups = {
        log_type: encrypted_log_group(
            scope,
            "opensearch",
            log_type.lower().replace("_", "-"),
            retention_days=settings.log_retention_days,
        )
        for log_type in LOG_TYPES
    }
    log_policy = _log_resource_policy(scope, domain_name, domain_arn, list(log_groups.values()))
    service_role = (
        opensearch_service_linked_role(scope) if settings.create_service_linked_role else None
    )
    domain = aws.opensearch.Domain(
        f"{prefix}-domain",
        domain_name=domain_name,
        engine_version=settings.engine_version,
        cluster_config=_cluster_config(settings),
        ebs_options={
            "ebs_enabled": True,
            "volume_type": "gp3",
            "volume_size": settings.volume_size_gib,
        },
        vpc_options={
            "subnet_ids": [
                scope.network.subnet_ids["data"][az]
                for az in first_azs(scope.network, settings.zone_awareness)
            ],
            "security_group_ids": [sg.id],
        },
        encrypt_at_rest={"enabled": True, "kms_key_id": scope.kms_key.arn},
        node_to_node_encryption={"enabled": True},
        domain_endpoint_options={
            "enforce_https": True,
            "tls_security_policy": settings.tls_security_policy,
        },
        advanced_security_options={
            "enabled": True,
            "anonymous_auth_enabled": False,
            # IAM is the only identity store: no passwords to leak or rotate.
            "internal_user_database_enabled": False,
            "master_user_options": {
                "master_user_arn": checked_input(settings.master_user_arn, check_iam_role_arn)
            },
        },
        access_policies=_access_policy(scope, domain_arn),
        log_publishing_options=[
            aws.opensearch.DomainLogPublishingOptionArgs(
                log_type=log_type, cloudwatch_log_group_arn=group.arn, enabled=True
            )
            for log_type, group in log_groups.items()
        ],
        # t2/t3 nodes reject Auto-Tune options altogether, so the block is left out when off
        auto_tune_options=(
            {
                "desired_state": "ENABLED",
                "rollback_on_disable": "NO_ROLLBACK",
                "use_off_peak_window": True,
            }
            if settings.auto_tune
            else None
        ),
        off_peak_window_options={
            "enabled": True,
            "off_peak_window": {
                "window_start_time": {
                    "hours": int(settings.off_peak_start[:2]),
                    "minutes": int(settings.off_peak_start[3:]),
                }
            },
        },
        software_update_options={"auto_software_update_enabled": True},
        tags=scope.tags(Name=domain_name),
        # AWS checks the service-linked role when it creates a VPC domain
        opts=scope.stateful_opts(
            depends_on=[log_policy, *([service_role] if service_role is not None else [])]
        ),
    )
    return StoreResult(
        endpoint=domain.endpoint,
        port=HTTPS_PORT,
        security_group_id=sg.id,
        secret_arn=None,  # IAM authentication: there is no credential to keep
        search_domain_arn=domain_arn,
        resources={"domain": domain},
        alarms=opensearch_alarms(scope.name, settings, domain_name, scope.env.account_id),
        widgets=opensearch_widgets(scope.name, domain_name, scope.env.account_id, scope.env.region),
    )


def opensearch_service_linked_role(scope: DataTierScope) -> aws.iam.ServiceLinkedRole:
    """``AWSServiceRoleForAmazonOpenSearchService``: OpenSearch creates the network interfaces
    of a VPC domain with it. Without it, CreateDomain of a VPC domain fails ("Before you can
    proceed, you must enable a service-linked role to give Amazon OpenSearch Service
    permissions to access your VPC", seen from CloudFormation and Terraform, e.g.
    aws/copilot-cli#3006); OpenSearch creates it on its own only for a caller allowed
    iam:CreateServiceLinkedRole, and keeps using the legacy Elasticsearch role where that one
    exists (developer guide, "Using service-linked roles to create VPC domains", slr-aos.html).
    Declaring it makes the domain wait for it. One per account, no custom suffix: an account
    that has it sets ``create_service_linked_role=False``. Kept on delete: other domains of the
    account may use it, and IAM refuses to delete it while a domain does."""
    return aws.iam.ServiceLinkedRole(
        f"{scope.name}-opensearch-service-role",
        aws_service_name="opensearchservice.amazonaws.com",
        description="Amazon OpenSearch Service: network interfaces of VPC domains",
        tags=scope.tags(),
        opts=scope.opts(retain_on_delete=True),
    )


def _cluster_config(settings: OpenSearchSettings) -> aws.opensearch.DomainClusterConfigArgs:
    zone_aware = settings.zone_awareness > 1
    return aws.opensearch.DomainClusterConfigArgs(
        instance_type=settings.instance_type,
        instance_count=settings.instance_count,
        # replicas land in another AZ than their primaries, so losing an AZ loses no data
        zone_awareness_enabled=zone_aware,
        zone_awareness_config=(
            aws.opensearch.DomainClusterConfigZoneAwarenessConfigArgs(
                availability_zone_count=settings.zone_awareness
            )
            if zone_aware
            else None
        ),
        dedicated_master_enabled=settings.dedicated_masters,
        dedicated_master_type=settings.dedicated_master_type
        if settings.dedicated_masters
        else None,
        dedicated_master_count=(
            settings.dedicated_master_count if settings.dedicated_masters else None
        ),
    )


def _access_policy(scope: DataTierScope, domain_arn: pulumi.Output[str]) -> pulumi.Output[str]:
    """Only IAM principals of this account may call the domain (never an anonymous `*`);
    what each may do inside is decided by fine-grained access control role mappings."""
    return policy_json(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "AccountPrincipalsOnly",
                    "Effect": "Allow",
                    "Principal": {"AWS": scope.env.root_principal()},
                    "Action": "es:ESHttp*",
                    "Resource": domain_arn.apply(lambda arn: f"{arn}/*"),
                }
            ],
        }
    )


def _log_resource_policy(
    scope: DataTierScope,
    domain_name: str,
    domain_arn: pulumi.Output[str],
    groups: list[aws.cloudwatch.LogGroup],
) -> aws.cloudwatch.LogResourcePolicy:
    """Lets OpenSearch (es.amazonaws.com) write to these log groups only, on behalf of this
    account's domain only (confused-deputy guard). AWS checks it when the domain is created,
    so the domain depends on it. CloudWatch Logs allows 10 resource policies per region."""
    ctx = scope.context
    return aws.cloudwatch.LogResourcePolicy(
        f"{scope.name}-opensearch-logs",
        policy_name=f"{ctx.project}-{ctx.environment}-{domain_name}-logs",
        policy_document=policy_json(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Sid": "OpenSearchWritesItsLogs",
                        "Effect": "Allow",
                        "Principal": {"Service": "es.amazonaws.com"},
                        "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                        "Resource": [g.arn.apply(lambda arn: f"{arn}:*") for g in groups],
                        "Condition": {
                            "StringEquals": {"aws:SourceAccount": scope.env.account_id},
                            "ArnLike": {"aws:SourceArn": domain_arn},
                        },
                    }
                ],
            }
        ),
        opts=scope.opts(),
    )
