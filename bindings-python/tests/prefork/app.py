"""What `gunicorn --preload` serves in test_prefork.py. The verifier is built at import, in
the master, with remote keys from the test IdP (answering slowly), so its first key fetch is
in flight while gunicorn forks the workers: the setup that used to hang the first worker.
Each route answers with the worker's pid, so the test can tell that every worker answers."""

from __future__ import annotations

import json
import os

import veritoken
from fastapi import Depends, FastAPI
from flask import Flask, g
from veritoken import VerifiedToken
from veritoken import fastapi as vt_fastapi
from veritoken import flask as vt_flask

verifier = veritoken.Verifier(json.loads(os.environ["VERITOKEN_PREFORK_CONFIG"]))

asgi = FastAPI()
vt_fastapi.install(asgi)


@asgi.get("/whoami")
async def whoami_asgi(
    token: VerifiedToken = Depends(vt_fastapi.require_token(verifier)),  # noqa: B008
) -> dict[str, object]:
    return {"pid": os.getpid(), "sub": token.subject}


wsgi = Flask(__name__)


@wsgi.get("/whoami")
@vt_flask.require_token(verifier)
def whoami_wsgi() -> dict[str, object]:
    return {"pid": os.getpid(), "sub": g.veritoken.subject}
