"""JSON Schemas of the control API's answers, for the OpenAPI document (requests live in schemas/)."""

from __future__ import annotations

from typing import Any

TIME = {"$ref": "#/components/schemas/common/$defs/timestamp"}
TIME_OR_NULL = {"anyOf": [TIME, {"type": "null"}]}
UUID = {"type": "string", "format": "uuid"}


def _object(required: dict[str, Any], optional: dict[str, Any] | None = None) -> dict[str, Any]:
    """An object with these required and optional properties; others may be added later (extend, don't rename)."""
    return {"type": "object", "required": list(required), "properties": {**required, **(optional or {})}}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _list_of(key: str, item: str) -> dict[str, Any]:
    return _object({key: {"type": "array", "items": _ref(item)}})


HISTORY_ENTRY = _object({"status": {"type": "string"}, "timestamp": TIME},
                        {"error": {"type": "object"}, "usage": {"type": "object"}})

MESSAGE = _object(
    {"message_uuid": UUID, "direction": {"enum": ["outbound", "inbound"]}, "channel": {"type": "string"},
     "api": {"type": "string"}, "to": {"type": "object"}, "from": {"type": "object"}, "message": {"type": "object"},
     "status": {"type": "string"}, "created_at": TIME,
     "history": {"type": "array", "minItems": 1, "items": _ref("MockHistoryEntry")},
     "workflow_uuid": {"anyOf": [UUID, {"type": "null"}]}},
    {"client_ref": {"type": "string"}})

ATTEMPT = _object({"at": TIME, "latency_ms": {"type": "number", "minimum": 0}},
                  {"status_code": {"type": "integer"}, "error": {"type": "string"}, "response": {"type": "string"}})

DELIVERY = _object(
    {"id": {"type": "string", "description": "The delivery's number in its account, as a string (a uuid in "
                                             "records from a state file of an earlier version)"},
     "kind": {"enum": ["status", "inbound", "workflow"]}, "url": {"type": "string"},
     "subject_uuid": UUID, "payload": {"type": "object"},
     "state": {"enum": ["pending", "retrying", "delivered", "gave_up"]}, "created_at": TIME,
     "attempts": {"type": "array", "items": _ref("MockAttempt")}},
    {"message_uuid": UUID, "workflow_uuid": UUID, "next_attempt_at": TIME})

MESSAGE_DETAIL = {"allOf": [_ref("MockMessage"), _list_of("webhooks", "MockDelivery")]}

WORKFLOW_ITEM = _object(
    {"index": {"type": "integer", "minimum": 0}, "channel": {"type": "string"}, "state": {"type": "string"},
     "failover": {"type": ["object", "null"]}, "sent_at": TIME_OR_NULL, "ended_at": TIME_OR_NULL},
    {"message_uuid": UUID})

WORKFLOW = _object(
    {"workflow_uuid": UUID, "kind": {"enum": ["workflow", "dispatch", "failover"]}, "template": {"type": "string"},
     "status": {"enum": ["in_progress", "completed", "error"]}, "created_at": TIME, "ended_at": TIME_OR_NULL,
     "items": {"type": "array", "items": _ref("MockWorkflowItem")}})

RULE = _object({"id": {"type": "string"}, "match": {"type": "object"}, "outcome": {"type": "string"},
                "builtin": {"type": "boolean"}},
               {"error_code": {"type": "integer"}, "delay_factor": {"type": "number"},
                "source": {"enum": ["builtin", "config", "api"]},
                "description": {"type": "string"}})

CLOCK = _object({"mode": {"enum": ["real", "manual"]}, "time_scale": {"type": "number"}, "now": TIME,
                 "next_due": TIME_OR_NULL, "pending_timers": {"type": "integer", "minimum": 0}})

CONFIG = _object({"status_url": {"type": ["string", "null"]}, "inbound_url": {"type": ["string", "null"]},
                  "signature_secret": {"type": ["string", "null"]}, "time_scale": {"type": "number"},
                  "clock": {"enum": ["real", "manual"]}, "demo_mode": {"type": "boolean"},
                  "profiles": {"type": "object"}})

