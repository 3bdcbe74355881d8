"""Webhook endpoints and Standard Webhooks deliveries of change-feed events."""
