# One image for the five motcua services. Pick the service with MOTCUA_SERVICE (and its port with PORT), or override
# CMD entirely, e.g. `python scripts/migrate.py all` for the one-off migration job.
#
#   docker build -t motcua .
#   docker run -e MOTCUA_SERVICE=intake -e PORT=8002 -p 8002:8002 --env-file ... motcua
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN groupadd --system --gid 10001 motcua \
 && useradd --system --uid 10001 --gid motcua --home-dir /app --no-create-home --shell /usr/sbin/nologin motcua

# Dependencies first (the exact versions of requirements.lock), so that a code change does not reinstall them.
COPY requirements.lock /tmp/build/requirements.lock
RUN pip install -r /tmp/build/requirements.lock

# The project itself as an installed package: migrations, templates and seed plans travel as package data.
COPY pyproject.toml /tmp/build/
COPY libs /tmp/build/libs
COPY services /tmp/build/services
RUN pip install --no-deps /tmp/build && rm -rf /tmp/build

WORKDIR /app
COPY scripts /app/scripts
# var/ only matters when a service is pointed at its default SQLite file (a quick trial, not production).
RUN mkdir -p /app/var && chown motcua:motcua /app/var

USER motcua

ENV MOTCUA_SERVICE="" \
    PORT=8000

EXPOSE 8001 8002 8003 8004 8005

# Liveness only (/healthz): readiness (/readyz) also needs the database and the broker, which is the orchestrator's
# business, not a reason to restart the container.
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
  CMD ["python", "-c", "import os, sys, urllib.request; r = urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('PORT', '8000'), timeout=4); sys.exit(0 if r.status == 200 else 1)"]

CMD ["sh", "-c", "exec uvicorn \"services.${MOTCUA_SERVICE:?set MOTCUA_SERVICE to catalogue, intake, digitisation, payments or reporting}.app:create_app\" --factory --host 0.0.0.0 --port \"${PORT}\" --no-access-log --timeout-graceful-shutdown 20"]
