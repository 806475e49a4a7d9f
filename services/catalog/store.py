"""Data access of the catalog: keyword-only functions over an AsyncSession, one per operation.

Each function runs inside the caller's transaction; the servicer opens one per call, so
an operation applies fully or not at all.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, func, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.catalog import rules
from services.catalog.models import ApiKeyRow, DenoiseJob, Job, UserSettingsRow, Word, WordList
from services.common.errors import (
    AlreadyExists,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    Unauthenticated,
)
from services.common.wordlists import SEVERITIES, WordEntry, normalize_word

__all__ = [
    "ImportResult",
    "ListInfo",
    "ListStats",
    "add_words",
    "create_api_key",
    "create_denoise_job",
    "create_job",
    "create_word_list",
    "delete_word_list",
    "get_default_word_list",
    "get_denoise_job",
    "get_job",
    "get_job_report",
    "get_settings",
    "get_statistics",
    "get_word_list",
    "import_words",
    "list_api_keys",
    "list_jobs",
    "list_word_lists",
    "list_words",
    "remove_words",
    "revoke_api_key",
    "update_denoise_job",
    "update_job",
    "update_settings",
    "update_word_list",
    "verify_api_key",
    "word_list_stats",
]

# Serializes changes of the default flag so that exactly one list is default at any time.
_DEFAULT_LOCK = 0x64656661756C74  # "default"
# With a hash of the lower-cased name: serializes creates and renames to names that differ
# only in case, which the unique index on the exact name would let through together.
# Lock order, to stay free of deadlocks: the default lock, then a name lock, then rows.
_NAME_LOCK = 0x6E616D65  # "name"


@dataclass(frozen=True)
class ListInfo:
    """A word list with its word count."""

    row: WordList
    word_count: int


@dataclass(frozen=True)
class ListStats:
    info: ListInfo
    by_severity: dict[str, int]
    by_category: dict[str, int]
    has_variations: int


@dataclass(frozen=True)
class ImportResult:
    added: int
    updated: int
    removed: int
    info: ListInfo


def _now() -> datetime:
    return datetime.now(UTC)


async def _lock_default(session: AsyncSession) -> None:
    await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _DEFAULT_LOCK})


async def _word_count(session: AsyncSession, list_id: int) -> int:
    result = await session.scalar(
        select(func.count()).select_from(Word).where(Word.list_id == list_id)
    )
    return int(result or 0)


async def _info(session: AsyncSession, row: WordList) -> ListInfo:
    return ListInfo(row=row, word_count=await _word_count(session, row.id))


async def _load(session: AsyncSession, list_id: int, *, lock: bool = False) -> WordList:
    stmt = select(WordList).where(WordList.id == list_id)
    if lock:
        stmt = stmt.with_for_update()
    row = await session.scalar(stmt)
    if row is None:
        raise NotFound(f"Word list {list_id} not found")
    return row


def _touch(row: WordList) -> None:
    row.version += 1
    row.updated_at = _now()


async def _lock_name(session: AsyncSession, name: str) -> None:
    await session.execute(
        text("SELECT pg_advisory_xact_lock(:space, hashtext(lower(:name)))"),
        {"space": _NAME_LOCK, "name": name},
    )


async def _check_name_free(session: AsyncSession, name: str, exclude_id: int | None) -> None:
    stmt = select(WordList.id).where(func.lower(WordList.name) == name.lower())
    if exclude_id is not None:
        stmt = stmt.where(WordList.id != exclude_id)
    if await session.scalar(stmt) is not None:
        raise AlreadyExists(f"a word list named {name!r} already exists")


async def _flush_unique(session: AsyncSession, name: str) -> None:
    try:
        await session.flush()
    except IntegrityError as exc:
        # Lost a race with a concurrent create of the same name.
        raise AlreadyExists(f"a word list named {name!r} already exists") from exc


async def list_word_lists(*, session: AsyncSession, active_only: bool) -> list[ListInfo]:
    """Returns the lists, oldest first, with their word counts."""
    counts = select(Word.list_id, func.count().label("n")).group_by(Word.list_id).subquery()
    stmt = (
        select(WordList, func.coalesce(counts.c.n, 0))
        .outerjoin(counts, counts.c.list_id == WordList.id)
        .order_by(WordList.id)
    )
    if active_only:
        stmt = stmt.where(WordList.is_active.is_(True))
    result = await session.execute(stmt)
    return [ListInfo(row=row, word_count=int(n)) for row, n in result.all()]


async def get_word_list(*, session: AsyncSession, list_id: int) -> ListInfo:
    """Returns one list, or raises NotFound."""
    return await _info(session, await _load(session, list_id))


async def get_default_word_list(*, session: AsyncSession) -> ListInfo:
    """Returns the list marked default."""
    row = await session.scalar(select(WordList).where(WordList.is_default.is_(True)))
    if row is None:
        raise NotFound("no default word list")
    return await _info(session, row)


async def word_list_stats(*, session: AsyncSession, list_id: int) -> ListStats:
    """Returns one list with its counts by severity and category."""
    info = await get_word_list(session=session, list_id=list_id)
    by_severity = dict.fromkeys(SEVERITIES, 0)
    result = await session.execute(
        select(Word.severity, func.count()).where(Word.list_id == list_id).group_by(Word.severity)
    )
    for severity, n in result.all():
        by_severity[severity] = int(n)
    result = await session.execute(
        select(Word.category, func.count())
        .where(Word.list_id == list_id)
        .group_by(Word.category)
        .order_by(func.count().desc(), Word.category)
    )
    by_category = {category: int(n) for category, n in result.all()}
    has_variations = await session.scalar(
        select(func.count())
        .select_from(Word)
        .where(Word.list_id == list_id, func.cardinality(Word.variations) > 0)
    )
    return ListStats(info, by_severity, by_category, int(has_variations or 0))


async def create_word_list(
    *,
    session: AsyncSession,
    name: str,
    description: str,
    language: str,
    is_default: bool,
    is_active: bool,
) -> ListInfo:
    """Creates an empty list; made default, it takes the flag from the previous default."""
    name = rules.validate_list_name(name)
    language = rules.validate_language(language or "en")
    if is_default and not is_active:
        raise InvalidArgument("the default word list must be active")
    if is_default:
        await _lock_default(session)
    await _lock_name(session, name)
    await _check_name_free(session, name, None)
    if is_default:
        await session.execute(
            update(WordList)
            .where(WordList.is_default.is_(True))
            .values(is_default=False, version=WordList.version + 1, updated_at=_now())
            .execution_options(synchronize_session=False)
        )
    row = WordList(
        name=name,
        description=description.strip(),
        language=language,
        is_default=is_default,
        is_active=is_active,
        version=1,
    )
    session.add(row)
    await _flush_unique(session, name)
    await session.refresh(row)
    return ListInfo(row=row, word_count=0)


def _set_allow(row: WordList, words: Sequence[str]) -> bool:
    """Validates and stores a list's allow-list; whether it changed."""
    allow = rules.validate_allow(words)
    if allow == list(row.allow_words or []):
        return False
    row.allow_words = allow
    return True


