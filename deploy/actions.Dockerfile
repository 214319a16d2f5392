# The action server and the back office of the RIS3 assistant (Python 3.11, requirements/actions.txt), with the
# knowledge index and the embedding model inside. Build on the build machine after `make setup`, from the
# repository root:
#   docker build -f deploy/actions.Dockerfile -t ris3-actions .
# The same image runs the action server (default command), the back office (`python -m bot web`), the
# handoff database's migration (`python -m bot.handoff upgrade`) and the admin commands as the docs give them
# (`bin/bot handoff purge`, `bin/bot telegram set-webhook …`: bin/ is on PATH, its Python is the image's).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PYTHONPATH=/app \
    HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false \
    RIS3_EMBEDDING_MODEL=/app/.cache/models/multilingual-e5-small \
    RIS3_ACTION_HOST=0.0.0.0 \
    RIS3_ACTIONS_VENV=/usr/local PATH=/app/bin:$PATH
WORKDIR /app

COPY requirements/actions.txt requirements/actions.txt
# PyTorch's CPU wheels (the pins in actions.txt match them): no CUDA libraries in the image.
RUN pip install --no-cache-dir --extra-index-url https://download.pytorch.org/whl/cpu -r requirements/actions.txt

COPY bot/ bot/
COPY bin/ bin/
COPY actions/ actions/
COPY knowledge/ knowledge/
# Review writes the questions it learns as FAQ cases and checks them against the training data.
COPY tests/faq/cases/ tests/faq/cases/
COPY data/nlu/ data/nlu/
COPY domain.yml credentials.yml ./
COPY .cache/models/multilingual-e5-small .cache/models/multilingual-e5-small

RUN useradd --uid 1001 --home-dir /app --no-create-home ris3 && mkdir -p var && chown ris3 var \
    && chown -R ris3 knowledge tests/faq/cases
USER 1001
EXPOSE 5055 8080

CMD ["python", "-m", "bot.action_server", "--actions", "actions", "-p", "5055"]
