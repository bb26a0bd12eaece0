"""Fixed-width text tables that fit any terminal width (pure).

When a table is too wide, columns are dropped in their declared order of importance
and the name column shrinks last, so the dashboard degrades instead of wrapping.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from jobq.dashboard.format import clip

GAP = " "


@dataclass(frozen=True, slots=True)
class Column:
    """One column: `drop` > 0 may be dropped (highest first); `grow` = extra width it may take."""

    key: str
    title: str
    width: int
    drop: int = 0
    grow: int = 0
    left: bool = False


@dataclass(frozen=True, slots=True)
class Fitted:
    """The columns chosen for one width, with their final widths."""

    columns: tuple[Column, ...]
    widths: tuple[int, ...]

    def line(self, cells: Mapping[str, str]) -> str:
        parts = []
        for column, width in zip(self.columns, self.widths, strict=True):
            text = clip(cells.get(column.key, ""), width)
            parts.append(text.ljust(width) if column.left else text.rjust(width))
        return GAP.join(parts).rstrip()

    def width_of(self, key: str) -> int:
        """The width given to column `key`, 0 if it was dropped."""
        return next((w for c, w in zip(self.columns, self.widths, strict=True) if c.key == key), 0)

    def header(self) -> str:
        return self.line({c.key: c.title for c in self.columns})


def _needed(columns: Sequence[Column]) -> int:
    return sum(c.width for c in columns) + len(GAP) * max(0, len(columns) - 1)


def fit(columns: Sequence[Column], width: int) -> Fitted:
    """Choose and size columns for `width` cells, keeping their order."""
    chosen = list(columns)
    while _needed(chosen) > width and any(c.drop for c in chosen):
        victim = max((c for c in chosen if c.drop), key=lambda c: c.drop)
        chosen.remove(victim)
    widths = [c.width for c in chosen]
    spare = width - _needed(chosen)
    if spare < 0 and chosen:  # only undroppable columns left: shrink the first (the name)
        widths[0] = max(1, widths[0] + spare)
    for i, extra in enumerate(_share(chosen, spare)):
        widths[i] += extra
    return Fitted(tuple(chosen), tuple(widths))


def _share(columns: Sequence[Column], spare: int) -> list[int]:
    """Spread spare cells over growing columns in proportion to `grow`, none past its `grow`."""
    extra = [0] * len(columns)
    growing = [i for i, c in enumerate(columns) if c.grow > 0]
    while spare > 0 and growing:
        total = sum(columns[i].grow for i in growing)
        given = 0
        for i in growing:
            take = min(max(1, spare * columns[i].grow // total), columns[i].grow - extra[i], spare - given)
            extra[i] += take
            given += take
        spare -= given
        growing = [i for i in growing if extra[i] < columns[i].grow]
        if given == 0:
            break
    return extra


def render(columns: Sequence[Column] | Fitted, rows: Sequence[Mapping[str, str]], width: int) -> list[str]:
    """Header line and one line per row, none wider than `width`."""
    fitted = columns if isinstance(columns, Fitted) else fit(columns, width)
    return [clip(line, width) for line in [fitted.header(), *(fitted.line(r) for r in rows)]]
