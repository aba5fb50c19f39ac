"""The analyzer follows the lecture's language: Snowball stems, that language's stop words, names in its words."""

from __future__ import annotations

import threading

import pytest

from aiat_analyzer.combine import EvidenceProposer, EvidenceWeights, slide_scores
from aiat_analyzer.languages import lexicon
from aiat_analyzer.lexical import ExtractiveRefiner, LexicalProposer
from aiat_analyzer.pipeline import AnalyzeOptions, PipelineEngine, RequestLimits, SlideInfo, build_document
from tests.analyzer.lectures import make_transcript

LIMITS = RequestLimits(min_seconds=10.0, max_seconds=60.0, max_snippets=10, max_words=10_000)

SPANISH = [
    "Hoy hablamos de la fotosíntesis en las plantas verdes.",
    "La fotosíntesis convierte la luz del sol en energía química.",
    "Las hojas verdes tienen clorofila, y la clorofila absorbe la luz.",
    "Sin clorofila las plantas no pueden hacer la fotosíntesis.",
    "Las plantas producen oxígeno durante la fotosíntesis.",
    "Ahora pasamos a los volcanes y a la lava.",
    "Un volcán expulsa lava, ceniza y gases calientes.",
    "La lava de los volcanes sale del magma bajo la corteza.",
    "Cuando el magma sube, el volcán entra en erupción.",
    "Las erupciones de los volcanes cambian el paisaje.",
]
GERMAN = [
    "Heute sprechen wir über die Photosynthese der Pflanzen.",
    "Die Photosynthese wandelt das Licht der Sonne in chemische Energie.",
    "Grüne Blätter enthalten Chlorophyll, und das Chlorophyll absorbiert das Licht.",
    "Ohne Chlorophyll können Pflanzen keine Photosynthese betreiben.",
    "Die Pflanzen erzeugen Sauerstoff bei der Photosynthese.",
    "Jetzt kommen wir zu den Vulkanen und zur Lava.",
    "Ein Vulkan stößt Lava, Asche und heiße Gase aus.",
    "Die Lava der Vulkane kommt aus dem Magma unter der Erdkruste.",
    "Wenn das Magma steigt, bricht der Vulkan aus.",
    "Die Ausbrüche der Vulkane verändern die Landschaft.",
]


def test_snowball_stems_and_stop_words_per_language() -> None:
    es, de, ru = lexicon("es"), lexicon("de-AT"), lexicon("ru")
    assert es.terms("Los volcanes y el volcán") == [es.stem("volcanes")] * 2
    assert de.terms("die Vulkane, der Vulkan, äh, also") == ["vulkan", "vulkan"]  # fillers too
    assert ru.terms("Сегодня мы говорим об энергии и энергия") == ["говор", "энерг", "энерг"]
    assert lexicon("xx").terms("Quelque mots") == ["quelque", "mots"]  # unknown: words as they are
    assert lexicon("").language == "en"


@pytest.mark.parametrize(
    ("language", "sentences", "topics"),
    [
        ("es", SPANISH, ({"fotosíntesis", "clorofila", "plantas"}, {"volcanes", "lava", "magma", "volcán"})),
        (
            "de",
            GERMAN,
            ({"photosynthese", "chlorophyll", "pflanzen"}, {"vulkan", "vulkane", "lava", "magma"}),
        ),
    ],
)
def test_snippets_are_named_in_the_lectures_language(
    language: str, sentences: list[str], topics: tuple[set[str], set[str]]
) -> None:
    transcript = make_transcript(sentences)
    transcript.language = language
    engine = PipelineEngine(LexicalProposer(), ExtractiveRefiner(), name="lexical", limits=LIMITS)
    options = LIMITS.resolve()
    items = engine.analyze(transcript, options, lambda *_: None, threading.Event())
    assert len(items) == 2
    stop = lexicon(language).stopwords
    for item, topic in zip(items, topics, strict=True):
        words = {w.strip().lower() for w in item.name.split(",")}
        assert words & topic, item.name  # the topic's own words, in the lecture's language
        assert not words & stop, item.name
        assert item.summary in " ".join(sentences)


RUSSIAN = [
    "Сегодня мы говорим о фотосинтезе в зелёных растениях.",
    "Фотосинтез превращает солнечный свет в химическую энергию растений.",
    "Зелёные листья содержат хлорофилл, и хлорофилл поглощает свет.",
    "Без хлорофилла растения не могут вести фотосинтез.",
    "Вулкан выбрасывает лаву, пепел и горячие газы.",
    "Лава вулкана выходит из магмы под земной корой.",
    "Когда магма поднимается, вулкан начинает извержение.",
    "Извержения вулканов меняют ландшафт вокруг вулкана.",
    "Лава и пепел вулкана покрывают склоны горы.",
    "Магма остывает, и лава вулкана становится камнем.",
    "Учёные измеряют газы вулкана перед извержением.",
    "После извержения магма снова копится под вулканом.",
]


def test_the_evidence_proposer_reads_words_in_the_lectures_language() -> None:
    """Russian words (Snowball stems, Russian stop words) find the change of topic; the English
    tokenizer sees no word of Cyrillic text and cuts by length alone."""
    transcript = make_transcript(RUSSIAN)
    transcript.language = "ru"
    doc = build_document(transcript)
    options = AnalyzeOptions(min_seconds=10.0, max_seconds=60.0, max_snippets=0)
    cands = EvidenceProposer(weights=EvidenceWeights()).propose(doc, options)
    assert [c.first for c in cands] == [0, 4]


def test_slide_novelty_compares_stems_of_the_lectures_language() -> None:
    """A Russian slide repeating the last one's words in other inflections is not new."""
    transcript = make_transcript(RUSSIAN)
    transcript.language = "ru"
    doc = build_document(transcript)
    slides = [
        SlideInfo(0.0, "Энергия маятника", "маятник и пружина"),
        SlideInfo(doc.sentences[4].start, "Энергии маятников", "пружины"),
    ]
    assert slide_scores(doc, slides)[4] == pytest.approx(0.0)
