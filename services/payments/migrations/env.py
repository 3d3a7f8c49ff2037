from libs.common.alembic_env import run
from services.payments.models import Base

run(Base.metadata)
