# Databook in a container. The steps are the README's own: install + build with scripts/setup.sh
# (npm ci, turbo run build: plugins, generated protobuf code, the web app), then `databook serve`.
# Not built in CI (no Docker engine there); docker-compose.yml is checked by a test instead.
FROM node:24-bookworm

WORKDIR /app
COPY . .
# Install and build exactly as `npm start` does (scripts/setup.sh), without starting anything.
RUN bash scripts/setup.sh

ENV DATABOOK_DATA=/data
# returns the memory start-up frees to the system (docs/plugin-host.md, "Memory at rest")
ENV MALLOC_TRIM_THRESHOLD_=65536
VOLUME ["/data"]
EXPOSE 8080 50051
# Listen on all interfaces inside the container; docker-compose.yml publishes on 127.0.0.1 only.
CMD ["node", "apps/server/bin/databook.js", "serve", "--host", "0.0.0.0", "--port", "8080", "--grpc-port", "50051", "--data", "/data", "--plugins", "plugins"]
