# The web app (web/): its build reads the server's API documents (cinema api-schemas), so it
# needs the project's runtime next to Node.js.
FROM python:3.11-slim AS web
COPY --from=node:20-slim /usr/local/bin/node /usr/local/bin/node
COPY --from=node:20-slim /usr/local/lib/node_modules /usr/local/lib/node_modules
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm
WORKDIR /app
COPY requirements-prod.lock ./
RUN pip install --no-cache-dir --require-hashes -r requirements-prod.lock
COPY pyproject.toml README.md ./
COPY cinema cinema
COPY models models
COPY http_api http_api
COPY realtime realtime
COPY jobs jobs
RUN pip install --no-cache-dir --no-deps -e .
COPY web/package.json web/package-lock.json web/
RUN cd web && npm ci --no-audit --no-fund
COPY web web
RUN cd web && CINEMA_PYTHON=python npm run build

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
COPY --from=web /app/web/dist web/dist
ENV ENV=production HOST=0.0.0.0 PORT=8000
# Logs as JSON lines on stdout, for the platform's collector (no rotating file in the image)
ENV LOG_JSON=true LOG_FILE=false
EXPOSE 8000
CMD ["cinema", "serve"]
