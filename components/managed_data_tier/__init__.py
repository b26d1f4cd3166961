"""ManagedDataTier: managed, Multi-AZ data stores (RDS, DocumentDB, ElastiCache, Amazon MQ
for RabbitMQ, OpenSearch) and AWS DMS to fill them from on-prem.

    data = ManagedDataTierSettings(redis=RedisSettings(clients=["orders"]))
    vpc = SecureVpc(..., data_services=data.data_services(),
                    dms_source_engines=data.dms_source_engines())
    app = HaAppTier("orders", ..., data_services=data.services_of_client("orders"))
    ManagedDataTier("orders", data, context=context, network=vpc.ref,
                    alarm_topic_arn=topic.arn, apps={"orders": app.ref})
"""

from .checks import PROD_RULES, check
from .common import DataTierScope, StoreResult
from .component import ManagedDataTier
from .settings import (
    DmsSettings,
    DmsSource,
    DmsTask,
    DocumentDbSettings,
    ManagedDataTierSettings,
    OpenSearchSettings,
    RabbitMqSettings,
    RdsDatabaseSettings,
    RedisAppAccess,
    RedisSettings,
    StoreBackupSettings,
)

__all__ = [
    "PROD_RULES",
    "DataTierScope",
    "DmsSettings",
    "DmsSource",
    "DmsTask",
    "DocumentDbSettings",
    "ManagedDataTier",
    "ManagedDataTierSettings",
    "OpenSearchSettings",
    "RabbitMqSettings",
    "RdsDatabaseSettings",
    "RedisAppAccess",
    "RedisSettings",
    "StoreBackupSettings",
    "StoreResult",
    "check",
]
