# palmbot's image, for deploy/compose/docker-compose.yml (the schema migration and the replicas) or on its own:
#   docker build -t palmbot . && docker run -e PALMBOT_DATABASE_URL=… palmbot
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /opt/palmbot
COPY pyproject.toml ./
COPY bot bot
COPY handlers handlers
COPY scheduler scheduler
RUN pip install . && useradd --system --create-home --home-dir /var/lib/palmbot palmbot
COPY content content

ENV PALMBOT_CONTENT_DIR=/opt/palmbot/content
USER palmbot
WORKDIR /var/lib/palmbot
EXPOSE 8080
CMD ["palmbot", "serve", "--host", "0.0.0.0", "--port", "8080"]
