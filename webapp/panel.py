"""The main view's pictures, their downloads and their figures as one block of HTML, and read back from it.

A slider move redraws the pictures (original, noisy, denoised), their PNG downloads and six figures
(MSE, PSNR, SSIM of the noisy and of the denoised digit). As Streamlit elements they were twenty:
three images, two download buttons, six metrics and the columns holding them, and every element a
move sends costs the server about 0.3 ms of CPU, more than everything else the move does. As one
block they cost one. A download is a link to the picture's own `data:` URL, so it needs no request
to the server either. A narrow screen gets smaller text.

Pure functions of strings: nothing here draws on a page. `read_figures` and `read_pictures` give
what a block shows, for the tests and the load generator, which see the page as its messages.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from html.parser import HTMLParser

# The look of Streamlit's own metrics and images, which the block replaces, in the page's theme. Every
# picture is square (a digit enlarged): its place is kept while it loads, so nothing below it moves.
STYLE = """
.dn-pictures { display: grid; gap: 1rem; }
.dn-grid { display: grid; gap: 0.5rem; grid-template-columns: repeat(5, minmax(0, 1fr)); }
.dn-title { font-size: 0.875rem; opacity: 0.6; margin: 0.5rem 0 0.25rem; }
.dn-view figure { margin: 0; }
.dn-view img { width: 100%; height: auto; aspect-ratio: 1 / 1; display: block; image-rendering: pixelated;
                   border-radius: 0.25rem; }
.dn-view figcaption { font-size: 0.875rem; opacity: 0.6; text-align: center; padding-top: 0.25rem; }
.dn-download { display: inline-block; margin-top: 0.4rem; padding: 0.25rem 0.75rem; font-size: 0.875rem;
               border: 1px solid rgba(250, 250, 250, 0.2); border-radius: 0.5rem;
               color: inherit !important; text-decoration: none !important; }