async def update_word_list(
    *, session: AsyncSession, list_id: int, changes: Mapping[str, Any]
) -> ListInfo:
    """Applies the given fields (name, description, language, is_default, is_active).

    Raises:
        FailedPrecondition: when the change would leave no default list or an inactive one.
    """
    if changes.get("is_default") is not None:
        await _lock_default(session)
    name = None
    if changes.get("name") is not None:
        name = rules.validate_list_name(changes["name"])
        await _lock_name(session, name)
    row = await _load(session, list_id, lock=True)
    changed = False
    if name is not None and name != row.name:
        await _check_name_free(session, name, row.id)
        row.name = name
        changed = True
    if changes.get("description") is not None:
        description = changes["description"].strip()
        if description != row.description:
            row.description = description
            changed = True
    if changes.get("language") is not None:
        language = rules.validate_language(changes["language"])
        if language != row.language:
            row.language = language
            changed = True
    if changes.get("allow") is not None and _set_allow(row, changes["allow"]):
        changed = True
    becomes_default = changes.get("is_default")
    is_active = changes.get("is_active")
    if becomes_default is False and row.is_default:
        raise FailedPrecondition(
            "the default word list cannot be unset; make another list the default instead"
        )
    if is_active is False and (row.is_default or becomes_default):
        raise FailedPrecondition("the default word list cannot be deactivated")
    if is_active is not None and is_active != row.is_active:
        row.is_active = is_active
        changed = True
    if becomes_default and not row.is_default:
        if not row.is_active:
            raise FailedPrecondition("an inactive word list cannot be the default")
        await session.execute(
            update(WordList)
            .where(WordList.is_default.is_(True), WordList.id != row.id)
            .values(is_default=False, version=WordList.version + 1, updated_at=_now())
            .execution_options(synchronize_session=False)
        )
        await session.flush()
        row.is_default = True
        changed = True
    if changed:
        _touch(row)
        await _flush_unique(session, row.name)
    return await _info(session, row)


