from libs.common.alembic_env import run
from services.digitisation.models import Base

run(Base.metadata)
