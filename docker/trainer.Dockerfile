# Training, export and load testing: TensorFlow (CPU kernels; the wheel runs without a GPU),
# Keras, scikit-learn, pandas, yfinance, tensorflow-serving-api and Locust.
# Build context: the repository root (docker-compose.yml).
FROM python:3.11.11-slim-bookworm
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONUNBUFFERED=1 \
    TF_CPP_MIN_LOG_LEVEL=2 \
    CUDA_VISIBLE_DEVICES="" \
    PYTHONPATH=/app
RUN groupadd --system --gid 10001 app && useradd --system --uid 10001 --gid app --home-dir /app --shell /usr/sbin/nologin app \
    && mkdir -p /app /models /runs \
    && chown 10001:10001 /app /models /runs
# The sources in /app (with data/) come first on sys.path, also for the `locust` script.
WORKDIR /app
COPY pyproject.toml constraints.txt README.md ./
COPY common ./common
COPY training ./training
COPY export ./export
COPY modelserver ./modelserver
COPY facade ./facade
COPY loadtest ./loadtest
COPY data ./data
RUN pip install --constraint constraints.txt ".[training,loadtest]" && chown -R 10001:10001 /app
USER 10001:10001
ENTRYPOINT ["python", "-m"]
CMD ["training.seed", "--help"]
