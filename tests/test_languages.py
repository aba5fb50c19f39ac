"""The language codes the gateway validates are exactly those faster-whisper knows."""

from __future__ import annotations

from faster_whisper.tokenizer import _LANGUAGE_CODES

from aiat.languages import WHISPER_LANGUAGES


def test_the_shared_list_is_whispers() -> None:
    assert set(_LANGUAGE_CODES) == WHISPER_LANGUAGES
