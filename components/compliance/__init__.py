"""PCI DSS compliance checks of offline plans (docs/compliance.md).

- :mod:`.rules`: the policy pack's rules, plain functions over what the engine receives;
- :mod:`.waivers`: the reviewed exceptions (``compliance/waivers.yaml``);
- :mod:`.policy`: the rules run on a plan, with the waivers (``components.plan --policy``);
- :mod:`.tfplan`: a plan rendered as a Terraform plan, for Terraform scanners;
- :mod:`.checkov`: checkov's findings on that rendering, reviewed against the waivers.

``rules`` and ``waivers`` import nothing from this package: the policy pack loads them by
path. Nothing is imported here, for the same reason.
"""