.dn-download:hover { border-color: #4da3ff; color: #4da3ff !important; }
.dn-figures { margin: 0.75rem 0; display: grid; grid-template-columns: repeat(3, minmax(0, 1fr)); gap: 0.5rem 1rem; }
.dn-label { font-size: 0.875rem; }
.dn-value { font-size: 2rem; line-height: 1.3; white-space: nowrap; }
.dn-delta { display: inline-block; font-size: 0.875rem; padding: 0 0.4rem; border-radius: 1rem;
            background: rgba(128, 128, 128, 0.15); }
.dn-better { color: #3dd56d; background: rgba(61, 213, 109, 0.15); }
.dn-worse { color: #ff6c6c; background: rgba(255, 108, 108, 0.15); }
@media (max-width: 640px) {
  .dn-pictures { gap: 0.4rem; }
  .dn-view figcaption, .dn-label, .dn-delta, .dn-download { font-size: 0.7rem; }
  .dn-download { padding: 0.15rem 0.4rem; }
  .dn-value { font-size: 1.1rem; }
}
"""
_STYLE = " ".join(STYLE.split())  # one line: a blank line would end the block of HTML in markdown


@dataclass(frozen=True)
class Figure:
    """One figure as the page shows it: "Noisy PSNR", "14.20 dB", and how denoising changed it."""

    label: str
    value: str
    delta: str | None = None  # signed, "+7.12 dB"
    better: bool | None = None  # whether that change is an improvement (None: no change)


@dataclass(frozen=True)
class Picture:
    """One picture as the page shows it: a PNG `data:` URL, its caption, and its file name if it can be downloaded."""

    url: str
    caption: str
    download: str | None = None


def view_html(pictures: list[Picture], columns: list[list[Figure]]) -> str:
    """The pictures side by side, sharing the width equally, each with its download link; under them the
    figures in columns, each column's figures one under another. One line: markdown takes it as raw HTML.

    The block brings its style (1.5 kB): a style sheet sent apart may reach the browser after the block,
    which then stands unstyled for a moment."""
    return _block(_pictures(pictures) + _figures(columns))


def grid_html(rows: list[tuple[str, list[Picture]]]) -> str:
    """Groups of small pictures, each under its title (a batch of digits: as found, noisy, denoised), five
    to a line, so that a picture stands where the same digit stands in the other groups."""
    groups = "".join(
        f'<div class="dn-title">{html.escape(title)}</div><div class="dn-grid">{"".join(map(_picture, pictures))}</div>'
        for title, pictures in rows
    )
    return _block(groups)


def _block(inner: str) -> str:
    return f'<div class="dn-view"><style>{_STYLE}</style>{inner}</div>'


def _pictures(pictures: list[Picture]) -> str:
    columns = f"grid-template-columns: repeat({len(pictures)}, minmax(0, 1fr))"
    return f'<div class="dn-pictures" style="{columns}">{"".join(map(_picture, pictures))}</div>'


def _picture(picture: Picture) -> str:
    url, caption = html.escape(picture.url), html.escape(picture.caption)
    text = f'<figure><img src="{url}" alt="{caption}"><figcaption>{caption}</figcaption>'
    if picture.download:
        name = html.escape(picture.download)
        text += f'<a class="dn-download" href="{url}" download="{name}">{html.escape(_download_label(picture))}</a>'
    return text + "</figure>"


def _download_label(picture: Picture) -> str:
    return f"{picture.caption.split(' (')[0]} PNG"  # "Noisy PNG"


def _figures(columns: list[list[Figure]]) -> str:
    shown = "".join(f"<div>{''.join(map(_figure, column))}</div>" for column in columns)
    return f'<div class="dn-figures">{shown}</div>'


def _figure(figure: Figure) -> str:
    text = f'<div class="dn-figure"><div class="dn-label">{html.escape(figure.label)}</div>'
    text += f'<div class="dn-value">{html.escape(figure.value)}</div>'
    if figure.delta:
        # The arrow says which way the figure moved, the colour whether that is good (a lower MSE is).
        tone = {True: "dn-better", False: "dn-worse"}.get(figure.better, "")
        arrow = "▼" if figure.delta.startswith("-") else "▲"
        text += f'<div class="dn-delta {tone}">{arrow} {html.escape(figure.delta)}</div>'
    return text + "</div>"


class _Reader(HTMLParser):
    """The figures and pictures of a block: the text of each dn-label, dn-value and dn-delta, and each img."""

    def __init__(self) -> None:
        super().__init__()
        self.texts: list[tuple[str, str]] = []  # (class, text)
        self.pictures: list[Picture] = []
        self._open: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        names = (found.get("class") or "").split()
        self._open = next((n for n in names if n in ("dn-label", "dn-value", "dn-delta")), None)
        if tag == "img":
            self.pictures.append(Picture(found.get("src") or "", found.get("alt") or ""))
        elif tag == "a" and found.get("download") and self.pictures:
            last = self.pictures[-1]
            if found.get("href") == last.url:  # a link that downloads another picture is no download of this one
                self.pictures[-1] = Picture(last.url, last.caption, found["download"])

    def handle_data(self, data: str) -> None:
        if self._open:
            self.texts.append((self._open, data))
            self._open = None


def read_figures(block: str) -> dict[str, Figure]:
    """The figures a block of `view_html` shows, by label (the delta's arrow left out; `better` unknown)."""
    reader = _Reader()
    reader.feed(block)
    figures: dict[str, Figure] = {}
    label = None
    for kind, text in reader.texts:
        if kind == "dn-label":
            label = text
        elif kind == "dn-value" and label is not None:
            figures[label] = Figure(label, text)
        elif kind == "dn-delta" and label in figures:
            figures[label] = Figure(label, figures[label].value, text.lstrip("▲▼ "))
    return figures


def read_pictures(block: str) -> list[Picture]:
    """The pictures a block of `view_html` shows, in order; a picture's `download` is set only when its
    link downloads that very picture."""
    reader = _Reader()
    reader.feed(block)
    return reader.pictures
