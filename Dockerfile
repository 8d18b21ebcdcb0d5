# Dockerfile — hbmon's programs and pipeline scripts in one image (for compose.yaml).
# Build stage: the same Debian packages as on a workstation.
FROM debian:bookworm AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential pkg-config \
      librdkafka-dev libjson-c-dev libpq-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Makefile ./
COPY lib/ lib/
COPY cmd/ cmd/
COPY tests/unit/ tests/unit/
COPY man/ man/
RUN make -j"$(nproc)" WERROR=1 && make install PREFIX=/usr/local DESTDIR=/out

# Runtime stage: the libraries, bash and procps for the pipeline scripts.
FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends librdkafka1 libjson-c5 libpq5 \
      bash procps coreutils ca-certificates \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /out/usr/local/ /usr/local/
COPY scripts/hb-pipeline scripts/hb-replay /usr/local/bin/
RUN useradd --system --home /var/lib/hbmon --create-home hbmon
USER hbmon
WORKDIR /var/lib/hbmon
ENV HB_BIN=/usr/local/bin HB_RUN_DIR=/var/lib/hbmon/run
CMD ["hbsim", "--help"]
