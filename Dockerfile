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
RUN make -j"$(nproc)" WERROR=1
# make install takes the Makefile's TOOLS from scripts/ too (hb-report,
# hb-notify, hb-watch, hb-partitions); copied after the build, so that a
# script's change does not rebuild the programs
COPY scripts/ scripts/
RUN make install PREFIX=/usr/local DESTDIR=/out

# Runtime stage: the libraries, bash and procps for the pipeline scripts
# (procps: pgrep for the health checks), jq and curl for hb-notify, psql and
# gnuplot (with a font for its PNGs) for hb-report, the dashboard.
FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends librdkafka1 libjson-c5 libpq5 \
      bash procps coreutils ca-certificates jq curl \
      postgresql-client gnuplot-nox fonts-dejavu-core \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /out/usr/local/ /usr/local/
# (hb-notify and hb-report came with make install)
COPY scripts/hb-pipeline scripts/hb-replay /usr/local/bin/
# run/, metrics/, alerts/ and dashboard/ exist owned by hbmon, so that a
# named volume mounted there (compose.yaml's alerts and dashboard) starts
# owned by hbmon too
RUN useradd --system --home /var/lib/hbmon --create-home hbmon \
 && install -d -o hbmon -g hbmon /var/lib/hbmon/run /var/lib/hbmon/metrics /var/lib/hbmon/alerts \
      /var/lib/hbmon/dashboard
USER hbmon
WORKDIR /var/lib/hbmon
# HB_LOG=-: the stages log to the container's stderr (docker compose logs)
ENV HB_BIN=/usr/local/bin HB_RUN_DIR=/var/lib/hbmon/run HB_METRICS_DIR=/var/lib/hbmon/metrics HB_LOG=-
CMD ["hbsim", "--help"]
