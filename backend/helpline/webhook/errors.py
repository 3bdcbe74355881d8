"""Problems of the webhook domain; defined in :mod:`helpline.errors` with every other problem."""

from helpline.errors import WebhookNotFound, WebhookTargetRefused

__all__ = ["WebhookNotFound", "WebhookTargetRefused"]
