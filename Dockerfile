# syntax=docker/dockerfile:1
# solbot in a container: the wheel is built in one stage and installed, with the `lighter` extra,
# into a venv in a slim runtime stage that runs as a non-root user. Credentials (LIGHTER_*) are
# read from the environment at run time only: nothing secret is baked into the image.
# No container engine ran this file on the project's machines: scripts/check-deploy runs its
# RUN steps in a fresh venv and starts the installed solbot (docs/deploy.md says what that covers).
ARG PYTHON_VERSION=3.11

FROM python:${PYTHON_VERSION}-slim AS build
WORKDIR /src
COPY pyproject.toml setup.py README.md /src/
COPY solbot /src/solbot
COPY profiles /src/profiles
COPY rules /src/rules
RUN python -m venv /opt/build \
 && /opt/build/bin/pip install --no-cache-dir --upgrade pip "setuptools>=77" \
 && /opt/build/bin/pip wheel --no-cache-dir --no-deps --no-build-isolation -w /dist /src

FROM python:${PYTHON_VERSION}-slim AS runtime
COPY --from=build /dist /dist
RUN python -m venv /opt/solbot \
 && /opt/solbot/bin/pip install --no-cache-dir "$(ls /dist/solbot-*.whl)[lighter]" \
 && rm -rf /dist
RUN useradd --system --uid 10001 --user-group --create-home --home-dir /var/lib/solbot solbot
ENV PATH=/opt/solbot/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    SOLBOT_DB=/var/lib/solbot/solbot.db
USER solbot
WORKDIR /var/lib/solbot
VOLUME ["/var/lib/solbot"]
EXPOSE 9100
# /health answers 200 while the feed is fresh, the venue connected and no kill is latched, else
# 503 (urlopen raises on 503, so the check fails). python is in the image; curl is not.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:9100/health', timeout=4)"]
# SIGTERM: solbot stops deciding, sends one cancel-all, flushes the ledger and exits 0 (up to
# ~15 s); give it `docker stop -t 30` / compose stop_grace_period 30s.
STOPSIGNAL SIGTERM
ENTRYPOINT ["solbot"]
# A paper run (no --live) on mainnet market data. Inside a container /metrics must listen on all
# interfaces so Prometheus in another container can scrape it; publish the port on loopback only.
CMD ["run", "--profile", "defensive", "--metrics-host", "0.0.0.0", "--metrics-port", "9100", "--log-format", "json"]
