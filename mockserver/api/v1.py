"""POST /v1/messages: the flat v1 request as commands, with v1's 422 problems and failover."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from ..accounts import Caller
from ..backend import Backend
from ..contract import InvalidParameter
from ..payloads import V1_ERROR_TYPE
from ..simulation.commands import Failover, SendMessage, StartWorkflow, UpdateMessage
from ..simulation.updates import UpdateRefused
from .errors import Problem, problem_response
from .keys import ACCOUNTS, AUTH, CONTRACT, EDGE
from .parsing import expect_continue, read_json
from .registry import Dialect

# The engine's channel for each v1 channel, and which key of its to/from objects holds the address.
ENGINE_CHANNELS = {"sms": "sms", "mms": "mms", "rcs": "rcs", "whatsapp": "whatsapp", "messenger": "messenger",
                   "viber_service": "viber_service_msg"}
ADDRESS_KEYS = {"sms": ("number", "number"), "mms": ("number", "number"), "rcs": ("number", "id"),
                "whatsapp": ("number", "number"), "messenger": ("id", "id"), "viber_service": ("number", "id")}
# The channel's own option block, kept in the record under the engine channel's name (as /beta names it).
OPTION_BLOCKS = {"sms": "sms", "rcs": "rcs", "whatsapp": "whatsapp", "messenger": "messenger",
                 "viber_service": "viber_service_msg"}
# Fields besides the content that the record keeps as given: in `content` (shown with it) or beside it.
CONTENT_EXTRAS = ("suggestions",)
MESSAGE_EXTRAS = ("context", "ttl", "trusted_recipient")

# v1 sorts invalid requests into kinds, each its own problem type; the first kind an offending field
# belongs to names the answer (reference section 5a). Anything else is "Invalid params" (1150).
PROBLEM_KINDS: tuple[tuple[frozenset[str], str, str, str], ...] = (
    (frozenset({"channel"}), "1100", "Unsupported channel",
     "The `channel` parameter is missing or is not one of sms, mms, rcs, whatsapp, messenger, viber_service."),
    (frozenset({"message_type"}), "1140", "Invalid message type",
     "The `message_type` parameter is invalid for the given channel."),
    (frozenset({"from"}), "1120", "Invalid sender", "The `from` parameter is invalid for the given channel."),
    (frozenset({"to"}), "110", "Invalid recipient", "The `to` parameter is invalid for the given channel."),
    (frozenset({"client_ref"}), "1060", "Invalid client reference",
     "The `client_ref` parameter must be a string of at most 100 characters."),
    (frozenset(OPTION_BLOCKS), "1110", "Invalid channel parameters",
     "The value of one or more parameters of the channel block is invalid."),
)
INVALID_PARAMS = ("1150", "Invalid params", "The value of one or more parameters is invalid.")


def _top_field(name: str) -> str:
    """The top-level field of a dotted path; inside a failover message, that message's own field."""
    parts = name.split(".")
    if len(parts) > 2 and parts[0] == "failover" and parts[1].isdigit():
        parts = parts[2:]
    return parts[0]


def v1_problem(problems: list[InvalidParameter]) -> Problem:
    fields = {_top_field(problem.name) for problem in problems}
    code, title, detail = next(((code, title, detail) for names, code, title, detail in PROBLEM_KINDS
                                if fields & names), INVALID_PARAMS)
    return Problem(422, f"{V1_ERROR_TYPE}#{code}", title, detail, problems)


async def read_v1_body(request: web.Request) -> Any:
    """The parsed body; v1 answers malformed JSON with 422, not 400."""
    try:
        return await read_json(request)
    except Problem as problem:
        if problem.status != 400:
            raise
        # v1 answers every 422 with invalid_parameters: for an unreadable body, the body ("") is the parameter
        raise Problem(422, problem.type, problem.title, problem.detail,
                      problem.invalid_parameters or [InvalidParameter("", problem.detail)]) from None


def message_command(body: dict[str, Any], generation: str) -> SendMessage:
    """The simulation's command for one v1 message."""
    channel = body["channel"]
    engine_channel = ENGINE_CHANNELS[channel]
    to_key, from_key = ADDRESS_KEYS[channel]
    message_type = body["message_type"]
    content = {"type": message_type, message_type: body[message_type]}
    message: dict[str, Any] = {"content": content}
    for key in CONTENT_EXTRAS:
        if key in body:
            content[key] = body[key]
    for key in MESSAGE_EXTRAS:
        if key in body:
            message[key] = body[key]
    if channel in OPTION_BLOCKS and channel in body:
        message[OPTION_BLOCKS[channel]] = body[channel]
    # Positional, in the order of SendMessage's fields (keywords cost twice as much, once per message); None is
    # the application_id, stamped later for a JWT's send.
    return SendMessage(engine_channel, {"type": engine_channel, to_key: body["to"]},
                       {"type": engine_channel, from_key: body["from"]}, message, generation, body.get("client_ref"),
                       None, body.get("webhook_url"), body.get("webhook_version"))


