"""A second opinion on "is this English?" from py3langid (a naive Bayes model over byte n-grams
that ships inside its wheel), asked only where the lexicon evidence is weak.

A text is English when the model's top language is English or English gets at least
`min_probability`; with `english_on_top=False` only the probability counts (`SURE_PROBABILITY`:
English more likely than not, where the lexicon's case is weak). `by_lines` reads a poem line by
line, so that an English poem with a foreign epigraph can stay English and a poem followed by its
translation does not: it gives the share of words on lines the model calls English and the longest
run of other lines.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

MIN_PROBABILITY = 0.1
SURE_PROBABILITY = 0.5  # English more likely than every other language together
MIN_LINE_WORDS = 3


@cache
def identifier():
    """py3langid's shipped model with normalised probabilities, loaded once per process."""
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


@dataclass
class SecondOpinion:
    """English share of a text's words, by line, from py3langid."""

    min_probability: float = MIN_PROBABILITY
    min_line_words: int = MIN_LINE_WORDS
    english_on_top: bool = True  # English as the top language is enough, whatever its probability

    def is_english(self, text: str) -> bool:
        ranked = identifier().rank(text)
        return (self.english_on_top and ranked[0][0] == "en") or dict(ranked)["en"] >= self.min_probability

    def by_lines(self, text: str) -> tuple[float, int]:
        """(share of the words on lines of `min_line_words`+ words that sit on English lines,
        longest run of non-English such lines); a text with fewer than two such lines is judged whole."""
        lines = [(line, len(line.split())) for line in text.splitlines()]
        long_lines = [(line, words) for line, words in lines if words >= self.min_line_words]
        if len(long_lines) < 2:
            english = self.is_english(text)
            return float(english), int(not english)
        english_words = run = longest = 0
        for line, words in long_lines:
            english = self.is_english(line)
            english_words += words if english else 0
            run = 0 if english else run + 1
            longest = max(longest, run)
        return english_words / sum(words for _, words in long_lines), longest
