"""The app manifest asks for what the bot uses (bot/manifest.yaml)."""

from __future__ import annotations

from pathlib import Path

import yaml

import bot
from api.settings import DEFAULT_SLACK_SCOPES

MANIFEST = Path(bot.__file__).parent / "manifest.yaml"


def test_manifest_scopes_events_and_home() -> None:
    manifest = yaml.safe_load(MANIFEST.read_text())
    scopes = set(manifest["oauth_config"]["scopes"]["bot"])
    assert {"chat:write", "im:write", "users:read", "users:read.email", "channels:read",
            "groups:read"} <= scopes
    assert manifest["oauth_config"]["redirect_urls"] == [
        "https://YOUR-HOST/slack/oauth_redirect"]
    settings = manifest["settings"]
    assert settings["event_subscriptions"]["bot_events"] == [
        "app_home_opened", "app_uninstalled", "tokens_revoked"]
    assert settings["interactivity"]["is_enabled"] is True
    assert settings["interactivity"]["request_url"].endswith("/slack/events")
    assert manifest["features"]["app_home"]["home_tab_enabled"] is True


def test_install_asks_for_the_manifest_scopes() -> None:
    manifest = yaml.safe_load(MANIFEST.read_text())
    assert DEFAULT_SLACK_SCOPES.split(",") == manifest["oauth_config"]["scopes"]["bot"]
