"""The organization part of the LandingZone: OUs, accounts, SCPs, Control Tower, Identity Center.

Runs only in a stack deployed with management-account credentials (organization.enabled).
Each step builds one group of children of the LandingZone, taking its :class:`Scope` first;
the settings were checked (``checks.py``) before any step runs, so every key a step looks
up (an OU, an account) exists.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import pulumi
import pulumi_aws as aws

from ..core.aws_env import AwsEnv, policy_json
from ..core.problems import raise_problems
from ..core.scope import Scope
from .settings import (
    ControlTowerSettings,
    IdentityCenterSettings,
    LandingZoneSettings,
    OrganizationSettings,
    PermissionSetName,
    ServiceControlPolicySettings,
)

#: AWS Organizations rejects an SCP document longer than this (characters).
SCP_MAX_CHARS = 5120
#: An OU may have at most 5 SCPs attached, and FullAWSAccess already takes one.
SCP_MAX_PER_TARGET = 5

#: Actions of global (or us-east-1-only) services that the region guardrail must not deny,
#: or IAM, billing, DNS and support stop working from an allowed region.
GLOBAL_SERVICE_ACTIONS = (
    "a4b:*",
    "access-analyzer:*",
    "account:*",
    "acm:*",
    "aws-marketplace:*",
    "aws-portal:*",
    "billing:*",
    "budgets:*",
    "ce:*",
    "chatbot:*",
    "cloudfront:*",
    "config:*",
    "cur:*",
    "directconnect:*",
    "ec2:DescribeRegions",
    "ec2:DescribeTransitGateways",
    "ec2:DescribeVpnGateways",
    "fms:*",
    "globalaccelerator:*",
    "health:*",
    "iam:*",
    "kms:*",
    "networkmanager:*",
    "organizations:*",
    "pricing:*",
    "route53:*",
    "route53domains:*",
    "route53-recovery-cluster:*",
    "route53-recovery-control-config:*",
    "route53-recovery-readiness:*",
    "s3:CreateMultiRegionAccessPoint",
    "s3:GetAccountPublic*",
    "s3:ListAllMyBuckets",
    "s3:ListMultiRegionAccessPoints",
    "s3:PutAccountPublic*",
    "shield:*",
    "sts:*",
    "support:*",
    "trustedadvisor:*",
    "waf-regional:*",
    "waf:*",
    "wafv2:*",
    "wellarchitected:*",
)

#: EventBridge receives the CloudTrail events of global services (IAM, STS, the root user's
#: console sign-in) only in this region; the landing zone keeps a rule there.
GLOBAL_EVENTS_REGION = "us-east-1"

#: What a deploy role does to manage that rule and its target (EventBridge API reference):
#: the region guardrail lets these through in us-east-1 and nothing else of EventBridge (no
#: PutEvents, buses, API destinations or archives there).
GLOBAL_EVENT_RULE_ACTIONS = (
    "events:DeleteRule",
    "events:DescribeRule",
    "events:DisableRule",
    "events:EnableRule",
    "events:ListRules",
    "events:ListTagsForResource",
    "events:ListTargetsByRule",
    "events:PutRule",
    "events:PutTargets",
    "events:RemoveTargets",
    "events:TagResource",
    "events:UntagResource",
)

#: Stopping, deleting or disabling what records, keeps or watches the audit trail (PCI DSS
#: 10.3.2-10.3.4, 10.7, 11.5). Denied to everyone but the break-glass path, the deploy role
#: included: in prod these resources are protected (`protect`), so no reviewed change deletes
#: them, and a deliberate removal is an incident-grade act done through break-glass.
AUDIT_DESTRUCTIVE_ACTIONS = (
    "access-analyzer:DeleteAnalyzer",
    "cloudtrail:DeleteTrail",
    "cloudtrail:StopLogging",
    "config:DeleteConfigurationRecorder",
    "config:DeleteConformancePack",
    "config:DeleteDeliveryChannel",
    "config:StopConfigurationRecorder",
    "ec2:DeleteFlowLogs",
    "guardduty:DeleteDetector",
    "guardduty:DeleteMembers",
    "guardduty:DisassociateFromAdministratorAccount",
    "guardduty:DisassociateFromMasterAccount",
    "inspector2:Disable",
    "kms:DisableKey",
    "kms:DisableKeyRotation",
    "kms:ScheduleKeyDeletion",
    "logs:DeleteLogGroup",
    "logs:DeleteLogStream",
    "securityhub:BatchDisableStandards",
    "securityhub:DeleteMembers",
    "securityhub:DisableSecurityHub",
    "securityhub:DisassociateFromAdministratorAccount",
)

#: Changing how the audit trail is recorded, kept or watched: a shorter retention, a bucket
#: policy or lifecycle that lets logs go, a key policy that locks CloudTrail out, a recorder
#: or detector switched off by an update, findings archived by a filter, the alert rules.
#: Every deploy creates and updates these, so the deploy role may, with the break-glass path;
#: nobody else (operators, developers, platform admins through Identity Center). The
#: actions are exact: reading, creating and tagging stay open.
AUDIT_CHANGE_ACTIONS = (
    "access-analyzer:CreateArchiveRule",
    "access-analyzer:UpdateArchiveRule",
    "cloudtrail:PutEventSelectors",
    "cloudtrail:UpdateTrail",
    "config:PutConfigurationRecorder",
    "config:PutDeliveryChannel",
    "events:DeleteRule",
    "events:DisableRule",
    "events:RemoveTargets",
    "guardduty:CreateFilter",
    "guardduty:UpdateDetector",
    "guardduty:UpdateFilter",
    "kms:PutKeyPolicy",
    "logs:DeleteAccountPolicy",
    "logs:DeleteDataProtectionPolicy",
    "logs:DeleteRetentionPolicy",
    "logs:DisassociateKmsKey",
    "logs:PutAccountPolicy",
    "logs:PutRetentionPolicy",
    "s3:DeleteBucketPolicy",
    "s3:PutBucketLogging",
    "s3:PutBucketObjectLockConfiguration",
    "s3:PutBucketPolicy",
    "s3:PutBucketVersioning",
    "s3:PutEncryptionConfiguration",
    "s3:PutLifecycleConfiguration",
    "securityhub:UpdateStandardsControl",
)

#: The account's Session Manager preferences (idle timeout, session logging).
SESSION_PREFERENCES_ACTIONS = ("ssm:DeleteDocument", "ssm:UpdateDocument")


def _unless(*patterns: list[str]) -> dict[str, Any]:
    """Applies to every principal whose ARN matches none of ``patterns``. aws:PrincipalArn is
    the role's ARN (path included) for a role session (IAM User Guide, "AWS global
    condition context keys")."""
    return {"ArnNotLike": {"aws:PrincipalArn": [p for group in patterns for p in group]}}


