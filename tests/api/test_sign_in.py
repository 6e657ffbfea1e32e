"""Sign-in and sign-out through HTTP (finding 5 of the hardening issue): wrong passwords are throttled
with 429 and Retry-After, also on another replica sharing the database, and a success resets the
count; a known and an unknown username cost one scrypt hash each, in the sign-in pool's own threads;
a full pool answers 429 at once while /healthz answers; the sign-in form refuses a post from another
site or without its token; after signing out (API or page) the old token fails at once, as a page
cookie and as a Bearer token, here and on a second app on the same database; and `jianfu serve`
trusts X-Forwarded-For only from proxies a setting names."""

from __future__ import annotations

import hashlib
import re
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from models.bundle import Bundle
from service.app import create_app
from service.auth import SignInPool, create_user
from service.settings import Settings
from service.store.db import make_engine
from tests.api.conftest import NIGHT, PASSWORD, PROBLEM, World
from tests.conftest import SAMPLES, FixedModels

Apps = Callable[..., TestClient]


@pytest.fixture
def apps(school: Engine, bundle: Bundle, tmp_path: Path) -> Iterator[Apps]:
    """Apps ("replicas") on the school's database, each with an engine of its own and the same key;
    settings as the test asks."""
    opened: list[Any] = []

    def app(**settings: Any) -> TestClient:
        engine = make_engine(school.url.render_as_string(hide_password=False))
        config = Settings(
            data_dir=tmp_path / "var", jwt_secret="k" * 40, policy_dir=SAMPLES / "policies", **settings
        )
        client = TestClient(create_app(config, engine=engine, models=FixedModels(bundle)))
        client.__enter__()
        opened.append((client, engine))
        return client

    yield app
    for client, engine in opened:
        client.__exit__(None, None, None)
        engine.dispose()


def _token(client: TestClient, username: str, password: str = PASSWORD) -> httpx.Response:
    return client.post("/v1/token", data={"username": username, "password": password})


def _throttled(r: httpx.Response) -> bool:
    """A 429 problem that says how long to wait, in both languages."""
    body = r.json()
    return (
        r.status_code == 429
        and r.headers["content-type"] == PROBLEM
        and int(r.headers["retry-after"]) >= 1
        and body["retry_after"] == int(r.headers["retry-after"])
        and bool(body["detail_zh"])
    )


def test_wrong_passwords_are_throttled_on_every_replica_and_a_success_resets(
    school: Engine, apps: Apps
) -> None:
    create_user(school, "t-math", PASSWORD, "teacher", scopes=[("class", "east-5-1", "math")])
    one, two = (apps(sign_in_backoff_seconds=3, sign_in_backoff_max_seconds=3) for _ in range(2))
    assert [_token(one, "t-math", "wrong-password").status_code for _ in range(6)] == [401] * 6
    assert _throttled(_token(two, "t-math"))  # the other replica holds it back too, even the right password
    with ThreadPoolExecutor(8) as pool:  # then 200 wrong passwords, 8 at a time
        answers = list(pool.map(lambda _: _token(one, "t-math", "wrong-password"), range(200)))
    checked = [r for r in answers if r.status_code == 401]
    assert len(checked) <= 10 and all(_throttled(r) for r in answers if r.status_code != 401)
    deadline = time.monotonic() + 30
    while (r := _token(two, "t-math")).status_code == 429 and time.monotonic() < deadline:
        time.sleep(0.5)  # the right password, once the wait is over
    assert r.status_code == 200, r.text
    assert [_token(one, "t-math", "wrong-password").status_code for _ in range(5)] == [401] * 5  # reset


