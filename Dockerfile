# syntax=docker/dockerfile:1.7
# Helpline API image. Stages:
#   builder  - a virtualenv with the locked runtime dependencies and the helpline package
#   runtime  - slim Debian + Python + that virtualenv + pg_dump/pg_restore; non-root (default)
#   dev      - runtime + the locked dev dependencies (compose's api/test services in development)
# Build: docker build -t helpline .            (production image)
#        docker build --target dev -t helpline:dev .

ARG PYTHON_IMAGE=python:3.11-slim-bookworm
ARG PG_MAJOR=16
ARG NODE_IMAGE=node:20-bookworm-slim

FROM ${NODE_IMAGE} AS frontend
# The web interface: locked npm dependencies first (reused until the lock changes), then the
# build. Only frontend/dist reaches the runtime image; Node.js does not.
WORKDIR /src/frontend
COPY frontend/package.json frontend/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY frontend/ ./
RUN npm run build

FROM ${PYTHON_IMAGE} AS builder
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src
# Dependencies first (locked, hash-checked): this layer is reused until the lock changes.
COPY requirements/runtime.lock requirements/runtime.lock
RUN pip install --require-hashes -r requirements/runtime.lock
COPY pyproject.toml README.md ./
COPY backend/ backend/
COPY migrations/ migrations/
# helpline.runtime.migrations_dir() looks for the migrations inside the package (_migrations);
# ship them there unless the wheel already does.
RUN pip install --no-deps . \
    && pkg="$(python -c 'import helpline, pathlib; print(pathlib.Path(helpline.__file__).parent)')" \
    && { [ -d "$pkg/_migrations" ] || cp -r migrations "$pkg/_migrations"; } \
    && find /opt/venv -name '__pycache__' -prune -exec rm -rf {} +

FROM ${PYTHON_IMAGE} AS pgdg-key
# The PostgreSQL apt repository key is fetched in a throwaway stage so that curl and gnupg never
# reach the runtime image.
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl gnupg \
    && curl -fsSL https://www.postgresql.org/media/keys/ACCC4CF8.asc \
       | gpg --dearmor -o /pgdg.gpg \
    && rm -rf /var/lib/apt/lists/*

FROM ${PYTHON_IMAGE} AS runtime
ARG PG_MAJOR
LABEL org.opencontainers.image.title="helpline" \
      org.opencontainers.image.description="Helpline ticket service API" \
      org.opencontainers.image.licenses="Apache-2.0"
COPY --from=pgdg-key /pgdg.gpg /usr/share/keyrings/pgdg.gpg
# pg_dump must be at least as new as the server it dumps: take the client from PGDG, matching
# the compose PostgreSQL major. Security updates win over exact apt pins here (base tag is pinned).
# hadolint ignore=DL3008
RUN echo "deb [signed-by=/usr/share/keyrings/pgdg.gpg] https://apt.postgresql.org/pub/repos/apt bookworm-pgdg main" \
       > /etc/apt/sources.list.d/pgdg.list \
    && apt-get update \
    && apt-get install -y --no-install-recommends "postgresql-client-${PG_MAJOR}" \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 helpline \
    && useradd --system --uid 10001 --gid helpline --home-dir /app --shell /usr/sbin/nologin helpline \
    && install -d -o helpline -g helpline /var/lib/helpline /var/lib/helpline/backups
COPY --from=builder /opt/venv /opt/venv
WORKDIR /app
COPY --chown=root:root config/ config/
# Served at / by `helpline serve` (HELPLINE_FRONTEND_DIR defaults to frontend/dist under /app).
COPY --from=frontend --chown=root:root /src/frontend/dist frontend/dist
COPY --chown=root:root scripts/backup scripts/healthcheck scripts/
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HELPLINE_ENV=production \
    HELPLINE_CONFIG_DIR=/app/config \
    HELPLINE_VAR_DIR=/var/lib/helpline \
    HELPLINE_HOST=0.0.0.0 \
    HELPLINE_PORT=8000
USER 10001:10001
EXPOSE 8000
VOLUME ["/var/lib/helpline"]
# Liveness only (no dependencies): python, because the slim image has no curl.
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "/app/scripts/healthcheck"]
# Workers, host and port come from the settings (HELPLINE_WORKERS, HELPLINE_HOST, HELPLINE_PORT).
CMD ["helpline", "serve"]

FROM runtime AS dev
USER 0
COPY requirements/dev.lock /tmp/dev.lock
RUN pip install --no-cache-dir --require-hashes -r /tmp/dev.lock && rm /tmp/dev.lock
ENV HELPLINE_ENV=development
USER 10001:10001
