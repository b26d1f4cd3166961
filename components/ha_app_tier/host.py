"""What runs on an HaAppTier's instances, as text the stack puts in place.

- The **user data**: a MIME multi-part archive that cloud-init runs part by part, in order
  (cloud-init documentation, "User-data formats: MIME multi-part archive"): the platform's
  boot script, then the app's own user data file, then (with file-integrity monitoring) the
  AIDE baseline. The boot script installs and starts the CloudWatch agent with the
  configuration the stack keeps in an SSM parameter; if anything fails it marks the instance
  unhealthy, so the Auto Scaling group replaces it (an instance that cannot ship its audit
  logs never serves: PCI DSS 10.2.1, 10.7.2), and exits non-zero.
- The **CloudWatch agent configuration**: the OS logs PCI DSS 10.2.1 asks for (logons and
  privilege use in ``/var/log/secure``, the kernel audit trail, system messages, package
  changes), the app's own logs, the file-integrity reports, and memory, disk and swap
  metrics per Auto Scaling group.
- The **file-integrity scripts** (PCI DSS 11.5.2) State Manager runs: AIDE compares the files
  with the baseline taken at boot; each run ends with one ``fim-result=`` line the stack's
  metric filters count.

Nothing here creates a resource; component.py puts these texts into the launch template, an
SSM parameter and SSM documents. They target Amazon Linux 2023 (dnf, ``/etc/aide.conf``),
the default AMI.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from typing import Any

#: EC2 takes at most 16 KB of user data before base64; the platform's parts and the MIME
#: framing take at most this much of it, the app's file the rest (tested).
PLATFORM_USER_DATA_BYTES = 6 * 1024
MIME_BOUNDARY = "==payments-platform-user-data=="

AGENT_CTL = "/opt/aws/amazon-cloudwatch-agent/bin/amazon-cloudwatch-agent-ctl"
#: Left by a failed platform part: the parts after it stop at once.
BOOT_FAILED_MARKER = "/run/payments-platform/boot-failed"

#: AIDE (the Advanced Intrusion Detection Environment, in the Amazon Linux 2023 repositories)
#: with the distribution's own /etc/aide.conf, less /var/log: logs are rotated and appended
#: all day, and their integrity is kept where they are stored, in CloudWatch Logs (KMS,
#: retention, access by IAM), so comparing them here would only raise false alarms.
AIDE = "aide -A '!/var/log'"
AIDE_DB = "/var/lib/aide/aide.db.gz"
AIDE_NEW_DB = "/var/lib/aide/aide.db.new.gz"
FIM_LOG = "/var/log/aide/aide-check.log"
#: The line each comparison ends with; the stack's metric filters match these exact terms.
FIM_CLEAN = "fim-result=clean"
FIM_CHANGED = "fim-result=changed"
FIM_ERROR = "fim-result=error"
FIM_BASELINE = "fim-baseline"
#: The metrics the app's metric filters make of those lines (namespace ``<project>/<app>``).
FIM_FINDINGS_METRIC = "FileIntegrityFindings"
FIM_CHECKS_METRIC = "FileIntegrityChecks"

#: The OS logs the agent ships to the system log group (AL2023 writes them with rsyslog,
#: which the boot script installs: the AMI keeps them in the journal only). Stream names
#: are ``<instance id>/<key>``.
SYSTEM_LOG_FILES: Mapping[str, str] = {
    # logons, sudo, sshd and session manager shells: user and admin access (10.2.1.1, 10.2.1.2)
    "secure": "/var/log/secure",
    # the kernel audit trail: changes to identification and authentication, audit log
    # start/stop, system-level objects (10.2.1.3-10.2.1.7)
    "audit": "/var/log/audit/audit.log",
    "messages": "/var/log/messages",
    # what was installed or updated, and when: patch evidence (6.3.3)
    "dnf": "/var/log/dnf.rpm.log",
    # the boot itself, including this platform's boot script
    "cloud-init": "/var/log/cloud-init-output.log",
    # every Run Command and session the SSM agent ran
    "ssm-agent": "/var/log/amazon/ssm/amazon-ssm-agent.log",
}


@dataclass(frozen=True)
class HostLogGroups:
    """The CloudWatch log groups an app's instances write to."""

    system: str
    application: str
    file_integrity: str
    patching: str

    @classmethod
    def of(cls, project: str, environment: str, app: str) -> HostLogGroups:
        prefix = f"/{project}/{environment}/{app}"
        return cls(
            system=f"{prefix}/system",
            application=f"{prefix}/application",
            file_integrity=f"{prefix}/file-integrity",
            patching=f"{prefix}/patching",
        )


