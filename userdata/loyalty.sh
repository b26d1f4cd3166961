#!/bin/bash
# LOYALTY (re-hosted on EC2): boot script. Secrets are fetched at start from Secrets Manager
# by the instance role; nothing secret lives here (user data is readable by ec2:Describe*).
set -euo pipefail
dnf install -y amazon-cloudwatch-agent
/opt/aws/amazon-cloudwatch-agent/bin/amazon-cloudwatch-agent-ctl -a fetch-config -m ec2 -s \
  -c ssm:/payments-platform/cloudwatch-agent/loyalty || true
systemctl enable --now loyalty.service || echo "loyalty.service is installed by the app pipeline"
