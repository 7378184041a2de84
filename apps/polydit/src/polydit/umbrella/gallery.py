"""The demo gallery: one self-contained ``index.html`` over the files the domains wrote.

Images and GIFs are shown inline, audio with ``<audio>``, video with ``<video>``, molecules and
crystals (SDF, XYZ, CIF, PDB) in an interactive 3D viewer (3Dmol.js, vendored from npm and
copied beside the page; the structure's text is inlined, so no fetch is needed from file://),
anything else as a link; all through paths relative to the page, so the directory can be moved
or served as is, offline.
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
STRUCTURES = {".sdf": "sdf", ".mol": "sdf", ".xyz": "xyz", ".cif": "cif", ".pdb": "pdb"}
VIEWER_JS = "3Dmol-min.js"  # 3Dmol.js 2.5.5 (BSD-3-Clause, vendor/3Dmol-LICENSE.txt)
VENDOR = Path(__file__).resolve().parent / "vendor"
WIDE_PX = 480  # a picture wider than this (a grid, a filmstrip) spans the whole row

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem; color: #222; }
section { margin-bottom: 2.5rem; }
.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(16rem, 1fr)); gap: 1rem; }
figure { margin: 0; padding: .75rem; border: 1px solid #ddd; border-radius: .5rem; }
img, video { max-width: 100%; image-rendering: pixelated; }
audio { width: 100%; }
code { display: block; margin-top: .4rem; font-size: .8rem; color: #555; word-break: break-all; }
.error { color: #a00; }
.viewer { position: relative; width: 100%; height: 16rem; }
figure.wide { grid-column: 1 / -1; }
"""

#: marks every image, audio and video element data-loaded="yes" or "no" (a missing file is
#: also shown as such), so a browser test can read the page's health off its DOM
_LOAD_CHECK = """
<script>
document.querySelectorAll("img, audio, video").forEach(function (el) {
  function mark(ok) {
    el.dataset.loaded = ok ? "yes" : "no";
    if (!ok) { el.insertAdjacentHTML("afterend", '<p class="error">missing: ' + el.getAttribute("src") + "</p>"); }
  }
  if (el.tagName === "IMG") {
    if (el.complete) { mark(el.naturalWidth > 0); }
    else { el.addEventListener("load", function () { mark(true); }); el.addEventListener("error", function () { mark(false); }); }
  } else {
    el.addEventListener("loadedmetadata", function () { mark(true); });
    el.addEventListener("error", function () { mark(false); });
    if (el.readyState >= 1) { mark(true); }
    if (el.error) { mark(false); }
  }
});
</script>
"""

_VIEWER = """
<script src="%s"></script>
<script>
document.querySelectorAll(".viewer").forEach(function (el) {
  var text = el.nextElementSibling.value;
  var viewer = $3Dmol.createViewer(el, {backgroundColor: "white"});
  viewer.addModel(text, el.dataset.format);
  viewer.setStyle({}, {stick: {radius: 0.15}, sphere: {scale: 0.25}});
  if (el.dataset.format === "cif") { viewer.addUnitCell(); }
  viewer.zoomTo();
  viewer.render();
});
</script>
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
    if needs_viewer(sections):
        body.append(_VIEWER % VIEWER_JS)
    body.append(_LOAD_CHECK)
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>polydit demo</title>\n<style>{_STYLE}</style>\n</head>\n<body>\n"
        + "\n".join(body)
        + "\n</body>\n</html>\n"
    )


def needs_viewer(sections: list[Section]) -> bool:
    """Whether any item is a structure file (the page then needs VIEWER_JS beside it)."""
    return any(Path(item.file).suffix.lower() in STRUCTURES for s in sections for item in s.items)


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
    wide = ""
    if suffix in IMAGES:
        media = f'<img src="{href}" alt="{caption}">'
        wide = ' class="wide"' if image_width(directory / item.file) > WIDE_PX else ""
    elif suffix in AUDIO:
        media = f'<audio controls preload="metadata" src="{href}"></audio>'
    elif suffix in VIDEO:
        media = f'<video controls loop preload="metadata" src="{href}"></video>'
    elif suffix in STRUCTURES:
        text = escape((directory / item.file).read_text())
        media = (
            f'<div class="viewer" data-format="{STRUCTURES[suffix]}"></div>'
            f"<textarea hidden>{text}</textarea>"
            f'<a href="{href}">{escape(Path(item.file).name)}</a>'
        )
    else:
        media = f'<a href="{href}">{escape(Path(item.file).name)}</a>'
    return (
        f"<figure{wide}>{media}<figcaption>{caption}"
        f"<code>{escape(item.command)}</code></figcaption></figure>"
    )


def image_width(path: Path) -> int:
    """The pixel width a PNG or GIF header states (0 for other files or unreadable ones)."""
    try:
        with path.open("rb") as f:
            head = f.read(24)
    except OSError:
        return 0
    if head.startswith(b"\x89PNG") and len(head) >= 24:
        return int.from_bytes(head[16:20], "big")
    if head[:4] == b"GIF8" and len(head) >= 8:
        return int.from_bytes(head[6:8], "little")
    return 0
