"""The sandbox's S3 (moto behind the layer) refuses Object Lock uploads where S3 would."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any


from sandbox.aws import AwsSandbox
from tests.fixtures_aws import BotIdentity, client, unique
from tests.sandbox.test_aws_enforcement import refused


def s3(sandbox: AwsSandbox, bot: BotIdentity) -> Any:
    return client(sandbox, "s3", bot.access_key_id, bot.secret_access_key, s3={"addressing_style": "path"})


def test_retention_must_end_in_the_future(aws_sandbox: AwsSandbox, bot_identity: BotIdentity) -> None:
    bucket = unique("locked")
    store = s3(aws_sandbox, bot_identity)
    store.create_bucket(Bucket=bucket, ObjectLockEnabledForBucket=True)
    past = datetime.now(UTC) - timedelta(minutes=1)
    code, message, status = refused(store.put_object, Bucket=bucket, Key="a", Body=b"x", ChecksumAlgorithm="SHA256",
                                    ObjectLockMode="GOVERNANCE", ObjectLockRetainUntilDate=past)
    assert (code, status) == ("InvalidArgument", 400) and "future" in message
    code, _, status = refused(store.put_object, Bucket=bucket, Key="a", Body=b"x", ChecksumAlgorithm="SHA256",
                              ObjectLockMode="FOREVER",
                              ObjectLockRetainUntilDate=datetime.now(UTC) + timedelta(days=1))
    assert (code, status) == ("InvalidArgument", 400)
    until = datetime.now(UTC) + timedelta(days=1)
    put = store.put_object(Bucket=bucket, Key="a", Body=b"x", ChecksumAlgorithm="SHA256",
                           ObjectLockMode="GOVERNANCE", ObjectLockRetainUntilDate=until)
    code, _, _ = refused(store.delete_object, Bucket=bucket, Key="a", VersionId=put["VersionId"])
    assert code == "AccessDenied"  # moto itself keeps a locked version


def test_lock_headers_need_a_locked_bucket(aws_sandbox: AwsSandbox, bot_identity: BotIdentity) -> None:
    bucket = unique("plain")
    store = s3(aws_sandbox, bot_identity)
    store.create_bucket(Bucket=bucket)
    code, _, status = refused(store.put_object, Bucket=bucket, Key="a", Body=b"x", ChecksumAlgorithm="SHA256",
                              ObjectLockMode="GOVERNANCE",
                              ObjectLockRetainUntilDate=datetime.now(UTC) + timedelta(days=1))
    assert (code, status) == ("InvalidRequest", 400)


