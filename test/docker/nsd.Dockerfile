# The image of the `nsd-primary` and `nsd-secondary` services of docker-compose.test.yml:
# Debian bookworm's nsd (4.6) and test/docker/nsd-entry.sh. Build context: test/docker.
FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends nsd \
 && rm -rf /var/lib/apt/lists/*
COPY nsd-entry.sh /usr/local/bin/nsd-entry
ENTRYPOINT ["/bin/sh", "/usr/local/bin/nsd-entry"]
