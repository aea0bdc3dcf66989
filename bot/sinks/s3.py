"""The S3 sink: one object per batch, named after its event ids, under Object Lock where the bucket has it."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from bot.services.audit_shipping import Batch, SinkFailed

if TYPE_CHECKING:  # boto3-stubs: installed with the dev extra, for mypy only
    from mypy_boto3_s3 import S3Client

NO_LOCK = "ObjectLockConfigurationNotFoundError"


class S3Sink:
    """Puts `<prefix><batch key>.jsonl`; the same batch sent twice lands on the same key (idempotent)."""

    name = "s3"

    def __init__(self, client: S3Client, *, bucket: str, prefix: str, retention: timedelta,
                 clock: Callable[[], datetime]) -> None:
        self._s3 = client
        self.bucket = bucket
        self.prefix = prefix
        self.retention = retention  # when the bucket locks objects but names no default period
        self._clock = clock
        self._lock_rule: tuple[str, timedelta] | None | bool = False  # False: not asked yet
        self._guard = threading.Lock()

    def deliver(self, batch: Batch) -> None:
        body = "".join(json.dumps(line, sort_keys=True, ensure_ascii=False, default=str) + "\n"
                       for line in batch.lines()).encode()
        options: dict[str, Any] = {}
        try:
            rule = self._object_lock()
            if rule is not None:
                mode, period = rule
                options = {"ObjectLockMode": mode, "ObjectLockRetainUntilDate": self._clock() + period}
            self._s3.put_object(Bucket=self.bucket, Key=f"{self.prefix}{batch.key}.jsonl", Body=body,
                                    ContentType="application/x-ndjson", ChecksumAlgorithm="SHA256", **options)
        except ClientError as error:
            raise SinkFailed(f"S3 refused the object: {error.response.get('Error', {}).get('Code')}") from None
        except BotoCoreError as error:
            raise SinkFailed(f"S3 could not be reached ({error.__class__.__name__})") from None

    def _object_lock(self) -> tuple[str, timedelta] | None:
        """(mode, period) for new objects when the bucket has Object Lock on; asked once, then remembered."""
        with self._guard:
            if self._lock_rule is False:
                self._lock_rule = self._ask()
            return self._lock_rule if isinstance(self._lock_rule, tuple) else None

    def _ask(self) -> tuple[str, timedelta] | None:
        try:
            found = self._s3.get_object_lock_configuration(Bucket=self.bucket)["ObjectLockConfiguration"]
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == NO_LOCK:
                return None
            raise
        if found.get("ObjectLockEnabled") != "Enabled":
            return None
        default = found.get("Rule", {}).get("DefaultRetention", {})
        period = timedelta(days=default.get("Days") or 365 * (default.get("Years") or 0)) or self.retention
        return default.get("Mode") or "GOVERNANCE", period
