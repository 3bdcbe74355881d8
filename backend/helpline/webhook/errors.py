"""Problems of the webhook domain (rendered as problem+json like every HelplineError)."""

from helpline.errors import NotFound, ValidationFailed


class WebhookNotFound(NotFound):
    slug, title = "webhook-not-found", "Webhook endpoint not found"
    description = "No webhook endpoint (or delivery) with this id."


class WebhookTargetRefused(ValidationFailed):
    slug, title = "webhook-target-refused", "Webhook target refused"
    description = (
        "The URL's host does not resolve, or resolves to a loopback, private, link-local, "
        "multicast or cloud-metadata address that HELPLINE_WEBHOOK_ALLOWED_HOSTS does not allow."
    )
