from libs.common.alembic_env import run
from libs.common.delivery.tables import delivery_metadata
from libs.common.idempotency import idempotency_metadata
from services.intake.models import Base

run(Base.metadata, idempotency_metadata, delivery_metadata)
