# The production image: one image for web (gunicorn), worker and beat.
# Pinned: update deliberately (README, "Operating it").
FROM python:3.11.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    AGENCY_VAR_DIR=/app/var

WORKDIR /app
COPY requirements.txt requirements-nodeps.txt ./
RUN pip install --no-cache-dir -r requirements.txt \
    && pip install --no-cache-dir --no-deps -r requirements-nodeps.txt

COPY . .
# collectstatic needs settings to load; the key is used for nothing else at build time.
RUN SECRET_KEY=build-only-not-secret python manage.py collectstatic --noinput \
    && useradd --system --uid 1000 agency \
    && mkdir -p /app/var \
    && chown -R agency /app/var

USER agency
EXPOSE 8000
# gthread workers: a long download (an appeal dossier, an evidence file) runs in a thread
# while the worker keeps answering the arbiter, so it is not killed by the 30 s timeout.
CMD ["gunicorn", "agency.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--worker-class", "gthread", "--threads", "4", "--graceful-timeout", "30", "--access-logfile", "-"]
