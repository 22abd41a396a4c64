# The REST facade: FastAPI + the light gRPC client. No TensorFlow, scikit-learn or pandas.
# Build context: the repository root (docker-compose.yml).
FROM python:3.11.11-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
RUN python -m venv /opt/venv
COPY pyproject.toml constraints.txt README.md ./
COPY common ./common
COPY facade ./facade
# Only the "facade" extra: fastapi, uvicorn, grpcio, protobuf, numpy and friends, pinned by constraints.txt.
RUN /opt/venv/bin/pip install --constraint constraints.txt ".[facade]"

FROM python:3.11.11-slim-bookworm
RUN groupadd --system --gid 10001 app && useradd --system --uid 10001 --gid app --home-dir /app --shell /usr/sbin/nologin app \
    && mkdir -p /app /data \
    && chown 10001:10001 /app /data
COPY --from=build /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    FACADE_HOST=0.0.0.0 \
    FACADE_PORT=8000 \
    FACADE_KEYS_URL=sqlite:////data/keys.sqlite3
WORKDIR /app
USER 10001:10001
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/ready', timeout=2).status != 200)"]
ENTRYPOINT ["python", "-m", "facade"]
