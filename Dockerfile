# Cercle — one image for `cercle serve` (and any `cercle` command).
#
#   docker build -t cercle .
#   docker run -e CERCLE_SECRET_KEY=... -p 8000:8000 -v cercle-data:/app/var cercle
#
# Configuration comes only from CERCLE_* environment variables (docs/configuration.md).
# The image runs in production mode, so it refuses to start without CERCLE_SECRET_KEY.
FROM python:3.11-slim

# Alembic's migrations/ and static/ sit beside the `app` package, not inside it: the source
# in /app comes first on the path so that `app` finds them; pip installs the dependencies
# and the `cercle` command.
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONPATH=/app \
    CERCLE_ENV=production \
    CERCLE_DATABASE_URL=sqlite:////app/var/cercle.db

WORKDIR /app

RUN groupadd --system --gid 10001 cercle \
    && useradd --system --uid 10001 --gid cercle --home-dir /app --no-create-home \
       --shell /usr/sbin/nologin cercle

COPY pyproject.toml README.md ./
COPY app ./app
RUN pip install . \
    && rm -rf build *.egg-info

COPY alembic.ini ./
COPY migrations ./migrations
COPY static ./static

# The only writable place: the SQLite database when no PostgreSQL is configured.
RUN mkdir -p /app/var && chown cercle:cercle /app/var
VOLUME ["/app/var"]

USER cercle

EXPOSE 8000

HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]

# Migrations first (they are idempotent), then the server replaces the shell as PID 1.
CMD ["sh", "-c", "cercle migrate && exec cercle serve --host 0.0.0.0 --port 8000"]
