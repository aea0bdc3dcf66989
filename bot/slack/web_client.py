"""slack_sdk's WebClient on kept-open connections.

slack_sdk sends each Web API call with urllib, which opens a new connection for it and closes it after: against
slack.com a TCP connection and a TLS handshake per call, several per grant. `PooledWebClient` sends the same
request (the same URL, headers and body as slack_sdk builds them) through the process's pool (bot.http_pool),
and keeps everything else of slack_sdk: its methods, its retry handlers (429 with Retry-After, 5xx, dropped
connections, run through their public interface), `SlackResponse` and `SlackApiError`. A failure to reach Slack
is raised as urllib would raise it (`URLError`, `TimeoutError` for a read that timed out), so callers and retry
handlers see what they saw before. Uploads, OAuth calls and a client with TLS settings of its own take slack_sdk's
own path."""

from __future__ import annotations

import json as jsonlib
from typing import Any
from urllib.error import URLError
from urllib.parse import urlencode

from slack_sdk import WebClient
from slack_sdk.http_retry import HttpRequest, HttpResponse, RetryState
from slack_sdk.web import SlackResponse

from bot.http_pool import post

MAX_TRIES = 100  # slack_sdk's own bound on one call's retries; its handlers stop far sooner


class PooledWebClient(WebClient):
    """A WebClient whose calls travel on the process's kept-open connections."""

    def api_call(self, api_method: str, *, http_verb: str = "POST", files: dict[str, Any] | None = None,
                 data: dict[str, Any] | None = None, params: dict[str, Any] | None = None,
                 json: dict[str, Any] | None = None, headers: dict[str, Any] | None = None,
                 auth: dict[str, Any] | None = None) -> SlackResponse:
        if files or auth or self.ssl is not None or "token" in (params or {}) or "token" in (json or {}):
            return super().api_call(api_method, http_verb=http_verb, files=files, data=data, params=params,
                                    json=json, headers=headers, auth=auth)
        url = self.base_url + api_method.lstrip("/")
        sent = {**(headers or {}), **self.headers}
        if self.token:
            sent["Authorization"] = f"Bearer {self.token}"
        form: dict[str, Any] = {}  # slack_sdk's `params` of the answer: the form's fields, none for JSON
        if json is not None:
            json = {**self.default_params, **json}
            body = jsonlib.dumps(json).encode()
            sent["Content-Type"] = "application/json;charset=utf-8"
        else:
            form = {key: _form_value(value) for key, value in
                    {**self.default_params, **(params or {}), **(data or {})}.items() if value is not None}
            body = urlencode(form).encode()
            sent["Content-Type"] = "application/x-www-form-urlencoded"
        status, answer_headers, answer = self._send(url, body, sent, form or json or {})
        if answer is None:
            answer = {"ok": False, "error": f"an answer that is not a JSON object (HTTP {status})"}
        return SlackResponse(client=self, http_verb="POST", api_url=url,
                             req_args={"headers": sent, "params": form, "json": json, "data": {}, "files": None},
                             data=answer, headers=answer_headers, status_code=status).validate()

    def _send(self, url: str, body: bytes, headers: dict[str, Any],
              fields: dict[str, Any]) -> tuple[int, dict[str, str], dict[str, Any] | None]:
        """POST until an answer no retry handler wants tried again: its status, headers and JSON object (None when
        it is not one); the last failure to get an answer is raised."""
        state = RetryState()
        request = HttpRequest(method="POST", url=url, headers={k: [str(v)] for k, v in headers.items()},
                              body_params=fields, data=body)
        for _ in range(MAX_TRIES):
            state.next_attempt_requested = False
            try:
                status, answer_headers, raw = self._post(url, body, headers)
            except OSError as error:
                if not self._retried(state, request, None, error):
                    raise
                continue
            parsed = _json_object(raw)
            answer = HttpResponse(status_code=status, headers={k: [v] for k, v in answer_headers.items()},
                                  body=parsed or {}, data=raw)
            if not self._retried(state, request, answer, None):
                return status, answer_headers, parsed
        raise URLError("too many retries")

    def _post(self, url: str, body: bytes, headers: dict[str, Any]) -> tuple[int, dict[str, str], bytes]:
        response = post(url, body, {k: str(v) for k, v in headers.items()}, timeout=self.timeout)
        answer_headers = dict(response.headers.items())
        retry_after = response.headers.get("Retry-After")
        if retry_after is not None:  # both spellings, as slack_sdk gives them
            answer_headers["Retry-After"] = answer_headers["retry-after"] = retry_after
        return response.status, answer_headers, response.data

    def _retried(self, state: RetryState, request: HttpRequest, response: HttpResponse | None,
                 error: Exception | None) -> bool:
        """Whether a retry handler takes this outcome; the one that does waits before the next try."""
        for handler in self.retry_handlers:
            if handler.can_retry(state=state, request=request, response=response, error=error):
                handler.prepare_for_next_attempt(state=state, request=request, response=response, error=error)
                return True
        return False


def _form_value(value: Any) -> Any:
    """True/False as "1"/"0", as slack_sdk sends them in a form."""
    return ("1" if value else "0") if isinstance(value, bool) else value


def _json_object(raw: bytes) -> dict[str, Any] | None:
    try:
        parsed = jsonlib.loads(raw)
    except ValueError:
        return None
    return parsed if isinstance(parsed, dict) else None
