"""What several components share, one place each: settings base and stack context, problems
and errors, environment defaults and rules, the build scope, AWS identity, keys, buckets,
security groups, alarms and on-prem ranges."""
