from libs.common.alembic_env import run
from services.intake.models import Base

run(Base.metadata)
