"""Pydantic models of ``seeds/topics.yaml`` and its loader (errors name file:line and field)."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PlainValidator, model_validator

from pipeline.config.seedfile import field_name, line_for, load_yaml, validate
from pipeline.errors import SeedError
from pipeline.topics.terms import TermSyntaxError, parse_alias

LANG_PATTERN = r"[a-z]{2,3}"
SET_NAME = r"[a-z0-9_-]+"
SourceType = Literal["ministry", "government", "wire", "media"]


def _check_terms(value: object) -> dict[str, list[str]]:
    """A term map: language code -> non-empty list of aliases that all parse."""
    if not isinstance(value, dict):
        raise ValueError("expected a mapping of language code to a list of terms")
    if not value:
        raise ValueError("no terms; give at least one language with aliases, e.g. en: [...]")
    for lang, aliases in value.items():
        if not isinstance(lang, str) or not re.fullmatch(LANG_PATTERN, lang):
            raise ValueError(f"{lang!r} is not a language code (two or three letters: en, ru)")
        if not isinstance(aliases, list):
            raise ValueError(f"{lang}: expected a list of terms, e.g. {lang}: [term, term]")
        if not aliases:
            raise ValueError(f"{lang}: empty list; remove the language or add aliases")
        for alias in aliases:
            if not isinstance(alias, str):
                raise ValueError(f"{lang}: {alias!r} is not text; quote it")
            try:
                parse_alias(alias)
            except TermSyntaxError as exc:
                raise ValueError(f"{lang}: {exc}") from None
    return value


def _terms_spec(value: object) -> str | dict[str, list[str]]:
    """Either the name of a set or an inline term map (one clear error, not one per branch)."""
    if isinstance(value, str):
        if not re.fullmatch(SET_NAME, value):
            raise ValueError(f"{value!r} is not a set name; write terms as {{en: [...]}}")
        return value
    return _check_terms(value)


# Aliases grouped by language code (en, ru, hy, az, ...). The grouping is for readers:
# every alias is matched in every document whatever its language.
TermMap = Annotated[dict[str, list[str]], PlainValidator(_check_terms)]
# Either inline aliases or the name of an entry under ``sets:``.
TermsSpec = Annotated[str | dict[str, list[str]], PlainValidator(_terms_spec)]


class _Strict(BaseModel):
    """Unknown keys are errors (a typo must not silently disable a rule)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Near(_Strict):
    """Some term of ``a`` within ``within`` words of some term of ``b`` (same field)."""

    a: TermsSpec
    b: TermsSpec
    within: int = Field(default=5, ge=0, le=100)


KINDS = ("terms", "near", "any", "all", "none", "sentence")
GROUPS = frozenset({"any", "all", "none", "sentence"})


