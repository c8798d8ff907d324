"""Realistic synthetic news documents for scale benchmarks and reliability tests.

Documents look like what the monitored sources publish, in English, Russian, Armenian and
Azerbaijani: a headline, a dateline, five to nine paragraphs (about 2-4 KB), a source, a
publication time. Every word list below was written for this project.

What makes them useful for benchmarks:

* **Distinct stories share almost no 5-word shingles**, as real unrelated articles do: about a
  third of the words are names, numbers and places drawn from large generated pools, so
  deduplication sees no false candidates that would not exist on real data.
* **Republished copies at a realistic rate** (``copy_rate``, default 0.25: wire agencies and
  aggregators repost a good share of ministry statements): a copy of a recent story, at another
  outlet's URL, re-headlined, with a lead line ("TASS reported that ..."), cut to 60-100% of its
  paragraphs, with outlet boilerplate and changed punctuation — the edits deduplication must fold.
* **Topic mentions** (``topic_rate``, default 0.12) of the shipped topics in the document's own
  language, so matching has real work: rules are evaluated, passages are cut.
* **Pre-extracted**: each document carries its clean title and text (no HTML parsing is timed);
  :func:`to_html` renders a page for tests that need one.

The generator is deterministic for a given ``seed``.
"""

from __future__ import annotations

import html
import random
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

LANGUAGES = ("en", "ru", "hy", "az")
# (source name, domain, language weights): shipped sources, so store_article finds their rows.
SOURCES: tuple[tuple[str, str, dict[str, int]], ...] = (
    ("mfa-am", "mfa.am", {"en": 2, "hy": 3}),
    ("mid-ru", "mid.ru", {"en": 2, "ru": 3}),
    ("mfa-gov-az", "mfa.gov.az", {"en": 2, "az": 3}),
    ("kremlin", "kremlin.ru", {"en": 1, "ru": 2}),
    ("tass", "tass.com", {"en": 3, "ru": 3}),
    ("armenpress", "armenpress.am", {"en": 2, "hy": 3, "ru": 1}),
    ("news-am", "news.am", {"en": 2, "hy": 2, "ru": 1}),
    ("apa", "apa.az", {"en": 2, "az": 3, "ru": 1}),
    ("azertag", "azertag.az", {"en": 2, "az": 3, "ru": 1}),
)
WIRES = ("tass", "armenpress", "news-am", "apa", "azertag")

