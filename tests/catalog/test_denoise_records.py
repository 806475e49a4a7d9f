"""API keys and noise-removal job records over gRPC against real Postgres."""

from __future__ import annotations

import uuid

import grpc
import pytest

from cleantracks_proto import catalog_pb2 as pb
from cleantracks_proto import catalog_pb2_grpc
from services.catalog import rules
from services.common.errors import FailedPrecondition, InvalidArgument


@pytest.fixture
async def stub(stack):
    async with grpc.aio.insecure_channel(stack.address) as channel:
        yield catalog_pb2_grpc.CatalogStub(channel)


async def _code(call) -> grpc.StatusCode:
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await call
    return info.value.code()


async def test_api_keys_are_created_verified_listed_and_revoked(stub):
    created = await stub.CreateApiKey(pb.CreateApiKeyRequest(name="ci"))
    secret = created.secret
    assert secret.startswith("ct_") and len(secret) > 30
    assert created.key.prefix == secret[:10] and not created.key.revoked
    verified = await stub.VerifyApiKey(pb.VerifyApiKeyRequest(secret=secret))
    assert verified.id == created.key.id
    listed = await stub.ListApiKeys(pb.ListApiKeysRequest())
    assert created.key.id in [k.id for k in listed.keys]
    assert all(secret not in str(k) for k in listed.keys)  # only a hash is kept
    bad = stub.VerifyApiKey(pb.VerifyApiKeyRequest(secret=secret + "x"))
    assert await _code(bad) == grpc.StatusCode.UNAUTHENTICATED
    assert await _code(stub.VerifyApiKey(pb.VerifyApiKeyRequest(secret=""))) == (
        grpc.StatusCode.UNAUTHENTICATED
    )
    revoked = await stub.RevokeApiKey(pb.RevokeApiKeyRequest(id=created.key.id))
    assert revoked.revoked
    gone = stub.VerifyApiKey(pb.VerifyApiKeyRequest(secret=secret))
    assert await _code(gone) == grpc.StatusCode.UNAUTHENTICATED
    assert await _code(stub.RevokeApiKey(pb.RevokeApiKeyRequest(id=987654))) == (
        grpc.StatusCode.NOT_FOUND
    )
    assert await _code(stub.CreateApiKey(pb.CreateApiKeyRequest(name=" "))) == (
        grpc.StatusCode.INVALID_ARGUMENT
    )


async def test_a_denoise_job_goes_from_downloading_to_succeeded(stub):
    job_id = str(uuid.uuid4())
    job = await stub.CreateDenoiseJob(
        pb.CreateDenoiseJobRequest(
            job_id=job_id, state="downloading", input="https://example.com/a.wav", amount=90
        )
    )
    assert (job.state, job.amount, job.percent) == ("downloading", 90, 0.0)
    job = await stub.UpdateDenoiseJob(
        pb.UpdateDenoiseJobRequest(job_id=job_id, state="queued", input_key="files/x")
    )
    job = await stub.UpdateDenoiseJob(pb.UpdateDenoiseJobRequest(job_id=job_id, queue_seq=7))
    assert (job.state, job.queue_seq, job.input_key) == ("queued", 7, "files/x")
    job = await stub.UpdateDenoiseJob(
        pb.UpdateDenoiseJobRequest(job_id=job_id, state="in_progress", percent=40.0)
    )
    assert job.HasField("started_at") and not job.HasField("completed_at")
    job = await stub.UpdateDenoiseJob(
        pb.UpdateDenoiseJobRequest(job_id=job_id, state="succeeded", download_path="dl/a.wav")
    )
    assert (job.state, job.percent, job.download_path) == ("succeeded", 100.0, "dl/a.wav")
    assert job.HasField("completed_at")
    again = stub.UpdateDenoiseJob(pb.UpdateDenoiseJobRequest(job_id=job_id, state="failed"))
    assert await _code(again) == grpc.StatusCode.FAILED_PRECONDITION
    late = stub.UpdateDenoiseJob(pb.UpdateDenoiseJobRequest(job_id=job_id, percent=50.0))
    assert await _code(late) == grpc.StatusCode.FAILED_PRECONDITION
    fetched = await stub.GetDenoiseJob(pb.GetDenoiseJobRequest(job_id=job_id))
    assert fetched.state == "succeeded" and fetched.input == "https://example.com/a.wav"


@pytest.mark.parametrize(
    "request_fields",
    [
        {"state": "queued", "amount": 0},
        {"state": "queued", "amount": 101},
        {"state": "succeeded", "amount": 50},
        {"state": "queued", "amount": 50, "job_id": ""},
    ],
)
async def test_bad_new_jobs_are_refused(stub, request_fields):
    fields = {"job_id": str(uuid.uuid4()), "input": "x", **request_fields}
    call = stub.CreateDenoiseJob(pb.CreateDenoiseJobRequest(**fields))
    assert await _code(call) == grpc.StatusCode.INVALID_ARGUMENT


async def test_unknown_job_is_not_found(stub):
    call = stub.GetDenoiseJob(pb.GetDenoiseJobRequest(job_id="nope"))
    assert await _code(call) == grpc.StatusCode.NOT_FOUND


@pytest.mark.parametrize(
    "current, new, allowed",
    [
        ("downloading", "queued", True),
        ("downloading", "in_progress", False),
        ("queued", "in_progress", True),
        ("queued", "downloading", False),
        ("in_progress", "in_progress", True),
        ("in_progress", "queued", False),
        ("in_progress", "failed", True),
        ("succeeded", "in_progress", False),
        ("failed", "failed", False),
    ],
)
def test_denoise_transitions(current, new, allowed):
    if allowed:
        rules.check_denoise_transition("j", current, new)
    else:
        with pytest.raises(FailedPrecondition):
            rules.check_denoise_transition("j", current, new)


def test_unknown_state_is_invalid():
    with pytest.raises(InvalidArgument):
        rules.check_denoise_transition("j", "queued", "paused")
