"""Lexical tokens: the same word in the spellings people type matches the same keyword."""

from bot.engine.text import phrase_in, tokens


def test_han_keyword_is_found_inside_an_unspaced_sentence() -> None:
    sentence = tokens("我可能被列入红色通缉令了怎么办")
    assert phrase_in("红色通缉令", sentence)
    assert not phrase_in("申根签证", sentence)


def test_latin_words_next_to_han_text_keep_their_own_token() -> None:
    assert "ccf" in tokens("怎么联系CCF的委员会")


def test_persian_and_arabic_letter_forms_match() -> None:
    # Persian yeh and kaf, and the zero-width non-joiner written or left out.
    assert tokens("اعلان\u200cهای قرمز") == tokens("اعلانهای قرمز")
    assert tokens("کمک فوری") == tokens("\u0643\u0645\u0643 فوري")


def test_one_letter_words_are_dropped_but_numbers_kept() -> None:
    assert tokens("a visa in 2 days 15") == ["visa", "in", "days", "15"]
