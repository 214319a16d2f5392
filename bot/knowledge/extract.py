"""The text of a new version of a source, from what an editor gives: pasted text, an HTML page saved from the
website, or a PDF (its text layer, with where each page starts). Anything that is not what it says it is, is
refused with the reason (ExtractError); nothing here writes a file."""

from __future__ import annotations

import io
import re
import unicodedata
from dataclasses import dataclass
from html.parser import HTMLParser

FORMATS = ("text", "html", "pdf")
# The text kept of a version: far more than any page or brochure the bot answers from.
MAX_TEXT_CHARS = 500_000
# A PDF with more pages is refused rather than parsed for minutes.
MAX_PDF_PAGES = 300


class ExtractError(ValueError):
    """The upload cannot become a version; the message says why, for the editor."""


@dataclass(frozen=True)
class Extracted:
    text: str
    format: str
    # For a PDF: the character offset in `text` where each page starts (page 1 first).
    pages: tuple[int, ...] = ()


# Control characters other than tab and newline mean a binary file, not text.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_BLANK_LINES = re.compile(r"\n{3,}")


def _tidy(text: str) -> str:
    """Line ends unified, trailing spaces and runs of blank lines dropped: the diff shows content, not layout."""
    text = unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n"))
    lines = [line.rstrip(" \t") for line in text.split("\n")]
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip() + "\n"


def _decode(data: bytes, what: str) -> str:
    if data.startswith(b"%PDF-"):
        raise ExtractError(f"this is a PDF file, not {what}: choose PDF as its format")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ExtractError(f"the file is not UTF-8 {what} (byte {exc.start} cannot be read)") from exc
    if _CONTROL.search(text):
        raise ExtractError(f"the file holds control characters: it is a binary file, not {what}")
    return text


def _checked(text: str, fmt: str, pages: tuple[int, ...] = ()) -> Extracted:
    if not text.strip():
        raise ExtractError("the new version has no text")
    if len(text) > MAX_TEXT_CHARS:
        raise ExtractError(f"the text is longer than {MAX_TEXT_CHARS:,} characters")
    return Extracted(text, fmt, pages)


def from_text(data: bytes | str) -> Extracted:
    text = data if isinstance(data, str) else _decode(data, "text")
    if _CONTROL.search(text):
        raise ExtractError("the text holds control characters: it is a binary file, not text")
    return _checked(_tidy(text), "text")


# Elements whose text is never content: code, styles, and the site's navigation, header and footer.
_SKIPPED = frozenset({"script", "style", "noscript", "template", "svg", "nav", "header", "footer", "head", "iframe"})
# Elements that end a line of text.
_BLOCKS = frozenset({
    "p", "div", "br", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "table", "section", "article",
    "main", "aside", "blockquote", "pre", "dd", "dt", "dl", "figcaption", "hr", "form", "address",
})
_VOID = frozenset({"br", "hr", "img", "input", "meta", "link", "area", "base", "col", "embed", "source", "wbr"})


class _TextOfPage(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping: list[str] = []
        self.elements = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements += 1
        if tag in _SKIPPED and tag not in _VOID:
            self.skipping.append(tag)
        if tag in _BLOCKS:
            self.parts.append("\n")
        if tag == "li" and not self.skipping:
            self.parts.append("• ")

    def handle_endtag(self, tag: str) -> None:
        if self.skipping and tag in _SKIPPED:
            # Closes the innermost skipped element of this name (and any left open inside it).
            while self.skipping:
                if self.skipping.pop() == tag:
                    break
        if tag in _BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.parts.append(re.sub(r"[ \t\r\n\f]+", " ", data))


def from_html(data: bytes | str, not_content: tuple[str, ...] = ()) -> Extracted:
    """The visible text of a saved page, without its scripts, styles, navigation, header and footer, and
    without the lines the source names as not content (sources.yml `not_content`)."""
    html = data if isinstance(data, str) else _decode(data, "an HTML page")
    parser = _TextOfPage()
    try:
        parser.feed(html)
        parser.close()
    except AssertionError as exc:  # html.parser's way of refusing a malformed declaration
        raise ExtractError(f"the HTML cannot be read: {exc}") from exc
    if parser.elements == 0:
        raise ExtractError("the file has no HTML elements: choose text as its format, or save the page as HTML")
    dropped = {" ".join(line.split()) for line in not_content}
    lines = [" ".join(line.split()) for line in "".join(parser.parts).split("\n")]
    kept = [line for line in lines if line not in dropped]
    return _checked(_tidy("\n".join(kept)), "html")


def from_pdf(data: bytes) -> Extracted:
    """The text layer of a PDF, page by page; a PDF without one (a scan) is refused, as it has no text to quote."""
    if not data.startswith(b"%PDF-"):
        raise ExtractError("the file is not a PDF (it does not start with %PDF-)")
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise ExtractError("the PDF is encrypted: save it without a password and upload it again")
        if len(reader.pages) > MAX_PDF_PAGES:
            raise ExtractError(f"the PDF has {len(reader.pages)} pages; at most {MAX_PDF_PAGES} are accepted")
        texts = [page.extract_text() or "" for page in reader.pages]
    except ExtractError:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, OSError, RecursionError) as exc:
        raise ExtractError(f"the PDF cannot be read ({type(exc).__name__}: {exc})") from exc
    if not any(t.strip() for t in texts):
        raise ExtractError(
            "the PDF has no text layer (a scanned document?): there is no text to quote; upload a PDF with text"
        )
    pages: list[int] = []
    text = ""
    for page_text in texts:
        pages.append(len(text))
        text += _tidy(page_text) if page_text.strip() else "\n"
        text += "\n"
    return _checked(text, "pdf", tuple(pages))


def extract(fmt: str, data: bytes | str, not_content: tuple[str, ...] = ()) -> Extracted:
    if fmt == "text":
        return from_text(data)
    if fmt == "html":
        return from_html(data, not_content)
    if fmt == "pdf":
        if isinstance(data, str):
            raise ExtractError("a PDF is uploaded as a file, not pasted")
        return from_pdf(data)
    raise ExtractError(f"the format must be one of {', '.join(FORMATS)}")
