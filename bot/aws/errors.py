"""Turn botocore failures into AwsError: the AWS code kept for the audit log, one clear hint for a person."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    HTTPClientError,
    NoCredentialsError,
    ParamValidationError,
    PartialCredentialsError,
)
from botocore.exceptions import ConnectionError as BotoConnectionError

from bot.domain.errors import AwsError

SETUP = "`/pam setup` shows both"
TRUST_HINT = (f"Check that the role's trust policy trusts pam-bot's AWS principal and that its sts:ExternalId "
              f"condition equals this installation's ExternalId ({SETUP}).")
SOURCE_IDENTITY_HINT = (" This resource sets SourceIdentity: the trust policy must also allow sts:SetSourceIdentity "
                        f"({SETUP.replace('both', 'it')}).")
EXPIRED_HINT = "pam-bot's own AWS credentials have expired; an operator must renew them."
_MESSAGE_LIMIT = 300
_HINTS = {
    "ExpiredToken": EXPIRED_HINT,
    "ExpiredTokenException": EXPIRED_HINT,
    "RequestExpired": "pam-bot's clock or its AWS credentials are out of date; an operator must check them.",
    "InvalidClientTokenId": "AWS does not recognise pam-bot's own credentials; an operator must check them.",
    "SignatureDoesNotMatch": "AWS does not accept pam-bot's own credentials; an operator must check them.",
    "Throttling": "AWS is throttling requests right now; try again in a minute.",
    "ThrottlingException": "AWS is throttling requests right now; try again in a minute.",
    "RequestLimitExceeded": "AWS is throttling requests right now; try again in a minute.",
    "NoSuchEntity": "AWS does not know that role; check the role ARN.",
}
TRUST_READ_HINT = ("pam-bot checks each Target Role's trust policy with iam:GetRole through the Resource Role: allow "
                   f"iam:GetRole on the Target Role in the Resource Role's permissions policy ({SETUP}).")


def hop2_hint(resource_role_arn: str, source_identity: str | None = None) -> str:
    """The AccessDenied hint for the second hop, where the Resource Role is the caller."""
    return (f"Check that the Target Role's trust policy trusts the Resource Role {resource_role_arn}, that its "
            f"sts:ExternalId condition equals this installation's ExternalId ({SETUP}), and that the Resource "
            f"Role may sts:AssumeRole it." + (SOURCE_IDENTITY_HINT if source_identity else ""))


def region_hint(region: str, role_arn: str, *, caller_account: str | None = None) -> str:
    """RegionDisabledException: STS must be active in the Region of the endpoint called, in the account that owns
    the role being assumed (and, for an opt-in Region, enabled in the calling account too)."""
    owner = role_arn.split(":")[4] if role_arn.count(":") >= 5 else "the role's account"
    caller = f"the Resource Role's account {caller_account}" if caller_account else "pam-bot's own AWS account"
    return (f"STS is not activated in the Region {region} for AWS account {owner}, which owns {role_arn}: an "
            f"administrator of that account must activate it (IAM → Account settings → Security Token Service "
            f"endpoints), or pam-bot must use another Region (AWS_REGION). If {region} is an opt-in Region, it must "
            f"also be enabled in {caller}.")


def to_aws_error(error: Exception, *, doing: str, denied_hint: str = TRUST_HINT, region_hint: str = "") -> AwsError:
    """An AwsError for a person; `doing` names the step (`assume the Resource Role arn:...`)."""
    if isinstance(error, ClientError):
        return _client_error(error, doing, denied_hint, region_hint)
    if isinstance(error, NoCredentialsError | PartialCredentialsError):
        return AwsError(f"pam-bot could not {doing}: it has no AWS credentials. An operator must configure them "
                        f"(AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, a profile or an instance role).",
                        code="NoCredentials", detail=type(error).__name__)
    if isinstance(error, ParamValidationError):
        return AwsError(f"pam-bot could not {doing}: the request was invalid ({_short(str(error))}).",
                        code="ValidationError", detail=_short(str(error)))
    if isinstance(error, BotoConnectionError | HTTPClientError):
        return AwsError(f"pam-bot could not {doing}: AWS did not answer in time or could not be reached. "
                        f"Try again in a minute; if it persists an operator must check the network.",
                        code="AwsUnreachable", detail=f"{type(error).__name__}: {_short(str(error))}")
    return AwsError(f"pam-bot could not {doing}: {type(error).__name__}. Try again in a minute.",
                    code="AwsFailed", detail=f"{type(error).__name__}: {_short(str(error))}")


@contextmanager
def translated(doing: str, *, denied_hint: str = TRUST_HINT, region_hint: str = "") -> Iterator[None]:
    """Inside the block, botocore errors come out as AwsError."""
    try:
        yield
    except (ClientError, BotoCoreError) as error:
        raise to_aws_error(error, doing=doing, denied_hint=denied_hint, region_hint=region_hint) from error


def _client_error(error: ClientError, doing: str, denied_hint: str, region_hint: str = "") -> AwsError:
    details = error.response.get("Error", {})
    code = str(details.get("Code") or "Unknown")
    message = _short(str(details.get("Message") or ""))
    if code in ("AccessDenied", "AccessDeniedException"):
        hint = denied_hint
    elif code == "RegionDisabledException":
        hint = region_hint or "STS is not activated in the Region pam-bot calls, in the account that owns the role."
    elif code in _HINTS:
        hint = _HINTS[code]
    elif code in ("ValidationError", "MalformedPolicyDocument", "LimitExceeded"):
        hint = f"AWS said: {message}" if message else "AWS refused the request as invalid."
    else:
        hint = f"AWS said: {message}" if message else "Try again in a minute."
    found = request_id(error.response)
    return AwsError(f"pam-bot could not {doing} ({code}). {hint}", code=code,
                    detail=f"{error.operation_name}: {code}: {message}" + (f" (request {found})" if found else ""))


def request_id(answer: Mapping[str, Any]) -> str:
    """The AWS request id of an answer or error response (CloudTrail's `requestID`), or ""."""
    return str((answer.get("ResponseMetadata") or {}).get("RequestId") or "")


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _MESSAGE_LIMIT else text[: _MESSAGE_LIMIT - 1] + "…"
