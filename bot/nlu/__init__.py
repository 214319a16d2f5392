"""Custom NLU components of the Rasa pipeline (config.yml). They run in the Rasa runtime (Python 3.10)."""
