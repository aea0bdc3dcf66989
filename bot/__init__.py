"""pam-bot: just-in-time AWS console access through Slack."""

__version__ = "0.1.0"
