FROM python:3.11-slim
RUN apt-get update && apt-get install -y --no-install-recommends ffmpeg \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
# Exact versions, every file checked against its hash (make lock writes the file).
COPY requirements-prod.lock ./
RUN pip install --no-cache-dir --require-hashes -r requirements-prod.lock
COPY pyproject.toml README.md alembic.ini ./
COPY cinema cinema
COPY models models
COPY http_api http_api
COPY realtime realtime
COPY jobs jobs
COPY migrations migrations
RUN pip install --no-cache-dir --no-deps -e . && pip check
ENV ENV=production HOST=0.0.0.0 PORT=8000
# Logs as JSON lines on stdout, for the platform's collector (no rotating file in the image)
ENV LOG_JSON=true LOG_FILE=false
EXPOSE 8000
CMD ["cinema", "serve"]
