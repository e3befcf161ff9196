"""Understanding free words and voice: which feature a message outside any command means.

`clean` writes the message the way the vocabulary is written (simplified, half-width,
Cantonese forms in Mandarin, filler and punctuation gone, common mishearings mended); `guess`
scores every intent of `core.texts.intents` and returns them best first. jieba segments the
sentence (with a domain dictionary of the vocabulary and the category keywords, loaded in
well under a second) so that a short word counts only when it stands as a word.
"""
from __future__ import annotations

import hashlib
import logging
import re
import tempfile
from collections import Counter, defaultdict
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import jieba

from core.config import Config
from core.numbers import numbered_choice, to_int
from core.texts import intents as vocab
from core.texts.vocab import NO, RATINGS, YES
from core.words import normalise

jieba.setLogLevel(logging.WARNING)
_PUNCTUATION = re.compile(r"[\s,，。.!！?？、:：;；~～…\-—·'\"“”‘’()（）\[\]【】]+")
# Single characters and very short words that only count as whole words (tokens).
_WORD_ONLY = {"早", "好", "喂", "嗨", "hi", "ok", "叫", "火", "烟", "冒", "陡"}
_REPORT_CODE = re.compile(r"bs\d{6,10}")  # "BS000123 怎么样了": about that report
_STARS = re.compile(r"^([0-9一二两三四五])(分|星|颗星|个星|粒星)")
# Intents that are only manners: in front of a request they are politeness, not the point.
POLITE = frozenset({"greeting", "thanks", "chitchat"})
_PROBLEM = "_problem"  # the weight of words that say something is wrong, scored like an intent
_DIALECT_LONGEST_FIRST = sorted(vocab.DIALECT.items(), key=lambda kv: -len(kv[0]))


@dataclass(frozen=True)
class Guess:
    intent: str
    score: float


def clean(text: str) -> str:
    """The words that carry meaning, written the way the vocabulary is."""
    words = normalise(text or "").lower()
    for heard, meant in vocab.MISHEARD.items():
        words = words.replace(heard, meant)
    for said, meant in _DIALECT_LONGEST_FIRST:
        words = words.replace(said, meant)
    clauses = [clause for clause in _PUNCTUATION.split(words) if clause]
    for edge in vocab.EDGE_FILLERS:
        clauses = [clause.removeprefix(edge) for clause in clauses]
    words = "".join(clauses)
    for filler in vocab.FILLERS:
        words = words.replace(filler, "")
    return words.strip()


class Recognizer:
    """Scores intents; `problem_words` are the report categories' keywords (from config)."""

    def __init__(self, problem_words: tuple[str, ...] = ()):
        self.problem_words = tuple(w for w in problem_words if w)
        self.tokenizer = _tokenizer(tuple(sorted(set(self.problem_words))))
        # Every phrase once, under its first character: a message is matched by walking its
        # few characters, not by testing some 400 phrases against it.
        self._weights: dict[str, list[tuple[str, int]]] = defaultdict(list)
        for intent, phrases in (*vocab.INTENTS.items(), (_PROBLEM, vocab.PROBLEM)):
            for phrase, weight in phrases.items():
                self._weights[phrase].append((intent, weight))
        self._things = Counter(self.problem_words)  # a keyword listed twice counts twice
        self._starting: dict[str, list[str]] = defaultdict(list)
        for phrase in {*self._weights, *self._things}:
            self._starting[phrase[0]].append(phrase)
        # The last message's guesses: inside a task the router asks twice about the same
        # words (does it leave the task? then, routed afresh, what does it mean?).
        self._last: tuple[str, tuple[Guess, ...]] = ("", ())

    def guess(self, text: str) -> list[Guess]:
        """Intents best first, those above the threshold only (empty: not understood)."""
        last = self._last
        if text and text == last[0]:
            return list(last[1])
        ranked = self._ranked(text)
        self._last = (text, tuple(ranked))
        return ranked

    def _ranked(self, text: str) -> list[Guess]:
        words = clean(text)
        if not words:
            return []
        scores = dict.fromkeys(vocab.INTENTS, 0)
        scores[_PROBLEM] = things = 0
        tokens = None
        for phrase in self._phrases_in(words):
            things += 2 * self._things.get(phrase, 0)
            if phrase in _WORD_ONLY:  # must stand as a word; jieba runs only for these
                tokens = set(self.tokenizer.lcut(words)) if tokens is None else tokens
                if phrase not in tokens:
                    continue
            for intent, weight in self._weights.get(phrase, ()):
                scores[intent] += weight
        problem = scores.pop(_PROBLEM)
        if _REPORT_CODE.search(words):
            scores["my_reports"] += 6
        # A problem is a report when something is wrong with something, or clearly wrong.
        scores["report"] = problem + things if problem else 0
        # Asking about one's own reports mentions the thing and the fault too: the question wins.
        if scores["my_reports"] >= 5:
            scores["report"] /= 2
        # A greeting or thanks in front of a request is politeness, not the point.
        if any(scores[i] >= vocab.THRESHOLD for i in scores if i not in POLITE):
            for polite in POLITE:
                scores[polite] /= 3
        ranked = sorted((Guess(i, s) for i, s in scores.items() if s >= vocab.THRESHOLD),
                        key=lambda g: -g.score)
        return ranked

    def _phrases_in(self, words: str) -> set[str]:
        """The known phrases that occur in `words`."""
        return {phrase for at, first in enumerate(words) for phrase in self._starting.get(first, ())
                if words.startswith(phrase, at)}

    def feedback(self, text: str) -> str | None:
        """'not_solved' / 'solved' when the words answer "解决了吗", else None."""
        words = clean(text)
        if any(p in words for p in vocab.NOT_SOLVED):
            return "not_solved"
        if any(q in words or q in text for q in vocab.QUESTION):
            return None
        if any(p in words for p in vocab.SOLVED):
            return "solved"
        return None


