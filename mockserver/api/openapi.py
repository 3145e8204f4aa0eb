"""GET /openapi.json: an OpenAPI 3.1 document built from the schema files (no second copy of the contract)."""

from __future__ import annotations

import copy
import posixpath
from typing import Any

from .. import __version__
from ..contract import Contract
from .control import MAX_WAIT_SECONDS, WAIT_STATUSES
from .generations import GENERATIONS
from .openapi_views import VIEWS
from .registry import Endpoint, Generation
from .v1 import UPDATE_PATH, UPDATE_SCHEMA

PROBLEM = {"$ref": "#/components/schemas/Problem"}


def component_name(schema_name: str) -> str:
    return schema_name.replace("/", "_").replace("-", "_")


def _rewrite_refs(node: Any, current: str) -> Any:
    """Turn `other.json#/$defs/x` and `#/$defs/x` into refs inside components/schemas."""
    if isinstance(node, dict):
        result = {}
        for key, value in node.items():
            if key in ("$id", "$schema"):
                continue
            if key == "$ref" and isinstance(value, str):
                result[key] = _component_ref(value, current)
            else:
                result[key] = _rewrite_refs(value, current)
        return result
    if isinstance(node, list):
        return [_rewrite_refs(item, current) for item in node]
    return node


def _component_ref(ref: str, current: str) -> str:
    target, _, pointer = ref.partition("#")
    if target:
        name = posixpath.normpath(posixpath.join(posixpath.dirname(current), target))
        name = name.removesuffix(".json")
    else:
        name = current
    return f"#/components/schemas/{component_name(name)}{pointer}"


def _json_body(schema: str, required: bool = True) -> dict[str, Any]:
    return {"required": required, "content": {"application/json": {"schema": {
        "$ref": f"#/components/schemas/{component_name(schema)}"}}}}


