from libs.common.alembic_env import run
from libs.common.dossier_agencies import dossier_agencies_metadata
from services.digitisation.models import Base

run(Base.metadata, dossier_agencies_metadata)
