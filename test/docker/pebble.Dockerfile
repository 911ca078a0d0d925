# The image of the `certs` and `pebble` services of docker-compose.test.yml: Debian bookworm's
# pebble (2.4, which ships no TLS certificate) and openssl to make one. Build context:
# test/docker.
FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends pebble openssl \
 && rm -rf /var/lib/apt/lists/*
COPY pebble-entry.sh /usr/local/bin/pebble-entry
COPY make-certs.sh /usr/local/bin/make-certs
ENTRYPOINT ["/bin/sh", "/usr/local/bin/pebble-entry"]