def failover_command(body: dict[str, Any], generation: str) -> StartWorkflow:
    """A v1 message with `failover`: each message is tried only if the one before it is rejected or
    undeliverable (no expiry, unlike the beta workflows)."""
    messages = [body, *body["failover"]]
    last = len(messages) - 1
    steps = tuple((message_command(message, generation), Failover("delivered") if index < last else None)
                  for index, message in enumerate(messages))
    return StartWorkflow(kind="failover", template="failover", steps=steps, generation=generation)


def _check_webhook_urls(backend: Backend, body: dict[str, Any]) -> None:
    """A request's own webhook_url (in any of its messages) must name an allowed host (webhook_allow_hosts)."""
    for index, message in enumerate([body, *body.get("failover", ())]):
        url = message.get("webhook_url")
        if url is None:
            continue
        if not backend.webhook_url_allowed(url):
            name = "webhook_url" if index == 0 else f"failover.{index - 1}.webhook_url"
            raise Problem(422, f"{V1_ERROR_TYPE}#1150", "Invalid params",
                          "The value of one or more parameters is invalid.",
                          [InvalidParameter(name, "names a host this mock may not send webhooks to "
                                                  "(see the setting webhook_allow_hosts)")])
        backend.route_webhooks()


def send(backend: Backend, body: dict[str, Any], generation: str) -> dict[str, str]:
    if "webhook_url" in body or "failover" in body:
        _check_webhook_urls(backend, body)
    if "failover" not in body:
        return {"message_uuid": backend.send_message(message_command(body, generation)).message_uuid}
    workflow = backend.start_workflow(failover_command(body, generation))
    return {"message_uuid": workflow.items[0].message_uuid, "workflow_id": workflow.workflow_uuid}


def recipient(body: dict[str, Any]) -> tuple[str, str, str]:
    channel = body["channel"]
    return channel, ENGINE_CHANNELS[channel], body["to"]


# 422 for malformed JSON and for invalid parameters, by kind
DIALECT = Dialect(read=read_v1_body, invalid=v1_problem,
                  error_statuses=(401, 402, 403, 404, 408, 413, 415, 422, 429, 500, 503), edge_problems="v1")


UPDATE_PATH = "/v1/messages/{message_uuid}"
UPDATE_SCHEMA = "v1/message-update"


def update_command(message_uuid: str, body: dict[str, Any]) -> UpdateMessage:
    return UpdateMessage(message_uuid=message_uuid, status=body["status"],
                         replying_indicator=body.get("replying_indicator"))


def refused(error: UpdateRefused) -> Problem:
    if error.kind == "not_found":
        return Problem(404, "https://developer.vonage.com/api-errors#not-found", "Not Found", error.reason)
    return Problem(422, f"{V1_ERROR_TYPE}#{INVALID_PARAMS[0]}", "Invalid status", error.reason,
                   [InvalidParameter("status", error.reason)])


def caller_of(request: web.Request) -> Caller:
    return request.app[AUTH].check(request.headers.get("Authorization"))


def update_route(app: web.Application) -> web.RouteDef:
    """PATCH /v1/messages/{message_uuid}: 200 with an empty body (the SDKs read none), behind the edge."""
    contract, accounts = app[CONTRACT], app[ACCOUNTS]

    async def update(request: web.Request) -> web.StreamResponse:
        try:
            backend = accounts.of(caller_of(request))
            body = await read_v1_body(request)
            if not contract.is_valid(UPDATE_SCHEMA, body):
                raise v1_problem(contract.problems(UPDATE_SCHEMA, body))
            try:
                backend.update_message(update_command(request.match_info["message_uuid"], body))
            except UpdateRefused as error:
                raise refused(error) from None
            return web.Response(status=200)
        except Exception as exc:
            return problem_response(request, exc)

    return web.patch(UPDATE_PATH, app[EDGE].guard(update, DIALECT.edge_problems, caller_of),
                     expect_handler=expect_continue)