def default_app_log_files(app: str) -> list[str]:
    return [f"/var/log/{app}/*.log"]


def agent_config(
    groups: HostLogGroups, app_log_files: Sequence[str], *, file_integrity: bool
) -> dict[str, Any]:
    """The CloudWatch agent configuration (CloudWatch User Guide, "Manually create or edit the
    CloudWatch agent configuration file")."""
    files: list[dict[str, Any]] = [
        {
            "file_path": path,
            "log_group_name": groups.system,
            "log_stream_name": f"{{instance_id}}/{key}",
        }
        for key, path in SYSTEM_LOG_FILES.items()
    ]
    files += [
        {
            "file_path": path,
            "log_group_name": groups.application,
            "log_stream_name": "{instance_id}",
        }
        for path in app_log_files
    ]
    if file_integrity:
        files.append(
            {
                "file_path": FIM_LOG,
                "log_group_name": groups.file_integrity,
                "log_stream_name": "{instance_id}",
            }
        )
    return {
        # root: /var/log/secure and the audit log are readable by root only
        "agent": {"metrics_collection_interval": 60, "run_as_user": "root"},
        "logs": {"logs_collected": {"files": {"collect_list": files}}},
        "metrics": {
            "namespace": "CWAgent",
            # the agent reads the group's name from the instance's tags (ec2:DescribeTags,
            # granted by CloudWatchAgentServerPolicy)
            "append_dimensions": {
                "AutoScalingGroupName": "${aws:AutoScalingGroupName}",
                "InstanceId": "${aws:InstanceId}",
            },
            "aggregation_dimensions": [["AutoScalingGroupName"]],
            "metrics_collected": {
                "mem": {"measurement": ["mem_used_percent"]},
                "disk": {"measurement": ["used_percent", "inodes_free"], "resources": ["/"]},
                "swap": {"measurement": ["swap_used_percent"]},
            },
        },
    }


def agent_config_json(config: Mapping[str, Any]) -> str:
    """Compact and stable: the same configuration is the same parameter value (and hash)."""
    return json.dumps(config, sort_keys=True, separators=(",", ":"))


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


#: Every platform part starts with this: a failing command marks the instance unhealthy
#: (SetInstanceHealth, ignoring the health check grace period, so the group replaces it at
#: once), or powers it off if that call fails (a stopped instance is unhealthy to EC2 Auto
#: Scaling too), and the part exits non-zero. The message goes to the serial console, which
#: stays readable (GetConsoleOutput) when no log could be shipped.
_PRELUDE = r"""#!/bin/bash
set -euo pipefail
imds() {
  local token
  token=$(curl -sf -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 60' \
    http://169.254.169.254/latest/api/token)
  curl -sf -H "X-aws-ec2-metadata-token: $token" "http://169.254.169.254/latest/$1"
}
fail() {
  trap - ERR
  set +e
  echo "payments-platform boot FAILED: $1; marking this instance unhealthy" | tee /dev/console
  mkdir -p "$(dirname @MARKER@)" && touch @MARKER@
  AWS_DEFAULT_REGION=$(imds meta-data/placement/region) aws autoscaling set-instance-health \
    --instance-id "$(imds meta-data/instance-id)" --health-status Unhealthy \
    --no-should-respect-grace-period || systemctl poweroff
  exit 1
}
trap 'fail "line $LINENO: $BASH_COMMAND exited $?"' ERR
[ ! -e @MARKER@ ] || fail "an earlier platform part failed"
""".replace("@MARKER@", BOOT_FAILED_MARKER)


def boot_script(parameter: str, config_sha256: str, *, file_integrity: bool) -> str:
    """Runs first: the OS log writers, AIDE, and the CloudWatch agent with the stack's
    configuration, checked running. The configuration's hash is in the text so a new
    configuration is a new launch template version (the group then rolls its instances)."""
    packages = ["amazon-cloudwatch-agent", "rsyslog", "audit"]
    if file_integrity:
        packages.append("aide")
    return (
        _PRELUDE
        + f"# CloudWatch agent configuration: SSM parameter {parameter} (sha256 {config_sha256})\n"
        + f"dnf install -y {' '.join(packages)}\n"
        + "systemctl enable --now rsyslog auditd\n"
        + f"{AGENT_CTL} -a fetch-config -m ec2 -s -c 'ssm:{parameter}'\n"
        + f'{AGENT_CTL} -a status | grep -q \'"status": "running"\'\n'
        + f"echo 'payments-platform boot: CloudWatch agent running with {parameter}'\n"
    )


