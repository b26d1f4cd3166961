"""Settings of a ManagedDataTier: plain data, each field with its secure default and its own
format check. Rules that relate fields, the references or the environment are in
``checks.py``.

- ``base``: store names, windows, ARNs, and the backup settings RDS and DocumentDB share;
- ``databases``: RDS and DocumentDB; ``stores``: Redis/Valkey, RabbitMQ, OpenSearch;
- ``dms``: the migration phase; ``tier``: the data tier holding them all.
"""

from .base import (
    MAX_STORE_NAME,
    STORE_NAME,
    StoreBackupSettings,
    backup_window_minutes,
    check_dms_certificate_arn,
    check_iam_role_arn,
    check_kms_key_arn,
    check_secret_arn,
    check_store_name,
    maintenance_window_minutes,
    windows_overlap,
)
from .databases import DocumentDbSettings, RdsDatabaseSettings
from .dms import COMPATIBLE_TARGETS, SOURCE_PORTS, DmsSettings, DmsSource, DmsTask
from .stores import (
    BROAD_REDIS_COMMANDS,
    DEFAULT_REDIS_COMMANDS,
    OpenSearchSettings,
    RabbitMqSettings,
    RedisAppAccess,
    RedisSettings,
)
from .tier import AnyStoreSettings, ManagedDataTierSettings

__all__ = [
    "BROAD_REDIS_COMMANDS",
    "COMPATIBLE_TARGETS",
    "DEFAULT_REDIS_COMMANDS",
    "MAX_STORE_NAME",
    "SOURCE_PORTS",
    "STORE_NAME",
    "AnyStoreSettings",
    "DmsSettings",
    "DmsSource",
    "DmsTask",
    "DocumentDbSettings",
    "ManagedDataTierSettings",
    "OpenSearchSettings",
    "RabbitMqSettings",
    "RdsDatabaseSettings",
    "RedisAppAccess",
    "RedisSettings",
    "StoreBackupSettings",
    "backup_window_minutes",
    "check_dms_certificate_arn",
    "check_iam_role_arn",
    "check_kms_key_arn",
    "check_secret_arn",
    "check_store_name",
    "maintenance_window_minutes",
    "windows_overlap",
]
