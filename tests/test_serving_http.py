"""The endpoint over real HTTP on a loopback port: OpenAI clients, LangChain, errors, isolation."""

from __future__ import annotations

import asyncio

import httpx
import openai
import test_serving_helpers as helpers
from langchain_core.messages import HumanMessage
from langchain_openai import ChatOpenAI
from openai.types.chat import ChatCompletionMessageParam
from pydantic import SecretStr
from test_serving_helpers import Live

keyed = helpers.keyed  # a module-scoped fixture
local = helpers.local  # a module-scoped fixture


def say(text: str) -> list[ChatCompletionMessageParam]:
    return [{"role": "user", "content": text}]


def body(text: str, **extra: object) -> dict[str, object]:
    return {"model": "scripted", "messages": [{"role": "user", "content": text}], **extra}


def openai_client(live: Live, who: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{live.url}/v1", api_key=live.keys[who], max_retries=0)


def test_openai_client_sync_plain_and_streamed(keyed: Live):
    client = openai_client(keyed, "maria")
    completion = client.chat.completions.create(model="scripted", messages=say("hello ping"))
    assert completion.choices[0].message.content == "You said ping"
    assert completion.choices[0].finish_reason == "stop"
    extra = completion.model_extra or {}
    assert extra["confidante"]["interaction_id"].startswith("int_")
    stream = client.chat.completions.create(
        model="scripted", messages=say("hello pong"), stream=True
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "You said pong"
    assert (chunks[-1].model_extra or {})["confidante"]["interaction_id"].startswith("int_")
    assert [m.id for m in client.models.list()] == ["scripted"]


def test_openai_client_async_plain_and_streamed(keyed: Live):
    async def go() -> tuple[str | None, str]:
        client = openai.AsyncOpenAI(
            base_url=f"{keyed.url}/v1", api_key=keyed.keys["sam"], max_retries=0
        )
        async with client:
            plain = await client.chat.completions.create(model="x", messages=say("hi alpha"))
            stream = await client.chat.completions.create(
                model="x", messages=say("hi beta"), stream=True, max_tokens=2
            )
            parts = [c.choices[0].delta.content or "" async for c in stream if c.choices]
        return plain.choices[0].message.content, "".join(parts)

    assert asyncio.run(go()) == ("You said alpha", "You said")


def test_langchain_chat_openai_against_the_endpoint(keyed: Live):
    chat = ChatOpenAI(
        base_url=f"{keyed.url}/v1", api_key=SecretStr(keyed.keys["maria"]), model="scripted"
    )
    assert chat.invoke([HumanMessage("tell me gamma")]).content == "You said gamma"
    streamed = "".join(str(c.content) for c in chat.stream("and delta"))
    assert streamed == "You said delta"
    assert asyncio.run(chat.ainvoke("async epsilon")).content == "You said epsilon"


def error_of(response: httpx.Response, status: int) -> dict[str, object]:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    return error


def test_bad_requests_get_openai_error_bodies(keyed: Live):
    url, auth = f"{keyed.url}/v1/chat/completions", keyed.headers("maria")
    with httpx.Client(headers=auth) as http:
        bad_json = http.post(url, content=b"{nope", headers={"content-type": "application/json"})
        assert "not valid JSON" in str(error_of(bad_json, 400)["message"])
        missing = error_of(http.post(url, json={"model": "x"}), 400)
        assert missing["param"] == "messages" and missing["code"] == "invalid_input"
        role = error_of(
            http.post(url, json=body("x") | {"messages": [{"role": "tool", "content": "x"}]}), 400
        )
        assert role["code"] == "invalid_message"
        assert error_of(http.post(url, json=body("x", max_tokens=65)), 400)["param"] is None
        many = {"messages": [{"role": "user", "content": "m"}] * 9}
        assert "over the limit of 8" in str(error_of(http.post(url, json=many), 400)["message"])
        huge = body("x" * 30_000)
        assert error_of(http.post(url, json=huge), 413)["code"] == "request_too_large"
        chunked = http.post(url, content=iter([b'{"messages": [', b" " * 25_000, b"]}"]))
        assert error_of(chunked, 413)["type"] == "invalid_request_error"
        assert error_of(http.get(f"{keyed.url}/v1/nowhere"), 404)["type"] == "not_found_error"
        assert (
            error_of(http.delete(f"{keyed.url}/v1/memories/nope"), 404)["code"] == "unknown_memory"
        )
        down = error_of(http.post(url, json=body("now unavailable")), 503)
        assert down["code"] == "generation"


def test_unexpected_failures_are_sanitized_500s(keyed: Live):
    url = f"{keyed.url}/v1/chat/completions"
    for stream in (False, True):
        response = httpx.post(
            url, json=body("please explode", stream=stream), headers=keyed.headers("maria")
        )
        error = error_of(response, 500)
        assert error["type"] == "server_error"
        assert "secret" not in response.text and "Traceback" not in response.text


def test_keys_are_required_and_checked(keyed: Live):
    url = f"{keyed.url}/v1/chat/completions"
    assert error_of(httpx.post(url, json=body("hi")), 401)["code"] == "authentication"
    bearer = {"Authorization": "Bearer cfd_made_up"}
    assert (
        error_of(httpx.post(url, json=body("hi"), headers=bearer), 401)["type"]
        == "authentication_error"
    )
    assert error_of(httpx.get(f"{keyed.url}/v1/models"), 401)
    other = httpx.post(url, json=body("hi", user="sam"), headers=keyed.headers("maria"))
    assert error_of(other, 403)["code"] == "permission_denied"
    assert httpx.get(f"{keyed.url}/health").json() == {"status": "ok"}
    assert httpx.get(f"{keyed.url}/ready").json() == {"status": "ready", "model": "scripted"}


def test_one_user_cannot_read_rate_or_delete_anothers_data(keyed: Live):
    maria, sam = keyed.headers("maria"), keyed.headers("sam")
    url = keyed.url + "/v1"
    with httpx.Client(base_url=url) as http:
        mine = http.post(
            "/chat/completions", json=body("I live in Lisbon. secret-m"), headers=maria
        ).json()
        theirs = http.post(
            "/chat/completions", json=body("I live in Oslo. secret-s"), headers=sam
        ).json()
        sam_memories = http.get("/memories", headers=sam).json()["data"]
        # Reading: each key sees only its own user, and naming another is refused.
        assert "secret-m" not in http.get("/export", headers=sam).text
        assert "secret-s" not in http.get("/memories", headers=maria).text
        for path in ("/memories", "/export", "/profile"):
            assert http.get(path, params={"user": "sam"}, headers=maria).status_code == 403
        found = http.post("/memories/search", json={"query": "Oslo secret-s"}, headers=maria).json()
        assert all("secret-s" not in r["text"] for r in found["data"])
        # Rating another's interaction looks exactly like rating an unknown one.
        rate = {"interaction_id": theirs["confidante"]["interaction_id"], "score": 1}
        assert (
            error_of(http.post("/feedback", json=rate, headers=maria), 404)["code"]
            == "unknown_interaction"
        )
        own = {"interaction_id": mine["confidante"]["interaction_id"], "score": 5, "comment": "ok"}
        assert http.post("/feedback", json=own, headers=maria).json()["user_id"] == "maria"
        # Deleting another's memory fails and leaves it in place.
        target = sam_memories[0]["id"]
        assert http.delete(f"/memories/{target}", headers=maria).status_code == 404
        assert target in http.get("/memories", headers=sam).text


def test_admin_key_acts_for_the_named_user(keyed: Live):
    admin = keyed.headers("admin")
    with httpx.Client(base_url=keyed.url + "/v1", headers=admin) as http:
        done = http.post("/chat/completions", json=body("from admin zeta", user="sam")).json()
        exported = http.get("/export", params={"user": "sam"}).json()
        assert done["confidante"]["interaction_id"] in {i["id"] for i in exported["interactions"]}
        assert (
            error_of(http.post("/chat/completions", json=body("who am i")), 400)["code"]
            == "invalid_input"
        )


def test_local_mode_names_the_user_in_the_request(local: Live):
    client = openai.OpenAI(base_url=f"{local.url}/v1", api_key="local", max_retries=0)
    reply = client.chat.completions.create(model="x", messages=say("hi theta"), user="kim")
    assert reply.choices[0].message.content == "You said theta"
    assert "theta" in httpx.get(f"{local.url}/v1/export", params={"user": "kim"}).text
    nobody = httpx.post(f"{local.url}/v1/chat/completions", json=body("hi"))
    assert "name their user" in str(error_of(nobody, 400)["message"])


def test_concurrent_clients_lose_and_mix_nothing(keyed: Live):
    users = [f"c{i}" for i in range(4)]
    for user in users:
        keyed.keys[user] = keyed.key(user=user)

    async def one(client: openai.AsyncOpenAI, user: str, n: int) -> tuple[str, str, str]:
        token = f"{user}-n{n}"
        reply = await client.chat.completions.create(model="x", messages=say(f"note {token}"))
        return user, token, (reply.model_extra or {})["confidante"]["interaction_id"]

    async def go() -> list[tuple[str, str, str]]:
        clients = {
            u: openai.AsyncOpenAI(base_url=f"{keyed.url}/v1", api_key=keyed.keys[u], max_retries=0)
            for u in users
        }
        return await asyncio.gather(
            *(one(clients[users[i % 4]], users[i % 4], i) for i in range(32))
        )

    results = asyncio.run(go())
    for user in users:
        exported = httpx.get(f"{keyed.url}/v1/export", headers=keyed.headers(user)).json()
        sent = {token for u, token, _ in results if u == user}
        ids = {i for u, _, i in results if u == user}
        assert {i["id"] for i in exported["interactions"]} == ids
        said = {m["content"].split()[-1] for m in exported["messages"] if m["role"] == "user"}
        replied = {
            m["content"].split()[-1] for m in exported["messages"] if m["role"] == "assistant"
        }
        assert said == sent and replied == sent


def test_usage_and_finish_reason_reach_openai_clients(keyed: Live):
    client = openai_client(keyed, "maria")
    whole = client.chat.completions.create(model="scripted", messages=say("hello ping"))
    assert whole.usage is not None and whole.usage.completion_tokens == 3
    assert whole.usage.total_tokens == whole.usage.prompt_tokens + 3
    cut = client.chat.completions.create(model="scripted", messages=say("hi ping"), max_tokens=2)
    assert cut.choices[0].message.content == "You said"
    assert cut.choices[0].finish_reason == "length"
    chunks = list(
        client.chat.completions.create(
            model="scripted", messages=say("hi ping"), max_tokens=2, stream=True
        )
    )
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "length"


def test_responses_carry_the_servers_own_time(keyed: Live):
    for response in (
        httpx.get(f"{keyed.url}/v1/models", headers=keyed.headers("maria")),
        httpx.post(
            f"{keyed.url}/v1/chat/completions", json=body("hi"), headers=keyed.headers("sam")
        ),
        httpx.get(f"{keyed.url}/v1/nowhere"),
    ):
        name, _, took = response.headers["server-timing"].partition(";dur=")
        assert name == "app" and float(took) >= 0
