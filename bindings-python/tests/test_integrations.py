"""FastAPI, Starlette (ASGI), Flask and Django, each through its own test client."""

from __future__ import annotations

import json

import pytest
import veritoken
from conftest import DPoPClient, good_claims, hs_config, mint

GOOD = f"Bearer {mint(good_claims())}"
EXPIRED = f"Bearer {mint(good_claims(exp=1))}"
DPOP_CLIENT = DPoPClient()
# Every app accepts bearer tokens and DPoP-bound tokens with their proofs.
CONFIG = hs_config(dpop={"mode": "allowed"})
ALGS = "RS256 RS384 RS512 PS256 PS384 PS512 ES256 ES384 ES512 EdDSA ESP256 ESP384 ESP512 Ed25519"
BOTH = f'Bearer realm="orders", DPoP realm="orders", algs="{ALGS}"'


def check_refusals(get) -> None:  # noqa: ANN001 (a client's GET with an Authorization value)
    """The same refusals from every framework: codes, statuses, challenges, bodies."""
    status, headers, body = get(None)
    assert status == 401 and body["error"]["code"] == "token_missing"
    assert headers["www-authenticate"] == BOTH
    assert headers["content-type"] == "application/json"
    status, headers, body = get(EXPIRED)
    assert status == 401 and body["error"] == {
        "code": "token_expired",
        "message": body["error"]["message"],
        "claim": "exp",
    }
    assert 'error="invalid_token"' in headers["www-authenticate"]
    status, headers, body = get(GOOD.replace("Bearer ", "Bearer x"))
    assert status == 401 and body["error"]["code"] in ("token_malformed", "signature_invalid")


def check_dpop(get, url: str) -> None:  # noqa: ANN001 (a client's GET with headers)
    """DPoP through every framework: the middleware passes the method and the URL."""
    token = mint(good_claims(cnf={"jkt": DPOP_CLIENT.jkt}))
    proof = DPOP_CLIENT.proof("GET", url, token)
    dpop = {"Authorization": f"DPoP {token}", "DPoP": proof}
    status, _, body = get(dpop)
    assert (status, body) == (200, {"sub": "alice"})
    status, headers, body = get(dpop)
    assert status == 401 and body["error"] == {
        "code": "dpop_invalid",
        "message": body["error"]["message"],
        "claim": "jti",
    }
    assert headers["www-authenticate"].startswith('DPoP realm="orders", error="invalid_dpop_proof"')
    other = {"Authorization": f"DPoP {token}", "DPoP": DPOP_CLIENT.proof("GET", url + "x", token)}
    assert get(other)[2]["error"]["claim"] == "htu"
    post = {"Authorization": f"DPoP {token}", "DPoP": DPOP_CLIENT.proof("POST", url, token)}
    assert get(post)[2]["error"]["claim"] == "htm"
    status, _, body = get({"Authorization": f"Bearer {token}"})
    assert status == 401 and body["error"]["claim"] == "cnf"


def test_fastapi() -> None:
    from fastapi import Depends, FastAPI
    from fastapi.testclient import TestClient
    from veritoken.fastapi import install, require_token

    verifier = veritoken.Verifier(CONFIG)
    app = FastAPI()
    install(app)
    read = require_token(verifier, scopes=["read"], realm="orders")
    admin = require_token(verifier, scopes="admin", realm="orders")

    @app.get("/orders")
    async def orders(token: veritoken.VerifiedToken = Depends(read)) -> dict:
        return {"sub": token.subject}

    @app.get("/admin")
    async def admin_view(token: veritoken.VerifiedToken = Depends(admin)) -> dict:
        return {}

    client = TestClient(app)

    def get(auth, path="/orders"):
        r = client.get(path, headers={"Authorization": auth} if auth else {})
        return r.status_code, r.headers, r.json()

    assert get(GOOD) == (200, get(GOOD)[1], {"sub": "alice"})
    check_refusals(get)

    def get_with(headers):
        r = client.get("/orders", headers=headers)
        return r.status_code, r.headers, r.json()

    check_dpop(get_with, "http://testserver/orders")
    status, headers, body = get(GOOD, "/admin")
    assert status == 403 and body["error"]["code"] == "scope_insufficient"
    assert 'error="insufficient_scope"' in headers["www-authenticate"]

    # Swagger's Authorize button: the security scheme, and every guarded route using it.
    spec = client.get("/openapi.json").json()
    scheme = spec["components"]["securitySchemes"]["veritoken"]
    assert scheme["type"] == "http" and scheme["scheme"] == "bearer"
    for path in ("/orders", "/admin"):
        assert spec["paths"][path]["get"]["security"] == [{"veritoken": []}]