def fim_baseline_commands() -> list[str]:
    """Take the AIDE baseline of this instance as it is now."""
    return [
        "set -eu",
        "mkdir -p /var/log/aide",
        f"{AIDE} --init > /dev/null",
        f"mv -f {AIDE_NEW_DB} {AIDE_DB}",
        'echo "$(date -u +%Y-%m-%dT%H:%M:%SZ) '
        + FIM_BASELINE
        + f" sha256=$(sha256sum {AIDE_DB} | cut -d' ' -f1)\" >> {FIM_LOG}",
    ]


def fim_check_commands() -> list[str]:
    """Compare the files with the baseline; report to the FIM log, exit non-zero on a change
    (AIDE's exit code: 1-7 added, removed or changed files; above 7 an error), so the
    association's run fails and its compliance turns NON_COMPLIANT too."""
    return [
        "set -u",
        # at boot, State Manager may run this before the baseline exists: wait for the boot
        "cloud-init status --wait > /dev/null 2>&1 || true",
        "mkdir -p /var/log/aide",
        "stamp() { date -u +%Y-%m-%dT%H:%M:%SZ; }",
        f"if [ ! -s {AIDE_DB} ]; then",
        f'  echo "$(stamp) {FIM_ERROR} no AIDE baseline at {AIDE_DB}" >> {FIM_LOG}',
        "  exit 1",
        "fi",
        f"echo \"$(stamp) fim-check baseline-sha256=$(sha256sum {AIDE_DB} | cut -d' ' -f1)\""
        f" >> {FIM_LOG}",
        f"{AIDE} --check >> {FIM_LOG} 2>&1",
        "rc=$?",
        'if [ "$rc" -eq 0 ]; then result=clean; elif [ "$rc" -le 7 ]; then result=changed; '
        "else result=error; fi",
        f'echo "$(stamp) fim-result=$result aide-exit=$rc" >> {FIM_LOG}',
        'exit "$rc"',
    ]


def fim_baseline_boot_script() -> str:
    """Runs last at boot, after the app's user data installed what it installs."""
    return _PRELUDE + "\n".join(fim_baseline_commands()[1:]) + "\n"


def command_document(description: str, commands: Sequence[str]) -> str:
    """An SSM Command document (schema 2.2) running ``commands`` on Linux."""
    return json.dumps(
        {
            "schemaVersion": "2.2",
            "description": description,
            "mainSteps": [
                {
                    "action": "aws:runShellScript",
                    "name": "run",
                    "precondition": {"StringEquals": ["platformType", "Linux"]},
                    "inputs": {"runCommand": list(commands), "timeoutSeconds": "3600"},
                }
            ],
        },
        sort_keys=True,
        indent=2,
    )


def app_part_type(content: bytes) -> str | None:
    """The MIME subtype of the app's user data (a script or a cloud-config), or None when it
    is neither (an include file, a boothook, gzip or an archive of its own)."""
    if content.startswith(b"#!"):
        return "x-shellscript"
    if content.startswith(b"#cloud-config"):
        return "cloud-config"
    return None


def _part(text: str, subtype: str, filename: str) -> MIMEText:
    part = MIMEText(text, subtype, "us-ascii" if text.isascii() else "utf-8")
    part.add_header("Content-Disposition", "attachment", filename=filename)
    return part


def user_data(app: str, boot: str, app_user_data: bytes | None, *, file_integrity: bool) -> str:
    """The launch template's user data, base64-encoded: the platform's boot script, the app's
    user data (checked by ``checks.check_user_data``), then the AIDE baseline. cloud-init runs
    the scripts in the order of their file names."""
    archive = MIMEMultipart()
    archive.set_boundary(MIME_BOUNDARY)
    archive.attach(_part(boot, "x-shellscript", "00-payments-platform-boot.sh"))
    if app_user_data is not None:
        subtype = app_part_type(app_user_data) or "x-shellscript"
        name = f"50-{app}.sh" if subtype == "x-shellscript" else f"50-{app}.cfg"
        archive.attach(_part(app_user_data.decode("utf-8"), subtype, name))
    if file_integrity:
        archive.attach(
            _part(fim_baseline_boot_script(), "x-shellscript", "90-payments-platform-fim.sh")
        )
    return base64.b64encode(archive.as_bytes()).decode("ascii")