# Common words per language (function words and news vocabulary), most frequent first:
# sentences draw from them with a Zipf-like bias.
WORDS: dict[str, list[str]] = {
    "en": (
        "the of and to in on for with that said was is by at from as an be has will "
        "minister ministry foreign talks meeting statement sides parties issue issues "
        "cooperation security regional region government delegation visit officials "
        "agreement process discussed noted stressed expressed welcomed confirmed "
        "readiness support development trade transport energy economic political "
        "relations partners international joint commission working group deputy prime "
        "president office spokesperson press briefing week month year today yesterday "
        "further steps next round held signed agreed continue continued important "
        "bilateral multilateral format framework dialogue humanitarian situation border "
        "schedule experts consultations draft document proposals response comments"
    ).split(),
    "ru": (
        "и в на с по что для не о к из от за как это было будет также сообщил "
        "министр министерство иностранных дел переговоры встреча заявление стороны "
        "вопрос вопросы сотрудничество безопасность региональной региона правительство "
        "делегация визит представители соглашение процесс обсудили отметил подчеркнул "
        "выразил приветствовал подтвердил готовность поддержку развитие торговли "
        "транспорта энергетики экономических политических отношений партнеров "
        "международной совместной комиссии рабочей группы вице-премьер президент "
        "пресс-секретарь брифинг неделе месяце году сегодня вчера дальнейшие шаги "
        "следующий раунд прошли подписали договорились продолжить важным двусторонний "
        "многосторонний формат рамках диалог гуманитарной ситуации эксперты консультации "
        "проект документа предложения ответ комментарий"
    ).split(),
    "hy": (
        "և է են որ ի համար հետ մասին կողմից այն այս նաև ըստ որպես էր կլինի հայտնել "
        "նախարար նախարարություն արտաքին գործերի բանակցություններ հանդիպում հայտարարություն "
        "կողմերը հարց հարցեր համագործակցություն անվտանգություն տարածաշրջանային "
        "տարածաշրջանի կառավարություն պատվիրակություն այց ներկայացուցիչներ համաձայնություն "
        "գործընթաց քննարկեցին նշեց ընդգծեց հայտնեց ողջունեց հաստատեց պատրաստակամություն "
        "աջակցություն զարգացում առևտուր տրանսպորտ էներգետիկա տնտեսական քաղաքական "
        "հարաբերություններ գործընկերներ միջազգային համատեղ հանձնաժողով աշխատանքային խումբ "
        "փոխվարչապետ նախագահ խոսնակ ճեպազրույց շաբաթ ամիս տարի այսօր երեկ հետագա "
        "քայլեր հաջորդ փուլ անցկացվեց ստորագրեցին պայմանավորվեցին շարունակել կարևոր "
        "երկկողմ բազմակողմ ձևաչափ շրջանակում երկխոսություն մարդասիրական իրավիճակ "
        "փորձագետներ խորհրդակցություններ նախագիծ փաստաթուղթ առաջարկներ պատասխան"
    ).split(),
    "az": (
        "və ilə üçün da də bu ki olan olub edib bildirib qeyd həm kimi görə artıq "
        "nazir nazirliyi xarici işlər danışıqlar görüş bəyanat tərəflər məsələ məsələlər "
        "əməkdaşlıq təhlükəsizlik regional regionun hökumət nümayəndə heyəti səfər "
        "rəsmilər razılaşma proses müzakirə edilib vurğulayıb ifadə edib salamlayıb "
        "təsdiqləyib hazırlıq dəstək inkişaf ticarət nəqliyyat enerji iqtisadi siyasi "
        "münasibətlər tərəfdaşlar beynəlxalq birgə komissiya işçi qrupu baş nazirin "
        "müavini prezident sözçü brifinq həftə ay il bu gün dünən növbəti addımlar "
        "raund keçirilib imzalanıb razılaşıblar davam etdirmək mühüm ikitərəfli "
        "çoxtərəfli format çərçivəsində dialoq humanitar vəziyyət ekspertlər "
        "məsləhətləşmələr layihə sənəd təkliflər cavab şərh"
    ).split(),
}
# Shares of generated names and numbers among the words of a sentence.
NAME_SHARE = 0.13
NUMBER_SHARE = 0.05
# Distinct generated names per language (18 syllables, 2-3 of them, 6 endings: ~35k possible).
NAME_POOL = 20_000
# Syllables for the generated names of people, towns and organisations.
SYLLABLES: dict[str, list[str]] = {
    "en": "ar ben dal ger han kor lev mar nor pet ros sar tav vel zan kur mel dor".split(),
    "ru": "ар бен дал гер хан кор лев мар нор пет рос сар тав вел зан кур мел дор".split(),
    "hy": "ար բեն դալ գեր խան կոր լև մար նոր պետ ռոս սար թավ վել զան կուր մել դոր".split(),
    "az": "ar bən dal gər xan kor lev mar nur pet ros sar tav vəl zan kür mel dor".split(),
}
NAME_ENDINGS: dict[str, list[str]] = {
    "en": ["yan", "ov", "li", "idze", "ian", "sky"],
    "ru": ["ян", "ов", "ли", "идзе", "ин", "ский"],
    "hy": ["յան", "ով", "լի", "իձե", "ունց", "ենց"],
    "az": ["yan", "ov", "li", "zadə", "bəyli", "oğlu"],
}
# Topic mentions in each language (terms of seeds/topics.yaml inside a plain sentence).
TOPIC_SENTENCES: dict[str, list[str]] = {
    "en": [
        "The sides also discussed the Zangezur corridor and the transit schedule.",
        "Armenia and Azerbaijan reviewed the draft peace treaty, Yerevan and Baku said.",
        "The Armenian-Azerbaijani border commission met again on delimitation.",
        "The situation in Karabakh and the Lachin corridor was also raised.",
        "Officials recalled the work of the OSCE Minsk Group in earlier years.",
    ],
    "ru": [
        "Стороны также обсудили Зангезурский коридор и график транзита.",
        "Армения и Азербайджан рассмотрели проект мирного договора, сообщили в Ереване и Баку.",
        "Комиссия по делимитации армяно-азербайджанской границы провела новое заседание.",
        "Была затронута также ситуация в Карабахе и вокруг Лачинского коридора.",
        "Представители напомнили о работе Минской группы ОБСЕ в прежние годы.",
    ],
    "hy": [
        "Կողմերը քննարկեցին նաև Զանգեզուրի միջանցքը և տարանցման ժամանակացույցը։",
        "Հայաստանը և Ադրբեջանը քննարկեցին խաղաղության պայմանագրի նախագիծը, հայտնեցին Երևանում։",
        "Հայ-ադրբեջանական սահմանի սահմանազատման հանձնաժողովը կրկին հավաքվեց։",
        "Անդրադարձ եղավ նաև Ղարաբաղում և Լաչինի միջանցքում իրավիճակին։",
        "Ներկայացուցիչները հիշեցին ԵԱՀԿ Մինսկի խմբի աշխատանքը։",
    ],
    "az": [
        "Tərəflər Zəngəzur dəhlizi və tranzit cədvəlini də müzakirə ediblər.",
        "Azərbaycan və Ermənistan sülh müqaviləsi layihəsini nəzərdən keçirib, Bakı bildirib.",
        "Azərbaycan-Ermənistan sərhəd komissiyası delimitasiya üzrə yenidən toplaşıb.",
        "Qarabağ və Laçın dəhlizi ətrafında vəziyyət də qeyd edilib.",
        "Rəsmilər ATƏT-in Minsk qrupunun əvvəlki işini xatırladıblar.",
    ],
}
# Lead lines and boilerplate the republishing outlets add (our own wording).
LEADS: dict[str, str] = {
    "en": "{outlet} reported that",
    "ru": "Как сообщает {outlet},",
    "hy": "Ինչպես հաղորդում է {outlet}-ը,",
    "az": "{outlet} xəbər verir ki,",
}
BOILERPLATE: dict[str, list[str]] = {
    "en": ["Read more", "Source link", "Follow us on social networks"],
    "ru": ["Читайте также", "Источник", "Подписывайтесь на наш канал"],
    "hy": ["Կարդացեք նաև", "Աղբյուրը", "Հետևեք մեզ"],
    "az": ["Daha ətraflı", "Mənbə", "Bizi izləyin"],
}


