"""Every table Agora has, imported in one place so that Alembic and tests see the whole schema.

Each module's `models` is imported here for its side effect of registering tables on
`Base.metadata`. Nothing else should import this file.
"""

from agora.catalog import models as catalog_models
from agora.identity import models as identity_models
from agora.jobs import models as jobs_models
from agora.ordering import models as ordering_models
from agora.payments import models as payments_models
from agora.platform import events as platform_events
from agora.platform import idempotency as platform_idempotency
from agora.platform import inbox as platform_inbox
from agora.platform import outbox as platform_outbox
from agora.platform.db import Base
from agora.webhooks import models as webhooks_models

metadata = Base.metadata

__all__ = [
    "catalog_models",
    "identity_models",
    "jobs_models",
    "metadata",
    "ordering_models",
    "payments_models",
    "platform_events",
    "platform_idempotency",
    "platform_inbox",
    "platform_outbox",
    "webhooks_models",
]