@lru_cache(maxsize=4)
def _tokenizer(extra_words: tuple[str, ...]) -> jieba.Tokenizer:
    """A jieba tokenizer whose dictionary is Linli's own vocabulary (a small file: fast to load)."""
    entries = set(extra_words) | set(vocab.PROBLEM)
    for phrases in vocab.INTENTS.values():
        entries |= set(phrases)
    folder = Path(tempfile.gettempdir()) / "linli-jieba"
    folder.mkdir(exist_ok=True)
    digest = hashlib.sha1("\n".join(sorted(entries)).encode()).hexdigest()[:12]
    dictionary = folder / f"words-{digest}.txt"
    if not dictionary.exists():
        dictionary.write_text("".join(f"{w} 1000\n" for w in sorted(entries) if w.strip()),
                              encoding="utf-8")
    tokenizer = jieba.Tokenizer(dictionary=str(dictionary))
    tokenizer.tmp_dir = str(folder)
    tokenizer.initialize()
    return tokenizer


def yes_or_no(text: str | None) -> bool | None:
    """True for yes (1, 好的, 可以, 冇问题 …), False for no (2, 不要, 算了, 唔要 …), else None."""
    words = clean(text or "")
    number = numbered_choice(words, 2)
    if number is not None:
        return number == 1
    for wanted, said in ((False, NO), (True, YES)):
        if any(words == w or (words.startswith(w) and len(words) <= len(w) + 6) for w in said):
            return wanted
    return None


def stars(text: str | None) -> int | None:
    """A 1-5 rating from 5 / 五 / 5分 / 五星 / 很满意 / 一般 / 唔满意 …, else None."""
    words = clean(text or "")
    number = numbered_choice(words, 5)
    if number is not None:
        return number
    if (said := _STARS.match(words)) is not None:
        value = to_int(said.group(1), max_value=5)
        return value if value else None
    return next((value for phrase, value in RATINGS if phrase in words), None)


@lru_cache(maxsize=8)
def _recognizer(words: tuple[str, ...]) -> Recognizer:
    return Recognizer(words)


_shared: tuple = (None, None)  # the categories last asked about, their recognizer


def recognizer(config: Config) -> Recognizer:
    """The recognizer for these report categories (built once per process, then shared)."""
    global _shared
    shared, categories = _shared, config.reports.categories
    if shared[0] is not categories:  # asked on every free-worded message: no tuple each time
        shared = _shared = (categories, _recognizer(tuple(k for c in categories for k in c.keywords)))
    return shared[1]
