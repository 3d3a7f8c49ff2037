from libs.common.alembic_env import run
from services.reporting.models import Base

run(Base.metadata)
