"""HaAppTier: one application on EC2 behind its own ALB (+ WAF), auto-scaling and
auto-healing across every AZ of the network.

    app = HaAppTier("orders", HaAppTierSettings(certificate_arn=cert.arn, ...),
                    context=context, network=vpc.ref, alarm_topic_arn=topic.arn,
                    data_services=["postgres"])
    ManagedDataTier(..., apps={"orders": app.ref})

``settings.py`` holds the fields and their formats, ``checks.py`` every rule (the component
and the stack loader both run it), ``component.py`` the resources, ``operations.py`` the
resources that log, patch and watch the instances, ``host.py`` what runs on the instances
(user data, CloudWatch agent configuration, file-integrity scripts) as text, ``alarms.py``
the alarms and dashboard widgets as data.
"""

from .checks import PROD_RULES, check
from .component import AppRef, HaAppTier
from .settings import (
    AlarmSettings,
    FileIntegritySettings,
    HaAppTierSettings,
    HealthCheckSettings,
    PatchingSettings,
    ScalingSettings,
    WafSettings,
)

__all__ = [
    "PROD_RULES",
    "AlarmSettings",
    "AppRef",
    "FileIntegritySettings",
    "HaAppTier",
    "HaAppTierSettings",
    "HealthCheckSettings",
    "PatchingSettings",
    "ScalingSettings",
    "WafSettings",
    "check",
]
