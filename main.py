"""Cloud Functions entry points. The work is done in `bot/`; see bot/handler.py and bot/sweep.py."""

import os

import functions_framework

from bot.app import start

# Built at import, so a missing setting stops the instance at start with a clear message.
_app = start(os.environ)


@functions_framework.http
def handle_webhook(request):
    """Statuspage webhook: POST an incident update, get a JSON result."""
    return _app.webhook(request)


@functions_framework.http
def handle_sweep(request):
    """Cloud Scheduler, every few minutes: post what no webhook brought; a JSON report."""
    return _app.sweep(request)