def _exempt(scp: ServiceControlPolicySettings) -> dict[str, Any]:
    return _unless(scp.exempt_role_patterns)


def service_control_policies(scp: ServiceControlPolicySettings) -> dict[str, dict[str, Any]]:
    """The guardrail SCPs by name. Three documents, so each OU keeps one free attachment
    slot (5 per target, FullAWSAccess included) for Control Tower's own guardrails."""
    baseline = {
        "Version": "2012-10-17",
        "Statement": [
            {
                # an account that leaves takes its logs and guardrails with it
                "Sid": "DenyLeaveOrganization",
                "Effect": "Deny",
                "Action": "organizations:LeaveOrganization",
                "Resource": "*",
            },
            {
                # PCI DSS 8.2.2 / 8.6: no shared root use; people act through Identity Center
                "Sid": "DenyRootUser",
                "Effect": "Deny",
                "Action": "*",
                "Resource": "*",
                "Condition": {"StringLike": {"aws:PrincipalArn": "arn:aws:iam::*:root"}},
            },
            {
                # PCI DSS 10.3.2-10.3.4, 11.5: audit logs and detection stay on; only the
                # break-glass path may stop or delete them
                "Sid": "DenyAuditTampering",
                "Effect": "Deny",
                "Action": list(AUDIT_DESTRUCTIVE_ACTIONS),
                "Resource": "*",
                "Condition": _unless(scp.exempt_role_patterns, scp.break_glass_role_patterns),
            },
            {
                # the deploy role changes them as every deploy must; nobody else
                "Sid": "DenyAuditChanges",
                "Effect": "Deny",
                "Action": list(AUDIT_CHANGE_ACTIONS),
                "Resource": "*",
                "Condition": _unless(
                    scp.exempt_role_patterns,
                    scp.break_glass_role_patterns,
                    scp.deploy_role_patterns,
                ),
            },
            {
                # PCI DSS 8.2.8, 10.2.1: the idle timeout and session logging of every session
                "Sid": "DenySessionPreferenceChanges",
                "Effect": "Deny",
                "Action": list(SESSION_PREFERENCES_ACTIONS),
                "Resource": "arn:aws:ssm:*:*:document/SSM-SessionManagerRunShell",
                "Condition": _unless(
                    scp.exempt_role_patterns,
                    scp.break_glass_role_patterns,
                    scp.deploy_role_patterns,
                ),
            },
        ],
    }
    regions = {"Version": "2012-10-17", "Statement": _region_statements(scp)}
    data_protection = {
        "Version": "2012-10-17",
        "Statement": [
            {
                # IMDSv1 lets an SSRF bug read instance credentials (PCI DSS 6.2.4)
                "Sid": "DenyRunInstancesWithoutImdsV2",
                "Effect": "Deny",
                "Action": "ec2:RunInstances",
                "Resource": "arn:aws:ec2:*:*:instance/*",
                "Condition": {"StringNotEquals": {"ec2:MetadataHttpTokens": "required"}},
            },
            {
                "Sid": "DenyLooseningImds",
                "Effect": "Deny",
                "Action": "ec2:ModifyInstanceMetadataOptions",
                "Resource": "*",
                "Condition": {"StringEquals": {"ec2:Attribute/HttpTokens": "optional"}},
            },
            {
                # PCI DSS 3.5.1: stored data is encrypted
                "Sid": "DenyUnencryptedRds",
                "Effect": "Deny",
                "Action": ["rds:CreateDBInstance", "rds:CreateDBCluster"],
                "Resource": "*",
                "Condition": {"Bool": {"rds:StorageEncrypted": "false"}},
            },
            {
                "Sid": "DenyUnencryptedEbs",
                "Effect": "Deny",
                "Action": "ec2:CreateVolume",
                "Resource": "*",
                "Condition": {"Bool": {"ec2:Encrypted": "false"}},
            },
        ],
    }
    return {"baseline": baseline, "region-allow-list": regions, "data-protection": data_protection}