async def delete_word_list(*, session: AsyncSession, list_id: int) -> None:
    """Deletes a list and its words; the default list cannot be deleted."""
    await _lock_default(session)
    row = await _load(session, list_id, lock=True)
    if row.is_default:
        raise FailedPrecondition(
            "the default word list cannot be deleted; make another list the default first"
        )
    await session.delete(row)


async def list_words(*, session: AsyncSession, list_id: int) -> tuple[ListInfo, list[WordEntry]]:
    """Returns the list and its words in the order they were added."""
    info = await get_word_list(session=session, list_id=list_id)
    result = await session.scalars(
        select(Word).where(Word.list_id == list_id).order_by(Word.position, Word.id)
    )
    return info, [_entry(w) for w in result.all()]


def _entry(w: Word) -> WordEntry:
    return WordEntry(
        word=w.word,
        severity=w.severity,
        category=w.category,
        variations=tuple(w.variations or ()),
        notes=w.notes,
    )


def _check_unique(entries: Sequence[WordEntry]) -> None:
    seen: set[str] = set()
    for entry in entries:
        if entry.word in seen:
            raise InvalidArgument(f"word {entry.word!r} is given twice")
        seen.add(entry.word)


@dataclass(frozen=True)
class _Stored:
    position: int
    entry: WordEntry


async def _stored_words(session: AsyncSession, list_id: int) -> dict[str, _Stored]:
    """The list's words by their text, read as plain rows rather than ORM objects."""
    result = await session.execute(
        select(
            Word.word,
            Word.severity,
            Word.category,
            Word.variations,
            Word.notes,
            Word.position,
        ).where(Word.list_id == list_id)
    )
    return {
        word: _Stored(
            position=position,
            entry=WordEntry(
                word=word,
                severity=severity,
                category=category,
                variations=tuple(variations or ()),
                notes=notes,
            ),
        )
        for word, severity, category, variations, notes, position in result.all()
    }


# Words are written in one statement over arrays of their fields (unnest) rather than an
# ORM object or an executemany row per word: an import of tens of thousands of words has
# to fit in the gateway's call deadline. Each word's variations travel as a JSON array.
_WORD_ARRAYS = """unnest(
    CAST(:words AS text[]), CAST(:severities AS text[]), CAST(:categories AS text[]),
    CAST(:variations AS text[]), CAST(:notes AS text[]), CAST(:positions AS integer[])
) AS t(word, severity, category, variations, notes, position)"""
_VARIATIONS = "ARRAY(SELECT jsonb_array_elements_text(CAST(t.variations AS jsonb)))"
_INSERT_WORDS = text(
    "INSERT INTO words (list_id, word, severity, category, variations, notes, position) "
    f"SELECT :list_id, t.word, t.severity, t.category, {_VARIATIONS}, t.notes, t.position "
    f"FROM {_WORD_ARRAYS}"
)
_UPDATE_WORDS = text(
    "UPDATE words AS w SET severity = t.severity, category = t.category, "
    f"variations = {_VARIATIONS}, notes = t.notes "
    f"FROM {_WORD_ARRAYS} WHERE w.list_id = :list_id AND w.word = t.word"
)


def _word_arrays(list_id: int, entries: Sequence[WordEntry], first_position: int) -> dict[str, Any]:
    return {
        "list_id": list_id,
        "words": [e.word for e in entries],
        "severities": [e.severity for e in entries],
        "categories": [e.category for e in entries],
        "variations": [json.dumps(list(e.variations)) for e in entries],
        "notes": [e.notes for e in entries],
        "positions": list(range(first_position, first_position + len(entries))),
    }


async def _insert_words(
    session: AsyncSession, list_id: int, entries: Sequence[WordEntry], first_position: int
) -> None:
    if entries:
        await session.execute(_INSERT_WORDS, _word_arrays(list_id, entries, first_position))


