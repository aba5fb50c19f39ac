"""Course vocabulary: recall of jargon terms and WER with and without it, on espeak-ng speech (`make bench-vocabulary`)."""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from aiat_transcriber.engine import FasterWhisperEngine, TranscribeOptions, build_engine
from aiat_transcriber.settings import TranscriberSettings
from tests.fixtures.media import speech_wav
from tests.transcriber.wer import normalise, word_error_rate

VOCABULARY = (
    "Schrödinger",
    "Hamiltonian",
    "eigenvalue",
    "Hermitian",
    "Noether",
    "Lagrangian",
    "Kirchhoff",
    "Bernoulli",
    "Navier-Stokes",
    "Laplacian",
    "Chandrasekhar",
    "Tsiolkovsky",
    "Boltzmann",
    "Heisenberg",
    "Feynman",
    "Okonkwo",
)

LECTURE = """
Welcome back. Professor Okonkwo asked me to start with the Schrödinger equation today. The
Hamiltonian is a Hermitian operator, so every eigenvalue of the Hamiltonian is a real number.
Noether showed that a symmetry of the Lagrangian gives a conserved quantity. In the circuits part
of the course we used Kirchhoff's laws, and in fluids we met Bernoulli's principle and the
Navier-Stokes equations, where the Laplacian describes viscosity. Chandrasekhar found the largest
mass of a white dwarf star. Tsiolkovsky wrote the rocket equation. Boltzmann connected entropy with
the number of microstates, Heisenberg gave us the uncertainty principle, and Feynman drew his
diagrams. Next week Professor Okonkwo will solve the Schrödinger equation for the hydrogen atom and
find each eigenvalue of its Hamiltonian.
"""


def term_recall(reference: str, hypothesis: str, terms: Sequence[str]) -> tuple[int, int]:
    """(term occurrences found in the hypothesis, occurrences in the reference), each capped by the reference count."""
    found = total = 0
    ref, hyp = normalise(reference), normalise(hypothesis)
    for term in terms:
        words = normalise(term)
        count_ref = _count(ref, words)
        total += count_ref
        found += min(count_ref, _count(hyp, words))
    return found, total


def _count(tokens: list[str], words: list[str]) -> int:
    n = len(words)
    return sum(tokens[i : i + n] == words for i in range(len(tokens) - n + 1))


def run(engine: FasterWhisperEngine, media: str, vocabulary: Sequence[str], model: str) -> dict[str, object]:
    """One transcription: recall of the terms, WER and wall time."""
    options = TranscribeOptions(model=model, language="en", vocabulary=tuple(vocabulary))
    started = time.perf_counter()
    transcript = engine.transcribe(media, options, lambda _d, _t: None, threading.Event())
    seconds = time.perf_counter() - started
    text = " ".join(s.text for s in transcript.segments)
    found, total = term_recall(LECTURE, text, VOCABULARY)
    return {
        "engine": transcript.engine,
        "vocabulary": bool(vocabulary),
        "term_recall": round(found / total, 3),
        "terms_found": f"{found}/{total}",
        "wer": round(word_error_rate(LECTURE, text), 3),
        "seconds": round(seconds, 1),
    }


def main(argv: Sequence[str] | None = None) -> None:
    """Transcribe the jargon lecture with each model, without and with the vocabulary; print JSON lines."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--models", default="default,multilingual", help="comma-separated: default, multilingual"
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        wav = speech_wav(" ".join(LECTURE.split()), data / "media" / "jargon.wav")
        settings = TranscriberSettings(data_dir=data, device="cpu", cpu_threads=2)
        engine = build_engine(settings)
        engine.load()
        print(json.dumps({"machine": platform.processor() or platform.machine(), "audio": wav.name}))
        for model in args.models.split(","):
            for vocabulary in ((), VOCABULARY):
                print(json.dumps(run(engine, "jargon.wav", vocabulary, model)), flush=True)
        engine.close()


if __name__ == "__main__":
    main()