def _region_statements(scp: ServiceControlPolicySettings) -> list[dict[str, Any]]:
    """Deny every region but the allowed ones (global services exempt); in us-east-1, unless
    allowed, only the landing zone's root-activity rule may be managed as well."""
    allowed = list(scp.allowed_regions)
    ruled = [] if GLOBAL_EVENTS_REGION in allowed else [GLOBAL_EVENTS_REGION]
    statements: list[dict[str, Any]] = [
        {
            # keeps card data and its copies in the regions the assessment covers
            "Sid": "DenyOutsideAllowedRegions",
            "Effect": "Deny",
            "NotAction": list(GLOBAL_SERVICE_ACTIONS),
            "Resource": "*",
            "Condition": {
                "StringNotEquals": {"aws:RequestedRegion": [*allowed, *ruled]},
                **_exempt(scp),
            },
        }
    ]
    if ruled:
        statements.append(
            {
                # the forwarder of root console sign-ins and IAM/STS calls lives there
                "Sid": "DenyUsEast1ButGlobalEventRule",
                "Effect": "Deny",
                "NotAction": [*GLOBAL_SERVICE_ACTIONS, *GLOBAL_EVENT_RULE_ACTIONS],
                "Resource": "*",
                "Condition": {
                    "StringEquals": {"aws:RequestedRegion": GLOBAL_EVENTS_REGION},
                    **_exempt(scp),
                },
            }
        )
    return statements


def render_scp(document: Mapping[str, Any]) -> str:
    return json.dumps(document, sort_keys=True, separators=(",", ":"))


#: Managed policies of each permission set (suffix after arn:<partition>:iam::aws:policy/).
#: ViewOnlyAccess lists and describes resources without reading their data (no
#: s3:GetObject, no logs:GetLogEvents, no secret values: AWS Managed Policy Reference,
#: "ViewOnlyAccess"); ReadOnlyAccess reads data and logs, so no permission set of people who
#: do not need CDE data gets it (PCI DSS 7.2.2).
PERMISSION_SET_POLICIES: dict[PermissionSetName, tuple[str, ...]] = {
    "PlatformAdmin": ("AdministratorAccess",),
    "Operator": ("job-function/ViewOnlyAccess",),
    "Developer": ("PowerUserAccess",),
    # segregation of duties (PCI DSS 6.5.4, 7.2.2): developers only view production
    "DeveloperProd": ("job-function/ViewOnlyAccess",),
    "Auditor": ("SecurityAudit", "job-function/ViewOnlyAccess"),
    "SecurityOperations": ("SecurityAudit", "job-function/ViewOnlyAccess"),
    "BreakGlass": ("AdministratorAccess",),
}

