# syntax=docker/dockerfile:1
# Build: the Swift toolchain image with the C libraries' headers.
# 6.2 or later: the Postgres layer uses `isolated deinit`.
FROM swift:6.2-bookworm AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends libpq-dev libyaml-dev libmicrohttpd-dev nettle-dev pkg-config \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Package.swift ./
COPY Sources ./Sources
COPY Tests ./Tests
RUN swift build -c release --product convos-controller --static-swift-stdlib \
 && cp "$(swift build -c release --show-bin-path)/convos-controller" /convos-controller

# Run: slim Debian with only the runtime libraries, as a non-root user.
FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends libpq5 libyaml-0-2 libmicrohttpd12 libnettle8 libhogweed6 libcurl4 ca-certificates tzdata \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home /nonexistent --shell /usr/sbin/nologin convos
COPY --from=build /convos-controller /usr/local/bin/convos-controller
USER 10001
ENV PORT=8080 BIND_ADDRESS=0.0.0.0 LOG_FORMAT=json
EXPOSE 8080
# SIGTERM drains requests and actions, releases the lease and exits 0.
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/convos-controller"]
CMD ["serve"]
