"""The catalog over gRPC against real Postgres: status codes, transactions, concurrency."""

from __future__ import annotations

import asyncio
import uuid

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from cleantracks_proto import catalog_pb2 as pb
from cleantracks_proto import catalog_pb2_grpc


@pytest.fixture
async def stub(stack):
    async with grpc.aio.insecure_channel(stack.address) as channel:
        yield catalog_pb2_grpc.CatalogStub(channel)


def _name() -> str:
    return f"grpc-{uuid.uuid4().hex[:8]}"


async def _code(call) -> grpc.StatusCode:
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await call
    return info.value.code()


async def test_health_service_reports_serving(stack):
    async with grpc.aio.insecure_channel(stack.address) as channel:
        health = health_pb2_grpc.HealthStub(channel)
        for service in ("", "cleantracks.catalog.v1.Catalog"):
            reply = await health.Check(health_pb2.HealthCheckRequest(service=service))
            assert reply.status == health_pb2.HealthCheckResponse.SERVING


async def test_domain_errors_map_to_status_codes(stub):
    assert await _code(stub.GetWordList(pb.GetWordListRequest(id=10**12))) == (
        grpc.StatusCode.NOT_FOUND
    )
    assert await _code(stub.CreateWordList(pb.CreateWordListRequest(name=" "))) == (
        grpc.StatusCode.INVALID_ARGUMENT
    )
    name = _name()
    await stub.CreateWordList(pb.CreateWordListRequest(name=name, is_active=True))
    assert await _code(stub.CreateWordList(pb.CreateWordListRequest(name=name.upper()))) == (
        grpc.StatusCode.ALREADY_EXISTS
    )
    default = await stub.GetDefaultWordList(pb.GetDefaultWordListRequest())
    assert await _code(stub.DeleteWordList(pb.DeleteWordListRequest(id=default.id))) == (
        grpc.StatusCode.FAILED_PRECONDITION
    )


async def test_entries_are_normalized_and_validated(stub):
    wl = await stub.CreateWordList(pb.CreateWordListRequest(name=_name(), is_active=True))
    reply = await stub.AddWords(
        pb.AddWordsRequest(
            list_id=wl.id,
            words=[
                pb.WordEntry(
                    word="  Heck  ", severity=pb.SEVERITY_LOW, variations=["HECKIN", "heck"]
                )
            ],
        )
    )
    assert reply.added == 1 and reply.list.version == 2
    words = await stub.ListWords(pb.ListWordsRequest(list_id=wl.id))
    assert [(w.word, list(w.variations), w.category) for w in words.words] == [
        ("heck", ["heckin"], "profanity")
    ]
    bad = pb.AddWordsRequest(list_id=wl.id, words=[pb.WordEntry(word="a|b")])
    assert await _code(stub.AddWords(bad)) == grpc.StatusCode.INVALID_ARGUMENT


async def test_import_is_all_or_nothing(stub):
    wl = await stub.CreateWordList(pb.CreateWordListRequest(name=_name(), is_active=True))
    await stub.AddWords(pb.AddWordsRequest(list_id=wl.id, words=[pb.WordEntry(word="keep")]))
    duplicate = pb.ImportWordsRequest(
        list_id=wl.id,
        words=[pb.WordEntry(word="new"), pb.WordEntry(word="NEW")],
        merge=False,
    )
    assert await _code(stub.ImportWords(duplicate)) == grpc.StatusCode.INVALID_ARGUMENT
    words = await stub.ListWords(pb.ListWordsRequest(list_id=wl.id))
    assert [w.word for w in words.words] == ["keep"]
    assert words.list.version == 2


async def test_exactly_one_default_under_concurrent_changes(fresh_stack):
    async with grpc.aio.insecure_channel(fresh_stack.address) as channel:
        stub = catalog_pb2_grpc.CatalogStub(channel)
        ids = [
            (await stub.CreateWordList(pb.CreateWordListRequest(name=_name(), is_active=True))).id
            for _ in range(6)
        ]
        await asyncio.gather(
            *(stub.UpdateWordList(pb.UpdateWordListRequest(id=i, is_default=True)) for i in ids)
        )
        lists = (await stub.ListWordLists(pb.ListWordListsRequest())).lists
        assert sum(wl.is_default for wl in lists) == 1


async def test_job_lifecycle_and_terminal_state(stub):
    job_id = str(uuid.uuid4())
    job = await stub.CreateJob(pb.CreateJobRequest(job_id=job_id, input_filename="a.wav"))
    assert job.status == "queued" and not job.HasField("started_at")
    assert (
        await _code(stub.CreateJob(pb.CreateJobRequest(job_id=job_id, input_filename="a.wav")))
        == grpc.StatusCode.ALREADY_EXISTS
    )
    job = await stub.UpdateJob(pb.UpdateJobRequest(job_id=job_id, status="processing"))
    assert job.HasField("started_at")
    job = await stub.UpdateJob(
        pb.UpdateJobRequest(job_id=job_id, status="completed", words_detected=3)
    )
    assert job.HasField("completed_at") and job.processing_time_seconds >= 0
    again = pb.UpdateJobRequest(job_id=job_id, status="completed")
    assert await _code(stub.UpdateJob(again)) == grpc.StatusCode.FAILED_PRECONDITION
    missing = pb.UpdateJobRequest(job_id="nope", status="processing")
    assert await _code(stub.UpdateJob(missing)) == grpc.StatusCode.NOT_FOUND
