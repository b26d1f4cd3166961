"""The AWS Config conformance pack: AWS's PCI DSS rules for every service the platform runs.

AWS publishes two sample packs for PCI DSS: "Operational Best Practices for PCI DSS 4.0
(Including global resource types)", which "augments" and is to be run beside "Operational
Best Practices for PCI DSS 3.2.1" (awslabs/aws-config-rules, aws-config-conformance-packs/).
:data:`AWS_PCI_DSS_RULES` holds every rule of both, as AWS wrote them (name, identifier,
scope, parameter defaults). The pack deploys each of them whose service the platform runs
(:data:`PLATFORM_SERVICES`, checked against the real stacks by the tests), plus
:data:`PLATFORM_RULES`: the managed rules that check at run time what the policy pack
(``components/compliance/rules.py``) checks before deployment and the two samples miss
(OpenSearch and ElastiCache encryption, deletion protection, WAF logging ...). Nothing is
picked by whether the stack passes it: a rule of a service the platform runs is deployed,
and the stack's known failures show in Config as they show in the waiver file.

AWS Config limits (Developer Guide, "Service Limits"): a conformance pack holds at most 130
rules and a template body at most 51,200 bytes. :func:`conformance_templates` splits the
rules into as many packs as those limits need (one today). Rules that AWS offers only in
some regions (:data:`REGION_ONLY`) are left out elsewhere: a pack naming a rule its region
lacks fails to deploy.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

#: AWS Config: rules per conformance pack, and template body bytes.
CONFORMANCE_PACK_MAX_RULES = 130
CONFORMANCE_TEMPLATE_MAX_BYTES = 51_200

#: Services of the rules the pack deploys: what the components build (and what the
#: issue 12/13 changes add: SSM patching, Lambda rotation, Network Firewall), plus the
#: account-level rules ("account": CloudTrail, GuardDuty, Security Hub, Macie, IAM ...).
PLATFORM_SERVICES = frozenset(
    {
        "account",
        "acm",
        "autoscaling",
        "cloudformation",
        "cloudwatch",
        "dms",
        "docdb",
        "ec2",
        "elasticache",
        "elbv2",
        "iam",
        "kms",
        "lambda",
        "logs",
        "mq",
        "networkfirewall",
        "opensearch",
        "rds",
        "s3",
        "secretsmanager",
        "sns",
        "ssm",
        "vpc",
        "wafv2",
    }
)

#: Rules AWS offers only in these regions (each rule's page, "AWS Region"): global
#: services evaluated where they are recorded.
REGION_ONLY: dict[str, frozenset[str]] = {
    **{
        identifier: frozenset({"us-east-1"})
        for identifier in (
            "CLOUDFRONT_ACCESSLOGS_ENABLED",
            "CLOUDFRONT_ASSOCIATED_WITH_WAF",
            "CLOUDFRONT_CUSTOM_SSL_CERTIFICATE",
            "CLOUDFRONT_NO_DEPRECATED_SSL_PROTOCOLS",
            "CLOUDFRONT_ORIGIN_ACCESS_IDENTITY_ENABLED",
            "CLOUDFRONT_S3_ORIGIN_ACCESS_CONTROL_ENABLED",
            "CLOUDFRONT_SECURITY_POLICY_CHECK",
            "CLOUDFRONT_SNI_ENABLED",
            "CLOUDFRONT_TRAFFIC_TO_ORIGIN_ENCRYPTED",
            "CLOUDFRONT_VIEWER_POLICY_HTTPS",
            "WAF_GLOBAL_RULEGROUP_NOT_EMPTY",
            "WAF_GLOBAL_RULE_NOT_EMPTY",
            "WAF_GLOBAL_WEBACL_NOT_EMPTY",
        )
    }
}


@dataclass(frozen=True)
class ManagedRule:
    """An AWS managed Config rule as a pack deploys it."""

    identifier: str  # SourceIdentifier
    name: str  # ConfigRuleName
    service: str
    resource_types: tuple[str, ...] = ()  # Scope.ComplianceResourceTypes (none: periodic)
    parameters: Mapping[str, str] = field(default_factory=dict)
    source: str = ""  # "pci-dss-4.0", "pci-dss-3.2.1" or "platform"

    def resource(self) -> dict[str, Any]:
        props: dict[str, Any] = {
            "ConfigRuleName": self.name,
            "Source": {"Owner": "AWS", "SourceIdentifier": self.identifier},
        }
        if self.resource_types:
            props["Scope"] = {"ComplianceResourceTypes": list(self.resource_types)}
        if self.parameters:
            props["InputParameters"] = dict(self.parameters)
        return {"Type": "AWS::Config::ConfigRule", "Properties": props}


def _rule(
    identifier: str,
    service: str,
    *types: str,
    name: str = "",
    source: str,
    **parameters: str,
) -> ManagedRule:
    return ManagedRule(
        identifier,
        name or identifier.lower().replace("_", "-"),
        service,
        tuple(types),
        parameters,
        source,
    )


def _v4(identifier: str, service: str, *types: str, name: str = "", **params: str) -> ManagedRule:
    return _rule(identifier, service, *types, name=name, source="pci-dss-4.0", **params)


def _v3(identifier: str, service: str, *types: str, name: str = "", **params: str) -> ManagedRule:
    return _rule(identifier, service, *types, name=name, source="pci-dss-3.2.1", **params)


def _platform(identifier: str, service: str, *types: str, **params: str) -> ManagedRule:
    return _rule(identifier, service, *types, source="platform", **params)


_CF = "AWS::CloudFront::Distribution"
_RDS_DB = "AWS::RDS::DBInstance"
_RDS_CLUSTER = "AWS::RDS::DBCluster"
_DDB = "AWS::DynamoDB::Table"
_S3 = "AWS::S3::Bucket"
_SG = "AWS::EC2::SecurityGroup"
_EC2 = "AWS::EC2::Instance"
_VOLUME = "AWS::EC2::Volume"
_EKS = "AWS::EKS::Cluster"
_CODEBUILD = "AWS::CodeBuild::Project"
_SECRET = "AWS::SecretsManager::Secret"
_MQ = "AWS::AmazonMQ::Broker"
_PASSWORD = {
    "RequireUppercaseCharacters": "true",
    "RequireLowercaseCharacters": "true",
    "RequireSymbols": "true",
    "RequireNumbers": "true",
    # PCI DSS v4.0.1 8.3.6 asks 12 (AWS's 3.2.1 sample defaults to 7, 3.2.1's 8.2.3)
    "MinimumPasswordLength": "12",
    "PasswordReusePrevention": "4",
    "MaxPasswordAge": "90",
}

#: Every rule of AWS's PCI DSS 4.0 (including global resource types) and 3.2.1 sample
#: packs, with AWS's parameter defaults, in the samples' order. A rule in both is listed
#: once, under 4.0.
AWS_PCI_DSS_RULES: tuple[ManagedRule, ...] = (
    _v4("ACCESS_KEYS_ROTATED", "iam", maxAccessKeyAge="90"),
    _v4("CLOUDFRONT_SECURITY_POLICY_CHECK", "cloudfront", _CF),
    _v4("CLOUDFRONT_SNI_ENABLED", "cloudfront", _CF),
    _v4("TRANSFER_FAMILY_SERVER_NO_FTP", "transfer", "AWS::Transfer::Server"),
    _v4("AURORA_RESOURCES_PROTECTED_BY_BACKUP_PLAN", "rds", _RDS_CLUSTER),
    _v4("DB_INSTANCE_BACKUP_ENABLED", "rds", _RDS_DB),
    _v4("DYNAMODB_IN_BACKUP_PLAN", "dynamodb", _DDB),
    _v4("DYNAMODB_RESOURCES_PROTECTED_BY_BACKUP_PLAN", "dynamodb", _DDB),
    _v4("EBS_IN_BACKUP_PLAN", "ec2", _VOLUME),
    _v4("EBS_RESOURCES_PROTECTED_BY_BACKUP_PLAN", "ec2", _VOLUME),
    _v4("EC2_RESOURCES_PROTECTED_BY_BACKUP_PLAN", "ec2", _EC2),
    _v4("EFS_IN_BACKUP_PLAN", "efs", "AWS::EFS::FileSystem"),
    _v4("EFS_RESOURCES_PROTECTED_BY_BACKUP_PLAN", "efs", "AWS::EFS::FileSystem"),
    _v4(
        "ELASTICACHE_REDIS_CLUSTER_AUTOMATIC_BACKUP_CHECK",
        "elasticache",
        "AWS::ElastiCache::CacheCluster",
        "AWS::ElastiCache::ReplicationGroup",
    ),
    _v4("FSX_RESOURCES_PROTECTED_BY_BACKUP_PLAN", "fsx", "AWS::FSx::FileSystem"),
    _v4("NEPTUNE_CLUSTER_BACKUP_RETENTION_CHECK", "neptune", _RDS_CLUSTER),
    _v4("RDS_IN_BACKUP_PLAN", "rds", _RDS_DB),
    _v4("RDS_RESOURCES_PROTECTED_BY_BACKUP_PLAN", "rds", _RDS_DB),
    _v4("REDSHIFT_BACKUP_ENABLED", "redshift", "AWS::Redshift::Cluster"),
    _v4("S3_RESOURCES_PROTECTED_BY_BACKUP_PLAN", "s3", _S3),
    _v4("CLOUDFRONT_ORIGIN_ACCESS_IDENTITY_ENABLED", "cloudfront", _CF),
    _v4("CLOUDFRONT_S3_ORIGIN_ACCESS_CONTROL_ENABLED", "cloudfront", _CF),
    _v4("S3_BUCKET_DEFAULT_LOCK_ENABLED", "s3", _S3),
    _v4("S3_BUCKET_VERSIONING_ENABLED", "s3", _S3),
    _v4(
        "SERVICE_CATALOG_SHARED_WITHIN_ORGANIZATION",
        "servicecatalog",
        "AWS::ServiceCatalog::Portfolio",
    ),
    _v4("SECURITY_ACCOUNT_INFORMATION_PROVIDED", "account", "AWS::::Account"),
    _v4("ACM_CERTIFICATE_RSA_CHECK", "acm", "AWS::ACM::Certificate"),
    _v4("ACM_PCA_ROOT_CA_DISABLED", "acm-pca", "AWS::ACMPCA::CertificateAuthority"),
    _v4("API_GWV2_ACCESS_LOGS_ENABLED", "apigateway"),
    _v4(
        "API_GW_ENDPOINT_TYPE_CHECK",
        "apigateway",
        "AWS::ApiGateway::RestApi",
        endpointConfigurationTypes="REGIONAL, PRIVATE, EDGE",
    ),
    _v4("API_GW_XRAY_ENABLED", "apigateway", "AWS::ApiGateway::Stage"),
    _v4("ATHENA_WORKGROUP_ENCRYPTED_AT_REST", "athena"),
    _v4("CLOUDFORMATION_STACK_NOTIFICATION_CHECK", "cloudformation", "AWS::CloudFormation::Stack"),
    _v4("CLOUDFRONT_ACCESSLOGS_ENABLED", "cloudfront", _CF),
    _v4("CLOUDFRONT_ASSOCIATED_WITH_WAF", "cloudfront", _CF),
    _v4("CLOUDFRONT_CUSTOM_SSL_CERTIFICATE", "cloudfront", _CF),
    _v4("CLOUDTRAIL_SECURITY_TRAIL_ENABLED", "account"),
    _v4(
        "S3_BUCKET_BLACKLISTED_ACTIONS_PROHIBITED",
        "s3",
        _S3,
        blacklistedActionPattern=(
            "s3:DeleteBucketPolicy, s3:PutBucketAcl, s3:PutBucketPolicy, "
            "s3:PutEncryptionConfiguration, s3:PutObjectAcl"
        ),
    ),
    _v4(
        "S3_BUCKET_POLICY_NOT_MORE_PERMISSIVE",
        "s3",
        _S3,
        name="s3-bucket-policy-not-more-permissive",
    ),
    _v4("SHIELD_DRT_ACCESS", "shield"),
    _v4("IAM_POLICY_IN_USE", "iam", policyARN="arn:aws:iam::aws:policy/AWSSupportAccess"),
    _v4(
        "LAMBDA_FUNCTION_SETTINGS_CHECK",
        "lambda",
        "AWS::Lambda::Function",
        runtime=(
            "python3.9, java11, java8.al2, nodejs20.x,nodejs18.x,python3.12, python3.11,"
            "python3.10,java21,java17,dotnet8,ruby3.3,ruby3.2"
        ),
    ),
    _v4("MACIE_AUTO_SENSITIVE_DATA_DISCOVERY_CHECK", "account"),
    _v4("MACIE_STATUS_CHECK", "account"),
    _v4("NEPTUNE_CLUSTER_CLOUDWATCH_LOG_EXPORT_ENABLED", "neptune"),
    _v4("NEPTUNE_CLUSTER_IAM_DATABASE_AUTHENTICATION", "neptune"),
    _v4("NEPTUNE_CLUSTER_SNAPSHOT_ENCRYPTED", "neptune"),
    _v4(
        "NEPTUNE_CLUSTER_SNAPSHOT_PUBLIC_PROHIBITED",
        "neptune",
        name="neptune-cluster-snapshot-public-encrypted",
    ),
    _v4(
        "NETFW_POLICY_DEFAULT_ACTION_FRAGMENT_PACKETS",
        "networkfirewall",
        "AWS::NetworkFirewall::FirewallPolicy",
        statelessFragmentDefaultActions="aws:drop,aws:forward_to_sfe",
    ),
    _v4(
        "NETFW_POLICY_DEFAULT_ACTION_FULL_PACKETS",
        "networkfirewall",
        "AWS::NetworkFirewall::FirewallPolicy",
        statelessDefaultActions="aws:drop,aws:forward_to_sfe",
    ),
    _v4("RDS_CLUSTER_IAM_AUTHENTICATION_ENABLED", "rds", _RDS_CLUSTER),
    _v4("RDS_DB_SECURITY_GROUP_NOT_ALLOWED", "rds"),
    _v4("REDSHIFT_CLUSTER_KMS_ENABLED", "redshift", "AWS::Redshift::Cluster"),
    _v4("REDSHIFT_ENHANCED_VPC_ROUTING_ENABLED", "redshift", "AWS::Redshift::Cluster"),
    _v4("EC2_IMDSV2_CHECK", "ec2", _EC2),
    _v4("EC2_INSTANCE_DETAILED_MONITORING_ENABLED", "ec2", _EC2),
    _v4("EC2_INSTANCE_PROFILE_ATTACHED", "ec2", _EC2),
    _v4("EC2_NO_AMAZON_KEY_PAIR", "ec2", _EC2),
    _v4("EC2_TRANSIT_GATEWAY_AUTO_VPC_ATTACH_DISABLED", "transitgateway"),
    _v4("EC2_VOLUME_INUSE_CHECK", "ec2", _VOLUME, deleteOnTermination="true"),
    _v4("ECR_PRIVATE_LIFECYCLE_POLICY_CONFIGURED", "ecr", "AWS::ECR::Repository"),
    _v4("ECS_TASK_DEFINITION_LOG_CONFIGURATION", "ecs"),
    _v4("ECS_TASK_DEFINITION_PID_MODE_CHECK", "ecs", "AWS::ECS::TaskDefinition"),
    _v4("EKS_CLUSTER_OLDEST_SUPPORTED_VERSION", "eks", _EKS, oldestVersionSupported="1.2"),
    _v4(
        "CLOUDWATCH_ALARM_ACTION_CHECK",
        "cloudwatch",
        "AWS::CloudWatch::Alarm",
        alarmActionRequired="true",
        insufficientDataActionRequired="true",
        okActionRequired="false",
    ),
    _v4(
        "CLOUDWATCH_ALARM_RESOURCE_CHECK",
        "cloudwatch",
        metricName="CPUUtilization",
        resourceType="AWS::EC2::Instance",
    ),
    _v4(
        "CLOUDWATCH_ALARM_SETTINGS_CHECK",
        "cloudwatch",
        "AWS::CloudWatch::Alarm",
        metricName="CPUUtilization",
    ),
    _v4("CODEBUILD_PROJECT_ARTIFACT_ENCRYPTION", "codebuild", _CODEBUILD),
    _v4("CODEBUILD_PROJECT_S3_LOGS_ENCRYPTED", "codebuild", _CODEBUILD),
    _v4("CLOUD_TRAIL_ENABLED", "account", name="cloudtrail-enabled"),
    _v4("MULTI_REGION_CLOUD_TRAIL_ENABLED", "account", name="multi-region-cloudtrail-enabled"),
    _v4("DAX_ENCRYPTION_ENABLED", "dax", "AWS::DAX::Cluster"),
    _v4("DMS_REDIS_TLS_ENABLED", "dms", "AWS::DMS::Endpoint"),
    _v4("EKS_SECRETS_ENCRYPTED", "eks", _EKS),
    _v4("EKS_ENDPOINT_NO_PUBLIC_ACCESS", "eks", _EKS),
    _v4("APPSYNC_LOGGING_ENABLED", "appsync", "AWS::AppSync::GraphQLApi"),
    _v4("WAF_CLASSIC_LOGGING_ENABLED", "waf-classic", "AWS::WAF::WebACL"),
    _v4("DYNAMODB_PITR_ENABLED", "dynamodb", _DDB),
    _v4("INCOMING_SSH_DISABLED", "ec2", _SG, name="restricted-ssh"),
    _v4("API_GW_CACHE_ENABLED_AND_ENCRYPTED", "apigateway", "AWS::ApiGateway::Stage"),
    _v4("APPSYNC_ASSOCIATED_WITH_WAF", "appsync", "AWS::AppSync::GraphQLApi"),
    _v4(
        "AUTOSCALING_LAUNCHCONFIG_REQUIRES_IMDSV2",
        "autoscaling",
        "AWS::AutoScaling::LaunchConfiguration",
    ),
    _v4("MQ_CLOUDWATCH_AUDIT_LOGGING_ENABLED", "mq", _MQ),
    _v4("MQ_CLOUDWATCH_AUDIT_LOG_ENABLED", "mq", _MQ),
    _v4("DOCDB_CLUSTER_ENCRYPTED", "docdb", _RDS_CLUSTER),
    _v4("DOCDB_CLUSTER_SNAPSHOT_PUBLIC_PROHIBITED", "docdb", "AWS::RDS::DBClusterSnapshot"),
    _v4("DYNAMODB_TABLE_ENCRYPTED_KMS", "dynamodb", _DDB),
    _v4("DYNAMODB_TABLE_ENCRYPTION_ENABLED", "dynamodb", _DDB),
    _v4("BACKUP_RECOVERY_POINT_MANUAL_DELETION_DISABLED", "backup", "AWS::Backup::BackupVault"),
    _v4("CLOUDFRONT_NO_DEPRECATED_SSL_PROTOCOLS", "cloudfront", _CF),
    _v4("CLOUDFRONT_TRAFFIC_TO_ORIGIN_ENCRYPTED", "cloudfront", _CF),
    _v4("CLOUDFRONT_VIEWER_POLICY_HTTPS", "cloudfront", _CF),
    _v4("CODEBUILD_PROJECT_ENVVAR_AWSCRED_CHECK", "codebuild", _CODEBUILD),
    _v4("CODEBUILD_PROJECT_SOURCE_REPO_URL_CHECK", "codebuild", _CODEBUILD),
    _v4(
        "CODEDEPLOY_LAMBDA_ALLATONCE_TRAFFIC_SHIFT_DISABLED",
        "codedeploy",
        "AWS::CodeDeploy::DeploymentGroup",
    ),
    _v4("CODEPIPELINE_DEPLOYMENT_COUNT_CHECK", "codepipeline", "AWS::CodePipeline::Pipeline"),
    _v4("ELB_ACM_CERTIFICATE_REQUIRED", "elb-classic", "AWS::ElasticLoadBalancing::LoadBalancer"),
    _v4("EMR_BLOCK_PUBLIC_ACCESS", "emr", "AWS::::Account"),
    _v4("RDS_INSTANCE_IAM_AUTHENTICATION_ENABLED", "rds", _RDS_DB),
    _v4("NACL_NO_UNRESTRICTED_SSH_RDP", "vpc", "AWS::EC2::NetworkAcl"),
    _v4("DAX_TLS_ENDPOINT_ENCRYPTION", "dax", "AWS::DAX::Cluster"),
    _v4("EKS_CLUSTER_LOGGING_ENABLED", "eks", _EKS),
    _v4("EKS_CLUSTER_SECRETS_ENCRYPTED", "eks", _EKS),
    _v4(
        "ELASTIC_BEANSTALK_LOGS_TO_CLOUDWATCH",
        "elasticbeanstalk",
        "AWS::ElasticBeanstalk::Environment",
    ),
    _v4("WAFV2_WEBACL_NOT_EMPTY", "wafv2", "AWS::WAFv2::WebACL"),
    _v4("WAFV2_RULEGROUP_NOT_EMPTY", "wafv2", "AWS::WAFv2::RuleGroup"),
    _v4("WAFV2_RULEGROUP_LOGGING_ENABLED", "wafv2", "AWS::WAFv2::RuleGroup"),
    _v4("WAF_GLOBAL_WEBACL_NOT_EMPTY", "waf-classic", "AWS::WAF::WebACL"),
    _v4("WAF_GLOBAL_RULEGROUP_NOT_EMPTY", "waf-classic", "AWS::WAF::RuleGroup"),
    _v4("WAF_GLOBAL_RULE_NOT_EMPTY", "waf-classic", "AWS::WAF::Rule"),
    _v4("SECRETSMANAGER_SCHEDULED_ROTATION_SUCCESS_CHECK", "secretsmanager", _SECRET),
    _v4("SECRETSMANAGER_SECRET_PERIODIC_ROTATION", "secretsmanager", _SECRET),
    _v4("SECRETSMANAGER_SECRET_UNUSED", "secretsmanager", _SECRET),
    _v4("SNS_TOPIC_MESSAGE_DELIVERY_NOTIFICATION_ENABLED", "sns", "AWS::SNS::Topic"),
    _v4(
        "STEP_FUNCTIONS_STATE_MACHINE_LOGGING_ENABLED",
        "stepfunctions",
        "AWS::StepFunctions::StateMachine",
    ),
    _v4("EC2_CLIENT_VPN_NOT_AUTHORIZE_ALL", "clientvpn", "AWS::EC2::ClientVpnEndpoint"),
    _v4("EC2_LAUNCH_TEMPLATE_PUBLIC_IP_DISABLED", "ec2", "AWS::EC2::LaunchTemplate"),
    _v4("INTERNET_GATEWAY_AUTHORIZED_VPC_ONLY", "vpc", "AWS::EC2::InternetGateway"),
    _v4("KINESIS_STREAM_ENCRYPTED", "kinesis", "AWS::Kinesis::Stream"),
    _v4("MSK_IN_CLUSTER_NODE_REQUIRE_TLS", "msk", "AWS::MSK::Cluster"),
    _v4("NEPTUNE_CLUSTER_ENCRYPTED", "neptune", _RDS_CLUSTER),
    _v4("NETFW_LOGGING_ENABLED", "networkfirewall", "AWS::NetworkFirewall::LoggingConfiguration"),
    _v4("DMS_ENDPOINT_SSL_CONFIGURED", "dms", "AWS::DMS::Endpoint"),
    _v4("CW_LOGGROUP_RETENTION_PERIOD_CHECK", "logs", "AWS::Logs::LogGroup"),
    _v4("S3_ACCESS_POINT_PUBLIC_ACCESS_BLOCKS", "s3", "AWS::S3::AccessPoint"),
    _v4(
        "S3_ACCOUNT_LEVEL_PUBLIC_ACCESS_BLOCKS",
        "s3",
        "AWS::S3::AccountPublicAccessBlock",
        BlockPublicAcls="True",
        BlockPublicPolicy="True",
        IgnorePublicAcls="True",
        RestrictPublicBuckets="True",
    ),
    _v4("S3_BUCKET_MFA_DELETE_ENABLED", "s3", _S3),
    # --- PCI DSS 3.2.1 (AWS: run the 4.0 pack "in parallel with" this one) ----------------
    _v3("ACM_CERTIFICATE_EXPIRATION_CHECK", "acm", "AWS::ACM::Certificate", daysToExpiration="90"),
    _v3("ALB_HTTP_TO_HTTPS_REDIRECTION_CHECK", "elbv2"),
    _v3("API_GW_EXECUTION_LOGGING_ENABLED", "apigateway", "AWS::ApiGateway::Stage"),
    _v3("CLOUD_TRAIL_CLOUD_WATCH_LOGS_ENABLED", "account"),
    _v3("CLOUD_TRAIL_ENCRYPTION_ENABLED", "account"),
    _v3("CLOUD_TRAIL_LOG_FILE_VALIDATION_ENABLED", "account"),
    _v3("CLOUDTRAIL_S3_DATAEVENTS_ENABLED", "account"),
    _v3("CLOUDWATCH_LOG_GROUP_ENCRYPTED", "logs"),
    _v3("CMK_BACKING_KEY_ROTATION_ENABLED", "kms"),
    _v3("DMS_REPLICATION_NOT_PUBLIC", "dms"),
    _v3("EBS_SNAPSHOT_PUBLIC_RESTORABLE_CHECK", "ec2"),
    _v3(
        "EC2_INSTANCE_MANAGED_BY_SSM",
        "ec2",
        _EC2,
        "AWS::SSM::ManagedInstanceInventory",
        name="ec2-instance-managed-by-systems-manager",
    ),
    _v3("EC2_INSTANCE_NO_PUBLIC_IP", "ec2", _EC2),
    _v3(
        "EC2_MANAGEDINSTANCE_ASSOCIATION_COMPLIANCE_STATUS_CHECK",
        "ssm",
        "AWS::SSM::AssociationCompliance",
    ),
    _v3("EC2_MANAGEDINSTANCE_PATCH_COMPLIANCE_STATUS_CHECK", "ssm", "AWS::SSM::PatchCompliance"),
    _v3("EC2_SECURITY_GROUP_ATTACHED_TO_ENI", "ec2", _SG),
    _v3("EFS_ENCRYPTED_CHECK", "efs"),
    _v3("EIP_ATTACHED", "ec2", "AWS::EC2::EIP"),
    _v3("ELASTICSEARCH_ENCRYPTED_AT_REST", "elasticsearch"),
    _v3("ELASTICSEARCH_IN_VPC_ONLY", "elasticsearch"),
    _v3(
        "ELB_LOGGING_ENABLED",
        "elbv2",
        "AWS::ElasticLoadBalancing::LoadBalancer",
        "AWS::ElasticLoadBalancingV2::LoadBalancer",
    ),
    _v3("EMR_KERBEROS_ENABLED", "emr"),
    _v3("EMR_MASTER_NO_PUBLIC_IP", "emr"),
    _v3("ENCRYPTED_VOLUMES", "ec2", _VOLUME),
    _v3("GUARDDUTY_ENABLED_CENTRALIZED", "account"),
    _v3("IAM_PASSWORD_POLICY", "iam", **_PASSWORD),
    _v3("IAM_POLICY_NO_STATEMENTS_WITH_ADMIN_ACCESS", "iam", "AWS::IAM::Policy"),
    _v3("IAM_ROOT_ACCESS_KEY_CHECK", "iam"),
    _v3("IAM_USER_MFA_ENABLED", "iam"),
    _v3("IAM_USER_NO_POLICIES_CHECK", "iam", "AWS::IAM::User"),
    _v3("IAM_USER_UNUSED_CREDENTIALS_CHECK", "iam", maxCredentialUsageAge="90"),
    _v3("LAMBDA_FUNCTION_PUBLIC_ACCESS_PROHIBITED", "lambda", "AWS::Lambda::Function"),
    _v3("LAMBDA_INSIDE_VPC", "lambda", "AWS::Lambda::Function"),
    _v3("MFA_ENABLED_FOR_IAM_CONSOLE_ACCESS", "iam"),
    _v3("RDS_INSTANCE_PUBLIC_ACCESS_CHECK", "rds", _RDS_DB),
    _v3(
        "RDS_SNAPSHOTS_PUBLIC_PROHIBITED",
        "rds",
        "AWS::RDS::DBSnapshot",
        "AWS::RDS::DBClusterSnapshot",
    ),
    _v3("RDS_STORAGE_ENCRYPTED", "rds", _RDS_DB),
    _v3(
        "REDSHIFT_CLUSTER_CONFIGURATION_CHECK",
        "redshift",
        "AWS::Redshift::Cluster",
        clusterDbEncrypted="TRUE",
        loggingEnabled="TRUE",
    ),
    _v3("REDSHIFT_CLUSTER_PUBLIC_ACCESS_CHECK", "redshift", "AWS::Redshift::Cluster"),
    _v3("REDSHIFT_REQUIRE_TLS_SSL", "redshift", "AWS::Redshift::Cluster"),
    _v3(
        "RESTRICTED_INCOMING_TRAFFIC",
        "ec2",
        _SG,
        name="restricted-common-ports",
        blockedPort1="20",
        blockedPort2="21",
        blockedPort3="3389",
        blockedPort4="3306",
        blockedPort5="4333",
    ),
    _v3("ROOT_ACCOUNT_HARDWARE_MFA_ENABLED", "iam"),
    _v3("ROOT_ACCOUNT_MFA_ENABLED", "iam"),
    _v3("S3_BUCKET_LOGGING_ENABLED", "s3", _S3),
    _v3("S3_BUCKET_POLICY_GRANTEE_CHECK", "s3", _S3),
    _v3("S3_BUCKET_PUBLIC_READ_PROHIBITED", "s3", _S3),
    _v3("S3_BUCKET_PUBLIC_WRITE_PROHIBITED", "s3", _S3),
    _v3("S3_BUCKET_SERVER_SIDE_ENCRYPTION_ENABLED", "s3", _S3),
    _v3("S3_BUCKET_SSL_REQUESTS_ONLY", "s3", _S3),
    _v3("SAGEMAKER_ENDPOINT_CONFIGURATION_KMS_KEY_CONFIGURED", "sagemaker"),
    _v3("SAGEMAKER_NOTEBOOK_INSTANCE_KMS_KEY_CONFIGURED", "sagemaker"),
    _v3("SAGEMAKER_NOTEBOOK_NO_DIRECT_INTERNET_ACCESS", "sagemaker"),
    _v3("SECRETSMANAGER_ROTATION_ENABLED_CHECK", "secretsmanager", _SECRET),
    _v3("SECURITYHUB_ENABLED", "account"),
    _v3("VPC_DEFAULT_SECURITY_GROUP_CLOSED", "vpc", _SG),
    _v3("VPC_FLOW_LOGS_ENABLED", "vpc"),
    # the platform admits the internet on 443 only (policy rule internet-ingress-https-only)
    _v3("VPC_SG_OPEN_ONLY_TO_AUTHORIZED_PORTS", "vpc", _SG, authorizedTcpPorts="443"),
)

#: Managed rules that check at run time what the policy pack checks before deployment, and
#: neither AWS sample holds (policy rule in the comment).
PLATFORM_RULES: tuple[ManagedRule, ...] = (
    # encryption-at-rest, customer-managed-key, tls-in-transit
    _platform("ELASTICACHE_REPL_GRP_ENCRYPTED_AT_REST", "elasticache"),
    _platform("ELASTICACHE_REPL_GRP_ENCRYPTED_IN_TRANSIT", "elasticache"),
    _platform("OPENSEARCH_ENCRYPTED_AT_REST", "opensearch"),
    _platform("OPENSEARCH_NODE_TO_NODE_ENCRYPTION_CHECK", "opensearch"),
    _platform("OPENSEARCH_HTTPS_REQUIRED", "opensearch"),
    _platform("EC2_EBS_ENCRYPTION_BY_DEFAULT", "ec2"),
    _platform("SECRETSMANAGER_USING_CMK", "secretsmanager"),
    _platform("SNS_ENCRYPTED_KMS", "sns"),
    _platform("KMS_CMK_NOT_SCHEDULED_FOR_DELETION", "kms"),
    # not-publicly-accessible, no-public-ip
    _platform("OPENSEARCH_IN_VPC_ONLY", "opensearch"),
    _platform("MQ_NO_PUBLIC_ACCESS", "mq"),
    _platform("SUBNET_AUTO_ASSIGN_PUBLIC_IP_DISABLED", "vpc"),
    # logging-enabled, waf-on-internet-alb, waf-logging
    _platform("OPENSEARCH_AUDIT_LOGGING_ENABLED", "opensearch"),
    _platform("OPENSEARCH_LOGS_TO_CLOUDWATCH", "opensearch"),
    _platform("RDS_LOGGING_ENABLED", "rds"),
    _platform("DOCDB_CLUSTER_AUDIT_LOGGING_ENABLED", "docdb"),
    _platform("ALB_WAF_ENABLED", "elbv2"),
    _platform("WAFV2_LOGGING_ENABLED", "wafv2"),
    # data-safety
    _platform("RDS_INSTANCE_DELETION_PROTECTION_ENABLED", "rds"),
    _platform("DOCDB_CLUSTER_DELETION_PROTECTION_ENABLED", "docdb"),
)

#: Rules of AWS's samples the pack leaves out although their service runs here, and why.
NOT_DEPLOYED: dict[str, str] = {
    "S3_BUCKET_POLICY_NOT_MORE_PERMISSIVE": (
        "needs the platform's control policy as its `controlPolicy` parameter; AWS's sample "
        "passes the placeholder '1024', which evaluates nothing"
    ),
}


def pack_rules(extra: Iterable[str] = (), excluded: Iterable[str] = ()) -> list[ManagedRule]:
    """The rules the pack deploys: AWS's PCI DSS rules of the platform's services, the
    platform's own, then ``extra`` identifiers; without ``excluded``."""
    skip = set(excluded) | set(NOT_DEPLOYED)
    chosen: dict[str, ManagedRule] = {}
    for rule in (*AWS_PCI_DSS_RULES, *PLATFORM_RULES):
        if rule.service in PLATFORM_SERVICES and rule.identifier not in skip:
            chosen.setdefault(rule.identifier, rule)
    for identifier in extra:
        if identifier not in skip:
            chosen.setdefault(identifier, _rule(identifier, "extra", source="extra"))
    return list(chosen.values())


