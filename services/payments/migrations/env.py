from libs.common.alembic_env import run
from libs.common.dossier_agencies import dossier_agencies_metadata
from services.payments.models import Base

run(Base.metadata, dossier_agencies_metadata)
