"""incident-twitter-bot: relay Atlassian Statuspage incident updates to X."""
