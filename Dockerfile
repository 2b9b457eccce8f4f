FROM python:3.11-slim
RUN apt-get update && apt-get install -y --no-install-recommends ffmpeg \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml README.md alembic.ini ./
COPY cinema cinema
COPY models models
COPY http_api http_api
COPY realtime realtime
COPY jobs jobs
COPY migrations migrations
RUN pip install --no-cache-dir -e .
ENV ENV=production HOST=0.0.0.0 PORT=8000
EXPOSE 8000
CMD ["cinema", "serve"]
