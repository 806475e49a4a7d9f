"""The API-key command line against a real catalog."""

from __future__ import annotations

import asyncio

from services.catalog import apikeys


async def test_create_list_verify_and_revoke(stack, monkeypatch, capsys):
    monkeypatch.setenv("CATALOG_ADDRESS", stack.address)
    assert await asyncio.to_thread(apikeys.main, ["create", "podcast app"]) == 0
    key = capsys.readouterr().out.strip()
    assert key.startswith("ct_")
    assert await asyncio.to_thread(apikeys.verify_key, stack.address, key)
    assert await asyncio.to_thread(apikeys.main, ["list"]) == 0
    listing = capsys.readouterr().out
    line = next(line for line in listing.splitlines() if line.endswith("podcast app"))
    key_id, prefix, state, _ = line.split("\t")
    assert prefix == key[:10] + "..." and state == "active" and key not in listing
    assert await asyncio.to_thread(apikeys.main, ["revoke", key_id]) == 0
    assert not await asyncio.to_thread(apikeys.verify_key, stack.address, key)
    assert await asyncio.to_thread(apikeys.main, ["revoke", "987654"]) == 1
    assert "not found" in capsys.readouterr().err
