#!/bin/bash
# MMF (re-platformed): boot script. Secrets are fetched at start from Secrets Manager by the
# instance role; nothing secret lives here (user data is readable by ec2:Describe*).
set -euo pipefail
dnf install -y amazon-cloudwatch-agent
/opt/aws/amazon-cloudwatch-agent/bin/amazon-cloudwatch-agent-ctl -a fetch-config -m ec2 -s \
  -c ssm:/payments-platform/cloudwatch-agent/mmf || true
systemctl enable --now mmf.service || echo "mmf.service is installed by the app pipeline"
