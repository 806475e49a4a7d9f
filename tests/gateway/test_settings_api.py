"""User Settings through HTTP: grouped GET, flat PUT, defaults, validation."""

from __future__ import annotations

import uuid

GROUPS = {
    "processing": {"default_word_list_id", "default_censor_method", "default_min_severity"},
    "audio": {"preferred_output_format", "preferred_bitrate", "preserve_metadata"},
    "model": {"whisper_model_size", "use_gpu"},
    "ui": {"theme", "language", "show_waveform", "auto_play_preview"},
    "privacy": {"save_history", "save_transcriptions", "anonymous_mode"},
}


def _user() -> str:
    return f"user-{uuid.uuid4().hex[:8]}"


async def test_get_default_user_has_contract_shape(api):
    r = await api.get("/api/settings")
    assert r.status_code == 200
    body = r.json()
    assert body["user_id"] == "default"
    assert isinstance(body["id"], int)
    for group, keys in GROUPS.items():
        assert set(body[group]) == keys, group


async def test_user_never_seen_gets_defaults(api):
    lists = (await api.get("/api/wordlists")).json()
    default_id = next(wl["id"] for wl in lists if wl["is_default"])
    body = (await api.get("/api/settings", params={"user_id": _user()})).json()
    assert body["processing"] == {
        "default_word_list_id": default_id,
        "default_censor_method": "beep",
        "default_min_severity": "low",
    }
    assert body["audio"] == {
        "preferred_output_format": "mp3",
        "preferred_bitrate": "192k",
        "preserve_metadata": True,
    }
    assert body["model"] == {"whisper_model_size": "base", "use_gpu": True}
    assert body["ui"] == {
        "theme": "light",
        "language": "en",
        "show_waveform": True,
        "auto_play_preview": False,
    }
    assert body["privacy"] == {
        "save_history": True,
        "save_transcriptions": False,
        "anonymous_mode": False,
    }


async def test_put_contract_example_then_get_grouped(api):
    user = _user()
    r = await api.put(
        "/api/settings",
        json={
            "user_id": user,
            "default_censor_method": "silence",
            "whisper_model_size": "small",
            "theme": "dark",
        },
    )
    assert r.status_code == 200, r.text
    assert r.json()["processing"]["default_censor_method"] == "silence"
    body = (await api.get("/api/settings", params={"user_id": user})).json()
    assert body["user_id"] == user
    assert body["processing"]["default_censor_method"] == "silence"
    assert body["model"]["whisper_model_size"] == "small"
    assert body["ui"]["theme"] == "dark"
    # Untouched keys keep their defaults, and other users are not affected.
    assert body["ui"]["language"] == "en"
    other = (await api.get("/api/settings", params={"user_id": _user()})).json()
    assert other["ui"]["theme"] == "light"


async def test_put_every_flat_key(api):
    user = _user()
    created = await api.post("/api/wordlists", json={"name": f"settings-{user}"})
    list_id = created.json()["id"]
    flat = {
        "default_word_list_id": list_id,
        "default_censor_method": "white_noise",
        "default_min_severity": "high",
        "preferred_output_format": "flac",
        "preferred_bitrate": "320k",
        "preserve_metadata": False,
        "whisper_model_size": "tiny",
        "use_gpu": False,
        "theme": "dark",
        "language": "de",
        "show_waveform": False,
        "auto_play_preview": True,
        "save_history": False,
        "save_transcriptions": True,
        "anonymous_mode": True,
    }
    r = await api.put("/api/settings", json={"user_id": user, **flat})
    assert r.status_code == 200, r.text
    body = (await api.get("/api/settings", params={"user_id": user})).json()
    got = {key: body[group][key] for group, keys in GROUPS.items() for key in keys}
    assert got == flat
    # The same id across reads: one row per user.
    again = (await api.get("/api/settings", params={"user_id": user})).json()
    assert again["id"] == body["id"]


async def test_put_without_user_id_changes_default_user(fresh_stack):
    api = fresh_stack.http
    r = await api.put("/api/settings", json={"default_min_severity": "medium"})
    assert r.status_code == 200, r.text
    body = (await api.get("/api/settings")).json()
    assert body["processing"]["default_min_severity"] == "medium"


async def test_bad_settings_are_400_naming_the_field_and_change_nothing(api):
    user = _user()
    await api.put("/api/settings", json={"user_id": user, "theme": "dark"})
    before = (await api.get("/api/settings", params={"user_id": user})).json()
    cases = [
        ({"default_censor_method": "foo"}, "default_censor_method"),
        ({"default_min_severity": "bar"}, "default_min_severity"),
        ({"preferred_output_format": "exe"}, "preferred_output_format"),
        ({"preferred_bitrate": "loud"}, "preferred_bitrate"),
        ({"whisper_model_size": "gigantic"}, "whisper_model_size"),
        ({"theme": "neon"}, "theme"),
        ({"language": "english!"}, "language"),
        ({"use_gpu": "yes"}, "use_gpu"),
        ({"default_word_list_id": "one"}, "default_word_list_id"),
        ({"default_word_list_id": 987654321}, "default_word_list_id"),
        ({"not_a_setting": 1}, "not_a_setting"),
        # A bad key next to a good one changes neither.
        ({"theme": "light", "default_censor_method": "foo"}, "default_censor_method"),
    ]
    for change, field in cases:
        r = await api.put("/api/settings", json={"user_id": user, **change})
        assert r.status_code == 400, (change, r.text)
        assert field in r.json()["error"], (change, r.json())
    after = (await api.get("/api/settings", params={"user_id": user})).json()
    assert after == before


async def test_malformed_settings_body_is_400(api):
    r = await api.put(
        "/api/settings", content=b'{"theme": ', headers={"content-type": "application/json"}
    )
    assert r.status_code == 400
    assert "JSON" in r.json()["error"]
    r = await api.put("/api/settings", json=["theme", "dark"])
    assert r.status_code == 400
    assert "error" in r.json()


async def test_settings_default_list_falls_back_when_list_deleted(api):
    user = _user()
    list_id = (await api.post("/api/wordlists", json={"name": f"gone-{user}"})).json()["id"]
    await api.put("/api/settings", json={"user_id": user, "default_word_list_id": list_id})
    assert (await api.delete(f"/api/wordlists/{list_id}")).status_code == 200
    body = (await api.get("/api/settings", params={"user_id": user})).json()
    lists = (await api.get("/api/wordlists")).json()
    default_id = next(wl["id"] for wl in lists if wl["is_default"])
    assert body["processing"]["default_word_list_id"] == default_id
