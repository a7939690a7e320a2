"""The judge's prompt template: the seed's aesthetic rubric by default, or a user file with `{poem}`.

Templates use Python format syntax: `{poem}` is replaced by the poem text and literal braces are
written doubled (`{{` and `}}`), as in the default rubric's JSON example.
"""

from __future__ import annotations

import hashlib
import string
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

from curation.errors import CurationError

PLACEHOLDER = "poem"


class TemplateError(CurationError):
    """A prompt template cannot be used (missing `{poem}`, unknown placeholder, stray brace)."""


@dataclass(frozen=True)
class PromptTemplate:
    text: str
    source: str = "<default rubric>"

    def __post_init__(self) -> None:
        validate_template(self.text, self.source)

    @property
    def sha(self) -> str:
        """sha256 of the template text: recorded as `judge_prompt_sha` and part of every store key."""
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()

    def render(self, poem: str) -> str:
        return self.text.format(poem=poem)

    @classmethod
    def default(cls) -> PromptTemplate:
        text = files("curation").joinpath("prompts", "aesthetic_rubric.txt").read_text(encoding="utf-8")
        return cls(text)

    @classmethod
    def from_file(cls, path: str | Path) -> PromptTemplate:
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as error:
            raise TemplateError(f"{path}: cannot read prompt template ({error.strerror})") from None
        return cls(text, source=str(path))


def validate_template(text: str, source: str = "<template>") -> None:
    """Raise TemplateError unless `text` has a `{poem}` placeholder and no other one."""
    try:
        fields = [name for _, name, _, _ in string.Formatter().parse(text) if name is not None]
    except ValueError as error:
        raise TemplateError(f"{source}: {error}; write literal braces as '{{{{' and '}}}}'") from None
    unknown = sorted({name for name in fields if name != PLACEHOLDER})
    if unknown:
        names = ", ".join("{" + name + "}" for name in unknown)
        raise TemplateError(f"{source}: unknown placeholder(s) {names}; only {{{PLACEHOLDER}}} is filled in "
                            "(write literal braces as '{{' and '}}')")
    if PLACEHOLDER not in fields:
        raise TemplateError(f"{source}: the template has no {{{PLACEHOLDER}}} placeholder for the poem text")
