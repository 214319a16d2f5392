# The Rasa server of the RIS3 assistant (Python 3.10, requirements/rasa.txt), with the trained model inside.
# Build on the build machine after `make setup`, from the repository root:
#   docker build -f deploy/rasa.Dockerfile -t ris3-rasa .
# Its endpoints file comes from outside (deploy/endpoints.yml in docker-compose, the chart's ConfigMap in
# Kubernetes), mounted at /app/endpoints.yml; secrets come from the environment (docs/deploy.md).
FROM python:3.10-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PYTHONPATH=/app \
    RASA_TELEMETRY_ENABLED=false TF_CPP_MIN_LOG_LEVEL=2 SQLALCHEMY_SILENCE_UBER_WARNING=1 \
    MPLCONFIGDIR=/tmp/matplotlib
WORKDIR /app

COPY requirements/rasa.txt requirements/rasa.txt
RUN pip install --no-cache-dir -r requirements/rasa.txt

COPY bot/ bot/
COPY knowledge/ knowledge/
COPY config.yml domain.yml credentials.yml endpoints.yml ./
COPY models/ris3.tar.gz models/ris3.tar.gz

# Not root; var/ is where the code would write files it is not given in the environment.
RUN useradd --uid 1001 --home-dir /app --no-create-home ris3 && mkdir -p var && chown ris3 var
USER 1001
EXPOSE 5005

# As Rasa's own image, the chart passes only the arguments (`run --enable-api …`); the entry point is Rasa's
# command through bot.rasa_server, which removes Rasa's per-reply schema self-check (docs/profile.md).
ENTRYPOINT ["python", "-m", "bot.rasa_server"]
CMD ["run", "-i", "0.0.0.0", "-p", "5005", "-m", "models/ris3.tar.gz", \
     "--endpoints", "endpoints.yml", "--credentials", "credentials.yml", "--cors", "*"]
