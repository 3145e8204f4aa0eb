"""The registry of API generations: beta (2018 Developer Preview), v0.1 and v1.

Routes, the OpenAPI document and the webhooks are all built from these entries; nowhere else is a generation
named.
"""

from __future__ import annotations

from ..payloads import BETA_WEBHOOKS, V1_WEBHOOKS, WebhookRenderers
from . import beta, v1
from .registry import Endpoint, Generation

BETA = Generation(name="beta", prefix="/beta", dialect=beta.DIALECT, webhooks=BETA_WEBHOOKS, endpoints=(
    Endpoint("/beta/messages", "message", "Send a message (Developer Preview)", ("message_uuid",),
             beta.send_message, recipient=beta.message_recipient),
    Endpoint("/beta/workflows", "workflow", "Start a failover workflow", ("workflow_uuid",), beta.start_workflow,
             recipient=beta.workflow_recipient),
))

V0_1 = Generation(name="v0.1", prefix="/v0.1", dialect=beta.DIALECT, webhooks=BETA_WEBHOOKS, endpoints=(
    Endpoint("/v0.1/messages", "message", "Send a message (v0.1)", ("message_uuid",), beta.send_message,
             recipient=beta.message_recipient),
    Endpoint("/v0.1/dispatch", "workflow", "Start a failover dispatch", ("dispatch_uuid",), beta.start_dispatch,
             recipient=beta.workflow_recipient),
))

V1 = Generation(name="v1", prefix="/v1", dialect=v1.DIALECT, webhooks=V1_WEBHOOKS, endpoints=(
    Endpoint("/v1/messages", "v1/message", "Send a message (v1 flat shape, optional failover)", ("message_uuid",),
             v1.send, optional_answer={"workflow_id": "Only when the request has failover."},
             recipient=v1.recipient),
))

GENERATIONS = (BETA, V0_1, V1)
WEBHOOK_RENDERERS: dict[str, WebhookRenderers] = {generation.name: generation.webhooks for generation in GENERATIONS}
EMULATED_PREFIXES = tuple(generation.prefix + "/" for generation in GENERATIONS)
INBOUND_GENERATION = BETA.name  # an inbound message injected through the control API takes the 2018 shape
# `webhook_version` of an injected inbound message: the generation whose inbound shape it takes
INBOUND_GENERATIONS = {"v0.1": INBOUND_GENERATION, "v1": V1.name}
