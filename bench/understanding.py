"""How well Linli understands residents: accuracy per intent on the utterance corpus.

    python bench/understanding.py [--show-misses]

Prints accuracy on the dev part (used while tuning) and on the held-out part (never looked
at line by line), per intent, the confusion pairs, and the cost: recognizer start-up and
time per message.
"""
from __future__ import annotations

import argparse
import hashlib
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CORPUS = ROOT / "tests" / "corpus" / "utterances.tsv"


def load() -> list[tuple[str, str, str]]:
    """(part, intent, utterance) for every line; the part is fixed by a hash of the words."""
    rows = []
    for line in CORPUS.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        intent, utterance = line.split("\t", 1)
        part = "dev" if int(hashlib.md5(utterance.encode()).hexdigest(), 16) % 10 < 7 else "held-out"
        rows.append((part, intent, utterance))
    return rows


def predict(recognizer, utterance: str) -> str:
    guesses = recognizer.guess(utterance)
    return guesses[0].intent if guesses else "unknown"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--show-misses", action="store_true", help="list the dev part's misses")
    args = parser.parse_args()
    started = time.perf_counter()
    from bot.understanding import Recognizer
    from core.config import load_config
    from domain.reports.categories import categories

    config = load_config(environ={})
    recognizer = Recognizer(tuple(k for c in categories(config) for k in c.keywords))
    startup = time.perf_counter() - started
    rows = load()
    timing = time.perf_counter()
    results = [(part, intent, utterance, predict(recognizer, utterance)) for part, intent, utterance in rows]
    per_message = (time.perf_counter() - timing) / len(rows) * 1000
    for part in ("dev", "held-out"):
        mine = [r for r in results if r[0] == part]
        right = sum(r[1] == r[3] for r in mine)
        print(f"{part:9} {right}/{len(mine)} = {right / len(mine):.1%}")
    print("\nper intent (all lines):")
    by_intent: dict[str, list[bool]] = defaultdict(list)
    for _, intent, _, got in results:
        by_intent[intent].append(intent == got)
    for intent, hits in sorted(by_intent.items(), key=lambda kv: -len(kv[1])):
        print(f"  {intent:12} {sum(hits):3}/{len(hits):3} = {sum(hits) / len(hits):.0%}")
    confusions = Counter((intent, got) for _, intent, _, got in results if intent != got)
    print("\nconfusions (expected → got):")
    for (intent, got), n in confusions.most_common(15):
        print(f"  {intent} → {got}: {n}")
    if args.show_misses:
        print("\ndev misses:")
        for part, intent, utterance, got in results:
            if part == "dev" and intent != got:
                print(f"  {intent:11} got {got:11} {utterance}")
    print(f"\nrecognizer start-up (imports + dictionary): {startup * 1000:.0f} ms; "
          f"per message: {per_message:.3f} ms")


if __name__ == "__main__":
    main()
