"""The default `rasa init` bot, the load benchmark's yardstick: trained once per Rasa version and cached,
then run under the same REST load as ours.

    .venv-actions/bin/python bench/default_bot.py      # trains it if needed and prints where it is

The project is made with `rasa init --no-prompt` (the mood bot: responses only, no action server) in a
temporary folder next to the cache and moved into .cache/bench/default-bot/rasa-<version>/ once trained,
so an interrupted training leaves nothing half-made behind. It runs with Rasa's defaults: the REST channel
of its credentials.yml and the in-memory tracker store.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.runtime import RASA_VENV, StartError, child_environment, free_port  # noqa: E402

CACHE = ROOT / ".cache" / "bench" / "default-bot"


def rasa_version() -> str:
    # importlib.metadata only: importing rasa itself takes seconds.
    return subprocess.run(
        [str(RASA_VENV / "bin" / "python"), "-c", "import importlib.metadata as m; print(m.version('rasa'))"],
        check=True, capture_output=True, text=True,
    ).stdout.strip()


def trained_model(project: Path) -> Path | None:
    models = sorted((project / "models").glob("*.tar.gz"))
    return models[-1] if models else None


def prepare(cache: Path = CACHE, log: Path | None = None) -> Path:
    """The cached project folder with its trained model; trains it first when there is none."""
    project = cache / f"rasa-{rasa_version()}"
    if trained_model(project):
        return project
    cache.mkdir(parents=True, exist_ok=True)
    building = Path(tempfile.mkdtemp(prefix="training-", dir=cache))
    log = log or cache / "training.log"
    try:
        with log.open("wb") as out:
            result = subprocess.run(
                [str(RASA_VENV / "bin" / "rasa"), "init", "--no-prompt", "--init-dir", str(building)],
                cwd=building, env=child_environment(), stdout=out, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        if result.returncode != 0 or not trained_model(building):
            tail = "\n".join(log.read_text(errors="replace").splitlines()[-20:])
            raise StartError(f"training the default bot failed (exit {result.returncode}), log {log}:\n{tail}")
        if project.exists() and not trained_model(project):
            shutil.rmtree(project)  # left over from an older cache layout or by hand
        try:
            building.rename(project)
        except OSError:
            if not trained_model(project):  # unless a run beside this one finished it first
                raise
    finally:
        shutil.rmtree(building, ignore_errors=True)
    return project


@dataclass
class DefaultBot:
    project: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    workdir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="default-bot-")))
    started_seconds: float = 0.0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log(self) -> Path:
        return self.workdir / "rasa.log"

    def start(self, timeout: float = 240.0) -> DefaultBot:
        model = trained_model(self.project)
        if model is None:
            raise StartError(f"no trained model in {self.project}")
        started = time.monotonic()
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [str(RASA_VENV / "bin" / "rasa"), "run", "-p", str(self.port), "-m", str(model),
                 "--credentials", "credentials.yml", "--endpoints", "endpoints.yml"],
                cwd=self.project, env=child_environment(), stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = started + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise StartError(f"the default bot exited during start-up; log {self.log}")
            try:
                # Rasa's root answers once the server listens, which is after the model has loaded.
                with urllib.request.urlopen(self.url, timeout=2) as response:
                    if response.status == 200:
                        self.started_seconds = time.monotonic() - started
                        return self
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.5)
        self.stop()
        raise StartError(f"the default bot did not answer at {self.url} within {timeout:.0f} s; log {self.log}")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


if __name__ == "__main__":
    started = time.monotonic()
    where = prepare()
    print(f"default bot: {trained_model(where)} ({time.monotonic() - started:.0f} s)")