def test_known_and_unknown_usernames_cost_one_hash_each_in_the_sign_in_threads(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    hashed: list[str] = []
    real = hashlib.scrypt

    def spy(*args: Any, **kwargs: Any) -> bytes:
        hashed.append(threading.current_thread().name)
        return real(*args, **kwargs)

    monkeypatch.setattr(hashlib, "scrypt", spy)
    assert _token(world.client, "t-math", "wrong-password").status_code == 401
    assert len(hashed) == 1
    assert _token(world.client, "no-such-account", "wrong-password").status_code == 401
    assert len(hashed) == 2  # one more, not two
    assert _token(world.client, "t-math").status_code == 200
    assert len(hashed) == 3 and all(name.startswith("jianfu-sign-in") for name in hashed), hashed


def test_a_full_sign_in_pool_answers_429_at_once_while_healthz_and_tonight_answer(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    student = world.token("s-1")
    services = world.client.app.state.services  # type: ignore[attr-defined]
    monkeypatch.setattr(services, "sign_ins", SignInPool(threads=1, queue=0))
    inside, release = threading.Event(), threading.Event()
    real = hashlib.scrypt

    def held(*args: Any, **kwargs: Any) -> bytes:
        inside.set()
        release.wait(30)
        return real(*args, **kwargs)

    monkeypatch.setattr(hashlib, "scrypt", held)
    with ThreadPoolExecutor(1) as pool:
        first = pool.submit(_token, world.client, "t-math")
        assert inside.wait(30)  # the pool's one thread is hashing
        started = time.monotonic()
        refused = _token(world.client, "p-1")
        assert _throttled(refused) and refused.headers["retry-after"] == "1"
        assert world.client.get("/healthz").status_code == 200
        tonight = world.client.get(f"/v1/students/{world.student}/tonight", params={"night": str(NIGHT)},
                                   headers=student)  # fmt: skip
        assert tonight.status_code == 200
        waited = time.monotonic() - started
        release.set()
        assert first.result(timeout=60).status_code == 200
    assert waited < 20  # answered while the hash was held (which it was until release: 30 s)


def test_after_api_logout_the_token_fails_at_once_here_and_on_another_replica(
    school: Engine, apps: Apps
) -> None:
    create_user(school, "s-9", PASSWORD, "student")
    one, two = apps(), apps()
    bearer = {"Authorization": f"Bearer {_token(one, 's-9').json()['access_token']}"}
    assert one.get("/v1/me", headers=bearer).status_code == 200
    assert two.get("/v1/me", headers=bearer).status_code == 200  # the other replica has it in its caches
    assert one.post("/v1/logout", headers=bearer).status_code == 204
    for client in (one, two):
        r = client.get("/v1/me", headers=bearer)
        assert r.status_code == 401 and "signed out" in r.json()["detail"], r.text
    assert one.post("/v1/logout", headers=bearer).status_code == 204  # again: nothing left to end
    assert one.post("/v1/logout").status_code == 401


def _hidden(html: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert found, html[:500]
    return found.group(1)


def test_the_sign_in_form_refuses_another_site_or_no_token_and_signs_nobody_in(world: World) -> None:
    client = world.client
    form = {"username": "t-math", "password": PASSWORD, "next": "/"}
    refused = client.post("/login", data=form, follow_redirects=False)  # a form from anywhere, no token
    assert refused.status_code == 403 and "another site" in client.post("/login?lang=en", data=form).text
    assert "jianfu_session" not in refused.cookies and "其他网站" in refused.text
    page = client.get("/login")
    token = _hidden(page.text, "csrf")
    assert page.cookies["jianfu_login"] == token
    evil = client.post("/login", data={**form, "csrf": token}, headers={"Origin": "https://evil.example"},
                       follow_redirects=False)  # fmt: skip
    assert evil.status_code == 403 and "jianfu_session" not in evil.cookies
    wrong = client.post("/login", data={**form, "csrf": token[::-1]}, follow_redirects=False)
    assert wrong.status_code == 403 and "jianfu_session" not in wrong.cookies
    ok = client.post("/login", data={**form, "csrf": token}, headers={"Origin": "http://testserver"},
                     follow_redirects=False)  # fmt: skip
    assert ok.status_code == 303 and ok.headers["location"] == "/teacher" and ok.cookies["jianfu_session"]


def test_the_sign_in_page_says_how_long_to_wait(school: Engine, apps: Apps) -> None:
    create_user(school, "p-9", PASSWORD, "parent")
    client = apps(sign_in_free_failures=1, sign_in_backoff_seconds=30)
    token = _hidden(client.get("/login").text, "csrf")
    form = {"username": "p-9", "password": "wrong-password", "csrf": token}
    assert [client.post("/login", data=form).status_code for _ in range(2)] == [401, 401]
    r = client.post("/login", data=form)
    assert r.status_code == 429 and 25 <= int(r.headers["retry-after"]) <= 30
    assert re.search(r"请 \d+ 秒后再试", r.text)


def test_after_page_logout_the_old_cookie_fails_on_pages_and_as_a_bearer_token(
    world: World, apps: Apps
) -> None:
    client, replica = world.client, apps()
    token = _hidden(client.get("/login").text, "csrf")
    signed = client.post("/login", data={"username": "s-1", "password": PASSWORD, "next": "/student",
                                         "csrf": token}, follow_redirects=False)  # fmt: skip
    old = signed.cookies["jianfu_session"]
    student = client.get(f"/student?night={NIGHT}")
    assert student.status_code == 200
    bearer = {"Authorization": f"Bearer {old}"}
    assert client.get("/v1/me", headers=bearer).status_code == 200
    assert replica.get("/v1/me", headers=bearer).status_code == 200
    out = client.post("/logout", data={"csrf": _hidden(student.text, "csrf")}, follow_redirects=False)
    assert out.status_code == 303 and out.headers["location"] == "/login"
    client.cookies.set("jianfu_session", old)  # the cookie kept (copied, stolen) after signing out
    page = client.get(f"/student?night={NIGHT}", follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"].startswith("/login")
    assert client.get("/v1/me", headers=bearer).status_code == 401
    assert replica.get("/v1/me", headers=bearer).status_code == 401
    tonight = replica.get(
        f"/v1/students/{world.student}/tonight", params={"night": str(NIGHT)}, headers=bearer
    )
    assert tonight.status_code == 401


def test_serve_trusts_x_forwarded_for_only_from_proxies_a_setting_names(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import uvicorn
    from typer.testing import CliRunner

    from jianfu.cli import app
    from service.settings import get_settings

    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: calls.append(kwargs))
    monkeypatch.setenv("JIANFU_DATA_DIR", str(tmp_path))
    try:
        assert CliRunner().invoke(app, ["serve"]).exit_code == 0
        monkeypatch.setenv("JIANFU_FORWARDED_ALLOW_IPS", "10.0.0.5")
        assert CliRunner().invoke(app, ["serve"]).exit_code == 0
    finally:
        get_settings.cache_clear()
    assert calls[0]["proxy_headers"] is False  # the peer's address is the client's
    assert calls[1]["proxy_headers"] is True and calls[1]["forwarded_allow_ips"] == "10.0.0.5"
