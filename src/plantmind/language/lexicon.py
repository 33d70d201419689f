"""Closed-class words per language (articles, pronouns, prepositions, conjunctions,
auxiliaries, courtesy words), the words that link a term to its value, and the qualifiers
of a value. Language detection uses the function words as extra evidence on short
sentences; term spotting uses all three to find where a technical term starts and ends.

The lists are deliberately closed-class: they do not grow with a plant's vocabulary."""

from __future__ import annotations

from functools import cache

__all__ = [
    "ACTION_VERBS",
    "ARTICLES",
    "CONNECTORS",
    "FUNCTION_WORDS",
    "LINKING",
    "OF",
    "QUALIFIERS",
    "calendar_words",
    "distinctive_function_words",
    "is_function_word",
]


def _set(s: str) -> frozenset[str]:
    return frozenset(s.split())


FUNCTION_WORDS: dict[str, frozenset[str]] = {
    "en": _set(
        "the a an of to in on at by for from with without and or but not no nor as is are was "
        "were be been being am has have had do does did will would shall should must may might "
        "can could this that these those it its they them their we our us you your he she his "
        "her i me my which who whom whose what when where how than then there here please "
        "kindly also only all any each every some such other per via into onto about above "
        "below under over up out off if so because while until within between both either "
        "very more most less least thank thanks regards dear hello hi today tomorrow "
        "yesterday soon asap next last week weeks day days month months year years"
    ),
    "de": _set(
        "der die das den dem des ein eine einen einem einer eines und oder aber nicht kein "
        "keine keinen ist sind war waren sein wird werden wurde hat haben hatte mit von vom zu "
        "zum zur im in am an auf für bei beim nach aus über unter vor durch gegen ohne bis um "
        "als wie auch nur noch schon bitte wir uns unser unsere sie ihr ihre ihnen es er ich "
        "mich mir sich dass daß wenn ob weil dieser diese dieses jede jeder jedes alle muss "
        "müssen soll sollen sollte sollten darf dürfen kann können sehr mehr pro je danke "
        "vielen dank grüße gruß sehr geehrte geehrter heute morgen bald nächste nächsten woche "
        "wochen tag tage tagen monat jahr"
    ),
    "fr": _set(
        "le la les l un une des du de d et ou mais ne pas non est sont était être a ont avoir "
        "sera seront avec pour par sur dans en au aux sans sous entre vers chez que qu qui "
        "quoi dont où ce cet cette ces il elle ils elles nous vous je leur leurs notre nos "
        "votre vos son sa ses se y très plus moins aussi doit doivent devrait devraient peut "
        "peuvent pourra merci veuillez cordialement bonjour madame monsieur aujourd hui "
        "demain bientôt semaine semaines jour jours mois an ans année"
    ),
    "es": _set(
        "el la los las un una unos unas de del al y o pero no ni es son era ser está están "
        "estar ha han haber será serán con para por sobre en sin entre hasta desde hacia que "
        "quien cual cuyo donde este esta estos estas ese esa eso lo le les se su sus nuestro "
        "nuestra nosotros usted ustedes ellos ellas él ella yo muy más menos también debe "
        "deben debería deberían puede pueden podrá favor gracias saludos estimado estimada "
        "hoy mañana pronto semana semanas día días mes meses año años"
    ),
    "it": _set(
        "il lo la i gli le un uno una di del della dei delle da dal in nel nella con per su "
        "sul tra fra e ed o ma non è sono essere ha hanno che chi cui questo questa questi "
        "quello deve devono dovrebbe può possono molto più anche grazie saluti oggi domani"
    ),
    "pt": _set(
        "o a os as um uma uns umas de do da dos das em no na nos nas com para por pelo pela e "
        "ou mas não é são ser está estão tem têm que quem qual este esta isso deve devem "
        "deveria pode podem muito mais também obrigado obrigada hoje amanhã"
    ),
    "nl": _set(
        "de het een van en of maar niet geen is zijn was waren wordt worden heeft hebben met "
        "voor door op aan in uit bij naar over onder tot om als dat die dit deze wij we ons "
        "onze u uw jullie zij ze hij ik moet moeten zou kan kunnen mag mogen graag bedankt "
        "ook nog zeer meer vandaag morgen"
    ),
    "pl": _set(
        "i w z na do od za po o u dla przez bez pod nad przed między jest są był była być nie "
        "tak to ten ta te tego tej który która które że czy lub albo ale jak się jego jej ich "
        "nas was my wy oni musi muszą powinien powinna powinno powinny może mogą proszę "
        "dziękuję bardzo więcej dzisiaj jutro"
    ),
}

