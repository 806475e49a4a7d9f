"""The eight word-list endpoints through HTTP, exactly as the contract shows them.

Runs against the in-process gateway over a real catalog gRPC server and a real Postgres.
Tests that change which list is the default use ``fresh_stack`` (a database of their own);
the others share one stack and only touch lists they create under unique names.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import re
import uuid
from typing import Any

import httpx
import pytest

from tests.conftest import unique

SEED_NAME = "English - General"
SEVERITIES = ("low", "medium", "high", "extreme")
FORMATS = ("json", "csv", "txt")
CONTENT_TYPES = {"json": "application/json", "csv": "text/csv", "txt": "text/plain"}
ISO_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
UNKNOWN_ID = 2**62  # in range for a bigint, never handed out by these tests
LIST_FIELDS = {
    "id",
    "name",
    "description",
    "language",
    "is_default",
    "is_active",
    "word_count",
    "created_at",
    "updated_at",
}
DETAIL_FIELDS = {
    "id",
    "name",
    "total_words",
    "by_severity",
    "by_category",
    "has_variations",
    "created_at",
    "updated_at",
    "version",
}
CONTRACT_WORDS = {
    "words": {
        "word1": {
            "severity": "high",
            "category": "profanity",
            "variations": ["w0rd1", "word_1"],
            "notes": "Common misspellings",
        },
        "word2": {"severity": "medium", "category": "slur"},
    }
}


def _unique(prefix: str = "list") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


class Http:
    """The gateway client, asserting that no response is ever a 5xx or a 422."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    async def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        response = await self.client.request(method, url, **kwargs)
        assert response.status_code < 500, (method, url, response.status_code, response.text)
        assert response.status_code != 422, (method, url, response.text)
        return response

    async def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return await self.request("GET", url, **kwargs)

    async def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return await self.request("POST", url, **kwargs)

    async def put(self, url: str, **kwargs: Any) -> httpx.Response:
        return await self.request("PUT", url, **kwargs)

    async def delete(self, url: str, **kwargs: Any) -> httpx.Response:
        return await self.request("DELETE", url, **kwargs)

    # --- helpers over the endpoints ---------------------------------------------------

    async def lists(self, active_only: bool | None = None) -> list[dict[str, Any]]:
        params = {} if active_only is None else {"active_only": str(active_only).lower()}
        response = await self.get("/api/wordlists", params=params)
        assert response.status_code == 200, response.text
        return response.json()

    async def by_name(self, name: str) -> dict[str, Any] | None:
        matches = [wl for wl in await self.lists(active_only=False) if wl["name"] == name]
        assert len(matches) <= 1
        return matches[0] if matches else None

    async def named(self, name: str) -> dict[str, Any]:
        listed = await self.by_name(name)
        assert listed is not None, name
        return listed

    async def create(self, name: str | None = None, **fields: Any) -> int:
        body = {"name": name or _unique(), **fields}
        response = await self.post("/api/wordlists", json=body)
        assert response.status_code == 201, response.text
        return response.json()["id"]

    async def detail(self, list_id: int) -> dict[str, Any]:
        response = await self.get(f"/api/wordlists/{list_id}")
        assert response.status_code == 200, response.text
        return response.json()

    async def add(self, list_id: int, words: Any) -> dict[str, Any]:
        response = await self.post(f"/api/wordlists/{list_id}/words", json={"words": words})
        assert response.status_code == 200, response.text
        return response.json()

    async def remove(self, list_id: int, words: Any) -> httpx.Response:
        return await self.request(
            "DELETE", f"/api/wordlists/{list_id}/words", json={"words": words}
        )

    async def export(self, list_id: int, fmt: str | None = "json") -> httpx.Response:
        params = {} if fmt is None else {"format": fmt}
        return await self.get(f"/api/wordlists/{list_id}/export", params=params)

    async def export_words(self, list_id: int) -> dict[str, Any]:
        response = await self.export(list_id, "json")
        assert response.status_code == 200, response.text
        return response.json()["words"]

    async def import_file(
        self,
        list_id: int,
        data: bytes,
        filename: str = "words.txt",
        merge: Any = None,
    ) -> httpx.Response:
        form = {} if merge is None else {"merge": str(merge).lower()}
        return await self.post(
            f"/api/wordlists/{list_id}/import",
            files={"file": (filename, data, "application/octet-stream")},
            data=form,
        )

    async def snapshot(self, list_id: int) -> tuple[dict[str, Any], bytes]:
        """The list's detail and its full json export: what must not change on bad input."""
        response = await self.export(list_id, "json")
        assert response.status_code == 200, response.text
        return await self.detail(list_id), response.content

    async def defaults(self) -> list[int]:
        return [wl["id"] for wl in await self.lists(active_only=False) if wl["is_default"]]


def _error(response: httpx.Response, status: int, *needles: str) -> str:
    """Asserts an ``{"error": "..."}`` response whose message mentions every needle."""
    assert response.status_code == status, (response.status_code, response.text)
    body = response.json()
    assert set(body) == {"error"}, body
    message = body["error"]
    assert isinstance(message, str) and message
    for needle in needles:
        assert needle.lower() in message.lower(), (needle, message)
    return message


@pytest.fixture
def http(api: httpx.AsyncClient) -> Http:
    return Http(api)


@pytest.fixture
def fresh(fresh_stack: Any) -> Http:
    return Http(fresh_stack.http)


async def _seed(http: Http) -> dict[str, Any]:
    return await http.named(SEED_NAME)


# --- GET /api/wordlists ----------------------------------------------------------------


