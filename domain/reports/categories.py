"""Report categories from the configuration: tier (三事分流), SLA, keywords and advice."""
from __future__ import annotations

from dataclasses import dataclass

from core.config import Config
from models import Tier

TIER_WORDS = {"大事": Tier.BIG, "小事": Tier.SMALL, "私事": Tier.PRIVATE}


@dataclass(frozen=True)
class Category:
    code: str
    name: str
    tier: Tier
    keywords: tuple[str, ...]
    accept_hours: float
    resolve_hours: float
    advice: str | None
    public: bool
    working: bool = True  # the SLA counts working hours on working days


_BUILT: dict[int, tuple[Config, tuple[Category, ...]]] = {}


def categories(config: Config) -> tuple[Category, ...]:
    """Built once per configuration object (the config is immutable)."""
    built = _BUILT.get(id(config))
    if built is not None and built[0] is config:
        return built[1]
    out = []
    for item in config.reports.categories:
        sla = config.reports.sla[item.tier]
        out.append(Category(item.code, item.name, Tier(item.tier), tuple(item.keywords),
                            item.accept_hours or sla.accept_hours,
                            item.resolve_hours or sla.resolve_hours, item.advice,
                            item.public and item.tier != "private",
                            sla.working if item.working is None else item.working))
    _BUILT[id(config)] = (config, tuple(out))
    return tuple(out)


def category(config: Config, code: str) -> Category | None:
    return next((c for c in categories(config) if c.code == code), None)


def name_of(config: Config, code: str) -> str:
    found = category(config, code)
    return found.name if found else code


def suggest(config: Config, words: str) -> Category | None:
    """The category whose keywords occur most in the text (substring match: Chinese
    is written without spaces, and a keyword like 路灯 matches inside 小区路灯坏了)."""
    scored = [(sum(len(k) for k in c.keywords if k in words), -i, c)
              for i, c in enumerate(categories(config))]
    best = max(scored, key=lambda t: (t[0], t[1]), default=None)
    return best[2] if best and best[0] > 0 else None
