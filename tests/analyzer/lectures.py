"""A short three-topic lecture as a timed transcript, and the sentences the analyzer sees in one."""

from __future__ import annotations

from aiat.common.v1 import transcript_pb2
from aiat_analyzer.sentences import Sentence, flatten_words, split_sentences

TOPICS = [
    [
        "Plants make their food by photosynthesis in the green leaves.",
        "The leaves hold chlorophyll, a green pigment that absorbs sunlight.",
        "Photosynthesis turns carbon dioxide and water into glucose and oxygen.",
        "The chlorophyll in the leaves captures light energy for photosynthesis.",
        "Plants release the oxygen from photosynthesis through small pores in the leaves.",
        "Without sunlight the leaves cannot make glucose for the plants.",
        "Glucose from photosynthesis feeds the growing plants and their roots.",
        "So green leaves, sunlight and chlorophyll drive photosynthesis in plants.",
        "Farmers care about photosynthesis because plants need light to grow.",
        "That is the core of photosynthesis in green plants and leaves.",
    ],
    [
        "Now let us turn to rockets and how a rocket reaches orbit.",
        "A rocket burns fuel and pushes exhaust gas out of its nozzle.",
        "The exhaust pushes the rocket forward, by Newton's third law of motion.",
        "To reach orbit the rocket needs a horizontal speed of about eight kilometres per second.",
        "In orbit the rocket keeps falling toward the Earth but misses it.",
        "Gravity bends the path of the rocket into a circular orbit.",
        "Heavier rockets need more fuel and bigger engines to reach orbit.",
        "Engineers stack rocket stages so empty fuel tanks can drop away.",
        "Each stage of the rocket burns its fuel and then separates.",
        "That is how a multistage rocket climbs into a stable orbit.",
    ],
    [
        "Finally, a word about baking bread in the kitchen.",
        "Bread dough needs flour, water, salt and yeast.",
        "The yeast eats sugar in the flour and releases gas that makes the dough rise.",
        "Kneading the dough builds gluten, which traps the gas from the yeast.",
        "After kneading, the dough rests in a warm kitchen for an hour.",
        "The oven bakes the risen dough into a loaf of bread with a brown crust.",
        "Bakers check the bread by tapping the crust of the loaf.",
        "A hollow sound means the bread is baked through.",
        "Good bread depends on the flour, the yeast and patient kneading.",
        "So that is bread: flour, yeast, dough and a hot oven.",
    ],
]

SECONDS_PER_WORD = 0.4


def make_transcript(sentences: list[str], words_per_segment: int = 17) -> transcript_pb2.Transcript:
    """Whisper-like transcript: punctuation on words, segments that cut across sentences."""
    tokens = [w for s in sentences for w in s.split()]
    words = [
        transcript_pb2.Word(
            start=i * SECONDS_PER_WORD, end=(i + 0.8) * SECONDS_PER_WORD, text=" " + t, probability=0.9
        )
        for i, t in enumerate(tokens)
    ]
    segments = []
    for n, i in enumerate(range(0, len(words), words_per_segment)):
        chunk = words[i : i + words_per_segment]
        segments.append(
            transcript_pb2.Segment(
                id=n,
                start=chunk[0].start,
                end=chunk[-1].end,
                text="".join(w.text for w in chunk),
                words=chunk,
            )
        )
    return transcript_pb2.Transcript(
        language="en", duration=len(tokens) * SECONDS_PER_WORD + 1.0, segments=segments, engine="test"
    )


def transcript_sentences(transcript: transcript_pb2.Transcript) -> list[Sentence]:
    """Timed sentences of a transcript, as the pipeline splits them."""
    return split_sentences(flatten_words(transcript))
