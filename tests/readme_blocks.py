"""The code blocks of the READMEs, as the tests run them.

A ```python block runs as written, as one program, from an empty directory; its info string may
say ``excerpt`` instead (it shows parts of files that other tests run, e.g. the example domain).
A ```bash (or ```sh) block runs only when its info string says ``runnable``: each line is one
command, run from an empty directory with the environment's scripts on PATH (comments after
``#`` are dropped).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FENCE = re.compile(r"^```(\w+)([^\n]*)\n(.*?)^```", re.MULTILINE | re.DOTALL)


@dataclass(frozen=True)
class Block:
    readme: Path
    line: int  # 1-based line of the opening fence
    language: str
    tags: tuple[str, ...]
    code: str

    @property
    def name(self) -> str:
        return f"{self.readme.relative_to(ROOT)}:{self.line}"


def readmes() -> list[Path]:
    members = [*ROOT.glob("packages/*/README.md"), *ROOT.glob("apps/*/README.md")]
    return sorted([ROOT / "README.md", ROOT / "shared_core/README.md", *members])


def blocks(readme: Path) -> list[Block]:
    text = readme.read_text()
    return [
        Block(
            readme,
            text.count("\n", 0, m.start()) + 1,
            m.group(1),
            tuple(m.group(2).split()),
            m.group(3),
        )
        for m in FENCE.finditer(text)
    ]


def python_programs(readme: Path) -> list[Block]:
    """The ```python blocks of `readme` that run (every one not tagged ``excerpt``)."""
    return [b for b in blocks(readme) if b.language == "python" and "excerpt" not in b.tags]


def runnable_commands(readme: Path) -> list[Block]:
    return [b for b in blocks(readme) if b.language in ("bash", "sh") and "runnable" in b.tags]


def commands(block: Block) -> list[str]:
    """The commands of a runnable shell block, one per line, comments dropped."""
    lines = (line.split(" #")[0].strip() for line in block.code.splitlines())
    return [line for line in lines if line and not line.startswith("#")]
