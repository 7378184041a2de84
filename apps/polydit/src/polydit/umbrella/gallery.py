"""The demo gallery: one self-contained ``index.html`` over the files the domains wrote.

Images and GIFs are shown inline, audio with ``<audio>``, video with ``<video>``, anything else as
a link; all through paths relative to the page, so the directory can be moved or served as is.
"""

import os
from dataclasses import dataclass
from html import escape
from pathlib import Path
from urllib.parse import quote

from polydit.core.cli import GalleryItem

IMAGES = {".png", ".jpg", ".jpeg", ".gif", ".svg", ".webp"}
AUDIO = {".wav", ".mp3", ".ogg", ".flac"}
VIDEO = {".mp4", ".webm"}

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem; color: #222; }
section { margin-bottom: 2.5rem; }
.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(16rem, 1fr)); gap: 1rem; }
figure { margin: 0; padding: .75rem; border: 1px solid #ddd; border-radius: .5rem; }
img, video { max-width: 100%; image-rendering: pixelated; }
audio { width: 100%; }
code { display: block; margin-top: .4rem; font-size: .8rem; color: #555; word-break: break-all; }
.error { color: #a00; }
"""


@dataclass(frozen=True)
class Section:
    """One domain's part of the gallery: its files (relative to `directory`), its error, or a
    note saying why it has nothing to show (no shipped model yet)."""

    name: str
    package: str
    version: str
    directory: Path
    items: list[GalleryItem]
    error: str | None = None
    note: str | None = None


def render(sections: list[Section], page: Path, command: str) -> str:
    """The HTML of the gallery page to be written at `page`; `command` reproduces it all."""
    body = [
        "<h1>polydit demo</h1>",
        f"<p>Reproduce this page: <code>{escape(command)}</code></p>",
    ]
    if not sections:
        body.append(
            "<p>No polydit domain packages are installed. Install one, e.g. "
            "<code>pip install polydit-image</code>, and run the demo again.</p>"
        )
    body += [_section(section, page.parent) for section in sections]
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>polydit demo</title>\n<style>{_STYLE}</style>\n</head>\n<body>\n"
        + "\n".join(body)
        + "\n</body>\n</html>\n"
    )


def _section(section: Section, root: Path) -> str:
    title = f"<h2>{escape(section.name)} <small>{escape(section.package)} {escape(section.version)}</small></h2>"
    if section.error is not None:
        return f'<section>{title}<p class="error">failed: {escape(section.error)}</p></section>'
    if section.note is not None:
        return f"<section>{title}<p>{escape(section.note)}</p></section>"
    figures = "\n".join(_figure(item, section.directory, root) for item in section.items)
    return f'<section>{title}<div class="grid">\n{figures}\n</div></section>'


def _figure(item: GalleryItem, directory: Path, root: Path) -> str:
    href = escape(quote(Path(os.path.relpath(directory / item.file, root)).as_posix()))
    suffix = Path(item.file).suffix.lower()
    caption = escape(item.caption)
    if suffix in IMAGES:
        media = f'<img src="{href}" alt="{caption}">'
    elif suffix in AUDIO:
        media = f'<audio controls src="{href}"></audio>'
    elif suffix in VIDEO:
        media = f'<video controls loop src="{href}"></video>'
    else:
        media = f'<a href="{href}">{escape(Path(item.file).name)}</a>'
    return (
        f"<figure>{media}<figcaption>{caption}"
        f"<code>{escape(item.command)}</code></figcaption></figure>"
    )