class Condition(_Strict):
    """Exactly one of: ``terms``, ``near``, or a nested ``any``/``all``/``none``/``sentence``."""

    terms: TermsSpec | None = None
    near: Near | None = None
    any: list[Condition] | None = None
    all: list[Condition] | None = None
    none: list[Condition] | None = None
    # Every child holds inside one sentence (of the title or of the text).
    sentence: list[Condition] | None = None
    # For ``terms``: how many mentions (hits) are needed; 2 means "mentioned at least twice".
    at_least: int = Field(default=1, ge=1)
    # Context only: required, but its words alone never make a mention substantive
    # ("Armenia" in a headline does not make a passing "peace deal" the story's subject).
    context: bool = False

    @model_validator(mode="after")
    def _one_kind(self) -> Condition:
        """Exactly one kind of condition, and groups are not empty."""
        given = [k for k in KINDS if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(
                "a condition needs exactly one of " + " / ".join(KINDS)
                + (f" (got {', '.join(given)})" if given else "")
            )  # fmt: skip
        group = getattr(self, given[0])
        if given[0] in GROUPS and not group:
            raise ValueError(f"empty '{given[0]}' group")
        if self.at_least != 1 and given[0] != "terms":
            raise ValueError("at_least applies to terms conditions only")
        return self

    @property
    def kind(self) -> str:
        """Which of the kinds this condition is."""
        for k in KINDS:
            if getattr(self, k) is not None:
                return k
        raise AssertionError("validated condition without a kind")


class TopicDef(_Strict):
    """One tracked topic: identity, rule, optional filters."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,99}$")
    name: str = Field(min_length=1)
    description: str = Field(min_length=1)
    enabled: bool = True
    languages: list[Annotated[str, Field(pattern=f"^{LANG_PATTERN}$")]] | None = None
    sources: list[str] | None = None
    source_types: list[SourceType] | None = None
    # Alert only on a substantive mention: in the title, in the lead, or in several
    # sentences; one mention deep in an unrelated text (a list item) is passing.
    substantive: bool = False
    any: list[Condition] = Field(default_factory=list)
    all: list[Condition] = Field(default_factory=list)
    none: list[Condition] = Field(default_factory=list)

    @model_validator(mode="after")
    def _has_rule(self) -> TopicDef:
        """A topic with no positive condition would never (or always) match."""
        if not self.any and not self.all:
            raise ValueError("empty rule: give at least one condition under 'any' or 'all'")
        return self


class TopicsFile(_Strict):
    """The whole ``topics.yaml``: shared term sets and the topics."""

    sets: dict[Annotated[str, Field(pattern=f"^{SET_NAME}$")], TermMap] = Field(
        default_factory=dict
    )
    topics: list[TopicDef]


Condition.model_rebuild()
Near.model_rebuild()


def set_references(topic: TopicDef) -> list[tuple[tuple[str | int, ...], str]]:
    """(location inside the topic, set name) for every set the topic names."""
    found: list[tuple[tuple[str | int, ...], str]] = []

    def walk(cond: Condition, loc: tuple[str | int, ...]) -> None:
        if isinstance(cond.terms, str):
            found.append(((*loc, "terms"), cond.terms))
        if cond.near is not None:
            for side in ("a", "b"):
                spec = getattr(cond.near, side)
                if isinstance(spec, str):
                    found.append(((*loc, "near", side), spec))
        for group in ("any", "all", "none", "sentence"):
            for i, child in enumerate(getattr(cond, group) or []):
                walk(child, (*loc, group, i))

    for group in ("any", "all", "none"):
        for i, cond in enumerate(getattr(topic, group)):
            walk(cond, (group, i))
    return found


def load_topics(path: Path) -> TopicsFile:
    """Load and validate ``topics.yaml``; unknown set names and duplicate ids name their line."""
    data, lines = load_yaml(path)
    model = validate(TopicsFile, data, lines, str(path))
    seen: dict[str, int] = {}
    for i, topic in enumerate(model.topics):
        loc: tuple[str | int, ...] = ("topics", i)
        if topic.id in seen:
            raise SeedError(
                str(path), line_for((*loc, "id"), lines), field_name((*loc, "id")),
                f"duplicate topic id {topic.id!r} (first at topics[{seen[topic.id]}])",
            )  # fmt: skip
        seen[topic.id] = i
        for where, name in set_references(topic):
            if name not in model.sets:
                known = ", ".join(sorted(model.sets)) or "none defined"
                full = (*loc, *where)
                raise SeedError(
                    str(path), line_for(full, lines), field_name(full),
                    f"unknown set {name!r} (sets: {known})",
                )  # fmt: skip
    return model


def definition(topic: TopicDef, sets: dict[str, dict[str, list[str]]]) -> dict[str, Any]:
    """What the ``topics`` table stores: the topic and the sets it uses, as plain JSON."""
    used = sorted({name for _, name in set_references(topic)})
    out: dict[str, Any] = topic.model_dump(mode="json", exclude_defaults=True)
    if used:
        out["sets"] = {name: sets[name] for name in used}
    return out


def definition_hash(defn: dict[str, Any]) -> str:
    """Stable hash of a stored definition (changes when the topic's meaning may change)."""
    blob = json.dumps(defn, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()