PERMISSION_SET_DESCRIPTIONS: dict[PermissionSetName, str] = {
    "PlatformAdmin": "Platform administrators (short sessions; no log or data reads)",
    "Operator": "Day-2 operations: sessions and named SSM documents on tagged instances",
    "Developer": "Developers on nonprod accounts (PowerUser, no IAM)",
    "DeveloperProd": "Developers on prod accounts: view only, no log or data reads",
    "Auditor": "Internal and QSA auditors: security audit and view only",
    "SecurityOperations": "Security operations: the only role that reads CDE logs",
    "BreakGlass": "Emergency access; every use is reviewed",
}

#: Reading what the CDE logs and stores: log events (CloudWatch Logs API and Insights), objects,
#: secrets, parameters, database and search data, and decrypting anything.
LOG_READ_ACTIONS = (
    "logs:FilterLogEvents",
    "logs:GetLogEvents",
    "logs:GetLogRecord",
    "logs:GetQueryResults",
    "logs:StartLiveTail",
    "logs:StartQuery",
    "logs:Unmask",
)
DATA_READ_ACTIONS = (
    "dynamodb:BatchGetItem",
    "dynamodb:GetItem",
    "dynamodb:Query",
    "dynamodb:Scan",
    "es:ESHttpGet",
    "es:ESHttpPost",
    "kms:Decrypt",
    "rds-data:ExecuteStatement",
    "rds-db:connect",
    "s3:GetObject",
    "s3:GetObjectVersion",
    "secretsmanager:GetSecretValue",
    "ssm:GetParameter",
    "ssm:GetParameters",
    "ssm:GetParametersByPath",
)


def _no_reads(*actions: tuple[str, ...]) -> dict[str, Any]:
    return {
        "Sid": "NoLogOrDataReads",
        "Effect": "Deny",
        "Action": [a for group in actions for a in group],
        "Resource": "*",
    }


#: Log reads are SecurityOperations' alone, data reads nobody's but BreakGlass (PCI DSS
#: 7.2.1, 7.2.2, 10.3.1): an explicit Deny wins over any managed policy the set carries.
NO_LOG_OR_DATA_READS = {
    "Version": "2012-10-17",
    "Statement": [_no_reads(LOG_READ_ACTIONS, DATA_READ_ACTIONS)],
}

#: What SecurityOperations adds to SecurityAudit + ViewOnlyAccess: reading log events and
#: querying them, never unmasking card data nor reading stores.
SECURITY_OPERATIONS_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "ReadLogs",
            "Effect": "Allow",
            "Action": [a for a in LOG_READ_ACTIONS if a != "logs:Unmask"]
            + ["logs:DescribeLogGroups", "logs:DescribeLogStreams", "logs:StopQuery"],
            "Resource": "*",
        },
        {
            "Sid": "NoUnmaskOrDataReads",
            "Effect": "Deny",
            "Action": ["logs:Unmask", *DATA_READ_ACTIONS],
            "Resource": "*",
        },
    ],
}


