"""The emulated endpoints of every API generation: authenticate, validate, hand a command to the caller's
backend, answer 202."""

from __future__ import annotations

import functools

from aiohttp import web

from .errors import Handler, problem_response
from .generations import GENERATIONS
from .keys import ACCOUNTS, AUTH, CONTRACT, EDGE
from .parsing import expect_continue, json_response
from .registry import Endpoint, Generation


def endpoint(app: web.Application, generation: Generation, spec: Endpoint) -> Handler:
    """The one handler every emulated endpoint shares; it answers its own problems (see answering_problems)."""
    auth, contract, accounts, edge = app[AUTH], app[CONTRACT], app[ACCOUNTS], app[EDGE]
    read, invalid, schema, act, name = (generation.dialect.read, generation.dialect.invalid, spec.schema, spec.act,
                                        generation.name)
    judge = contract.judge(schema)
    dialect, recipient = generation.dialect.edge_problems, spec.recipient

    async def handle(request: web.Request) -> web.StreamResponse:
        try:
            caller = auth.check(request.headers.get("Authorization"))
            body = await read(request)
            valid = judge(body)
            if edge.active:  # faults, rate limits, balance: one test when none is set
                answer = await edge.answer(request, caller, accounts.of(caller), dialect,
                                           functools.partial(recipient, body) if valid and recipient else None)
                if answer is not None:
                    return answer
            if not valid:
                raise invalid(contract.problems(schema, body))
            backend = accounts.of(caller)  # after the refusal: an invalid body makes no account
            if caller.application_id is not None:  # a JWT: the messages belong to its application
                backend = backend.sent_by(caller.application_id)
            return json_response(act(backend, body, name), status=202)
        except Exception as exc:
            return problem_response(request, exc)

    return handle


def routes(app: web.Application) -> list[web.RouteDef]:
    return [web.post(spec.path, endpoint(app, generation, spec), expect_handler=expect_continue)
            for generation in GENERATIONS for spec in generation.endpoints]
