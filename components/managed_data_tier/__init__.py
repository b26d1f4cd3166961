"""ManagedDataTier: managed, Multi-AZ data stores (RDS, DocumentDB, ElastiCache, Amazon MQ
for RabbitMQ, OpenSearch) and AWS DMS to fill them from on-prem.

    data = ManagedDataTierSettings(redis=RedisSettings(clients=["orders"]))
    vpc = SecureVpc(..., data_services=data.data_services())
    app = HaAppTier("orders", ..., data_services=data.services_of_client("orders"))
    ManagedDataTier("orders", data, context=context, network=vpc.ref,
                    alarm_topic_arn=topic.arn, apps={"orders": app.ref})
"""

from .checks import PROD_RULES, check
from .component import ManagedDataTier
from .dms import DmsSettings, DmsSource, DmsTask
from .docdb import DocumentDbSettings
from .opensearch import OpenSearchSettings
from .rabbitmq import RabbitMqSettings
from .rds import RdsDatabaseSettings, StoreBackupSettings
from .redis import RedisSettings
from .settings import ManagedDataTierSettings

__all__ = [
    "PROD_RULES",
    "DmsSettings",
    "DmsSource",
    "DmsTask",
    "DocumentDbSettings",
    "ManagedDataTier",
    "ManagedDataTierSettings",
    "OpenSearchSettings",
    "RabbitMqSettings",
    "RdsDatabaseSettings",
    "RedisSettings",
    "StoreBackupSettings",
    "check",
]
