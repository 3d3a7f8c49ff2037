from libs.common.alembic_env import run
from services.catalogue.models import Base

run(Base.metadata)
