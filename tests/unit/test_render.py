"""render.py: answers as Telegram HTML within 4,096 UTF-16 units, every dynamic piece escaped."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.engine.types import Answer, Guidance, Passage, Referral
from bot.render import (
    MAX_UNITS,
    pack,
    render_answer,
    render_emergency,
    render_more_sources,
    render_organizations,
    split_block,
    to_plain,
    units,
)
from tests.support.botapi import parse_html

VOID: set[str] = set()


class TagChecker(HTMLParser):
    """Fails on unbalanced or misnested tags; collects the visible text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.text: list[str] = []
        self.errors: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"unexpected </{tag}> with {self.stack}")
        else:
            self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def assert_balanced(message: str) -> None:
    checker = TagChecker()
    checker.feed(message)
    checker.close()
    assert not checker.errors and not checker.stack, (checker.errors, checker.stack)


def assert_valid(message: str, limit: int = MAX_UNITS) -> str:
    """Within the limit, balanced (html.parser) and accepted by Telegram's rules; the text."""
    assert units(message) <= limit
    assert "\x00" not in message
    assert_balanced(message)
    visible = parse_html(message)  # raises on what Telegram would refuse
    assert visible.strip()
    return visible


def ref(name: str = "Org", **kw: object) -> Referral:
    defaults: dict[str, object] = {
        "id": "org",
        "name": name,
        "url": "https://org.example",
        "offer": "help",
    }
    defaults.update(kw)
    return Referral(**defaults)  # type: ignore[arg-type]


def psg(text: str, n: int = 1, **kw: object) -> Passage:
    defaults: dict[str, object] = {
        "doc_id": f"guides/{n}.md",
        "title": f"Guide {n}",
        "url": f"https://ex.org/{n}",
        "topics": ("visas",),
        "score": 1.0,
        "text": text,
    }
    defaults.update(kw)
    return Passage(**defaults)  # type: ignore[arg-type]


def found(*passages: Passage, **kw: object) -> Answer:
    defaults: dict[str, object] = {
        "question_language": "en",
        "emergency": False,
        "answer_found": True,
        "topics": ("visas",),
        "passages": passages,
        "referrals": (ref(),),
    }
    defaults.update(kw)
    return Answer(**defaults)  # type: ignore[arg-type]


# -- properties ------------------------------------------------------------------------------

_FRAGMENTS = [
    "<",
    ">",
    "&",
    "&amp;",
    "</b>",
    "<b>",
    "<a href='x'>",
    "\n",
    "\n\n",
    " ",
    "😀",
    "🇺🇦",
    "\u200d",
    "\u202e",
    "\x00",
    "&#0;",
]
_LONG = ["word " * 120, "😀" * 400, "y" * 1500, "مرحبا " * 100]
hostile_text = st.lists(
    st.one_of(
        st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=40),
        st.sampled_from(_FRAGMENTS),
        st.sampled_from(_LONG),
    ),
    max_size=16,
).map("".join)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    texts=st.lists(hostile_text, min_size=1, max_size=6),
    title=hostile_text,
    url=st.one_of(st.just("https://ex.org/a?b=1&c=<2>"), hostile_text),
    name=hostile_text,
    contact=hostile_text,
    lang=st.sampled_from(["en", "ru", "ar", "xx"]),
    emergency=st.booleans(),
    synthesized=st.one_of(st.none(), hostile_text),
)
def test_every_message_is_valid_and_within_the_limit(
    texts: list[str],
    title: str,
    url: str,
    name: str,
    contact: str,
    lang: str,
    emergency: bool,
    synthesized: str | None,
) -> None:
    passages = tuple(psg(t, n, title=title, url=url) for n, t in enumerate(texts, 1))
    referral = ref(
        name or "x", url=url, contacts=(("phone", contact), ("web", url)), check_note=contact
    )
    answer = found(
        *passages,
        referrals=(referral,),
        emergency=emergency,
        emergency_contacts=(referral,),
        synthesized=synthesized,
    )
    messages = render_answer(answer, lang) + render_more_sources(answer, lang)
    messages += render_organizations([referral] * 5, lang, topic="visas")
    assert messages
    for message in messages:
        assert_valid(message)


