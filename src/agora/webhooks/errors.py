from agora.platform.errors import NotFound, RuleViolation


class WebhookEndpointNotFound(NotFound):
    code = "webhook_endpoint_not_found"
    default_message = "No such webhook endpoint."


class WebhookDeliveryNotFound(NotFound):
    code = "webhook_delivery_not_found"
    default_message = "No such webhook delivery."


class WebhookEndpointDisabled(RuleViolation):
    code = "webhook_endpoint_disabled"
    default_message = "The endpoint is disabled; enable it first (PATCH enabled: true)."