def operator_policy(ic: IdentityCenterSettings) -> dict[str, Any]:
    """The Operator's day-2 actions on top of ViewOnlyAccess: a session (through the
    account's SSM-SessionManagerRunShell preferences, which log it) or a named document, on
    an instance carrying ``operator_instance_tags``; instance refresh, reboots, failover. No
    alarm may be silenced (PCI DSS 7.2.2, 10.7). Systems Manager User Guide, "Additional
    sample IAM policies for Session Manager" (tags, ssm:SessionDocumentAccessCheck, own
    sessions) and "Restricting access to Run Command based on tags"."""
    tagged = {f"ssm:resourceTag/{k}": v for k, v in sorted(ic.operator_instance_tags.items())}
    documents = [f"arn:aws:ssm:*:*:document/{d}" for d in ic.operator_documents]
    statements: list[dict[str, Any]] = [
        {
            "Sid": "SessionsOnTaggedInstances",
            "Effect": "Allow",
            "Action": "ssm:StartSession",
            "Resource": "arn:aws:ec2:*:*:instance/*",
            "Condition": {
                "StringEquals": tagged,
                # the session document must be allowed below, named or not
                "BoolIfExists": {"ssm:SessionDocumentAccessCheck": "true"},
            },
        },
        {
            "Sid": "SessionsThroughThePreferences",
            "Effect": "Allow",
            "Action": "ssm:StartSession",
            "Resource": "arn:aws:ssm:*:*:document/SSM-SessionManagerRunShell",
        },
        {
            "Sid": "OwnSessions",
            "Effect": "Allow",
            "Action": ["ssm:ResumeSession", "ssm:TerminateSession"],
            "Resource": [
                "arn:aws:ssm:*:*:session/${aws:userid}-*",
                "arn:aws:ssm:*:*:session/${aws:username}-*",
            ],
        },
        {
            "Sid": "NamedDocumentsOnTaggedInstances",
            "Effect": "Allow",
            "Action": "ssm:SendCommand",
            "Resource": "arn:aws:ec2:*:*:instance/*",
            "Condition": {"StringEquals": tagged},
        },
        {
            "Sid": "Day2Operations",
            "Effect": "Allow",
            "Action": [
                "autoscaling:CancelInstanceRefresh",
                "autoscaling:SetDesiredCapacity",
                "autoscaling:SetInstanceHealth",
                "autoscaling:StartInstanceRefresh",
                "cloudwatch:EnableAlarmActions",
                "elasticache:TestFailover",
                "mq:RebootBroker",
                "rds:RebootDBInstance",
                "ssm:GetCommandInvocation",
                "ssm:ListCommandInvocations",
                "ssm:ListCommands",
            ],
            "Resource": "*",
        },
        {
            # an alarm nobody hears is an incident nobody sees (PCI DSS 10.7.2)
            "Sid": "NoSilencedAlarms",
            "Effect": "Deny",
            "Action": [
                "cloudwatch:DeleteAlarms",
                "cloudwatch:DisableAlarmActions",
                "cloudwatch:PutMetricAlarm",
                "cloudwatch:SetAlarmState",
            ],
            "Resource": "*",
        },
        _no_reads(LOG_READ_ACTIONS, DATA_READ_ACTIONS),
    ]
    if documents:
        statements.insert(
            4,
            {
                "Sid": "NamedDocuments",
                "Effect": "Allow",
                "Action": "ssm:SendCommand",
                "Resource": documents,
            },
        )
    return {"Version": "2012-10-17", "Statement": statements}


def inline_policies(ic: IdentityCenterSettings) -> dict[PermissionSetName, dict[str, Any]]:
    """The inline policy of each permission set that has one (AWS allows one per set)."""
    return {
        "PlatformAdmin": NO_LOG_OR_DATA_READS,
        "Operator": operator_policy(ic),
        "DeveloperProd": NO_LOG_OR_DATA_READS,
        "Auditor": NO_LOG_OR_DATA_READS,
        "SecurityOperations": SECURITY_OPERATIONS_POLICY,
    }


#: Services the organization trusts to act in every account.
SERVICE_ACCESS_PRINCIPALS = (
    "access-analyzer.amazonaws.com",
    "cloudtrail.amazonaws.com",
    "config.amazonaws.com",
    "controltower.amazonaws.com",
    "guardduty.amazonaws.com",
    "member.org.stacksets.cloudformation.amazonaws.com",
    "securityhub.amazonaws.com",
    "sso.amazonaws.com",
)

OrganizationalUnits = Mapping[str, aws.organizations.OrganizationalUnit]
Accounts = Mapping[str, aws.organizations.Account]


# --- steps -------------------------------------------------------------------------------


def organization(scope: Scope) -> aws.organizations.Organization:
    return aws.organizations.Organization(
        f"{scope.name}-organization",
        feature_set="ALL",
        enabled_policy_types=["SERVICE_CONTROL_POLICY"],
        aws_service_access_principals=list(SERVICE_ACCESS_PRINCIPALS),
        # an existing organization is adopted with `pulumi import`; never deleted by a destroy
        opts=scope.opts(protect=True),
    )


def root_id(org: aws.organizations.Organization) -> pulumi.Output[str]:
    return org.roots.apply(lambda roots: str(roots[0].id))


