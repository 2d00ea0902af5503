# GNRP Live web/worker image: `gnrp serve` by default, `gnrp migrate` for schema upgrades.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# The app never needs root at run time.
RUN groupadd --system --gid 10001 gnrp \
    && useradd --system --uid 10001 --gid gnrp --home-dir /app --no-create-home \
        --shell /usr/sbin/nologin gnrp

WORKDIR /app

# Installing from the project tree (filtered by .dockerignore) keeps alembic.ini, migrations/
# and static web assets next to the code, where `gnrp migrate` and `gnrp serve` find them.
# Files stay owned by root, so the running user cannot modify the code.
COPY . .
RUN pip install . \
    && python -c "import server, workers, migrations" \
    && install -d -o gnrp -g gnrp /app/outbox
# /app/outbox: the default OUTBOX_DIR (./outbox), the one place the app writes to.

USER gnrp

EXPOSE 8000

# Liveness only (/healthz); readiness (/readyz, which checks the database and Redis) is for
# load balancers and orchestrators.
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; r = urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4); sys.exit(0 if r.status == 200 else 1)"]

CMD ["gnrp", "serve", "--host", "0.0.0.0", "--port", "8000"]
