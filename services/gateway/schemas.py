"""HTTP request bodies of the contract (pydantic), distinct from the catalog's proto messages."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr

__all__ = [
    "CreateWordListBody",
    "RemoveWordsBody",
    "SettingsBody",
    "UpdateWordListBody",
    "WordDetails",
    "WordsBody",
]

_STRICT = ConfigDict(extra="forbid", strict=True)


class CreateWordListBody(BaseModel):
    model_config = _STRICT

    name: StrictStr
    description: StrictStr = ""
    language: StrictStr = "en"
    is_default: StrictBool = False
    is_active: StrictBool = True


class UpdateWordListBody(BaseModel):
    model_config = _STRICT

    name: StrictStr | None = None
    description: StrictStr | None = None
    language: StrictStr | None = None
    is_default: StrictBool | None = None
    is_active: StrictBool | None = None
    allow: list[StrictStr] | None = None


class WordDetails(BaseModel):
    model_config = _STRICT

    severity: StrictStr | None = None
    category: StrictStr | None = None
    variations: list[StrictStr] | None = None
    notes: StrictStr | None = None


class WordsBody(BaseModel):
    """``{"words": {"word1": {...}}}``; a list of plain words is accepted too."""

    model_config = _STRICT

    words: dict[str, WordDetails | None] | list[StrictStr]


class RemoveWordsBody(BaseModel):
    model_config = _STRICT

    words: Annotated[list[StrictStr], Field(min_length=1)]


class SettingsBody(BaseModel):
    """The flat keys of ``PUT /api/settings``; only the keys given are changed."""

    model_config = _STRICT

    user_id: StrictStr = "default"
    default_word_list_id: Annotated[StrictInt, Field(ge=1, le=2**63 - 1)] | None = None
    default_censor_method: StrictStr | None = None
    default_min_severity: StrictStr | None = None
    preferred_output_format: StrictStr | None = None
    preferred_bitrate: StrictStr | None = None
    preserve_metadata: StrictBool | None = None
    whisper_model_size: StrictStr | None = None
    use_gpu: StrictBool | None = None
    theme: StrictStr | None = None
    language: StrictStr | None = None
    show_waveform: StrictBool | None = None
    auto_play_preview: StrictBool | None = None
    save_history: StrictBool | None = None
    save_transcriptions: StrictBool | None = None
    anonymous_mode: StrictBool | None = None
