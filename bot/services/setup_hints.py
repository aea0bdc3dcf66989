"""Doctor's hints for network failures: DNS, refused connections and timeouts are not credential problems."""

from __future__ import annotations

from bot.domain.errors import AwsError

_DNS = ("Name or service not known", "nodename nor servname", "getaddrinfo", "Temporary failure in name resolution",
        "No address associated")
_TIMEOUT = ("Timeout", "timed out")
_REFUSED = ("Connection refused", "Could not connect")


def aws_network_hint(error: AwsError) -> str | None:
    """What to check when AWS could not be reached at all; None for an answer from AWS."""
    if error.code != "AwsUnreachable":
        return None
    detail = error.detail or ""
    target = "the AWS STS endpoint (AWS_REGION, or AWS_ENDPOINT_URL when set)"
    if any(word in detail for word in _DNS):
        return f"The name of {target} does not resolve: check DNS on this host. Not a credentials problem."
    if any(word in detail for word in _TIMEOUT):
        return (f"{target} did not answer in time: check the firewall's egress to port 443, HTTPS_PROXY, and VPC "
                "endpoints or NAT. Not a credentials problem.")
    if any(word in detail for word in _REFUSED):
        return (f"The connection to {target} was refused or failed: check AWS_ENDPOINT_URL, HTTPS_PROXY and the "
                "firewall. Not a credentials problem.")
    return f"{target} could not be reached: check the network from this host. Not a credentials problem."


def slack_network_hint(code: str) -> str | None:
    """What to check when Slack could not be reached; None for an answer from Slack."""
    if code != "slack_unreachable":
        return None
    return ("Slack (SLACK_API_URL) could not be reached from this host: check DNS, HTTPS_PROXY and the firewall's "
            "egress to slack.com:443. Not a token problem.")
