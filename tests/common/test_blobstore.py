"""The NATS Object Store blob store against a real NATS with JetStream."""

from __future__ import annotations

import hashlib
import os
import uuid

import nats
import pytest

from services.common.blobstore import NatsBlobStore
from services.common.errors import NotFound


@pytest.fixture
async def blobs(nats_url):
    nc = await nats.connect(nats_url)
    try:
        yield await NatsBlobStore.open(nc.jetstream(), f"test-{uuid.uuid4().hex[:8]}")
    finally:
        await nc.drain()


async def test_round_trip_streams_a_large_file(blobs, tmp_path):
    source = tmp_path / "in.bin"
    data = os.urandom(3 * 1024 * 1024 + 17)
    source.write_bytes(data)
    assert await blobs.put_file("uploads/a/in.bin", source) == len(data)
    assert await blobs.size("uploads/a/in.bin") == len(data)
    target = tmp_path / "out.bin"
    assert await blobs.get_to_file("uploads/a/in.bin", target) == len(data)
    assert hashlib.sha256(target.read_bytes()).digest() == hashlib.sha256(data).digest()
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".part")] == []


async def test_missing_key_is_not_found_and_leaves_no_file(blobs, tmp_path):
    with pytest.raises(NotFound, match="nope"):
        await blobs.size("nope")
    with pytest.raises(NotFound):
        await blobs.get_to_file("nope", tmp_path / "x")
    assert list(tmp_path.iterdir()) == []


async def test_delete_is_idempotent(blobs, tmp_path):
    source = tmp_path / "a"
    source.write_bytes(b"abc")
    await blobs.put_file("k", source)
    await blobs.delete("k")
    await blobs.delete("k")
    with pytest.raises(NotFound):
        await blobs.size("k")


async def test_keys_lists_what_is_stored_by_prefix(blobs, tmp_path):
    assert await blobs.keys() == []
    source = tmp_path / "a"
    source.write_bytes(b"abc")
    for key in ("uploads/2/a.mp3", "results/1/a.mp3", "uploads/1/a.mp3"):
        await blobs.put_file(key, source)
    assert await blobs.keys("uploads/") == ["uploads/1/a.mp3", "uploads/2/a.mp3"]
    await blobs.delete("uploads/1/a.mp3")
    assert await blobs.keys() == ["results/1/a.mp3", "uploads/2/a.mp3"]


async def test_a_description_is_kept_with_the_blob(blobs, tmp_path):
    source = tmp_path / "a"
    source.write_bytes(b"abc")
    await blobs.put_file("files/1", source, description='{"name": "a.wav"}')
    await blobs.put_file("files/2", source)
    assert await blobs.describe("files/1") == '{"name": "a.wav"}'
    assert await blobs.describe("files/2") == ""
    with pytest.raises(NotFound):
        await blobs.describe("files/3")