@settings(max_examples=150, deadline=None)
@given(
    text=hostile_text.filter(lambda s: s.strip()),
    limit=st.integers(min_value=60, max_value=600),
)
def test_split_keeps_all_the_text_and_balances_tags(text: str, limit: int) -> None:
    from bot.render import esc

    block = f'<b>Title</b>\n<blockquote><a href="https://x.org">{esc(text)}</a></blockquote>'
    pieces = split_block(block, limit)
    for piece in pieces:
        assert_valid(piece, limit)
    visible = "".join(parse_html(p) for p in pieces)
    assert "".join(visible.split()) == "".join(("Title" + esc_free(text)).split())


def esc_free(text: str) -> str:
    from bot.render import clean

    return clean(text)


@settings(max_examples=60, deadline=None)
@given(st.lists(hostile_text.filter(lambda s: s.strip()), min_size=1, max_size=12))
def test_pack_keeps_order_and_limit(blocks: list[str]) -> None:
    from bot.render import esc

    messages = pack([esc(b) for b in blocks], limit=500)
    for message in messages:
        assert_valid(message, 500)
    joined = "".join("".join(parse_html(m).split()) for m in messages)
    assert joined == "".join("".join(esc_free(b).split()) for b in blocks)


# -- examples ----------------------------------------------------------------------------------


def test_emoji_count_two_units_and_are_never_cut_in_half() -> None:
    answer = found(psg("😀" * 3000))
    messages = render_answer(answer, "en")
    assert len(messages) >= 2
    for message in messages:
        assert_valid(message)
    assert sum(m.count("😀") for m in messages) == 3000


def test_long_answer_splits_at_paragraphs() -> None:
    paragraph = "word " * 450
    answer = found(
        *(psg(f"{paragraph}\n\n{paragraph}", n) for n in range(1, 4)),
        referrals=(ref("A"), ref("B"), ref("C")),
    )
    messages = render_answer(answer, "en")
    assert len(messages) >= 2
    for message in messages:
        assert_valid(message)
    assert messages[0].startswith("<b>1. ")  # without a direct answer, the best passage leads


def test_over_long_line_without_spaces_is_hard_split() -> None:
    messages = render_answer(found(psg("x" * 9000)), "en")
    assert len(messages) >= 3
    assert sum(parse_html(m).count("x") for m in messages) == 9000


def test_hostile_pieces_are_escaped() -> None:
    answer = found(
        psg("<script>alert(1)</script> & <b>", title="<i>T</i>", url="javascript:alert(1)"),
        referrals=(ref("A&B <Org>", offer="<u>x</u>", contacts=(("email", "a@b.c<"),)),),
    )
    (message,) = render_answer(answer, "en")
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &lt;b&gt;" in message
    assert "&lt;i&gt;T&lt;/i&gt;" in message and "javascript:" not in message
    assert "A&amp;B &lt;Org&gt;" in message and "&lt;u&gt;x&lt;/u&gt;" in message
    assert_valid(message)


def test_control_characters_are_dropped() -> None:
    (message,) = render_answer(found(psg("a\x00b\x07c\ud800d")), "en")
    assert "abcd" in message


def test_emergency_shows_the_24_7_line_then_the_protocol_and_nothing_else() -> None:
    hotline = ref("Hotline", id="hot", emergency_line=True, contacts=(("phone_24_7", "+1 555"),))
    protocol = Guidance(
        text="Opening line.",
        language="en",
        title="Search at the door",
        source_url="https://ex.org/p",
        doc_id="units/p.md",
        kind="protocol",
        steps=("Ask for the warrant.", "Call a lawyer."),
        situation="raid",
    )
    answer = found(
        psg("quote"),
        emergency=True,
        emergency_contacts=(hotline,),
        referrals=(hotline, ref("Other")),
        synthesized="Summary [1]",
        guidance=protocol,
    )
    (text,) = render_answer(answer, "en")
    assert text.startswith("🆘") and text.index("+1 555") < text.index("Ask for the warrant.")
    assert "1. Ask for the warrant." in text and "2. Call a lawyer." in text
    for absent in ("Summary [1]", "quote", "Other", "Who can help"):
        assert absent not in text  # sources and organizations wait behind buttons
    assert_valid(text)