def test_starlette_middleware() -> None:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route
    from starlette.testclient import TestClient
    from veritoken.starlette import VeritokenMiddleware

    async def orders(request: Request) -> JSONResponse:
        return JSONResponse({"sub": request.state.veritoken.subject})

    async def health(request: Request) -> JSONResponse:
        return JSONResponse({"ok": True})

    app = Starlette(routes=[Route("/orders", orders), Route("/healthz", health)])
    verifier = veritoken.Verifier(CONFIG)
    app.add_middleware(
        VeritokenMiddleware,
        verifier=verifier,
        scopes=["read"],
        realm="orders",
        exclude_paths=["/healthz"],
    )
    client = TestClient(app)

    def get(auth):
        r = client.get("/orders", headers={"Authorization": auth} if auth else {})
        return r.status_code, r.headers, r.json()

    assert get(GOOD)[0] == 200 and get(GOOD)[2] == {"sub": "alice"}
    check_refusals(get)
    assert client.get("/healthz").status_code == 200

    def get_with(headers):
        r = client.get("/orders", headers=headers)
        return r.status_code, r.headers, r.json()

    check_dpop(get_with, "http://testserver/orders")

    strict = Starlette(routes=[Route("/orders", orders)])
    strict.add_middleware(VeritokenMiddleware, verifier=verifier, scopes=["admin"])
    r = TestClient(strict).get("/orders", headers={"Authorization": GOOD})
    assert r.status_code == 403 and r.json()["error"]["code"] == "scope_insufficient"
    with pytest.raises(ValueError):
        VeritokenMiddleware(strict, verifier, match="most")


def test_flask_decorator() -> None:
    import flask
    from veritoken.flask import require_token

    verifier = veritoken.Verifier(CONFIG)
    app = flask.Flask(__name__)

    @app.get("/orders")
    @require_token(verifier, scopes=["read"], realm="orders")
    def orders():
        return {"sub": flask.g.veritoken.subject}

    @app.get("/admin")
    @require_token(verifier, scopes=["admin", "write"], match="any", realm="orders")
    def admin():
        return {"ok": True}

    client = app.test_client()

    def get(auth, path="/orders"):
        r = client.get(path, headers={"Authorization": auth} if auth else {})
        return r.status_code, {k.lower(): v for k, v in r.headers.items()}, r.get_json()

    assert get(GOOD)[0] == 200 and get(GOOD)[2] == {"sub": "alice"}
    check_refusals(get)
    assert get(GOOD, "/admin")[0] == 200  # any-of: "write" is granted

    def get_with(headers):
        r = client.get("/orders", headers=headers)
        return r.status_code, {k.lower(): v for k, v in r.headers.items()}, r.get_json()

    check_dpop(get_with, "http://localhost/orders")


def test_django_middleware() -> None:
    import django
    from django.conf import settings

    if not settings.configured:
        settings.configure(
            DEBUG=False,
            ROOT_URLCONF=__name__,
            ALLOWED_HOSTS=["testserver"],
            MIDDLEWARE=["veritoken.django.VeritokenMiddleware"],
            VERITOKEN={
                "config": CONFIG,
                "scopes": ["read"],
                "realm": "orders",
                "exempt_paths": ["/healthz"],
            },
        )
        django.setup()
    from django.test import Client

    client = Client()

    def get(auth, path="/orders"):
        r = client.get(path, HTTP_AUTHORIZATION=auth) if auth else client.get(path)
        return r.status_code, {k.lower(): v for k, v in r.headers.items()}, json.loads(r.content)

    assert get(GOOD) == (200, get(GOOD)[1], {"sub": "alice"})
    check_refusals(get)
    assert get(None, "/healthz")[0] == 200

    def get_with(headers):
        r = client.get("/orders", headers=headers)
        return r.status_code, {k.lower(): v for k, v in r.headers.items()}, json.loads(r.content)

    check_dpop(get_with, "http://testserver/orders")


def _django_orders(request):
    from django.http import JsonResponse

    return JsonResponse({"sub": request.veritoken.subject})


def _django_who(request):
    from django.http import JsonResponse

    token = request.veritoken
    return JsonResponse({"sub": token.subject if token else None})


def _django_health(request):
    from django.http import JsonResponse

    return JsonResponse({"ok": True})


def __getattr__(name: str):  # Django's ROOT_URLCONF = this module
    if name == "urlpatterns":
        from django.urls import path

        return [
            path("orders", _django_orders),
            path("healthz", _django_health),
            path("admin", _django_who),
            path("tenant2", _django_who),
            path("maybe", _django_who),
        ]
    raise AttributeError(name)


ROLES = (
    f"Bearer {mint(good_claims(scope=[{'rn': 'orders', 'role': 'admin'}, 'read'], tenant='t-1'))}"
)


