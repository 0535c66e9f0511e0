"""The Runs tab's table: a virtual one, drawing only the lines on screen from rows kept formatted.

Textual's DataTable keeps a model of every row and measures each cell as it is added; with
3,000 runs that took seconds to show (benchmarks/NOTES.md), every chunk of rows repainted the
screen, and a re-sort re-measured the lot. Here a row is a list of `Text` cells, formatted once by
the view and kept with their widths, and the table is an order of run names over them: showing
3,000 runs is 3,000 lists, a re-sort is a list sort, a filter a list comprehension, and a frame
renders the 30-odd lines that are on screen (Textual's Line API: `ScrollView` + `render_line`).

The parts of DataTable's interface the view and its tests use are kept (`rows`, `row_count`,
`cursor_row`, `move_cursor`, `get_cell`, `columns` with `content_width`), with the same keys,
look (header, zebra stripes, cursor), and a click on a header or a row.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from rich.cells import cell_len
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from dae_tui.core.formatting import fit_words

__all__ = ["RunsTable"]

PAD = 1
"""Blank columns each side of a cell, as DataTable draws them."""
MORE = " …"
"""After the whole words of a cell that the right edge cuts (spaced: `0.5 …`, not `0.5…`)."""


@dataclass(frozen=True)
class Key:
    """A row's or column's key: `key.value` is the run name or column name (as DataTable's)."""

    value: str


@dataclass
class Column:
    key: Key
    label: Text
    content_width: int = 0
    """The widest cell of the rows shown (or the label), without the padding."""


Cell = Text | str
"""A cell: a `Text`, or a `str` drawn as it is (never read as markup; a str is cheaper to keep,
and most cells need no style)."""


@dataclass
class _Row:
    cells: list[Cell]
    widths: list[int] = field(default_factory=list)


class _Rows(Mapping[Key, None]):
    """The rows shown, in the order shown, as DataTable's `rows` is iterated and counted."""

    def __init__(self, table: RunsTable) -> None:
        self._table = table

    def __getitem__(self, key: Key) -> None:
        if key.value not in self._table._shown:
            raise KeyError(key)

    def __iter__(self) -> Iterator[Key]:
        return (Key(name) for name in self._table._order)

    def __len__(self) -> int:
        return len(self._table._order)

    def __contains__(self, key: object) -> bool:
        name = key.value if isinstance(key, Key) else key
        return name in self._table._shown


class RunsTable(ScrollView, can_focus=True):
    """Rows of `Text` cells under a header that stays at the top; a row cursor."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "select_cursor", "Select", show=False),
        Binding("up", "cursor_up", "Cursor up", show=False),
        Binding("down", "cursor_down", "Cursor down", show=False),
        Binding("right", "next_column", "Scroll right", show=False),
        Binding("left", "previous_column", "Scroll left", show=False),
        Binding("pageup", "page_up", "Page up", show=False),
        Binding("pagedown", "page_down", "Page down", show=False),
        Binding("ctrl+home,home", "top", "Top", show=False),
        Binding("ctrl+end,end", "bottom", "Bottom", show=False),
    ]

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "runs-table--header",
        "runs-table--cursor",
        "runs-table--even-row",
    }

    # DataTable's look, so the tab reads as it did.
    DEFAULT_CSS = """
    RunsTable {
        background: $surface;
        color: $foreground;
        &:focus {
            background-tint: $foreground 5%;
            & > .runs-table--cursor {
                background: $block-cursor-background;
                color: $block-cursor-foreground;
                text-style: $block-cursor-text-style;
            }
            & > .runs-table--header { background-tint: $foreground 5%; }
        }
        &:dark > .runs-table--even-row { background: $surface-darken-1 40%; }
        & > .runs-table--header { text-style: bold; background: $panel; color: $foreground; }
        &:ansi > .runs-table--header { background: ansi_bright_blue; color: ansi_default; }
        & > .runs-table--even-row { background: $surface-lighten-1 50%; }
        & > .runs-table--cursor {
            background: $block-cursor-blurred-background;
            color: $block-cursor-blurred-foreground;
            text-style: $block-cursor-blurred-text-style;
        }
    }
    """

    class RowHighlighted(Message):
        """The cursor moved to another row (not posted when `set_order` keeps it on its run)."""

    class RowSelected(Message):
        """Enter on a row, or a click on it."""

    @dataclass
    class HeaderSelected(Message):
        """A click on a column's header."""

        column: str

    def __init__(self, columns: Sequence[str], *, zebra_stripes: bool = True, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.columns: dict[str, Column] = {name: Column(Key(name), Text(name), len(name)) for name in columns}
        self.zebra_stripes = zebra_stripes
        self._rows: dict[str, _Row] = {}
        """Every row the view has given, shown or not (a filter keeps the others formatted)."""
        self._order: list[str] = []
        self._shown: set[str] = set()
        self._cursor = 0
        self._lines: dict[tuple[Any, ...], Strip] = {}  # rendered lines; cleared on any change

    # --- DataTable's interface --------------------------------------------------------------

    @property
    def rows(self) -> _Rows:
        return _Rows(self)

    @property
    def row_count(self) -> int:
        return len(self._order)

    @property
    def cursor_row(self) -> int:
        return self._cursor

    @property
    def ordered_names(self) -> list[str]:
        """The run names shown, top to bottom."""
        return self._order

    def get_cell(self, name: str, column: str) -> Cell:
        return self._rows[name].cells[list(self.columns).index(column)]

    def move_cursor(self, *, row: int, animate: bool = False) -> None:
        """Put the cursor on row `row` (clamped), scrolled into view."""
        row = max(0, min(row, len(self._order) - 1))
        moved = row != self._cursor
        self._cursor = row
        self._scroll_to_cursor()
        self._changed()
        if moved:
            self.post_message(self.RowHighlighted())

    # --- the rows ---------------------------------------------------------------------------

    def put(self, name: str, cells: list[Cell]) -> None:
        """Keep `cells` as row `name` (shown once `set_order` names it)."""
        self._rows[name] = _Row(cells, [cell_len(cell) if isinstance(cell, str) else cell.cell_len for cell in cells])

    def forget(self, names: Iterator[str] | Sequence[str] | set[str]) -> None:
        for name in names:
            self._rows.pop(name, None)

    def has(self, name: str) -> bool:
        return name in self._rows

    def set_order(self, order: list[str]) -> None:
        """Show the rows `order` names (every one `put` before), keeping the cursor on its run."""
        current = self._order[self._cursor] if 0 <= self._cursor < len(self._order) else None
        self._order = order
        self._shown = set(order)
        widths = [len(name) for name in self.columns]
        for name in order:
            widths = list(map(max, widths, self._rows[name].widths))
        for column, width in zip(self.columns.values(), widths, strict=True):
            column.content_width = width
        total = sum(width + 2 * PAD for width in widths)
        self.virtual_size = Size(total, len(order) + 1)
        if current in self._shown:
            self._cursor = order.index(current)
        else:
            self._cursor = max(0, min(self._cursor, len(order) - 1))
        self._scroll_to_cursor()
        self._changed()

    def current_name(self) -> str | None:
        return self._order[self._cursor] if 0 <= self._cursor < len(self._order) else None

    def _changed(self) -> None:
        self._lines.clear()
        self.refresh()

    # --- drawing ----------------------------------------------------------------------------

    def _line_text(self, cells: Sequence[Cell], style: Style, x0: int, width: int) -> Text:
        """The cells from column `x0` on, `width` wide: a column cut by the right edge shows the
        whole words of each cell that fit, then ` …` (its header whole or not at all); one cut
        by the left edge is left blank. No word is ever cut in two (`s` for `settings`)."""
        line = Text(style=style, no_wrap=True, end="")
        start = 0
        for cell, column in zip(cells, self.columns.values(), strict=True):
            end = start + column.content_width + 2 * PAD
            if end <= x0:
                start = end
                continue
            if start < x0:
                line.append(" " * (end - x0))
                start = end
                continue
            room = min(column.content_width, x0 + width - start - PAD)
            if room <= 0:
                break
            text = Text(cell) if isinstance(cell, str) else cell
            if text.cell_len > room:
                fitted = fit_words(text.plain, room, MORE)
                kept = fitted[: -len(MORE)] if fitted else ""
                text = text[: len(kept)]
                if fitted:
                    text.append(MORE)
            line.append(" " * PAD)
            line.append_text(text)
            line.append(" " * (column.content_width - text.cell_len + PAD))
            start = end
        return line

    def _column_starts(self) -> list[int]:
        starts, x = [], 0
        for column in self.columns.values():
            starts.append(x)
            x += column.content_width + 2 * PAD
        return starts

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        scroll_x, scroll_y = self.scroll_offset
        base = self.rich_style
        if y == 0:
            key: tuple[Any, ...] = ("header", scroll_x, width)
        else:
            index = scroll_y + y - 1
            if index >= len(self._order):
                return Strip.blank(width, base)
            name = self._order[index]
            key = (name, index == self._cursor, index % 2 if self.zebra_stripes else 0, scroll_x, width)
        strip = self._lines.get(key)
        if strip is not None:
            return strip
        if y == 0:
            style = base + self.get_component_rich_style("runs-table--header")
            line = self._line_text([column.label for column in self.columns.values()], style, scroll_x, width)
        else:
            style = base
            if self.zebra_stripes and index % 2:
                style += self.get_component_rich_style("runs-table--even-row")
            if index == self._cursor:
                style += self.get_component_rich_style("runs-table--cursor")
            line = self._line_text(self._rows[name].cells, style, scroll_x, width)
        segments = list(line.render(self.app.console))
        strip = Strip(segments).crop(0, width).extend_cell_length(width, style)
        strip = strip.simplify()
        if len(self._lines) > 400:
            self._lines.clear()
        self._lines[key] = strip
        return strip

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._lines.clear()

    def _on_focus(self, event: events.Focus) -> None:
        self._changed()

    def _on_blur(self, event: events.Blur) -> None:
        self._changed()

    # --- keys and mouse ---------------------------------------------------------------------

    def _page(self) -> int:
        return max(1, self.size.height - 1)

    def _scroll_to_cursor(self) -> None:
        rows = self._page()
        top = round(self.scroll_y)
        if self._cursor < top:
            self.scroll_to(y=self._cursor, animate=False, immediate=True)
        elif self._cursor >= top + rows:
            self.scroll_to(y=self._cursor - rows + 1, animate=False, immediate=True)

    def action_cursor_up(self) -> None:
        self.move_cursor(row=self._cursor - 1)

    def action_cursor_down(self) -> None:
        self.move_cursor(row=self._cursor + 1)

    def action_page_up(self) -> None:
        self.move_cursor(row=self._cursor - self._page())

    def action_page_down(self) -> None:
        self.move_cursor(row=self._cursor + self._page())

    def action_top(self) -> None:
        self.move_cursor(row=0)

    def action_bottom(self) -> None:
        self.move_cursor(row=len(self._order) - 1)

    def action_next_column(self) -> None:
        """Scroll right by a whole column, so the left edge never cuts one."""
        x = round(self.scroll_x)
        later = [start for start in self._column_starts() if start > x]
        if later and x < self.max_scroll_x:
            self.scroll_to(x=later[0], animate=False)

    def action_previous_column(self) -> None:
        x = round(self.scroll_x)
        earlier = [start for start in self._column_starts() if start < x]
        self.scroll_to(x=earlier[-1] if earlier else 0, animate=False)

    def action_select_cursor(self) -> None:
        if self._order:
            self.post_message(self.RowSelected())

    async def _on_click(self, event: events.Click) -> None:  # async like Widget's, which it replaces
        offset = event.get_content_offset(self)
        if offset is None:
            return
        if offset.y == 0:
            x = offset.x + round(self.scroll_x)
            for column in self.columns.values():
                x -= column.content_width + 2 * PAD
                if x < 0:
                    self.post_message(self.HeaderSelected(column.key.value))
                    break
            return
        index = round(self.scroll_y) + offset.y - 1
        if 0 <= index < len(self._order):
            self.move_cursor(row=index)
            self.post_message(self.RowSelected())
