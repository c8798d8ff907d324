"""Our own word lists for cross-language linking, in en/ru/hy/az: months, concepts, common names.

Written for newsmon (never copied from a corpus). Stems are matched where they start a word of
the folded text (NFKC, casefold), so one stem covers the case endings of ru/hy/az.
"""

from __future__ import annotations

# Month names by language (stems: they are matched as word prefixes of the folded word).
MONTHS: tuple[tuple[str, ...], ...] = (
    ("january", "jan", "январ", "հունվար", "yanvar"),
    ("february", "feb", "феврал", "փետրվար", "fevral"),
    ("march", "mar", "март", "մարտ", "mart"),
    ("april", "apr", "апрел", "ապրիլ", "aprel"),
    ("may", "мая", "май", "մայիս"),
    ("june", "jun", "июн", "հունիս", "iyun"),
    ("july", "jul", "июл", "հուլիս", "iyul"),
    ("august", "aug", "август", "օգոստոս", "avqust"),
    ("september", "sep", "сентябр", "սեպտեմբեր", "sentyabr"),
    ("october", "oct", "октябр", "հոկտեմբեր", "oktyabr"),
    ("november", "nov", "ноябр", "նոյեմբեր", "noyabr"),
    ("december", "dec", "декабр", "դեկտեմբեր", "dekabr"),
)
# Our own bilingual word list (en/ru/hy/az stems) for subjects that official statements
# share names across: these separate two statements with the same names on one day.
CONCEPTS: dict[str, tuple[str, ...]] = {
    "ceasefire": ("ceasefire", "truce", "перемири", "прекращени огня", "հրադադար", "atəşkəs"),
    "border": ("border", "frontier", "границ", "пограничн", "սահման", "sərhəd"),
    "delimitation": ("delimitation", "делимитац", "սահմանազատ", "delimitasiya"),
    "peace": ("peace", "мирн", "мира ", "խաղաղ", "sülh"),
    "treaty": (
        "treaty",
        "agreement",
        "договор",
        "соглашени",
        "պայմանագր",
        "համաձայնագր",
        "müqavilə",
        "saziş",
    ),
    "condolence": ("condolence", "соболезнова", "ցավակց", "başsağlığı"),
    "earthquake": ("earthquake", "землетрясени", "երկրաշարժ", "zəlzələ"),
    "anniversary": ("anniversary", "годовщин", "юбиле", "տարեդարձ", "ildönümü"),
    "congratulate": ("congratulat", "поздрав", "շնորհավոր", "təbrik"),
    "election": ("election", "выбор", "ընտրություն", "seçki"),
    "sanction": ("sanction", "санкци", "պատժամիջոց", "sanksiya"),
    "corridor": ("corridor", "коридор", "միջանցք", "dəhliz"),
    "railway": ("railway", "railroad", "железн", "երկաթուղ", "dəmir yol"),
    "prisoner": ("prisoner", "detainee", "пленн", "задержан", "գերի", "əsir"),
    "refugee": ("refugee", "displaced", "беженц", "փախստական", "qaçqın"),
    "telephone": ("telephone", "phone", "телефон", "հեռախոս", "telefon"),
    "visit": ("visit", "визит", "այց", "səfər"),
    "meeting": (
        "meeting",
        "talks",
        "встреч",
        "переговор",
        "հանդիպ",
        "բանակցություն",
        "görüş",
        "danışıq",
    ),
    "military": ("military", "troops", "военн", "войск", "զորք", "ռազմական", "hərbi", "qoşun"),
    "attack": (
        "attack",
        "shelling",
        "strike",
        "обстрел",
        "атак",
        "удар",
        "հարձակ",
        "գնդակոծ",
        "hücum",
        "atəş",
    ),
    "killed": ("killed", "died", "погиб", "убит", "զոհ", "սպանվ", "həlak", "öldür"),
    "wounded": ("wounded", "injured", "ранен", "վիրավոր", "yaralan"),
    "humanitarian": ("humanitarian", "гуманитарн", "humanitar", "մարդասիրական"),
    "energy": ("energy", "энерг", "нефт", "էներգ", "enerji", "neft"),
    "economy": ("econom", "trade", "экономи", "торгов", "տնտես", "առևտր", "iqtisad", "ticarət"),
    "parliament": (
        "parliament",
        "парламент",
        "խորհրդարան",
        "ազգային ժողով",
        "parlament",
        "milli məclis",
    ),
    "hostage": ("hostage", "заложник", "պատանդ", "girov"),
    "drone": ("drone", "беспилотн", "дрон", "անօդաչու", "dron", "pilotsuz"),
    # Diplomatic and border vocabulary: what statements on borders, links and talks are about.
    "demarcation": ("demarcat", "демаркац", "սահմանագծ", "demarkasiya"),
    "map": (
        "map",
        "cartograph",
        "карта",
        "карты",
        "карт ",
        "картам",
        "картах",
        "картограф",
        "քարտեզ",
        "xəritə",
        "kartoqraf",
    ),
    "topographic": ("topograph", "топограф", "տեղագր", "տոպոգրաֆ", "topoqraf"),
    "general_staff": (
        "general staff",
        "генштаб",
        "генеральн штаб",
        "генерального штаб",
        "генеральным штаб",
        "генеральном штаб",
        "գլխավոր շտաբ",
        "baş qərargah",
    ),
    "archive": ("archive", "архив", "արխիվ", "arxiv"),
    "working_group": (
        "working group",
        "рабочая групп",
        "рабочей групп",
        "рабочую групп",
        "рабочие групп",
        "рабочих групп",
        "աշխատանքային խումբ",
        "աշխատանքային խմբ",
        "işçi qrup",
    ),
    "commission": ("commission", "комисси", "հանձնաժողով", "komissiya"),
    "deputy_prime_minister": (
        "deputy prime minister",
        "vice-premier",
        "vice premier",
        "вице-премьер",
        "заместитель председателя правительств",
        "заместителя председателя правительств",
        "փոխվարչապետ",
        "baş nazirin müavin",
        "baş nazir müavin",
    ),
    "trilateral": (
        "trilateral",
        "tripartite",
        "трехсторонн",
        "трёхсторонн",
        "եռակողմ",
        "üçtərəfli",
    ),
    "sovereignty": ("sovereign", "суверен", "ինքնիշխան", "suveren"),
    "jurisdiction": ("jurisdiction", "юрисдикц", "իրավազոր", "yurisdiksiya"),
    "transport": ("transport", "транспорт", "տրանսպորտ", "nəqliyyat"),
    "unblocking": ("unblock", "разблокир", "ապաշրջափակ", "blokadan çıxar"),
    "border_service": (
        "border service",
        "border guard",
        "пограничн служб",
        "пограничной служб",
        "пограничных служб",
        "погранслужб",
        "пограничник",
        "սահմանապահ",
        "sərhəd xidmət",
        "sərhədçi",
    ),
    "consultations": ("consultation", "консультац", "խորհրդակցութ", "məsləhətləşmə"),
    "protocol": ("protocol", "протокол", "արձանագր", "protokol"),
    "embassy": ("embassy", "embassies", "посольств", "դեսպանատ", "səfirlik"),
    "ambassador": ("ambassador", "посол ", "посла ", "послом", "послу ", "դեսպան", "səfir"),
    "credentials": ("credentials", "верительн", "հավատարմագր", "etimadnamə"),
    "mediation": ("mediat", "посредни", "միջնորդ", "vasitəçi"),
    "peacekeeper": ("peacekeep", "миротвор", "խաղաղապահ", "sülhməramlı"),
    "visa": ("visa", "виза", "визы", "визов", "визой", "վիզա", "viza"),
    "customs": ("customs", "тамож", "մաքսային", "մաքսատ", "gömrük"),
    "nuclear": ("nuclear", "ядерн", "միջուկային", "nüvə"),
}