def _answer(description: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    answer: dict[str, Any] = {"description": description}
    if schema is not None:
        answer["content"] = {"application/json": {"schema": schema}}
    return answer


def _errors(*codes: int) -> dict[str, Any]:
    titles = {400: "Invalid parameters or malformed JSON", 401: "Missing or bad credentials",
              404: "Not found", 408: "The body did not arrive in time, or (wait) the condition did not hold",
              409: "Conflict", 413: "Body too large",
              415: "Content-Type is not JSON", 422: "Invalid or unsupported parameters, or malformed JSON (v1)",
              402: "The balance cannot cover the message", 403: "Forbidden (a fault)",
              429: "Over the rate limit (Retry-After says when to retry)", 500: "Internal error (a fault)",
              503: "Service unavailable (a fault)"}
    return {str(code): {"description": titles[code], "content": {
        "application/json": {"schema": PROBLEM}, "application/problem+json": {"schema": PROBLEM}}}
        for code in codes}


def _uuid_answer(*keys: str) -> dict[str, Any]:
    return {"type": "object", "required": list(keys),
            "properties": {key: {"type": "string", "format": "uuid"} for key in keys}}


def _emulated(generation: Generation, spec: Endpoint) -> dict[str, Any]:
    answer = _uuid_answer(*spec.answer)
    answer["properties"].update({key: {"type": "string", "description": when}
                                 for key, when in spec.optional_answer.items()})
    return {"post": {"summary": spec.summary, "security": [{"basicAuth": []}, {"bearerAuth": []}],
                     "requestBody": _json_body(spec.schema),
                     "responses": {"202": _answer("Accepted", answer), **_errors(*generation.dialect.error_statuses)}}}


def _emulated_paths() -> dict[str, Any]:
    return {spec.path: _emulated(generation, spec) for generation in GENERATIONS for spec in generation.endpoints}


def _view(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


# Query parameters the control API reads as numbers (anything else there is a string filter).
NUMBER_PARAMS = {"limit": {"type": "integer", "minimum": 0, "maximum": 100_000},
                 "timeout": {"type": "number", "minimum": 0, "maximum": MAX_WAIT_SECONDS}}


def _query(*names: str, **schemas: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"name": name, "in": "query", "required": False,
             "schema": schemas.get(name) or NUMBER_PARAMS.get(name, {"type": "string"})} for name in names]


WAIT_STATUS = {"enum": ["", *WAIT_STATUSES],
               "description": "A message status (with message_uuid or to) or a workflow status (with workflow_uuid)"}


def _control_paths() -> dict[str, Any]:
    uuid_param = [{"name": "uuid", "in": "path", "required": True, "schema": {"type": "string"}}]

    def ok(view: str, status: str = "200") -> dict[str, Any]:
        return {status: _answer("OK", _view(view))}

    events = {"description": "Server-sent events, forever: `event: <type>` and `data: <JSON>` per event",
              "content": {"text/event-stream": {"schema": {"type": "string"}}}}
    return {
        "/_mock/health": {"get": {"summary": "Health", "responses": ok("MockHealth")}},
        "/_mock/reset": {"post": {"summary": "Forget everything", "responses": {"204": _answer("Reset")}}},
        "/_mock/messages": {"get": {"summary": "Messages, newest first",
                                    "parameters": _query("to", "channel", "status", "direction", "limit"),
                                    "responses": {**ok("MockMessages"), **_errors(400)}}},
        "/_mock/messages/{uuid}": {"get": {"summary": "One message with its history and webhooks",
                                           "parameters": uuid_param,
                                           "responses": {**ok("MockMessageDetail"), **_errors(404)}}},
        "/_mock/workflows": {"get": {"summary": "Workflows", "parameters": _query("status", "limit"),
                                     "responses": {**ok("MockWorkflows"), **_errors(400)}}},
        "/_mock/workflows/{uuid}": {"get": {"summary": "One workflow", "parameters": uuid_param,
                                            "responses": {**ok("MockWorkflow"), **_errors(404)}}},
        "/_mock/config": {"get": {"summary": "Configuration", "responses": ok("MockConfig")},
                          "put": {"summary": "Merge configuration", "requestBody": _json_body("control/config-update"),
                                  "responses": {**ok("MockConfig"), **_errors(400, 408, 413, 415)}}},
        "/_mock/clock": {"get": {"summary": "The clock", "responses": ok("MockClock")}},
        "/_mock/clock/advance": {"post": {"summary": "Move time forward",
                                          "requestBody": _json_body("control/clock-advance"),
                                          "responses": {**ok("MockClock"), **_errors(400, 408, 409, 413, 415)}}},
        "/_mock/rules": {"get": {"summary": "Outcome rules", "responses": ok("MockRules")},
                         "post": {"summary": "Add a rule", "requestBody": _json_body("control/rule"),
                                  "responses": {**ok("MockRule", "201"), **_errors(400, 408, 409, 413, 415)}}},
        "/_mock/rules/{id}": {"delete": {"summary": "Delete a user rule", "parameters": [
            {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}],
            "responses": {"204": _answer("Deleted"), **_errors(404)}}},
        "/_mock/inbound": {"post": {"summary": "Inject an inbound Messenger message",
                                    "requestBody": _json_body("control/inbound-request"),
                                    "responses": {"202": _answer("Accepted", _uuid_answer("message_uuid")),
                                                  **_errors(400, 404, 408, 413, 415)}}},
        "/_mock/webhooks": {"get": {"summary": "Webhook deliveries with every attempt",
                                    "parameters": _query("message_uuid", "workflow_uuid", "kind", "limit"),
                                    "responses": {**ok("MockDeliveries"), **_errors(400)}}},
        "/_mock/wait": {"get": {"summary": "Long-poll until a condition holds",
                                "description": "One of message_uuid, workflow_uuid or to is required (else 400).",
                                "parameters": _query("message_uuid", "workflow_uuid", "to", "status", "timeout",
                                                     status=WAIT_STATUS),
                                "responses": {**ok("MockWaitResult"), **_errors(400, 404, 408)}}},
        "/_mock/events": {"get": {"summary": "Every event as server-sent events", "responses": {"200": events}}},
        "/_mock/conversations": {"get": {"summary": "Conversations per channel and user",
                                         "responses": ok("MockConversations")}},
        "/_mock/conversations/{channel}/{peer}": {"get": {"summary": "One conversation", "parameters": [
            {"name": "channel", "in": "path", "required": True, "schema": {"type": "string"}},
            {"name": "peer", "in": "path", "required": True, "schema": {"type": "string"}}],
            "responses": ok("MockConversation")}},
        "/_mock/event-types": {"get": {"summary": "The event types of /_mock/events",
                                       "responses": ok("MockEventTypes")}},
        "/_mock/accounts": {"get": {"summary": "Every account: its record counts, applications and clock",
                                    "responses": {**ok("MockAccounts"), **_errors(400)}}},
    }


def _applications_paths() -> dict[str, Any]:
    """The Applications API v2 (emulated, Basic auth; behind the edge like every emulated endpoint)."""
    app_id = [{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}]
    edge = (401, 403, 429, 500, 503)
    body = _json_body("applications/application")
    one = {"200": _answer("OK", _view("Application"))}
    operations = {
        "/v2/applications": {
            "post": {"summary": "Create an application (a generated key pair when no public key is given)",
                     "requestBody": body,
                     "responses": {"201": _answer("Created", _view("Application")),
                                   **_errors(400, 408, 413, 415, *edge)}},
            "get": {"summary": "The account's applications, one HAL page",
                    "parameters": _query("page_size", "page", page_size={"type": "integer", "minimum": 1,
                                                                          "maximum": 100},
                                         page={"type": "integer", "minimum": 1, "maximum": 1_000_000}),
                    "responses": {"200": _answer("OK", _view("ApplicationPage")), **_errors(400, *edge)}}},
        "/v2/applications/{id}": {
            "get": {"summary": "One application", "parameters": app_id, "responses": {**one, **_errors(404, *edge)}},
            "put": {"summary": "Replace its name and capabilities", "parameters": app_id, "requestBody": body,
                    "responses": {**one, **_errors(400, 404, 408, 413, 415, *edge)}},
            "delete": {"summary": "Delete an application", "parameters": app_id,
                       "responses": {"204": _answer("Deleted"), **_errors(404, *edge)}}},
    }
    for methods in operations.values():
        for operation in methods.values():
            operation["security"] = [{"basicAuth": []}]
    return operations


def _edge_paths() -> dict[str, Any]:
    """/_mock/faults (control), and GET /account/get-balance (emulated: the REST API's)."""
    fault_id = [{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}]
    return {
        "/_mock/faults": {
            "get": {"summary": "Faults with their hits",
                    "responses": {"200": _answer("OK", _view("MockFaults")), **_errors(400)}},
            "post": {"summary": "Add a fault at the API edge",
                     "requestBody": _json_body("control/fault"),
                     "responses": {"201": _answer("Added", _view("MockFault")), **_errors(400, 408, 409, 413, 415)}},
            "delete": {"summary": "Remove every fault (of the account named by ?account= or X-Mock-Account)",
                       "responses": {"204": _answer("Removed"), **_errors(400)}}},
        "/_mock/faults/{id}": {
            "get": {"summary": "One fault", "parameters": fault_id,
                    "responses": {"200": _answer("OK", _view("MockFault")), **_errors(404)}},
            "delete": {"summary": "Remove a fault", "parameters": fault_id,
                       "responses": {"204": _answer("Removed"), **_errors(404)}}},
    }


def _balance_path() -> dict[str, Any]:
    return {"/account/get-balance": {"get": {
        "summary": "The account's balance (REST API shape; unlimited: 0.0 with autoReload)",
        "security": [{"basicAuth": []}], "parameters": _query("api_key", "api_secret"),
        "responses": {"200": _answer("OK", _view("AccountBalance")), **_errors(401, 403, 404, 429, 500, 503)}}}}


def _update_path() -> dict[str, Any]:
    return {UPDATE_PATH: {"patch": {
        "summary": "Mark an inbound WhatsApp message read, or revoke an outbound RCS message not yet delivered",
        "security": [{"basicAuth": []}, {"bearerAuth": []}],
        "parameters": [{"name": "message_uuid", "in": "path", "required": True, "schema": {"type": "string"}}],
        "requestBody": _json_body(UPDATE_SCHEMA),
        "responses": {"200": {"description": "Updated (no body)"}, **_errors(401, 403, 404, 422, 429, 500, 503)}}}}


def _guarded(paths: dict[str, Any]) -> dict[str, Any]:
    """Control operations: a token is needed only when the mock was started with --control-token."""
    for operations in paths.values():
        for operation in operations.values():
            operation["security"] = [{}, {"controlToken": []}]
            operation["responses"].update(_errors(401))
    return paths


PROBLEM_SCHEMA = {
    "type": "object", "required": ["type", "title", "detail", "instance"],
    "properties": {"type": {"type": "string"}, "title": {"type": "string"}, "detail": {"type": "string"},
                   "instance": {"type": "string"},
                   "invalid_parameters": {"type": "array", "items": {
                       "type": "object", "required": ["name", "reason"],
                       "properties": {"name": {"type": "string"}, "reason": {"type": "string"}}}}},
}


MALFORMED_HTTP = "The request is not valid HTTP (a malformed header, say)"


def build_openapi(contract: Contract) -> dict[str, Any]:
    schemas = {component_name(name): _rewrite_refs(copy.deepcopy(doc), name)
               for name, doc in contract.schema_documents().items()}
    schemas["Problem"] = PROBLEM_SCHEMA
    schemas.update(copy.deepcopy(VIEWS))
    paths = {**_emulated_paths(), **_update_path(), **_balance_path(), **_applications_paths(),
             **_guarded(_control_paths()),
             **_guarded(_edge_paths())}
    for operations in paths.values():  # the HTTP layer answers a malformed head before any route sees it
        for operation in operations.values():
            operation["responses"].setdefault("400", {**_errors(400)["400"], "description": MALFORMED_HTTP})
    return {
        "openapi": "3.1.0",
        "info": {"title": "Messages & Workflows API mock", "version": __version__,
                 "description": "The emulated Nexmo Messages/Workflows/Dispatch endpoints and the mock's control API."},
        "jsonSchemaDialect": "https://json-schema.org/draft/2020-12/schema",
        "paths": paths,
        "components": {"schemas": schemas, "securitySchemes": {
            "basicAuth": {"type": "http", "scheme": "basic"},
            "bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
            "controlToken": {"type": "apiKey", "in": "header", "name": "X-Mock-Token",
                             "description": "Only with --control-token; also accepted as ?token= or Bearer"}}},
    }