@dataclass(frozen=True)
class SyntheticDoc:
    """One generated document: what ``pipeline.clean.extract`` would have returned, plus where."""

    id: int
    url: str
    source: str
    title: str
    text: str
    language: str
    published: datetime
    copy_of: int | None = None  # id of the document it republishes


class Generator:
    """Deterministic stream of documents; ``copy_rate`` of them republish a recent story."""

    def __init__(
        self,
        seed: int = 8,
        *,
        copy_rate: float = 0.25,
        topic_rate: float = 0.12,
        start: datetime | None = None,
        per_day: int = 400,
    ) -> None:
        self.rng = random.Random(seed)
        self.copy_rate, self.topic_rate, self.per_day = copy_rate, topic_rate, per_day
        self.start = start or datetime(2026, 1, 1, 6, 0, tzinfo=UTC)
        self.recent: list[SyntheticDoc] = []  # originals copies may be made of
        self.count = 0
        # Zipf-like: the k-th most common word is drawn about 1/(k+4) as often as others.
        self._cum: dict[str, list[float]] = {}
        for lang in LANGUAGES:
            total, cum = 0.0, []
            for rank in range(len(WORDS[lang])):
                total += 1.0 / (rank + 4)
                cum.append(total)
            self._cum[lang] = cum
        self._names = {
            lang: [self._make_name(lang) for _ in range(NAME_POOL)] for lang in LANGUAGES
        }

    # ----- building blocks -----

    def _make_name(self, lang: str) -> str:
        """A generated proper name (person, town, body)."""
        rng = self.rng
        stem = "".join(rng.choice(SYLLABLES[lang]) for _ in range(rng.randint(2, 3)))
        return stem.capitalize() + rng.choice(NAME_ENDINGS[lang])

    def name(self, lang: str) -> str:
        """A name from the language's pool (large enough that stories rarely share one)."""
        return self.rng.choice(self._names[lang])

    def sentence(self, lang: str) -> str:
        """A 10-22 word sentence: common words with names and numbers mixed in."""
        rng = self.rng
        n = rng.randint(10, 22)
        words = rng.choices(WORDS[lang], cum_weights=self._cum[lang], k=n)
        # About one word in six is a name or a number, as in wire copy.
        for i in range(n):
            roll = rng.random()
            if roll < NAME_SHARE:
                words[i] = self.name(lang)
            elif roll < NAME_SHARE + NUMBER_SHARE:
                words[i] = str(rng.randint(2, 2999))
        words[0] = words[0][:1].upper() + words[0][1:]
        end = "։" if lang == "hy" else "."
        return " ".join(words) + end

    def paragraph(self, lang: str) -> str:
        """Two to five sentences."""
        return " ".join(self.sentence(lang) for _ in range(self.rng.randint(2, 5)))

    def _published(self) -> datetime:
        """Time advances with the stream: about ``per_day`` documents a day."""
        base = self.start + timedelta(days=self.count / self.per_day)
        return base + timedelta(minutes=self.rng.randint(0, 90))

    def _source(self, pool: tuple[str, ...] | None = None) -> tuple[str, str, str]:
        """(name, domain, language) of a source, the language weighted by its sections."""
        choices = [s for s in SOURCES if pool is None or s[0] in pool]
        name, domain, langs = self.rng.choice(choices)
        lang = self.rng.choices(list(langs), list(langs.values()))[0]
        return name, domain, lang

    # ----- documents -----

    def original(self) -> SyntheticDoc:
        """A new story."""
        rng = self.rng
        name, domain, lang = self._source()
        paragraphs = [self.paragraph(lang) for _ in range(rng.randint(5, 9))]
        if rng.random() < self.topic_rate:
            at = rng.randrange(len(paragraphs))
            paragraphs[at] += " " + rng.choice(TOPIC_SENTENCES[lang])
        title = self.sentence(lang).rstrip(".։")
        title = " ".join(title.split()[: rng.randint(6, 12)])
        return SyntheticDoc(
            id=self.count,
            url=f"https://{domain}/news/{self.count}-{rng.randint(1000, 9999)}",
            source=name,
            title=title,
            text="\n\n".join(paragraphs),
            language=lang,
            published=self._published(),
        )

    def republished(self, of: SyntheticDoc) -> SyntheticDoc:
        """A wire copy of ``of``: new headline, lead line, cut, boilerplate, punctuation."""
        rng = self.rng
        name, domain, _ = self._source(tuple(w for w in WIRES if w != of.source))
        lang = of.language
        paragraphs = of.text.split("\n\n")
        keep = max(1, round(len(paragraphs) * rng.uniform(0.6, 1.0)))
        body = paragraphs[:keep]
        body[0] = LEADS[lang].format(outlet=name.upper()) + " " + body[0][:1].lower() + body[0][1:]
        if rng.random() < 0.5:
            body = [p.replace(",", " ,").replace(".", " .") for p in body]
        body.append(rng.choice(BOILERPLATE[lang]))
        title = f"{name.upper()}: " + " ".join(self.sentence(lang).split()[:8])
        return SyntheticDoc(
            id=self.count,
            url=f"https://{domain}/copy/{self.count}-{rng.randint(1000, 9999)}",
            source=name,
            title=title,
            text="\n\n".join(body),
            language=lang,
            published=of.published + timedelta(minutes=rng.randint(20, 600)),
            copy_of=of.id,
        )

    def next(self) -> SyntheticDoc:
        """The next document of the stream."""
        if self.recent and self.rng.random() < self.copy_rate:
            doc = self.republished(self.rng.choice(self.recent))
        else:
            doc = self.original()
            self.recent.append(doc)
            # Copies follow within hours: only the latest stories get reposted.
            del self.recent[:-200]
        self.count += 1
        return doc

    def __iter__(self) -> Iterator[SyntheticDoc]:
        while True:
            yield self.next()


