"""Cloud Functions entry point. The work is done in `bot/`; see bot/handler.py."""

import os

import functions_framework

from bot.app import build_handler

# Built at import, so a missing setting stops the instance at start with a clear message.
_handler = build_handler(os.environ)


@functions_framework.http
def handle_webhook(request):
    """Statuspage webhook: POST an incident update, get a JSON result."""
    return _handler(request)