HEALTH = _object({"status": {"const": "ok"}, "version": {"type": "string"}, "now": TIME})

CONVERSATION_SUMMARY = _object({"channel": {"type": "string"}, "peer": {"type": "string"},
                                "count": {"type": "integer", "minimum": 1},
                                "failures": {"type": "integer", "minimum": 0}, "last_message": {"type": "object"}})

CONVERSATION = _object({"channel": {"type": "string"}, "peer": {"type": "string"},
                        "messages": {"type": "array", "items": _ref("MockMessage")}})

FAULT = _object({"id": {"type": "string"}, "match": {"type": "object"}, "hits": {"type": "integer", "minimum": 0},
                 "seen": {"type": "integer", "minimum": 0}, "active": {"type": "boolean"},
                 "account": {"type": ["string", "null"]}},
                {"status": {"type": "integer"}, "retry_after": {"type": "integer"}, "body": {},
                 "latency_ms": {"type": "number"}, "jitter_ms": {"type": "number"},
                 "drop": {"enum": ["reset", "empty", "partial"]}, "probability": {"type": "number"},
                 "times": {"type": "integer"}, "after": {"type": "integer"}, "window": {"type": "object"}})

BALANCE = _object({"value": {"type": "number"}, "autoReload": {"type": "boolean"}})

# The Applications API v2's own shapes (reference today.md section 1), and the control API's view of accounts.
APPLICATION = _object({"id": {"type": "string"}, "name": {"type": "string"}, "capabilities": {"type": "object"},
                       "privacy": {"type": "object"}, "keys": _object({"public_key": {"type": ["string", "null"]}},
                                                                   {"private_key": {"type": "string"}}),
                       "_links": {"type": "object"}})
APPLICATION_PAGE = _object({"page_size": {"type": "integer"}, "page": {"type": "integer"},
                            "total_items": {"type": "integer"}, "total_pages": {"type": "integer"},
                            "_embedded": _list_of("applications", "Application"), "_links": {"type": "object"}})
ACCOUNT = _object({"account": {"type": "string"}, "messages": {"type": "integer"}, "workflows": {"type": "integer"},
                   "applications": {"type": "array", "items": _ref("Application")},
                   "clock": _ref("MockClock")}, {"deliveries": {"type": "integer"}})


VIEWS: dict[str, dict[str, Any]] = {
    "MockHistoryEntry": HISTORY_ENTRY, "MockMessage": MESSAGE, "MockAttempt": ATTEMPT, "MockDelivery": DELIVERY,
    "MockMessageDetail": MESSAGE_DETAIL, "MockWorkflowItem": WORKFLOW_ITEM, "MockWorkflow": WORKFLOW,
    "MockRule": RULE, "MockClock": CLOCK, "MockConfig": CONFIG, "MockHealth": HEALTH,
    "MockMessages": _list_of("messages", "MockMessage"), "MockWorkflows": _list_of("workflows", "MockWorkflow"),
    "MockRules": _list_of("rules", "MockRule"), "MockDeliveries": _list_of("deliveries", "MockDelivery"),
    "MockConversations": _list_of("conversations", "MockConversationSummary"),
    "MockConversationSummary": CONVERSATION_SUMMARY, "MockConversation": CONVERSATION,
    "MockWaitResult": {"anyOf": [_ref("MockMessageDetail"), _ref("MockWorkflow")]},
    "MockEventTypes": _object({"event_types": {"type": "array", "items": {"type": "string"}}}),
    "MockFault": FAULT, "MockFaults": _list_of("faults", "MockFault"), "AccountBalance": BALANCE,
    "Application": APPLICATION, "ApplicationPage": APPLICATION_PAGE,
    "MockAccount": ACCOUNT, "MockAccounts": _list_of("accounts", "MockAccount"),
}