# Names every statement of the region carries (countries, capitals, offices): a little
# evidence, not enough to tell one statement from another. Our own list, in en/ru/hy/az.
COMMON_NAMES = (
    "Armenia Armenian Армения Армении армянской Հայաստան Հայաստանի Ermənistan Ermənistanın "
    "Azerbaijan Azerbaijani Азербайджан Азербайджана Ադրբեջան Ադրբեջանի Azərbaycan "
    "Russia Russian Россия России Российской Ռուսաստան Ռուսաստանի Rusiya Rusiyanın "
    "Turkey Türkiye Турция Թուրքիա Türkiyə Iran Иран Իրան İran Georgia Грузия Վրաստան Gürcüstan "
    "Yerevan Ереван Երևան Yerevan Baku Баку Բաքու Bakı Moscow Москва Մոսկվա Moskva "
    "Ministry Министерство МИД Նախարարություն Nazirlik Minister Министр Նախարար Nazir "
    "Foreign Affairs Иностранных Дел Արտաքին Գործերի Xarici İşlər "
    "President Президент Նախագահ Prezident Prime Премьер Վարչապետ Baş "
    "Republic Республика Республики Հանրապետություն Respublika Respublikası "
    "Government Правительство Կառավարություն Hökumət Federation Федерации "
    # The first names of the leaders below.
    "Vladimir Владимир Վլադիմիր Nikol Никол Նիկոլ Ilham Ильхам Իլհամ İlham "
    "Sergey Сергей Սերգեյ"
)
# The leaders every readout and statement of the region names (common names too). Two versions
# of one readout name the same leaders: a leader named by one version only is a conflict.
LEADERS = (
    "Putin Путин Պուտին Pashinyan Пашинян Փաշինյան Paşinyan "
    "Aliyev Алиев Ալիև Əliyev Lavrov Лавров Լավրով"
)