def check_roles_rules_optional(get) -> None:  # noqa: ANN001 (GET path, Authorization value)
    """The same route requirements and optional auth from every framework."""
    assert get("/admin", ROLES)[:2] == (200, {"sub": "alice"})
    status, body = get("/admin", GOOD)  # no role policy
    assert status == 403 and body["error"]["code"] == "scope_insufficient"
    status, body = get("/tenant2", ROLES)
    assert status == 403 and body["error"] == {
        "code": "scope_insufficient",
        "message": body["error"]["message"],
        "claim": "tenant",
    }
    assert get("/maybe", None) == (200, {"sub": None})
    assert get("/maybe", GOOD) == (200, {"sub": "alice"})
    status, body = get("/maybe", EXPIRED)
    assert status == 401 and body["error"]["code"] == "token_expired"


def test_fastapi_roles_rules_optional() -> None:
    from fastapi import Depends, FastAPI
    from fastapi.testclient import TestClient
    from veritoken.fastapi import install, require_token

    verifier = veritoken.Verifier(CONFIG)
    app = FastAPI()
    install(app)
    admin = require_token(
        verifier, roles=["orders:admin"], rules=[{"claim": "tenant", "equals": "t-1"}]
    )
    tenant2 = require_token(verifier, rules=[{"claim": "tenant", "equals": "t-2"}])
    maybe = require_token(verifier, optional=True)

    @app.get("/admin")
    async def a(token: veritoken.VerifiedToken = Depends(admin)) -> dict:
        return {"sub": token.subject}

    @app.get("/tenant2")
    async def t(token: veritoken.VerifiedToken = Depends(tenant2)) -> dict:
        return {"sub": token.subject}

    @app.get("/maybe")
    async def m(token: veritoken.VerifiedToken | None = Depends(maybe)) -> dict:
        return {"sub": token.subject if token else None}

    client = TestClient(app)

    def get(path, auth):
        r = client.get(path, headers={"Authorization": auth} if auth else {})
        return r.status_code, r.json()

    check_roles_rules_optional(get)
    with pytest.raises(veritoken.ConfigInvalid, match="roles"):
        require_token(verifier, roles=["admin"])


def test_django_roles_rules_optional() -> None:
    test_django_middleware()  # configures Django once for this process
    from django.test import Client, override_settings

    # The middleware reads settings.VERITOKEN when a client's handler loads it: one client
    # per route setting.
    routes = {
        "/admin": {"roles": ["orders:admin"], "rules": [{"claim": "tenant", "equals": "t-1"}]},
        "/tenant2": {"rules": [{"claim": "tenant", "equals": "t-2"}]},
        "/maybe": {"optional": True},
    }

    def get(path, auth):
        with override_settings(VERITOKEN={"config": CONFIG, **routes[path]}):
            client = Client()
            r = client.get(path, HTTP_AUTHORIZATION=auth) if auth else client.get(path)
        return r.status_code, json.loads(r.content)

    check_roles_rules_optional(get)


def test_starlette_and_flask_roles_rules_optional() -> None:
    import flask
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Mount, Route
    from starlette.testclient import TestClient
    from veritoken.flask import require_token
    from veritoken.starlette import VeritokenMiddleware

    verifier = veritoken.Verifier(CONFIG)

    async def who(request: Request) -> JSONResponse:
        token = request.state.veritoken
        return JSONResponse({"sub": token.subject if token else None})

    def sub_app(**options) -> Starlette:  # noqa: ANN003
        app = Starlette(routes=[Route("/", who)])
        app.add_middleware(VeritokenMiddleware, verifier=verifier, **options)
        return app

    app = Starlette(
        routes=[
            Mount(
                "/admin",
                sub_app(roles="orders:admin", rules=[{"claim": "tenant", "equals": "t-1"}]),
            ),
            Mount("/tenant2", sub_app(rules=[{"claim": "tenant", "equals": "t-2"}])),
            Mount("/maybe", sub_app(optional=True)),
        ]
    )
    client = TestClient(app)

    def get_asgi(path, auth):
        r = client.get(path + "/", headers={"Authorization": auth} if auth else {})
        return r.status_code, r.json()

    check_roles_rules_optional(get_asgi)

    fapp = flask.Flask(__name__)

    def view():
        return {"sub": flask.g.veritoken.subject if flask.g.veritoken else None}

    guards = {
        "admin": require_token(
            verifier, roles=["orders:admin"], rules=[{"claim": "tenant", "equals": "t-1"}]
        ),
        "tenant2": require_token(verifier, rules=[{"claim": "tenant", "equals": "t-2"}]),
        "maybe": require_token(verifier, optional=True),
    }
    for name, guard in guards.items():
        fapp.add_url_rule(f"/{name}", name, guard(view))
    fclient = fapp.test_client()

    def get_flask(path, auth):
        r = fclient.get(path, headers={"Authorization": auth} if auth else {})
        return r.status_code, r.get_json()

    check_roles_rules_optional(get_flask)