async def _upsert(
    session: AsyncSession, list_id: int, entries: Sequence[WordEntry]
) -> tuple[int, int]:
    existing = await _stored_words(session, list_id)
    position = max((w.position for w in existing.values()), default=-1) + 1
    new: list[WordEntry] = []
    changed: list[WordEntry] = []
    for entry in entries:
        current = existing.get(entry.word)
        if current is None:
            new.append(entry)
        elif current.entry != entry:
            changed.append(entry)
    await _insert_words(session, list_id, new, position)
    if changed:
        await session.execute(_UPDATE_WORDS, _word_arrays(list_id, changed, 0))
    return len(new), len(changed)


async def add_words(
    *, session: AsyncSession, list_id: int, entries: Sequence[WordEntry]
) -> tuple[int, int, ListInfo]:
    """Adds words, updating the details of those already listed.

    Returns:
        (added, updated, the list after the change).
    """
    if not entries:
        raise InvalidArgument("words must not be empty")
    _check_unique(entries)
    row = await _load(session, list_id, lock=True)
    added, updated = await _upsert(session, list_id, entries)
    if added or updated:
        _touch(row)
    return added, updated, await _info(session, row)


async def remove_words(
    *, session: AsyncSession, list_id: int, words: Sequence[str]
) -> tuple[int, list[str], ListInfo]:
    """Removes words by their normalized form.

    Returns:
        (removed, the words that were not listed, the list after the change).
    """
    if not words:
        raise InvalidArgument("words must not be empty")
    row = await _load(session, list_id, lock=True)
    wanted = {normalize_word(w): w for w in words}
    result = await session.execute(
        delete(Word)
        .where(Word.list_id == list_id, Word.word.in_(list(wanted)))
        .returning(Word.word)
    )
    removed = {w for (w,) in result.all()}
    if removed:
        _touch(row)
    not_found = [original for norm, original in wanted.items() if norm not in removed]
    return len(removed), not_found, await _info(session, row)


async def import_words(
    *,
    session: AsyncSession,
    list_id: int,
    entries: Sequence[WordEntry],
    merge: bool,
    allow: Sequence[str] | None = None,
) -> ImportResult:
    """Imports entries: merged into the list, or replacing its words when ``merge`` is false.

    ``allow``, when given, is added to the list's allow-list (merge) or replaces it.
    """
    if not entries:
        raise InvalidArgument("the file holds no words")
    _check_unique(entries)
    row = await _load(session, list_id, lock=True)
    allow_changed = False
    if allow is not None:
        allow_changed = _set_allow(row, [*(row.allow_words or []), *allow] if merge else allow)
    if merge:
        added, updated = await _upsert(session, list_id, entries)
        removed = 0
    else:
        # Replacing takes the file's words, details and order: rewrite the list's words.
        existing = await _stored_words(session, list_id)
        in_file = {e.word for e in entries}
        added = sum(1 for e in entries if e.word not in existing)
        updated = sum(1 for e in entries if e.word in existing and existing[e.word].entry != e)
        removed = sum(1 for word in existing if word not in in_file)
        await session.execute(delete(Word).where(Word.list_id == list_id))
        await _insert_words(session, list_id, entries, 0)
    if added or updated or removed or allow_changed or not merge:
        _touch(row)
    return ImportResult(added, updated, removed, await _info(session, row))


async def _settings_row(session: AsyncSession, user_id: str) -> UserSettingsRow:
    await session.execute(
        insert(UserSettingsRow)
        .values(user_id=user_id)
        .on_conflict_do_nothing(index_elements=["user_id"])
    )
    row = await session.scalar(select(UserSettingsRow).where(UserSettingsRow.user_id == user_id))
    assert row is not None
    return row


def _check_user_id(user_id: str) -> str:
    user_id = user_id.strip()
    if not user_id or len(user_id) > 200:
        raise InvalidArgument("user_id must be 1 to 200 characters")
    return user_id


async def get_settings(*, session: AsyncSession, user_id: str) -> tuple[int, dict[str, Any]]:
    """Returns (row id, every flat setting) for a user, defaults for a user never seen."""
    row = await _settings_row(session, _check_user_id(user_id))
    values = {}
    for field, default in rules.SETTING_DEFAULTS.items():
        value = getattr(row, field)
        values[field] = default if value is None else value
    values["output_format_set"] = row.preferred_output_format is not None
    values["bitrate_set"] = row.preferred_bitrate is not None
    if values["default_word_list_id"] is None:
        values["default_word_list_id"] = await session.scalar(
            select(WordList.id).where(WordList.is_default.is_(True))
        )
    return row.id, values


