"""Provider webhooks over HTTP (verified, routed, delivered after the answer) and the sync
result notifications an environment's webhook URL gets."""

from orchestrator.webhooks._endpoint import MAX_BODY_BYTES, WebhookEndpoint
from orchestrator.webhooks._intake import MAX_WAITING, Intake
from orchestrator.webhooks._notify import (
    ATTEMPTS,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    Notifier,
    sign,
)
from orchestrator.webhooks._signatures import REPLAY_WINDOW_SECONDS, refusal
from orchestrator.webhooks._tally import Progress, RunTally, TallyInterceptor

__all__ = [
    "ATTEMPTS",
    "MAX_BODY_BYTES",
    "MAX_WAITING",
    "REPLAY_WINDOW_SECONDS",
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "Intake",
    "Notifier",
    "Progress",
    "RunTally",
    "TallyInterceptor",
    "WebhookEndpoint",
    "refusal",
    "sign",
]