def documents(n: int, seed: int = 8, **options: Any) -> Iterator[SyntheticDoc]:
    """The first ``n`` documents of the stream for ``seed``."""
    gen = Generator(seed, **options)
    for _ in range(n):
        yield gen.next()


def with_title(doc: SyntheticDoc, title: str) -> SyntheticDoc:
    """The same document under another headline (hostile-input tests)."""
    return replace(doc, title=title)


def to_html(doc: SyntheticDoc, *, charset: str = "utf-8") -> str:
    """A news page for the document: canonical link, publication time, article body."""
    esc = html.escape
    paras = "\n".join(f"<p>{esc(p)}</p>" for p in doc.text.split("\n\n"))
    stamp = doc.published.isoformat()
    return f"""<!DOCTYPE html>
<html lang="{doc.language}"><head><meta charset="{charset}">
<title>{esc(doc.title)}</title>
<link rel="canonical" href="{esc(doc.url)}">
<meta property="og:title" content="{esc(doc.title)}">
<meta property="article:published_time" content="{stamp}">
</head><body>
<header><nav><a href="/">Home</a> <a href="/news">News</a> <a href="/about">About</a></nav></header>
<main><article>
<h1>{esc(doc.title)}</h1>
<time datetime="{stamp}">{doc.published:%d.%m.%Y %H:%M}</time>
{paras}
</article></main>
<footer><p>All rights reserved.</p></footer>
</body></html>
"""