async def update_settings(
    *, session: AsyncSession, user_id: str, changes: Mapping[str, Any]
) -> tuple[int, dict[str, Any]]:
    """Validates and stores the given flat settings; returns them all as get_settings does."""
    user_id = _check_user_id(user_id)
    cleaned = {field: rules.validate_setting(field, value) for field, value in changes.items()}
    list_id = cleaned.get("default_word_list_id")
    if list_id is not None:
        target = await session.scalar(select(WordList).where(WordList.id == list_id))
        if target is None:
            raise InvalidArgument(f"default_word_list_id: word list {list_id} does not exist")
    row = await _settings_row(session, user_id)
    for field, value in cleaned.items():
        setattr(row, field, value)
    if cleaned:
        row.updated_at = _now()
    await session.flush()
    return await get_settings(session=session, user_id=user_id)


async def create_job(*, session: AsyncSession, values: Mapping[str, Any]) -> Job:
    """Records a new queued job; the job_id must be new."""
    job_id = str(values.get("job_id") or "").strip()
    if not job_id or len(job_id) > 64:
        raise InvalidArgument("job_id must be 1 to 64 characters")
    if not str(values.get("input_filename") or "").strip():
        raise InvalidArgument("input_filename must not be empty")
    if await session.scalar(select(Job.id).where(Job.job_id == job_id)) is not None:
        raise AlreadyExists(f"job {job_id} already exists")
    job = Job(status="queued", **{**values, "job_id": job_id})
    session.add(job)
    try:
        await session.flush()
    except IntegrityError as exc:
        raise AlreadyExists(f"job {job_id} already exists") from exc
    await session.refresh(job)
    return job


async def _load_job(session: AsyncSession, job_id: str, *, lock: bool = False) -> Job:
    stmt = select(Job).where(Job.job_id == job_id)
    if lock:
        stmt = stmt.with_for_update()
    job = await session.scalar(stmt)
    if job is None:
        raise NotFound(f"Job {job_id} not found")
    return job


async def get_job(*, session: AsyncSession, job_id: str) -> Job:
    """Returns one job record, or raises NotFound."""
    return await _load_job(session, job_id)


async def update_job(*, session: AsyncSession, job_id: str, changes: Mapping[str, Any]) -> Job:
    """Applies a status change and results; times are set by the transition.

    Raises:
        FailedPrecondition: for a change to a job already completed or failed.
    """
    job = await _load_job(session, job_id, lock=True)
    status = changes.get("status")
    if status is not None:
        rules.check_job_transition(job_id, job.status, status)
    elif job.status in ("completed", "failed"):
        raise FailedPrecondition(f"job {job_id} is already {job.status}")
    for field, value in changes.items():
        if field == "report_json":
            job.report = _parse_report(value)
        elif field != "status" and value is not None:
            setattr(job, field, value)
    if status is not None:
        now = _now()
        if status == "processing" and job.started_at is None:
            job.started_at = now
        if status in ("completed", "failed"):
            job.completed_at = now
            started = job.started_at or job.created_at
            job.processing_time_seconds = round((now - started).total_seconds(), 3)
        job.status = status
    await session.flush()
    await session.refresh(job)
    return job


def _parse_report(value: str) -> dict[str, Any]:
    try:
        report = json.loads(value)
    except json.JSONDecodeError as exc:
        raise InvalidArgument(f"report_json is not JSON: {exc}") from None
    if not isinstance(report, dict):
        raise InvalidArgument("report_json must be a JSON object")
    return report


async def get_job_report(*, session: AsyncSession, job_id: str) -> dict[str, Any]:
    """Returns the job's report, or raises NotFound (unknown job, or no report yet)."""
    report = await session.scalar(select(Job.report).where(Job.job_id == job_id))
    if report is None:
        await _load_job(session, job_id)  # NotFound for an unknown job
        raise NotFound(f"job {job_id} has no transcript yet")
    return dict(report)


async def list_jobs(*, session: AsyncSession, limit: int, status: str | None) -> list[Job]:
    """Returns the newest jobs first, optionally of one status."""
    stmt = select(Job).order_by(Job.created_at.desc(), Job.id.desc()).limit(limit)
    if status:
        stmt = stmt.where(Job.status == status)
    return list((await session.scalars(stmt)).all())