# Words between a term and its value: "diameter *shall be* 20 mm", "Durchmesser *von*
# 20 mm", "diamètre *doit être de* 20 mm"; skipped when looking back from a value.
LINKING: frozenset[str] = _set(
    # en
    "be is are was were being been shall must should may will would "
    "equal equals measure measures measuring of "
    # de
    "sein ist sind beträgt betragen betrug muss müssen soll sollen sollte "
    "sollten darf dürfen wird werden von "
    # fr
    "être est sont doit doivent devrait devraient peut peuvent mesure mesurer "
    "égal égale de d "
    # es
    "ser es son estar está están debe deben debería deberían puede pueden tener tiene "
    "tienen mide medir igual de "
    # it, pt, nl, pl
    "deve devono dovrebbe essere è sono deveria devem ter moet moeten zou zijn musi "
    "powinien powinna jest wynosi"
)
# A preposition is not skipped: "heated *at* 80 °C", "*bei* 80 °C", "*à* 20 °C" give a
# condition, not the value of the word before them.

# Qualifiers of a value, skipped like linking words: "approx. 20 mm", "mindestens 2 bar".
QUALIFIERS: frozenset[str] = _set(
    "approximately approx about around roughly exactly nominal nominally max maximum min "
    "minimum least most up nearly "
    "ca circa etwa genau mindestens maximal höchstens rund nominell "
    "environ exactement moins maximum minimum nominal env "
    "aproximadamente aprox exactamente menos máximo mínimo "
    "circa esattamente almeno massimo minimo cerca exatamente pelo "
    "ongeveer minstens maximaal około dokładnie"
)

# Words that may sit inside a multi-word term: "diameter *of the* shaft", "diamètre *de l'*
# arbre", "diámetro *del* eje", "Durchmesser *der* Welle". ``OF`` joins two nouns; an
# article only counts inside a term right after one ("note *the* price" is no term).
OF: frozenset[str] = _set("of de d du des del di della dello dei degli da do dos das van der")
ARTICLES: frozenset[str] = _set("the l la le les el los las die das den het")
CONNECTORS: frozenset[str] = OF | ARTICLES


@cache
def _all_function_words() -> frozenset[str]:
    out: set[str] = set()
    for ws in FUNCTION_WORDS.values():
        out |= ws
    return frozenset(out | LINKING | QUALIFIERS)


def is_function_word(word: str) -> bool:
    """Whether ``word`` (any case) is a closed-class, linking or qualifying word of any
    language we know."""
    return word.lower() in _all_function_words()


@cache
def distinctive_function_words() -> dict[str, str]:
    """Function words that belong to exactly one language's list, with that language: the
    high-precision evidence ("the", "und", "les", "los"); shared ones ("de", "in") are out."""
    seen: dict[str, set[str]] = {}
    for lang, ws in FUNCTION_WORDS.items():
        for w in ws:
            seen.setdefault(w, set()).add(lang)
    return {w: next(iter(langs)) for w, langs in seen.items() if len(langs) == 1}


# Verbs that open an instruction or an order line before a value ("tighten to 50 N·m",
# "deliver 200 pcs", "livrer 200 pièces"): not terms. German needs no list (its nouns are
# capitalised, which term spotting checks instead).
ACTION_VERBS: frozenset[str] = _set(
    "use used using send sent ship shipped deliver delivered supply supplied provide "
    "provided order ordered tighten tightened torque set apply applied add increase "
    "increased reduce reduced confirm confirmed check checked need needs needed require "
    "requires required receive received make made cut drill machine machined measure "
    "measured keep store stored heat heated cool cooled pack packed change changed adjust "
    "adjusted expect expected quote quoted offer offered produce produced test tested "
    "utiliser utilisez envoyer envoyez livrer livrez fournir fournissez commander "
    "commandez serrer serrez ajouter ajoutez augmenter réduire confirmer confirmez "
    "vérifier vérifiez stocker chauffer régler réglez "
    "usar use utilizar utilice enviar envíen envíe entregar entreguen entregue suministrar "
    "suministren pedir apretar apriete añadir aumentar reducir confirmar confirmen "
    "comprobar almacenar calentar ajustar "
    "usare inviare consegnare fornire ordinare serrare confermare "
    "usar enviar entregar fornecer encomendar apertar confirmar"
)


@cache
def calendar_words() -> frozenset[str]:
    """Day and month names (wide and abbreviated) of the languages above, from CLDR: "on
    Friday", "vendredi", "in May" are not terms."""
    from babel.dates import get_day_names, get_month_names

    out: set[str] = set()
    for lang in FUNCTION_WORDS:
        for width in ("wide", "abbreviated"):
            for getter in (get_day_names, get_month_names):
                for ctx in ("format", "stand-alone"):
                    out.update(n.lower().rstrip(".") for n in getter(width, ctx, lang).values())
    return frozenset(out)
