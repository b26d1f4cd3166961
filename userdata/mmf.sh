#!/bin/bash
# MMF (re-platformed): the app's boot. The platform's boot script runs before this one
# (CloudWatch agent with the stack's configuration, OS audit logs, AIDE) and its file-integrity
# baseline after it, so this script only starts the application. Secrets are fetched at start
# from Secrets Manager by the instance role; nothing secret lives here (user data is readable
# by ec2:Describe*). The app writes its logs to /var/log/mmf/*.log (shipped to CloudWatch).
set -euo pipefail
systemctl enable --now mmf.service || echo "mmf.service is installed by the app pipeline"