def test_direct_answer_with_do_dont_organizations_and_sources() -> None:
    unit = Guidance(
        text="Direct answer.",
        language="ru",
        title="T",
        source_url="https://ex.org/src",
        doc_id="units/u.ru.md",
        kind="answer",
        do=("a1", "a2", "a3"),
        dont=("b1",),
        sources=("https://other.org/x",),
    )
    form = (("application_form", "https://f.org"),)
    refs = tuple(ref(f"Org {n}", contacts=form) for n in range(4))
    (text,) = render_answer(found(psg("quote"), guidance=unit, referrals=refs), "en")
    assert text.startswith("Direct answer.")
    assert "a1" in text and "a2" in text and "a3" not in text and "b1" in text
    assert "Org 1" in text and "Org 2" not in text  # two organizations beside a unit
    assert "Application form" in text and "Contact form" not in text
    assert "ex.org" in text and "other.org" in text and "quote" not in text
    assert "(" in text.split("\n")[0]  # a Russian unit read in English is labelled
    assert_valid(text)


def test_not_found_and_unavailable() -> None:
    general = (ref("General", contacts=(("email", "g@x.org"),)),)
    nothing = Answer("en", False, False, general_contacts=general)
    (text,) = render_answer(nothing, "en")
    assert "could not find a vetted answer" in text and "g@x.org" in text
    down = Answer("en", False, False, search_unavailable=True, general_contacts=general)
    (text,) = render_answer(down, "en")
    assert "Search is unavailable" in text and "g@x.org" in text


def test_each_refusal_says_why_and_offers_what_fits() -> None:
    line = ("phone_24_7", "+1 555 0100")
    general = (
        ref("Hotline", id="h", contacts=(line, ("email", "h@x.org"))),
        ref("Fund", id="f", contacts=(line, ("email", "f@x.org"))),
    )
    kinds = ("not_found", "out_of_scope", "injection", "locate_person")
    answers = {k: Answer("en", False, False, refusal=k, general_contacts=general) for k in kinds}
    texts = {kind: render_answer(answer, "en")[0] for kind, answer in answers.items()}
    assert len(set(texts.values())) == 3  # injection is told what out-of-scope is told
    assert texts["injection"] == texts["out_of_scope"]
    # Not found: both organizations, the line they share shown once.
    assert "h@x.org" in texts["not_found"] and "f@x.org" in texts["not_found"]
    assert texts["not_found"].count("+1 555 0100") == 1
    # Everyday: no organizations' cards, only the 24/7 line in case the reading was wrong.
    assert "+1 555 0100" in texts["out_of_scope"] and "@x.org" not in texts["out_of_scope"]
    # Finding a person: no contacts at all.
    assert "+1 555" not in texts["locate_person"] and "@x.org" not in texts["locate_person"]
    for text in texts.values():
        assert_valid(text)


def test_referrals_show_offer_contacts_and_check_note() -> None:
    refs = tuple(ref(f"Org {n}", check_note="check on their site") for n in range(5))
    (text,) = render_answer(found(psg("q"), referrals=refs), "en")
    assert text.count("Please check the details on their site.") == 3  # at most three
    assert "Org 3" not in text


def test_passages_in_other_languages_are_labelled_in_the_ui_language() -> None:
    (text,) = render_answer(found(psg("texte", language="fr")), "ru")
    assert "(французский)" in text
    (text,) = render_answer(found(psg("text", language="en")), "en")
    assert "(English)" not in text


def test_more_sources_quotes_the_passages_behind_the_answer() -> None:
    answer = found(*(psg(f"p{n}", n) for n in range(1, 6)))
    (more,) = render_more_sources(answer, "en")
    assert "<b>1. " in more and "<b>3. " in more and "p4" not in more
    (none,) = render_more_sources(Answer("en", False, True), "en")
    assert "no sources" in none


def test_organizations_and_emergency() -> None:
    (empty,) = render_organizations([], "en", topic="Visas")
    assert "No organizations are listed" in empty and "Visas" in empty
    (text,) = render_emergency((ref("Hotline", emergency_line=True),), "en")
    assert text.startswith("🚨") and "Hotline" in text


@pytest.mark.parametrize(
    ("html", "plain"),
    [
        (
            '<b>1. <a href="https://x.org/?a=1&amp;b=2">Guide</a></b>',
            "1. Guide (https://x.org/?a=1&b=2)",
        ),
        ('<a href="https://x.org">https://x.org</a>', "https://x.org"),
        ("<blockquote>one\ntwo</blockquote>", "  │ one\n  │ two"),
        ("a &lt;b&gt; &amp; c", "a <b> & c"),
    ],
)
def test_to_plain(html: str, plain: str) -> None:
    assert to_plain(html) == plain


