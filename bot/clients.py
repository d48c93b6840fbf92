"""Slack Web API clients built from settings (one per caller; never module globals), with
the bot token bot.tokens chose (none: Bolt sets each request's own).

`SLACK_API_URL` points both clients at another base URL (tests use a local stub). On
HTTP 429 the clients wait the `Retry-After` Slack sends, then try again. Every call and
every error Slack answers is counted by method (api.metrics).
"""

from __future__ import annotations

from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
)
from slack_sdk.http_retry.handler import RetryHandler
from slack_sdk.web.async_client import AsyncWebClient

from api import metrics
from api.settings import Settings

RATE_LIMIT_RETRIES = 2


def _options(settings: Settings, token: str | None) -> dict[str, Any]:
    options: dict[str, Any] = {"token": token, "timeout": 10}
    if settings.slack_api_url:
        options["base_url"] = settings.slack_api_url.rstrip("/") + "/"
    return options


def web_client(settings: Settings, token: str | None) -> WebClient:
    """The blocking client RQ jobs use."""
    handlers: list[RetryHandler] = [
        ConnectionErrorRetryHandler(),
        RateLimitErrorRetryHandler(max_retry_count=RATE_LIMIT_RETRIES),
    ]
    return CountedWebClient(**_options(settings, token), retry_handlers=handlers)


def async_web_client(settings: Settings, token: str | None = None) -> AsyncWebClient:
    """The asyncio client the Bolt app uses."""
    handlers: list[AsyncRetryHandler] = [
        AsyncConnectionErrorRetryHandler(),
        AsyncRateLimitErrorRetryHandler(max_retry_count=RATE_LIMIT_RETRIES),
    ]
    return CountedAsyncWebClient(**_options(settings, token), retry_handlers=handlers)


class CountedWebClient(WebClient):
    def api_call(self, api_method: str, **kwargs: Any) -> Any:
        metrics.SLACK_CALLS.labels(api_method).inc()
        try:
            return super().api_call(api_method, **kwargs)
        except SlackApiError as error:
            _count_error(api_method, error)
            raise


class CountedAsyncWebClient(AsyncWebClient):
    async def api_call(self, api_method: str, **kwargs: Any) -> Any:
        metrics.SLACK_CALLS.labels(api_method).inc()
        try:
            return await super().api_call(api_method, **kwargs)
        except SlackApiError as error:
            _count_error(api_method, error)
            raise


def _count_error(method: str, error: SlackApiError) -> None:
    metrics.SLACK_ERRORS.labels(method, str(error.response.get("error") or "unknown")).inc()