#: The rules of the pack as deployed by default (the table a reviewer reads).
PCI_CONFORMANCE_RULES: tuple[ManagedRule, ...] = tuple(pack_rules())


def _logical_id(identifier: str) -> str:
    return "".join(part.capitalize() for part in identifier.split("_"))


def render(rules: Sequence[ManagedRule]) -> str:
    """A CloudFormation template of ``rules`` (JSON is valid YAML), compact: the body limit
    counts bytes."""
    resources = {_logical_id(r.identifier): r.resource() for r in rules}
    return json.dumps({"Resources": resources}, sort_keys=True, separators=(",", ":"))


#: The bytes :func:`render` adds around its entries: ``{"Resources":{`` and ``}}``.
_TEMPLATE_FRAME_BYTES = len(render([]).encode())


def _entry_bytes(rule: ManagedRule) -> int:
    """The bytes ``"<LogicalId>":{...}`` of ``rule`` in :func:`render`'s output."""
    entry = json.dumps(
        {_logical_id(rule.identifier): rule.resource()}, sort_keys=True, separators=(",", ":")
    )
    return len(entry.encode()) - 2  # without its own braces


def split(rules: Sequence[ManagedRule]) -> list[list[ManagedRule]]:
    """``rules`` in packs of at most 130 rules and 51,200 template bytes, in order. A pack's
    size is its frame, its entries and a comma between two: exactly ``render``'s bytes."""
    packs: list[list[ManagedRule]] = [[]]
    size = _TEMPLATE_FRAME_BYTES
    for rule in rules:
        entry = _entry_bytes(rule)
        grown = size + entry + (1 if packs[-1] else 0)
        if packs[-1] and (
            len(packs[-1]) + 1 > CONFORMANCE_PACK_MAX_RULES
            or grown > CONFORMANCE_TEMPLATE_MAX_BYTES
        ):
            packs.append([rule])
            size = _TEMPLATE_FRAME_BYTES + entry
        else:
            packs[-1].append(rule)
            size = grown
    return packs


def available(rules: Sequence[ManagedRule], region: str) -> list[ManagedRule]:
    """The rules AWS offers in ``region``."""
    return [r for r in rules if region in REGION_ONLY.get(r.identifier, frozenset({region}))]


def conformance_templates(
    extra: Iterable[str] = (), excluded: Iterable[str] = ()
) -> list[list[ManagedRule]]:
    """The rules of each pack (render each with :func:`render` once the region is known:
    :func:`available`)."""
    return split(pack_rules(extra, excluded))


def conformance_template(
    extra: Iterable[str] = (), excluded: Iterable[str] = (), region: str = "ap-southeast-1"
) -> str:
    """The template of the first pack in ``region`` (all of them, while one pack holds
    every rule)."""
    return render(available(conformance_templates(extra, excluded)[0], region))