async def get_statistics(*, session: AsyncSession) -> rules.StatisticsResult:
    """Returns the statistics over every job record."""
    completed = Job.status == "completed"
    result = await session.execute(
        select(
            func.count().label("total"),
            func.count().filter(completed).label("completed"),
            func.count().filter(Job.status == "failed").label("failed"),
            func.sum(Job.audio_duration_seconds).filter(completed).label("audio_seconds"),
            func.sum(Job.words_detected).filter(completed).label("words_detected"),
            func.sum(Job.words_censored).filter(completed).label("words_censored"),
            func.avg(Job.processing_time_seconds).filter(completed).label("avg_processing"),
        )
    )
    return rules.compute_statistics(dict(result.mappings().one()))


# API keys


def _hash_key(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


async def create_api_key(*, session: AsyncSession, name: str) -> tuple[ApiKeyRow, str]:
    """Creates a key; returns its row and the secret, which is not stored."""
    name = name.strip()
    if not name or len(name) > 200:
        raise InvalidArgument("name must be 1 to 200 characters")
    secret = "ct_" + secrets.token_urlsafe(32)
    row = ApiKeyRow(name=name, prefix=secret[:10], key_hash=_hash_key(secret))
    session.add(row)
    await session.flush()
    await session.refresh(row)
    return row, secret


async def verify_api_key(*, session: AsyncSession, secret: str) -> ApiKeyRow:
    """Returns the live key with this secret, or raises Unauthenticated."""
    row = None
    if secret:
        row = await session.scalar(
            select(ApiKeyRow).where(
                ApiKeyRow.key_hash == _hash_key(secret), ApiKeyRow.revoked_at.is_(None)
            )
        )
    if row is None:
        raise Unauthenticated("invalid API key")
    return row


async def list_api_keys(*, session: AsyncSession) -> list[ApiKeyRow]:
    return list((await session.scalars(select(ApiKeyRow).order_by(ApiKeyRow.id))).all())


async def revoke_api_key(*, session: AsyncSession, key_id: int) -> ApiKeyRow:
    row = await session.get(ApiKeyRow, key_id)
    if row is None:
        raise NotFound(f"API key {key_id} not found")
    if row.revoked_at is None:
        row.revoked_at = _now()
        await session.flush()
    return row


# Noise-removal jobs


async def create_denoise_job(*, session: AsyncSession, values: Mapping[str, Any]) -> DenoiseJob:
    """Records a new noise-removal job, downloading or queued; the job_id must be new."""
    job_id = str(values.get("job_id") or "").strip()
    if not job_id or len(job_id) > 64:
        raise InvalidArgument("job_id must be 1 to 64 characters")
    if values.get("state") not in ("downloading", "queued"):
        raise InvalidArgument("a new job is downloading or queued")
    amount = int(values.get("amount") or 0)
    if not 1 <= amount <= 100:
        raise InvalidArgument("amount must be between 1 and 100")
    job = DenoiseJob(**{**values, "job_id": job_id})
    session.add(job)
    try:
        await session.flush()
    except IntegrityError as exc:
        raise AlreadyExists(f"job {job_id} already exists") from exc
    await session.refresh(job)
    return job


async def _load_denoise_job(
    session: AsyncSession, job_id: str, *, lock: bool = False
) -> DenoiseJob:
    stmt = select(DenoiseJob).where(DenoiseJob.job_id == job_id)
    if lock:
        stmt = stmt.with_for_update()
    job = await session.scalar(stmt)
    if job is None:
        raise NotFound(f"Job {job_id} not found")
    return job


async def get_denoise_job(*, session: AsyncSession, job_id: str) -> DenoiseJob:
    return await _load_denoise_job(session, job_id)


async def update_denoise_job(
    *, session: AsyncSession, job_id: str, changes: Mapping[str, Any]
) -> DenoiseJob:
    """Applies a state change, progress or results; times follow the state.

    Raises:
        FailedPrecondition: for a change to a job already succeeded or failed.
    """
    job = await _load_denoise_job(session, job_id, lock=True)
    state = changes.get("state") or job.state
    rules.check_denoise_transition(job_id, job.state, state)
    for field, value in changes.items():
        if field != "state" and value is not None:
            setattr(job, field, value)
    now = _now()
    if state == "in_progress" and job.started_at is None:
        job.started_at = now
    if state in ("succeeded", "failed"):
        job.completed_at = now
    if state == "succeeded":
        job.percent = 100.0
    job.state = state
    await session.flush()
    await session.refresh(job)
    return job