async def test_list_shows_the_seeded_default_with_every_contract_field(http: Http) -> None:
    lists = await http.lists()
    assert isinstance(lists, list)
    seed = next(wl for wl in lists if wl["name"] == SEED_NAME)
    assert LIST_FIELDS <= set(seed)
    assert isinstance(seed["id"], int) and seed["id"] >= 1
    assert seed["description"] and isinstance(seed["description"], str)
    assert seed["language"] == "en"
    assert seed["is_default"] is True
    assert seed["is_active"] is True
    assert isinstance(seed["word_count"], int) and seed["word_count"] >= 150
    assert ISO_UTC.match(seed["created_at"]) and ISO_UTC.match(seed["updated_at"])
    for wl in lists:
        assert LIST_FIELDS <= set(wl)
        assert wl["is_active"] is True
    assert await http.defaults() == [seed["id"]]

    detail = await http.detail(seed["id"])
    assert DETAIL_FIELDS <= set(detail)
    assert detail["id"] == seed["id"] and detail["name"] == SEED_NAME
    assert detail["total_words"] == seed["word_count"]
    assert set(detail["by_severity"]) == set(SEVERITIES)
    assert sum(detail["by_severity"].values()) == detail["total_words"]
    assert sum(detail["by_category"].values()) == detail["total_words"]
    assert "profanity" in detail["by_category"]
    assert 0 < detail["has_variations"] <= detail["total_words"]
    assert isinstance(detail["version"], int) and detail["version"] >= 1
    assert ISO_UTC.match(detail["created_at"]) and ISO_UTC.match(detail["updated_at"])


async def test_active_only_defaults_to_true_and_false_shows_inactive_lists(http: Http) -> None:
    name = _unique("inactive")
    list_id = await http.create(name, is_active=False)

    assert list_id not in [wl["id"] for wl in await http.lists()]
    assert list_id not in [wl["id"] for wl in await http.lists(active_only=True)]
    every = {wl["id"]: wl for wl in await http.lists(active_only=False)}
    assert every[list_id]["is_active"] is False and every[list_id]["name"] == name
    assert (await http.detail(list_id))["id"] == list_id  # still reachable by id

    response = await http.put(f"/api/wordlists/{list_id}", json={"is_active": True})
    assert response.status_code == 200, response.text
    assert list_id in [wl["id"] for wl in await http.lists()]


async def test_active_only_rejects_a_non_boolean(http: Http) -> None:
    response = await http.get("/api/wordlists", params={"active_only": "perhaps"})
    _error(response, 400, "active_only")


# --- POST /api/wordlists and GET /api/wordlists/{id} -----------------------------------


async def test_create_with_the_contract_body_then_get_its_details(http: Http) -> None:
    name = _unique("Custom List")
    body = {
        "name": name,
        "description": "My custom word list",
        "language": "en",
        "is_default": False,
    }
    response = await http.post("/api/wordlists", json=body)
    assert response.status_code == 201, response.text
    created = response.json()
    assert set(created) == {"id", "message"}
    assert created["message"] == "Word list created successfully"
    list_id = created["id"]
    assert isinstance(list_id, int) and list_id >= 1

    detail = await http.detail(list_id)
    assert DETAIL_FIELDS <= set(detail)
    assert detail["id"] == list_id
    assert detail["name"] == name
    assert detail["description"] == "My custom word list"
    assert detail["language"] == "en"
    assert detail["is_default"] is False and detail["is_active"] is True
    assert detail["total_words"] == 0
    assert detail["by_severity"] == {"low": 0, "medium": 0, "high": 0, "extreme": 0}
    assert detail["by_category"] == {}
    assert detail["has_variations"] == 0
    assert detail["version"] == 1
    assert ISO_UTC.match(detail["created_at"])
    assert detail["updated_at"] == detail["created_at"]

    listed = await http.named(name)
    assert listed["id"] == list_id
    assert listed["word_count"] == 0 and listed["is_default"] is False


async def test_create_with_only_a_name_takes_the_defaults(http: Http) -> None:
    name = _unique()
    list_id = await http.create(name)
    detail = await http.detail(list_id)
    assert detail["name"] == name
    assert detail["description"] == ""
    assert detail["language"] == "en"
    assert detail["is_default"] is False and detail["is_active"] is True


async def test_create_trims_the_name(http: Http) -> None:
    name = _unique()
    list_id = await http.create(f"  {name}  ")
    assert (await http.detail(list_id))["name"] == name


@pytest.mark.parametrize(
    ("body", "needles"),
    [
        ({"name": 123}, ["name"]),
        ({"name": None}, ["name"]),
        ({"name": "x", "is_default": "yes"}, ["is_default"]),
        ({"name": "x", "is_active": 1}, ["is_active"]),
        ({"name": "x", "description": 5}, ["description"]),
        ({"description": "no name"}, ["name", "required"]),
        ({"name": "   "}, ["name", "empty"]),
        ({"name": ""}, ["name", "empty"]),
        ({"name": "x" * 201}, ["name", "200"]),
        ({"name": "bad\nname"}, ["name", "control"]),
        ({"name": "x", "language": "english!!"}, ["language"]),
        ({"name": "x", "colour": "red"}, ["colour", "unknown field"]),
        ({"name": "x", "is_default": True, "is_active": False}, ["default", "active"]),
        ([{"name": "x"}], []),
        ("x", []),
    ],
)
async def test_create_rejects_bad_bodies_and_creates_nothing(
    http: Http, body: Any, needles: list[str]
) -> None:
    if isinstance(body, dict) and body.get("name") == "x":
        body = {**body, "name": _unique("never")}
    before = await http.lists(active_only=False)
    response = await http.post("/api/wordlists", json=body)
    _error(response, 400, *needles)
    assert await http.lists(active_only=False) == before


async def test_create_rejects_a_malformed_json_body(http: Http) -> None:
    before = await http.lists(active_only=False)
    response = await http.post(
        "/api/wordlists", content='{"name": ', headers={"content-type": "application/json"}
    )
    _error(response, 400, "json")
    response = await http.post("/api/wordlists")
    _error(response, 400)
    assert await http.lists(active_only=False) == before


