"""Configuration from the environment (prefix RIS3_) or a .env file, with embedded defaults."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="RIS3_", env_file=".env", extra="ignore")

    knowledge_dir: Path = PROJECT_ROOT / "knowledge"
    index_dir: Path = PROJECT_ROOT / "knowledge" / "index"
    # A folder prepared by `make setup` (no download at run time); any sentence-transformers
    # model path or hub name can be configured instead.
    embedding_model: str = str(PROJECT_ROOT / ".cache" / "models" / "multilingual-e5-small")
    rasa_url: str = "http://localhost:5005"
    # Threads the embedding (onnxruntime or torch) may use per process (see bot/knowledge/embedder.py).
    torch_threads: int = 1
    # The back office lets the Review grouping's embedding model go after this many seconds unused (0: never).
    review_model_idle_seconds: float = 300.0
    # "onnx": the graph set-up exports (bot/knowledge/onnx_export.py); "torch": sentence-transformers;
    # "auto": "onnx" where the export exists. The index is built for one backend: rebuild after switching.
    embedding_backend: Literal["auto", "onnx", "torch"] = "auto"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