def organizational_units(
    scope: Scope, settings: OrganizationSettings, root: pulumi.Output[str]
) -> dict[str, aws.organizations.OrganizationalUnit]:
    """One OU per key, under its parent's OU (built first) or the root."""
    ous: dict[str, aws.organizations.OrganizationalUnit] = {}

    def make_ou(key: str) -> aws.organizations.OrganizationalUnit:
        if key in ous:
            return ous[key]
        ou = settings.organizational_units[key]
        parent_id = make_ou(ou.parent).id if ou.parent else root
        ous[key] = aws.organizations.OrganizationalUnit(
            f"{scope.name}-ou-{key}",
            name=ou.name,
            parent_id=parent_id,
            tags=scope.tags(Name=ou.name),
            opts=scope.stateful_opts(),
        )
        return ous[key]

    for key in settings.organizational_units:
        make_ou(key)
    return ous


def member_accounts(
    scope: Scope,
    settings: OrganizationSettings,
    ous: OrganizationalUnits,
    root: pulumi.Output[str],
) -> dict[str, aws.organizations.Account]:
    return {
        key: aws.organizations.Account(
            f"{scope.name}-account-{key}",
            name=account.name,
            email=account.email,
            parent_id=ous[account.ou].id if account.ou else root,
            # a destroy must never close an account holding audit logs or card data
            close_on_deletion=False,
            iam_user_access_to_billing="DENY",
            role_name="OrganizationAccountAccessRole",
            tags=scope.tags(Name=account.name),
            # AWS ignores changes to these after creation; diffs would otherwise replace
            opts=scope.opts(protect=True, ignore_changes=["roleName", "iamUserAccessToBilling"]),
        )
        for key, account in settings.accounts.items()
    }


def guardrail_policies(
    scope: Scope,
    scp: ServiceControlPolicySettings,
    org: aws.organizations.Organization,
    ous: OrganizationalUnits,
) -> None:
    """The guardrail SCPs, each attached to every target OU (by key)."""
    if not scp.enabled:
        return
    project = scope.context.project
    for policy, document in service_control_policies(scp).items():
        resource = aws.organizations.Policy(
            f"{scope.name}-scp-{policy}",
            name=f"{project}-{policy}",
            description=f"{project} guardrail: {policy}",
            type="SERVICE_CONTROL_POLICY",
            content=render_scp(document),
            tags=scope.tags(),
            opts=scope.opts(depends_on=[org]),
        )
        for ou_key in scp.target_ous:
            aws.organizations.PolicyAttachment(
                f"{scope.name}-scp-{policy}-{ou_key}",
                policy_id=resource.id,
                target_id=ous[ou_key].id,
                opts=scope.opts(),
            )


def control_tower(
    scope: Scope, ct: ControlTowerSettings, ous: OrganizationalUnits, accounts: Accounts
) -> pulumi.Output[str] | None:
    """The Control Tower landing zone and its controls; its ARN (None when disabled)."""
    if not ct.enabled:
        return None
    manifest = {
        "governedRegions": list(ct.governed_regions),
        "organizationStructure": {
            "security": {"name": ct.security_ou_name},
            "sandbox": {"name": ct.sandbox_ou_name},
        },
        "centralizedLogging": {
            "accountId": accounts[ct.log_archive_account].id,
            "configurations": {
                "loggingBucket": {"retentionDays": ct.log_retention_days},
                "accessLoggingBucket": {"retentionDays": ct.log_retention_days},
            },
            "enabled": True,
        },
        "securityRoles": {"accountId": accounts[ct.audit_account].id},
        "accessManagement": {"enabled": True},
    }
    landing_zone = aws.controltower.LandingZone(
        f"{scope.name}-control-tower",
        version=ct.version,
        manifest_json=policy_json(manifest),
        tags=scope.tags(),
        opts=scope.opts(
            protect=True,
            depends_on=list(accounts.values()),
            # launch and updates take an hour or more (and can exceed two)
            custom_timeouts=pulumi.CustomTimeouts(create="150m", update="150m", delete="150m"),
        ),
    )
    for control_name, control in ct.controls.items():
        aws.controltower.ControlTowerControl(
            f"{scope.name}-control-{control_name}",
            control_identifier=control.control_identifier,
            target_identifier=ous[control.ou].arn,
            opts=scope.opts(depends_on=[landing_zone]),
        )
    return landing_zone.arn