async def test_create_rejects_a_duplicate_name_in_any_case(http: Http) -> None:
    name = _unique("Dup")
    await http.create(name)
    before = await http.lists(active_only=False)
    for taken in (name, name.upper(), name.lower(), f"  {name} ", SEED_NAME.upper()):
        response = await http.post("/api/wordlists", json={"name": taken})
        _error(response, 400, "already exists")
    assert await http.lists(active_only=False) == before


async def test_concurrent_creates_of_one_name_in_different_cases_make_one_list(
    http: Http,
) -> None:
    name = _unique("Race")
    variants = [name, name.upper(), name.lower(), name.swapcase(), name.title()] * 2
    responses = await asyncio.gather(
        *(http.post("/api/wordlists", json={"name": v}) for v in variants)
    )
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201] + [400] * (len(variants) - 1), [r.text for r in responses]
    for r in responses:
        if r.status_code == 400:
            _error(r, 400, "already exists")
    same = [wl for wl in await http.lists(active_only=False) if wl["name"].lower() == name.lower()]
    assert len(same) == 1


# --- PUT /api/wordlists/{id} -----------------------------------------------------------


async def test_put_changes_name_and_description(http: Http) -> None:
    list_id = await http.create(description="before")
    new_name = _unique("Updated Name")
    response = await http.put(
        f"/api/wordlists/{list_id}",
        json={"name": new_name, "description": "Updated description"},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["id"] == list_id and body["message"] == "Word list updated successfully"
    assert body["name"] == new_name and body["description"] == "Updated description"
    assert body["version"] == 2

    detail = await http.detail(list_id)
    assert detail["name"] == new_name
    assert detail["description"] == "Updated description"
    assert detail["version"] == 2
    assert (await http.named(new_name))["id"] == list_id


async def test_put_renames_to_another_case_of_its_own_name(http: Http) -> None:
    name = _unique("Case")
    list_id = await http.create(name)
    response = await http.put(f"/api/wordlists/{list_id}", json={"name": name.upper()})
    assert response.status_code == 200, response.text
    assert (await http.detail(list_id))["name"] == name.upper()


async def test_put_with_nothing_to_change_keeps_the_version(http: Http) -> None:
    name = _unique()
    list_id = await http.create(name, description="same")
    for body in ({}, {"name": name, "description": "same", "is_active": True}):
        response = await http.put(f"/api/wordlists/{list_id}", json=body)
        assert response.status_code == 200, response.text
        assert (await http.detail(list_id))["version"] == 1


async def test_version_bumps_and_updated_at_moves_on_every_change(http: Http) -> None:
    list_id = await http.create()
    first = await http.detail(list_id)
    assert first["version"] == 1
    await asyncio.sleep(1.1)  # timestamps have one-second resolution

    response = await http.put(f"/api/wordlists/{list_id}", json={"description": "changed"})
    assert response.status_code == 200, response.text
    after_put = await http.detail(list_id)
    assert after_put["version"] == 2
    assert after_put["updated_at"] > first["updated_at"]
    assert after_put["created_at"] == first["created_at"]

    added = await http.add(list_id, CONTRACT_WORDS["words"])
    assert added["version"] == 3
    assert (await http.detail(list_id))["version"] == 3

    unchanged = await http.add(list_id, CONTRACT_WORDS["words"])  # same details: no change
    assert unchanged["added"] == 0 and unchanged["updated"] == 0
    assert unchanged["version"] == 3

    updated = await http.add(list_id, {"word2": {"severity": "low", "category": "slur"}})
    assert updated["updated"] == 1 and updated["version"] == 4

    response = await http.remove(list_id, ["word2"])
    assert response.status_code == 200, response.text
    assert response.json()["version"] == 5

    response = await http.import_file(list_id, b"word3\nword4\n", merge=True)
    assert response.status_code == 200, response.text
    assert response.json()["version"] == 6

    response = await http.import_file(list_id, b"word5\n", merge=False)
    assert response.status_code == 200, response.text
    assert response.json()["version"] == 7

    last = await http.detail(list_id)
    assert last["version"] == 7
    assert last["updated_at"] >= after_put["updated_at"]
    assert last["total_words"] == 1


@pytest.mark.parametrize(
    ("body", "needles"),
    [
        ({"name": 123}, ["name"]),
        ({"is_default": "yes"}, ["is_default"]),
        ({"is_active": "no"}, ["is_active"]),
        ({"description": ["x"]}, ["description"]),
        ({"name": "   "}, ["name", "empty"]),
        ({"name": "x" * 201}, ["name"]),
        ({"language": "???"}, ["language"]),
        ({"colour": "red"}, ["colour", "unknown field"]),
        ({"name": "fine", "colour": "red"}, ["colour", "unknown field"]),
        ([], []),
    ],
)
async def test_put_rejects_bad_bodies_and_changes_nothing(
    http: Http, body: Any, needles: list[str]
) -> None:
    list_id = await http.create(description="keep")
    await http.add(list_id, ["keep"])
    before = await http.snapshot(list_id)
    response = await http.put(f"/api/wordlists/{list_id}", json=body)
    _error(response, 400, *needles)
    assert await http.snapshot(list_id) == before


async def test_put_rejects_a_malformed_json_body(http: Http) -> None:
    list_id = await http.create()
    before = await http.snapshot(list_id)
    response = await http.put(
        f"/api/wordlists/{list_id}",
        content='{"name": ',
        headers={"content-type": "application/json"},
    )
    _error(response, 400, "json")
    assert await http.snapshot(list_id) == before


async def test_put_rejects_renaming_onto_a_taken_name_in_any_case(http: Http) -> None:
    other = _unique("Taken")
    await http.create(other)
    list_id = await http.create()
    before = await http.snapshot(list_id)
    for taken in (other, other.upper(), f" {other.lower()} ", SEED_NAME.lower()):
        response = await http.put(
            f"/api/wordlists/{list_id}", json={"name": taken, "description": "not applied"}
        )
        _error(response, 400, "already exists")
    assert await http.snapshot(list_id) == before


# --- the default list (each test on a database of its own) ----------------------------


async def test_put_with_the_contract_body_moves_the_default(fresh: Http) -> None:
    seed = await _seed(fresh)
    seed_version = (await fresh.detail(seed["id"]))["version"]
    list_id = await fresh.create("Custom List", description="My custom word list")
    response = await fresh.put(
        f"/api/wordlists/{list_id}",
        json={"name": "Updated Name", "description": "Updated description", "is_default": True},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["is_default"] is True and body["name"] == "Updated Name"

    assert await fresh.defaults() == [list_id]
    detail = await fresh.detail(list_id)
    assert detail["name"] == "Updated Name"
    assert detail["description"] == "Updated description"
    assert detail["is_default"] is True and detail["version"] == 2
    old = await fresh.detail(seed["id"])
    assert old["is_default"] is False
    assert old["version"] == seed_version + 1  # losing the flag is a change too
    assert old["total_words"] == seed["word_count"]

    # And back again.
    response = await fresh.put(f"/api/wordlists/{seed['id']}", json={"is_default": True})
    assert response.status_code == 200, response.text
    assert await fresh.defaults() == [seed["id"]]


async def test_creating_a_default_list_takes_the_flag_from_the_old_default(fresh: Http) -> None:
    seed = await _seed(fresh)
    seed_version = (await fresh.detail(seed["id"]))["version"]
    list_id = await fresh.create(is_default=True)
    assert await fresh.defaults() == [list_id]
    old = await fresh.detail(seed["id"])
    assert old["is_default"] is False and old["version"] == seed_version + 1
    assert (await fresh.detail(list_id))["is_default"] is True

    # The old default can now be deleted; the new one cannot.
    response = await fresh.delete(f"/api/wordlists/{list_id}")
    _error(response, 400, "default")
    response = await fresh.delete(f"/api/wordlists/{seed['id']}")
    assert response.status_code == 200, response.text
    assert await fresh.defaults() == [list_id]


async def test_the_default_cannot_be_unset_deleted_or_deactivated(fresh: Http) -> None:
    seed = await _seed(fresh)
    other = await fresh.create()
    before = await fresh.snapshot(seed["id"])
    every_before = await fresh.lists(active_only=False)

    attempts = [
        ("PUT", {"is_default": False}, ["default"]),
        ("PUT", {"is_active": False}, ["default", "deactivated"]),
        ("PUT", {"name": "Renamed", "is_default": False}, ["default"]),
        ("PUT", {"description": "changed", "is_active": False}, ["default"]),
        ("DELETE", None, ["default"]),
    ]
    for method, body, needles in attempts:
        kwargs = {} if body is None else {"json": body}
        response = await fresh.request(method, f"/api/wordlists/{seed['id']}", **kwargs)
        _error(response, 400, *needles)
        assert await fresh.snapshot(seed["id"]) == before
        assert await fresh.lists(active_only=False) == every_before
        assert await fresh.defaults() == [seed["id"]]

    # Making another list default while deactivating it is refused as a whole.
    response = await fresh.put(
        f"/api/wordlists/{other}", json={"is_default": True, "is_active": False}
    )
    _error(response, 400, "default")
    assert await fresh.lists(active_only=False) == every_before


async def test_an_inactive_list_cannot_become_the_default(fresh: Http) -> None:
    seed = await _seed(fresh)
    inactive = await fresh.create(is_active=False)
    before = await fresh.lists(active_only=False)
    response = await fresh.put(f"/api/wordlists/{inactive}", json={"is_default": True})
    _error(response, 400, "inactive", "default")
    assert await fresh.lists(active_only=False) == before

    name = _unique("never")
    response = await fresh.post(
        "/api/wordlists", json={"name": name, "is_default": True, "is_active": False}
    )
    _error(response, 400, "default", "active")
    assert await fresh.by_name(name) is None
    assert await fresh.defaults() == [seed["id"]]

    # Activating and making default in one request works.
    response = await fresh.put(
        f"/api/wordlists/{inactive}", json={"is_default": True, "is_active": True}
    )
    assert response.status_code == 200, response.text
    assert await fresh.defaults() == [inactive]


async def test_concurrent_default_changes_leave_exactly_one_default(fresh: Http) -> None:
    ids = [await fresh.create() for _ in range(3)]
    responses = await asyncio.gather(
        *(fresh.put(f"/api/wordlists/{i}", json={"is_default": True}) for i in ids),
        *(fresh.post("/api/wordlists", json={"name": _unique(), "is_default": True}) for _ in ids),
    )
    assert all(r.status_code in (200, 201) for r in responses), [r.text for r in responses]
    defaults = await fresh.defaults()
    assert len(defaults) == 1


# --- DELETE /api/wordlists/{id} and unknown or invalid ids -----------------------------


async def test_delete_removes_the_list_and_its_words(http: Http) -> None:
    name = _unique("Doomed")
    list_id = await http.create(name)
    await http.add(list_id, CONTRACT_WORDS["words"])

    response = await http.delete(f"/api/wordlists/{list_id}")
    assert response.status_code == 200, response.text
    assert response.json() == {"id": list_id, "message": "Word list deleted successfully"}

    _error(await http.get(f"/api/wordlists/{list_id}"), 404, "not found")
    assert await http.by_name(name) is None
    _error(await http.delete(f"/api/wordlists/{list_id}"), 404, "not found")
    _error(await http.export(list_id), 404, "not found")

    # The name is free again, and the new list starts empty.
    again = await http.create(name)
    assert again != list_id
    assert (await http.detail(again))["total_words"] == 0


def _id_requests(list_id: object) -> list[tuple[str, str, dict[str, Any]]]:
    base = f"/api/wordlists/{list_id}"
    return [
        ("GET", base, {}),
        ("PUT", base, {"json": {"description": "x"}}),
        ("DELETE", base, {}),
        ("POST", f"{base}/words", {"json": CONTRACT_WORDS}),
        ("DELETE", f"{base}/words", {"json": {"words": ["word1"]}}),
        ("GET", f"{base}/export", {}),
        ("GET", f"{base}/export?format=csv", {}),
        ("POST", f"{base}/import", {"files": {"file": ("w.txt", b"word1\n", "text/plain")}}),
    ]


async def test_unknown_ids_are_404_on_every_endpoint(http: Http) -> None:
    for method, url, kwargs in _id_requests(UNKNOWN_ID):
        response = await http.request(method, url, **kwargs)
        _error(response, 404, "not found")


@pytest.mark.parametrize("bad_id", ["abc", "0", "-1", "1.5", "99999999999999999999", "%20"])
async def test_invalid_ids_are_400_never_500(http: Http, bad_id: str) -> None:
    for method, url, kwargs in _id_requests(bad_id):
        response = await http.request(method, url, **kwargs)
        assert response.status_code in (400, 404), (method, url, response.text)
        _error(response, response.status_code)
        if response.status_code == 400:
            assert "list_id" in response.json()["error"]


# --- POST and DELETE /api/wordlists/{id}/words -----------------------------------------


async def test_add_words_with_the_contract_body(http: Http) -> None:
    list_id = await http.create()
    response = await http.post(f"/api/wordlists/{list_id}/words", json=CONTRACT_WORDS)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["added"] == 2 and body["updated"] == 0
    assert body["word_count"] == 2 and body["version"] == 2
    assert "2" in body["message"]

    detail = await http.detail(list_id)
    assert detail["total_words"] == 2
    assert detail["by_severity"] == {"low": 0, "medium": 1, "high": 1, "extreme": 0}
    assert detail["by_category"] == {"profanity": 1, "slur": 1}
    assert detail["has_variations"] == 1
    assert (await http.named(detail["name"]))["word_count"] == 2

    assert await http.export_words(list_id) == {
        "word1": {
            "severity": "high",
            "category": "profanity",
            "variations": ["w0rd1", "word_1"],
            "notes": "Common misspellings",
        },
        "word2": {"severity": "medium", "category": "slur", "variations": [], "notes": ""},
    }


async def test_re_adding_a_word_updates_it(http: Http) -> None:
    list_id = await http.create()
    await http.add(list_id, CONTRACT_WORDS["words"])
    body = await http.add(
        list_id,
        {
            "WORD1": {"severity": "extreme", "category": "sexual"},  # same word, other case
            "word3": None,  # the defaults: medium profanity
        },
    )
    assert body["added"] == 1 and body["updated"] == 1 and body["word_count"] == 3

    detail = await http.detail(list_id)
    assert detail["by_severity"] == {"low": 0, "medium": 2, "high": 0, "extreme": 1}
    assert detail["by_category"] == {"profanity": 1, "sexual": 1, "slur": 1}
    assert detail["has_variations"] == 0  # word1's details were replaced as a whole
    words = await http.export_words(list_id)
    assert list(words) == ["word1", "word2", "word3"]  # an update keeps the word's place
    assert words["word1"] == {
        "severity": "extreme",
        "category": "sexual",
        "variations": [],
        "notes": "",
    }
    assert words["word3"] == {
        "severity": "medium",
        "category": "profanity",
        "variations": [],
        "notes": "",
    }

    # A plain list of words is accepted too.
    body = await http.add(list_id, ["word4", "word5"])
    assert body["added"] == 2 and body["word_count"] == 5


async def test_remove_words_with_the_contract_body(http: Http) -> None:
    list_id = await http.create()
    await http.add(list_id, {**CONTRACT_WORDS["words"], "keep": {"severity": "low"}})

    response = await http.remove(list_id, ["word1", "word2", "word3"])
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["removed"] == 2
    assert body["not_found"] == ["word3"]
    assert body["word_count"] == 1 and body["version"] == 3

    detail = await http.detail(list_id)
    assert detail["total_words"] == 1
    assert detail["by_severity"] == {"low": 1, "medium": 0, "high": 0, "extreme": 0}
    assert detail["has_variations"] == 0
    assert list(await http.export_words(list_id)) == ["keep"]

    # Removing again removes nothing, reports every word, and changes nothing.
    response = await http.remove(list_id, ["word1", "word2", "word3"])
    assert response.status_code == 200, response.text
    assert response.json()["removed"] == 0
    assert response.json()["not_found"] == ["word1", "word2", "word3"]
    assert (await http.detail(list_id))["version"] == 3

    # Words are matched by their normalized form.
    response = await http.remove(list_id, ["  KEEP "])
    assert response.json()["removed"] == 1 and response.json()["not_found"] == []


@pytest.mark.parametrize(
    ("body", "needles"),
    [
        ({"words": {"word1": {"severity": "bogus"}}}, ["severity", "bogus"]),
        (
            {"words": {"a": {}, "b": {"severity": "bogus"}, "c": {"severity": "low"}}},
            ["severity", "bogus"],
        ),
        ({"words": "x"}, ["words"]),
        ({"words": 7}, ["words"]),
        ({"words": {}}, ["words", "empty"]),
        ({"words": []}, ["words", "empty"]),
        ({"words": {"a": {"sev": "high"}}}, ["sev", "unknown field"]),
        ({"words": {"a": {"variations": "a1"}}}, ["variations"]),
        ({"words": {"a": {"severity": 3}}}, ["severity"]),
        ({"words": {"a": {"category": "Not Allowed!"}}}, ["category"]),
        ({"words": {"a|b": {}}}, ["word"]),
        ({"words": {"   ": {}}}, ["word", "empty"]),
        ({"words": {"x" * 101: {}}}, ["word", "longer"]),
        ({"words": {"a": {}, "A": {}}}, ["twice"]),
        ({"words": ["a", "a "]}, ["twice"]),
        ({"words": ["a", 5]}, ["words"]),
        ({"words": {"a": {}}, "extra": 1}, ["extra", "unknown field"]),
        ({}, ["words", "required"]),
    ],
)
async def test_add_words_rejects_bad_bodies_and_adds_nothing(
    http: Http, body: Any, needles: list[str]
) -> None:
    list_id = await http.create()
    await http.add(list_id, {"keep": {"severity": "low"}})
    before = await http.snapshot(list_id)
    response = await http.post(f"/api/wordlists/{list_id}/words", json=body)
    _error(response, 400, *needles)
    assert await http.snapshot(list_id) == before


async def test_words_endpoints_reject_malformed_json(http: Http) -> None:
    list_id = await http.create()
    await http.add(list_id, ["keep"])
    before = await http.snapshot(list_id)
    for method in ("POST", "DELETE"):
        response = await http.request(
            method,
            f"/api/wordlists/{list_id}/words",
            content='{"words": ',
            headers={"content-type": "application/json"},
        )
        _error(response, 400, "json")
    assert await http.snapshot(list_id) == before


@pytest.mark.parametrize(
    ("body", "needles"),
    [
        ({"words": []}, ["words"]),
        ({"words": "word1"}, ["words"]),
        ({"words": [1]}, ["words"]),
        ({"words": ["keep"], "all": True}, ["all", "unknown field"]),
        ({}, ["words", "required"]),
    ],
)
async def test_remove_words_rejects_bad_bodies_and_removes_nothing(
    http: Http, body: Any, needles: list[str]
) -> None:
    list_id = await http.create()
    await http.add(list_id, ["keep"])
    before = await http.snapshot(list_id)
    response = await http.request("DELETE", f"/api/wordlists/{list_id}/words", json=body)
    _error(response, 400, *needles)
    assert await http.snapshot(list_id) == before


# --- GET /api/wordlists/{id}/export ----------------------------------------------------


@pytest.mark.parametrize("fmt", [None, *FORMATS, "JSON", "Csv"])
async def test_export_gives_an_attachment_of_the_right_type(http: Http, fmt: str | None) -> None:
    seed = await _seed(http)
    response = await http.export(seed["id"], fmt)
    assert response.status_code == 200, response.text
    ext = (fmt or "json").lower()
    assert response.headers["content-type"].startswith(CONTENT_TYPES[ext])
    disposition = response.headers["content-disposition"]
    assert disposition == f'attachment; filename="english-general.{ext}"'
    text = response.content.decode("utf-8")
    assert text.endswith("\n")

    n = seed["word_count"]
    if ext == "json":
        document = json.loads(text)
        assert document["name"] == SEED_NAME
        assert document["language"] == "en"
        assert document["description"] == seed["description"]
        assert len(document["words"]) == n
        for details in document["words"].values():
            assert set(details) == {"severity", "category", "variations", "notes"}
            assert details["severity"] in SEVERITIES
    elif ext == "csv":
        rows = list(csv.reader(io.StringIO(text)))
        assert rows[0] == ["word", "severity", "category", "variations", "notes"]
        assert len(rows) == n + 1
    else:
        lines = text.splitlines()
        assert lines[0] == f"# Clean-Tracks word list: {SEED_NAME}"
        assert len([line for line in lines if not line.startswith("#")]) == n


async def test_export_of_a_new_list_is_empty_but_well_formed(http: Http) -> None:
    name = _unique("Empty List")
    list_id = await http.create(name, description="nothing yet", language="de")
    slug = name.lower().replace(" ", "-")

    response = await http.export(list_id, "json")
    assert response.headers["content-disposition"] == f'attachment; filename="{slug}.json"'
    assert response.json() == {
        "name": name,
        "description": "nothing yet",
        "language": "de",
        "allow": [],
        "words": {},
    }
    response = await http.export(list_id, "csv")
    assert response.text == "word,severity,category,variations,notes\n"
    response = await http.export(list_id, "txt")
    assert response.text.splitlines()[:4] == [
        f"# Clean-Tracks word list: {name}",
        "# language: de",
        "# description: nothing yet",
        "# allow:",
    ]


@pytest.mark.parametrize(
    ("name", "filename"),
    [
        ("Ünïcödé – Café {}", "unicode-cafe-{}"),
        ('Quote " and ; semicolon {}', "quote-and-semicolon-{}"),
        ("日本語 {}", "{}"),
    ],
)
async def test_export_filenames_are_safe_ascii_slugs(http: Http, name: str, filename: str) -> None:
    tag = uuid.uuid4().hex[:8]
    list_id = await http.create(name.format(tag))
    for fmt in FORMATS:
        response = await http.export(list_id, fmt)
        assert response.status_code == 200, response.text
        expected = f'attachment; filename="{filename.format(tag)}.{fmt}"'
        assert response.headers["content-disposition"] == expected


@pytest.mark.parametrize("fmt", ["xml", "", "pdf", "json;", "../json"])
async def test_export_rejects_an_unknown_format(http: Http, fmt: str) -> None:
    seed = await _seed(http)
    response = await http.export(seed["id"], fmt)
    _error(response, 400, "format")


# --- POST /api/wordlists/{id}/import ---------------------------------------------------


def _without_name(fmt: str, content: bytes, name: str) -> bytes:
    """The export with the list's name taken out: json drops the "name" member, txt its
    header line that names the list; csv carries no name and is returned as is."""
    if fmt == "json":
        document = json.loads(content)
        assert document.pop("name") == name
        return json.dumps(document, indent=2, ensure_ascii=False).encode()
    if fmt == "txt":
        first, rest = content.split(b"\n", 1)
        assert first == f"# Clean-Tracks word list: {name}".encode()
        return rest
    return content


async def test_export_import_export_round_trips_every_format(http: Http) -> None:
    seed = await _seed(http)
    originals = {}
    for fmt in FORMATS:
        response = await http.export(seed["id"], fmt)
        assert response.status_code == 200
        originals[fmt] = response.content

    for source in FORMATS:
        # A new empty list with the seed's description and language: only the name differs.
        name = _unique(f"Copy {source}")
        target = await http.create(name, description=seed["description"], language="en")
        response = await http.import_file(
            target, originals[source], filename=f"english-general.{source}", merge=False
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["imported"] == seed["word_count"]
        assert body["added"] == seed["word_count"]
        assert body["updated"] == 0 and body["removed"] == 0
        assert body["merge"] is False
        assert body["word_count"] == seed["word_count"]

        seed_detail, copy_detail = await http.detail(seed["id"]), await http.detail(target)
        for key in ("total_words", "by_severity", "by_category", "has_variations"):
            assert copy_detail[key] == seed_detail[key], key

        # The file imported from one format exports the same in all three.
        for fmt in FORMATS:
            response = await http.export(target, fmt)
            assert response.status_code == 200
            assert _without_name(fmt, response.content, name) == _without_name(
                fmt, originals[fmt], SEED_NAME
            ), (source, fmt)
            if fmt == "csv":
                assert response.content == originals["csv"]  # byte for byte


async def test_round_trip_is_byte_identical_under_the_same_name(fresh: Http) -> None:
    seed = await _seed(fresh)
    originals = {}
    for fmt in FORMATS:
        response = await fresh.export(seed["id"], fmt)
        originals[fmt] = (response.content, response.headers["content-disposition"])

    for source in FORMATS:
        target = await fresh.create(
            _unique("copy"), description=seed["description"], language="en", is_default=True
        )
        response = await fresh.import_file(
            target, originals[source][0], filename=f"x.{source}", merge=False
        )
        assert response.status_code == 200, response.text
        # Take the seed's place: delete the old list holding the name, then take the name.
        old = await fresh.named(SEED_NAME)
        assert (await fresh.delete(f"/api/wordlists/{old['id']}")).status_code == 200
        response = await fresh.put(f"/api/wordlists/{target}", json={"name": SEED_NAME})
        assert response.status_code == 200, response.text
        for fmt in FORMATS:
            response = await fresh.export(target, fmt)
            exported = (response.content, response.headers["content-disposition"])
            assert exported == originals[fmt], (source, fmt)


async def test_import_with_merge_adds_and_keeps_the_other_words(http: Http) -> None:
    list_id = await http.create()
    await http.add(list_id, {"alpha": {"severity": "low"}, "beta": {"severity": "low"}})
    data = b"beta | high | slur\ngamma | extreme | sexual | g4mma, gamm@ | added by file\n"
    response = await http.import_file(list_id, data, filename="more.txt", merge=True)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["merge"] is True
    assert (body["imported"], body["added"], body["updated"], body["removed"]) == (2, 1, 1, 0)
    assert body["word_count"] == 3

    words = await http.export_words(list_id)
    assert list(words) == ["alpha", "beta", "gamma"]
    assert words["alpha"]["severity"] == "low"
    assert words["beta"] == {"severity": "high", "category": "slur", "variations": [], "notes": ""}
    assert words["gamma"] == {
        "severity": "extreme",
        "category": "sexual",
        "variations": ["g4mma", "gamm@"],
        "notes": "added by file",
    }


@pytest.mark.parametrize("merge", [False, None])  # merge defaults to false
async def test_import_without_merge_replaces_the_words(http: Http, merge: bool | None) -> None:
    list_id = await http.create()
    await http.add(list_id, ["alpha", "beta", "gamma"])
    data = json.dumps({"words": {"delta": {"severity": "high"}, "beta": None}}).encode()
    response = await http.import_file(list_id, data, filename="replace.json", merge=merge)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["merge"] is False
    assert (body["imported"], body["added"], body["updated"], body["removed"]) == (2, 1, 0, 2)
    assert body["word_count"] == 2
    words = await http.export_words(list_id)
    assert list(words) == ["delta", "beta"]  # the file's order
    detail = await http.detail(list_id)
    assert detail["total_words"] == 2
    assert detail["by_severity"] == {"low": 0, "medium": 1, "high": 1, "extreme": 0}


async def test_import_reads_csv_and_sniffs_a_nameless_file(http: Http) -> None:
    list_id = await http.create()
    data = b'word,severity,category,variations,notes\nalpha,high,slur,a1|a2,"x, y"\nbeta,,,,\n'
    response = await http.import_file(list_id, data, filename="words.CSV")
    assert response.status_code == 200, response.text
    assert await http.export_words(list_id) == {
        "alpha": {
            "severity": "high",
            "category": "slur",
            "variations": ["a1", "a2"],
            "notes": "x, y",
        },
        "beta": {"severity": "medium", "category": "profanity", "variations": [], "notes": ""},
    }
    response = await http.import_file(list_id, b'["gamma", "delta"]', filename="upload")
    assert response.status_code == 200, response.text
    assert list(await http.export_words(list_id)) == ["gamma", "delta"]


def _many_txt_lines(n: int, bad_line: int | None = None) -> bytes:
    lines = []
    for i in range(1, n + 1):
        severity = "bogus" if i == bad_line else SEVERITIES[i % 4]
        lines.append(f"word{i} | {severity} | profanity")
    return ("\n".join(lines) + "\n").encode()


@pytest.mark.parametrize(
    ("filename", "data", "needles"),
    [
        ("bad.json", b'{"words": {"a": ', ["invalid json"]),
        ("bad.json", b'{"words": {"a": {"severity": "high", "colour": "red"}}}', ["colour"]),
        ("bad.json", b'{"words": 5}', ["words"]),
        ("bad.json", b"42", ["json"]),
        ("bad.csv", b"word,severity\nalpha,high\nbeta,bogus\ngamma,low\n", ["line 3", "severity"]),
        ("bad.csv", b"term,severity\nalpha,high\n", ["word"]),
        ("bad.csv", b'word,severity\n"alpha,high\n', ["line 2"]),
        ("image.png", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00", ["utf-8"]),
        ("words.txt", b"alpha\nbe\x00ta\n", ["utf-8"]),
        ("words.txt", b"alpha\n\xff\xfe\xfa\n", ["utf-8"]),
        ("words.txt", b"", ["empty"]),
        ("words.txt", b"  \n\n\t\n", ["empty"]),
        ("words.txt", b"# only a comment\n", ["no words"]),
        ("words.txt", _many_txt_lines(200, bad_line=150), ["line 150", "bogus"]),
        ("words.txt", b"alpha\nbeta\nAlpha\n", ["line 3", "duplicate"]),
        ("words.txt", b"alpha | low | Bad Category!\n", ["category"]),
        ("words.txt", 3 * 1024 * 1024 // 20 * b"abcdefghijklmnopqrs\n", ["larger", "limit"]),
    ],
)
async def test_import_rejects_bad_files_and_changes_nothing(
    http: Http, filename: str, data: bytes, needles: list[str]
) -> None:
    list_id = await http.create()
    await http.add(list_id, {"keep": {"severity": "high", "variations": ["k33p"]}})
    before = await http.snapshot(list_id)
    for merge in (True, False):
        response = await http.import_file(list_id, data, filename=filename, merge=merge)
        _error(response, 400, *needles)
        assert await http.snapshot(list_id) == before


async def test_import_needs_a_file_and_a_boolean_merge(http: Http) -> None:
    list_id = await http.create()
    await http.add(list_id, ["keep"])
    before = await http.snapshot(list_id)
    response = await http.post(f"/api/wordlists/{list_id}/import", data={"merge": "true"})
    _error(response, 400, "file")
    response = await http.import_file(list_id, b"alpha\n", merge="perhaps")
    _error(response, 400, "merge")
    response = await http.post(f"/api/wordlists/{list_id}/import", json={"file": "alpha"})
    _error(response, 400, "file")
    assert await http.snapshot(list_id) == before


async def test_import_of_a_large_file_applies_every_word(http: Http) -> None:
    list_id = await http.create()
    await http.add(list_id, ["gone"])
    response = await http.import_file(list_id, _many_txt_lines(2_000))
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["imported"], body["added"], body["removed"]) == (2_000, 2_000, 1)
    detail = await http.detail(list_id)
    assert detail["total_words"] == 2_000
    assert detail["by_severity"] == dict.fromkeys(SEVERITIES, 500)
    words = await http.export_words(list_id)
    assert list(words)[:3] == ["word1", "word2", "word3"] and "gone" not in words


async def test_allow_list_is_normalized_versioned_and_validated(api):
    created = (await api.post("/api/wordlists", json={"name": unique("allow")})).json()
    list_id = created["id"]
    before = (await api.get(f"/api/wordlists/{list_id}")).json()
    assert before["allow"] == []
    r = await api.put(
        f"/api/wordlists/{list_id}",
        json={"allow": ["Scunthorpe", " hell's  kitchen", "scunthorpe"]},
    )
    assert r.status_code == 200, r.text
    after = (await api.get(f"/api/wordlists/{list_id}")).json()
    assert after["allow"] == ["hell's kitchen", "scunthorpe"]
    assert after["version"] == before["version"] + 1
    # The same list again changes nothing.
    await api.put(f"/api/wordlists/{list_id}", json={"allow": ["scunthorpe", "hell's kitchen"]})
    assert (await api.get(f"/api/wordlists/{list_id}")).json()["version"] == after["version"]
    for bad in (["   "], "scunthorpe", [1]):
        r = await api.put(f"/api/wordlists/{list_id}", json={"allow": bad})
        assert r.status_code == 400, r.text
        assert "allow" in r.json()["error"]
    r = await api.put(f"/api/wordlists/{list_id}", json={"allow": []})
    assert (await api.get(f"/api/wordlists/{list_id}")).json()["allow"] == []


async def test_the_allow_list_survives_export_and_import(http: Http) -> None:
    source = await http.create()
    await http.add(source, {"shit": {"severity": "high"}, "cock": {"severity": "high"}})
    response = await http.put(f"/api/wordlists/{source}", json={"allow": ["cockpit", "shell"]})
    assert response.status_code == 200, response.text
    files = {fmt: (await http.export(source, fmt)).content for fmt in FORMATS}

    for fmt in ("json", "txt"):
        target = await http.create()
        response = await http.import_file(target, files[fmt], filename=f"x.{fmt}", merge=False)
        assert response.status_code == 200, response.text
        assert (await http.detail(target))["allow"] == ["cockpit", "shell"], fmt
        assert (await http.export(target, "json")).json()["allow"] == ["cockpit", "shell"]

    # Merging adds to the list's allow-list; csv holds no allow-list and leaves it alone.
    target = await http.create()
    await http.put(f"/api/wordlists/{target}", json={"allow": ["class"]})
    response = await http.import_file(target, files["json"], filename="x.json", merge=True)
    assert response.status_code == 200, response.text
    assert (await http.detail(target))["allow"] == ["class", "cockpit", "shell"]
    response = await http.import_file(target, files["csv"], filename="x.csv", merge=False)
    assert response.status_code == 200, response.text
    assert (await http.detail(target))["allow"] == ["class", "cockpit", "shell"]


async def test_an_import_with_a_bad_allow_list_changes_nothing(http: Http) -> None:
    list_id = await http.create()
    await http.add(list_id, {"keep": {"severity": "high"}})
    before = await http.snapshot(list_id)
    data = json.dumps({"words": {"other": {}}, "allow": ["x" * 101]}).encode()
    for merge in (True, False):
        response = await http.import_file(list_id, data, filename="x.json", merge=merge)
        _error(response, 400, "allow")
        assert await http.snapshot(list_id) == before
