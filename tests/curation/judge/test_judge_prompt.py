import pytest

from curation.judge import PromptTemplate, TemplateError


def test_default_template_is_the_seed_rubric_with_the_poem_inside():
    template = PromptTemplate.default()
    prompt = template.render("Roses are red {not a field}")

    assert "Roses are red {not a field}" in prompt
    assert '{ "thinking": "<the concise rationale as a string>", "score": <int 1-5> }' in prompt
    assert "Imagery & Sensory Detail (weight 30%)" in prompt
    assert len(template.sha) == 64


def test_user_template_file(tmp_path):
    path = tmp_path / "short.txt"
    path.write_text('Rate this poem 1-5 as {{"thinking": str, "score": int}}:\n{poem}\n')

    template = PromptTemplate.from_file(path)

    assert template.render("a b c") == 'Rate this poem 1-5 as {"thinking": str, "score": int}:\na b c\n'
    assert template.sha != PromptTemplate.default().sha


@pytest.mark.parametrize(("text", "message"), [
    ("Rate this poem.", "has no {poem} placeholder"),
    ("Rate {poem} by {author}", "unknown placeholder(s) {author}"),
    ('Return {"score": 3} for {poem}', "unknown placeholder"),
    ("Rate {poem} {", "Single '{'"),
])
def test_bad_templates_are_clear_errors(tmp_path, text, message):
    path = tmp_path / "bad.txt"
    path.write_text(text)

    with pytest.raises(TemplateError, match=None) as error:
        PromptTemplate.from_file(path)

    assert message in str(error.value)
    assert str(path) in str(error.value)


def test_missing_template_file_is_a_clear_error(tmp_path):
    with pytest.raises(TemplateError, match="cannot read prompt template"):
        PromptTemplate.from_file(tmp_path / "nope.txt")
