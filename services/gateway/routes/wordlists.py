"""Word List Management: the eight endpoints of the contract."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Path, Query, UploadFile
from fastapi.responses import JSONResponse, Response

from cleantracks_proto import catalog_pb2 as pb
from services.common.errors import InvalidArgument
from services.common.wordlist_proto import entry_from_proto, entry_to_proto
from services.common.wordlists import WordEntry, make_entry
from services.gateway import wordlist_files
from services.gateway.convert import iso, word_list_json
from services.gateway.deps import CatalogDep, SettingsDep
from services.gateway.schemas import (
    CreateWordListBody,
    RemoveWordsBody,
    UpdateWordListBody,
    WordsBody,
)

router = APIRouter(prefix="/wordlists", tags=["Word List Management"])

ListId = Annotated[int, Path(ge=1, le=2**63 - 1, description="Word list id")]
_CHUNK = 64 * 1024
# A whole list is validated and written in one transaction: more than a usual call takes.
_IMPORT_TIMEOUT = 120.0


def _entries_from_body(body: WordsBody) -> list[WordEntry]:
    if not body.words:
        raise InvalidArgument("words must not be empty")
    if isinstance(body.words, list):
        return [make_entry(word) for word in body.words]
    entries = []
    for word, details in body.words.items():
        d = details.model_dump() if details is not None else {}
        entries.append(make_entry(word, **d))
    return entries


@router.get("", summary="Get all word lists")
async def list_word_lists(catalog: CatalogDep, active_only: bool = True) -> list[dict[str, Any]]:
    reply = await catalog.call("ListWordLists", pb.ListWordListsRequest(active_only=active_only))
    return [word_list_json(wl) for wl in reply.lists]


@router.post("", status_code=201, summary="Create a new word list")
async def create_word_list(body: CreateWordListBody, catalog: CatalogDep) -> dict[str, Any]:
    wl = await catalog.call(
        "CreateWordList",
        pb.CreateWordListRequest(
            name=body.name,
            description=body.description,
            language=body.language,
            is_default=body.is_default,
            is_active=body.is_active,
        ),
    )
    return {"id": wl.id, "message": "Word list created successfully"}


@router.get("/{list_id}", summary="Details and statistics of a word list")
async def get_word_list(list_id: ListId, catalog: CatalogDep) -> dict[str, Any]:
    detail = await catalog.call("GetWordList", pb.GetWordListRequest(id=list_id))
    wl = detail.list
    return {
        "id": wl.id,
        "name": wl.name,
        "description": wl.description,
        "language": wl.language,
        "is_default": wl.is_default,
        "is_active": wl.is_active,
        "total_words": wl.word_count,
        "by_severity": dict(detail.by_severity),
        "by_category": dict(detail.by_category),
        "has_variations": detail.has_variations,
        "created_at": iso(wl.created_at),
        "updated_at": iso(wl.updated_at),
        "version": wl.version,
        "allow": list(wl.allow),
    }


@router.put("/{list_id}", summary="Update a word list")
async def update_word_list(
    list_id: ListId, body: UpdateWordListBody, catalog: CatalogDep
) -> dict[str, Any]:
    request = pb.UpdateWordListRequest(id=list_id)
    for field, value in body.model_dump(exclude_unset=True).items():
        if field == "allow" and value is not None:
            request.allow.words.extend(value)
        elif value is not None:
            setattr(request, field, value)
    wl = await catalog.call("UpdateWordList", request)
    return {"id": wl.id, "message": "Word list updated successfully", **word_list_json(wl)}


@router.delete("/{list_id}", summary="Delete a word list")
async def delete_word_list(list_id: ListId, catalog: CatalogDep) -> dict[str, Any]:
    await catalog.call("DeleteWordList", pb.DeleteWordListRequest(id=list_id))
    return {"id": list_id, "message": "Word list deleted successfully"}


@router.post("/{list_id}/words", summary="Add words to a word list")
async def add_words(list_id: ListId, body: WordsBody, catalog: CatalogDep) -> dict[str, Any]:
    entries = _entries_from_body(body)
    reply = await catalog.call(
        "AddWords",
        pb.AddWordsRequest(list_id=list_id, words=[entry_to_proto(e) for e in entries]),
    )
    return {
        "message": f"Added {reply.added} words, updated {reply.updated}",
        "added": reply.added,
        "updated": reply.updated,
        "word_count": reply.list.word_count,
        "version": reply.list.version,
    }


@router.delete("/{list_id}/words", summary="Remove words from a word list")
async def remove_words(
    list_id: ListId, body: RemoveWordsBody, catalog: CatalogDep
) -> dict[str, Any]:
    reply = await catalog.call(
        "RemoveWords", pb.RemoveWordsRequest(list_id=list_id, words=body.words)
    )
    return {
        "message": f"Removed {reply.removed} words",
        "removed": reply.removed,
        "not_found": list(reply.not_found),
        "word_count": reply.list.word_count,
        "version": reply.list.version,
    }


@router.get("/{list_id}/export", summary="Export a word list to a file")
async def export_word_list(
    list_id: ListId,
    catalog: CatalogDep,
    format: Annotated[str, Query(description="json, csv or txt")] = "json",  # noqa: A002
) -> Response:
    fmt = format.lower()
    if fmt not in wordlist_files.FORMATS:
        raise InvalidArgument(f"format must be one of json, csv, txt, got {format!r}")
    reply = await catalog.call("ListWords", pb.ListWordsRequest(list_id=list_id))
    meta = wordlist_files.ListMeta(
        name=reply.list.name,
        description=reply.list.description,
        language=reply.list.language,
        allow=tuple(reply.list.allow),
    )
    entries = [entry_from_proto(w) for w in reply.words]
    filename = wordlist_files.export_filename(meta, fmt)
    return Response(
        content=wordlist_files.serialize(entries, fmt, meta),
        media_type=wordlist_files.MEDIA_TYPES[fmt],
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


async def _read_capped(upload: UploadFile, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while chunk := await upload.read(_CHUNK):
        size += len(chunk)
        if size > limit:
            raise InvalidArgument(f"file is larger than the import limit of {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


@router.post("/{list_id}/import", summary="Import words from a JSON, CSV or TXT file")
async def import_word_list(
    list_id: ListId,
    catalog: CatalogDep,
    settings: SettingsDep,
    file: Annotated[UploadFile, File(description="Word list file (JSON, CSV or TXT)")],
    merge: Annotated[bool, Form()] = False,
) -> JSONResponse:
    data = await _read_capped(file, settings.max_import_bytes)
    fmt = wordlist_files.detect_format(file.filename, data)
    parsed = wordlist_files.read(data, fmt)
    entries = parsed.entries
    request = pb.ImportWordsRequest(
        list_id=list_id, words=[entry_to_proto(e) for e in entries], merge=merge
    )
    if parsed.allow is not None:
        request.allow.words.extend(parsed.allow)
    reply = await catalog.call("ImportWords", request, timeout=_IMPORT_TIMEOUT)
    return JSONResponse(
        {
            "message": f"Imported {len(entries)} words",
            "imported": len(entries),
            "added": reply.added,
            "updated": reply.updated,
            "removed": reply.removed,
            "merge": merge,
            "word_count": reply.list.word_count,
            "version": reply.list.version,
        }
    )