def test_clip_counts_utf16_units() -> None:
    from bot.render import clip

    assert clip("short") == "short"
    clipped = clip("😀" * 3000)
    assert units(clipped) <= MAX_UNITS and set(clipped) == {"😀"}
    assert clip("word " * 1000, 100).endswith("word")


def test_french_labels_take_a_space_before_the_colon() -> None:
    form = (("application_form", "https://f.org"),)
    (text,) = render_answer(found(psg("q"), referrals=(ref("Org", contacts=form),)), "fr")
    assert "\u00a0: " in text and "form: " not in text.lower()


def test_an_llm_answer_keeps_the_shape_of_the_extractive_one() -> None:
    unit = Guidance(
        text="Vetted answer.",
        language="en",
        title="T",
        source_url="https://ex.org/src",
        doc_id="units/u.md",
        kind="answer",
        do=("do this",),
        dont=("not that",),
    )
    form = (("application_form", "https://f.org"),)
    answer = found(
        psg("quote"),
        guidance=unit,
        referrals=(ref("Org", contacts=form),),
        synthesized="Written answer [1]. Second sentence [2].",
    )
    (text,) = render_answer(answer, "en")
    assert text.startswith("Written answer. Second sentence.")  # in place of the unit's text
    assert "Vetted answer." not in text and "[1]" not in text
    assert text.index("do this") < text.index("not that") < text.index("Org")
    assert "https://f.org" in text and "ex.org" in text
    assert_valid(text)


def test_a_24_7_helpline_reached_in_writing_leads_only_where_the_protocol_names_it() -> None:
    hotline = ref("Hotline", id="hot", emergency_line=True, contacts=(("phone_24_7", "+1 555"),))
    helpline = ref(
        "Digital Helpline", id="digital", emergency_line=True, contacts=(("email", "help@x.org"),)
    )

    def protocol(situation: str, names: tuple[str, ...]) -> Guidance:
        return Guidance(
            text="Opening line.",
            language="en",
            title="What to do now",
            source_url="https://ex.org/p",
            doc_id=f"units/{situation}.md",
            kind="protocol",
            steps=("First step.",),
            situation=situation,
            organizations=names,
        )

    def first(guidance: Guidance) -> str:
        answer = found(emergency=True, emergency_contacts=(hotline, helpline), guidance=guidance)
        (text,) = render_answer(answer, "en")
        assert_valid(text)
        return text.split("\n\n")[0]  # the block of 24/7 lines

    device = first(protocol("device", ("digital", "hot")))
    assert "+1 555" in device and "help@x.org" in device
    assert device.index("+1 555") < device.index("help@x.org")  # the phone stays first
    raid = first(protocol("raid", ("hot",)))
    assert "+1 555" in raid and "help@x.org" not in raid


def test_the_line_on_an_organization_does_not_repeat_its_name_and_ends_at_a_clause() -> None:
    long_tail = " ".join(f"word{n}," for n in range(30))
    org = ref(
        "Helpers United (HU)",
        id="hu",
        offer=f"Helpers United (HU), a network of lawyers, gives grants to defenders, {long_tail}.",
        contacts=(("email", "a@hu.org"),),
    )
    (text,) = render_answer(found(psg("quote"), referrals=(org,)), "en")
    assert_valid(text)
    line = next(row for row in text.split("\n") if "Helpers United" in row)
    reason = line.split(" — ", 1)[1]
    assert reason.startswith("gives grants") and "Helpers United" not in reason
    assert reason.endswith("…") and not reason.endswith(",…")


def test_a_line_two_organizations_share_is_shown_once() -> None:
    first = ref("First", id="a", contacts=(("phone_24_7", "+1 555"), ("email", "a@x.org")))
    second = ref(
        "Second", id="b", contacts=(("phone_24_7", "+1 555"), ("contact_form", "https://b.org/f"))
    )
    (text,) = render_answer(found(psg("quote"), referrals=(first, second)), "en")
    assert_valid(text)
    assert text.count("+1 555") == 1 and text.index("+1 555") < text.index("Second")
    assert "https://b.org/f" in text  # the second keeps its own contact
