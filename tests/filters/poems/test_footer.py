import polars as pl

from filters.poems.footer import StripFooter, split_author_note


def clean(*texts: str) -> pl.DataFrame:
    return StripFooter()(pl.DataFrame({"text": list(texts)}))


def test_copyright_footer_is_moved_to_removed_text():
    out = clean("Afterward is an unknown term\nBefore that we face the present,\n"
                "Copyright © Muzahidul Reza | 29 November,2017")
    assert out["text"][0] == "Afterward is an unknown term\nBefore that we face the present,"
    assert out["removed_text"][0] == "Copyright © Muzahidul Reza | 29 November,2017"


def test_copyright_glued_to_a_name_and_mid_line_signs_are_footers():
    out = clean("a line\nCopyrightCynthia Buhain-Baello 01.08.20", "a line\n~~~~~~~©2017 Susan Williams")
    assert out["text"].to_list() == ["a line", "a line"]


def test_copyright_on_the_title_line_removes_only_that_line():
    out = clean("inner peace (© Raj Arumugam, 2008)\nthe poem itself")
    assert out["text"][0] == "the poem itself"


def test_author_note_after_about_header_is_removed():
    text = "line one\nline two\nline three\nAbout:\nRARe Stanza:\n- - - - - -\n6 Lines Poem\nSyllables: 1-1-4"
    poem, note = split_author_note(text)
    assert poem == "line one\nline two\nline three"
    assert note.startswith("About:") and "Syllables" in note


def test_title_underline_and_stanza_breaks_keep_the_poem():
    underlined = "My Title\n- - - - - -\nfirst line\nsecond line"
    assert split_author_note(underlined)[0] == "My Title\nfirst line\nsecond line"
    stanzas = "title\nl1\nl2\n- - - -\nl3\nl4\n- - - -\nl5\nl6"
    assert split_author_note(stanzas)[0] == "title\nl1\nl2\nl3\nl4\nl5\nl6"


def test_a_poem_that_is_only_a_footer_is_rejected_as_empty():
    out = clean("© Gert Strydom")
    assert out["reject_reason"][0] == "empty_text"
    assert out["removed_text"][0] == "© Gert Strydom"