def identity_center(
    scope: Scope, settings: OrganizationSettings, accounts: Accounts
) -> dict[str, pulumi.Output[str]]:
    """Permission sets and group assignments; the permission sets' ARNs by name."""
    ic = settings.identity_center
    if not ic.enabled:
        return {}
    instance = identity_center_instance(scope)
    instance_arn = instance.apply(lambda i: i[0])
    identity_store_id = instance.apply(lambda i: i[1])
    permission_sets = _permission_sets(scope, ic, instance_arn)
    for assignment_name, assignment in ic.assignments.items():
        ps_name = resolve_permission_set(
            assignment.role, settings.account_environment(assignment.account)
        )
        if assignment.group_id is not None:
            principal_id: pulumi.Input[str] = assignment.group_id
        else:
            principal_id = aws.identitystore.get_group_output(
                identity_store_id=identity_store_id,
                alternate_identifier={
                    "unique_attribute": {
                        "attribute_path": "DisplayName",
                        "attribute_value": assignment.group_name or "",
                    }
                },
                opts=scope.invoke_opts(),
            ).group_id
        aws.ssoadmin.AccountAssignment(
            f"{scope.name}-assign-{assignment_name}",
            instance_arn=instance_arn,
            permission_set_arn=permission_sets[ps_name].arn,
            principal_id=principal_id,
            principal_type="GROUP",
            target_id=accounts[assignment.account].id,
            target_type="AWS_ACCOUNT",
            opts=scope.opts(),
        )
    return {k: v.arn for k, v in permission_sets.items()}


def identity_center_instance(scope: Scope) -> pulumi.Output[tuple[str, str]]:
    """(instance ARN, identity store id) of the account's IAM Identity Center, looked up in
    the provider's region. Without an instance, the deploy stops here with a
    ComponentConfigError saying what to do first (``pulumi preview`` shows it before
    anything is created), rather than with an IndexError."""
    # checks imports this module (the SCP documents), so import its rule when it runs
    from .checks import check_identity_center_instance

    instances = aws.ssoadmin.get_instances_output(opts=scope.invoke_opts())

    def the_instance(args: list[Any]) -> tuple[str, str]:
        arns, store_ids, region = args
        problems = check_identity_center_instance(arns, region)
        raise_problems("LandingZone", scope.name, problems, LandingZoneSettings)
        return str(arns[0]), str(store_ids[0])

    return pulumi.Output.all(instances.arns, instances.identity_store_ids, scope.env.region).apply(
        the_instance
    )


def _permission_sets(
    scope: Scope, ic: IdentityCenterSettings, instance_arn: pulumi.Output[str]
) -> dict[str, aws.ssoadmin.PermissionSet]:
    sessions = ic.all_session_durations()
    permission_sets: dict[str, aws.ssoadmin.PermissionSet] = {}
    for ps_name, policies in PERMISSION_SET_POLICIES.items():
        permission_set = aws.ssoadmin.PermissionSet(
            f"{scope.name}-ps-{ps_name.lower()}",
            name=ps_name,
            description=PERMISSION_SET_DESCRIPTIONS[ps_name],
            instance_arn=instance_arn,
            session_duration=sessions[ps_name],
            tags=scope.tags(),
            opts=scope.opts(),
        )
        permission_sets[ps_name] = permission_set
        for policy in policies:
            aws.ssoadmin.ManagedPolicyAttachment(
                f"{scope.name}-ps-{ps_name.lower()}-{policy.split('/')[-1].lower()}",
                instance_arn=instance_arn,
                permission_set_arn=permission_set.arn,
                managed_policy_arn=aws_managed_policy_arn(scope.env, policy),
                opts=scope.opts(),
            )
    for ps_name, document in inline_policies(ic).items():
        aws.ssoadmin.PermissionSetInlinePolicy(
            f"{scope.name}-ps-{ps_name.lower()}-inline",
            instance_arn=instance_arn,
            permission_set_arn=permission_sets[ps_name].arn,
            inline_policy=policy_json(document),
            opts=scope.opts(),
        )
    return permission_sets


def aws_managed_policy_arn(env: AwsEnv, policy: str) -> pulumi.Output[str]:
    return env.partition.apply(lambda p: f"arn:{p}:iam::aws:policy/{policy}")


def resolve_permission_set(role: str, account_environment: str) -> PermissionSetName:
    """The permission set a role gets on an account: Developer reads only on prod (and on
    shared accounts such as log archive and audit, which hold the evidence)."""
    if role == "Developer":
        return "Developer" if account_environment == "nonprod" else "DeveloperProd"
    return role  # type: ignore[return-value]
