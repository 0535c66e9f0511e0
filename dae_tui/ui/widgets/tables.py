"""Adding and changing DataTable rows with their columns already wide enough.

Textual widens a table's columns for new or changed cells on the table's next idle. CI twice
showed the Runs table with every column still at its header's width for a whole minute (run
names cut to the three columns of "run"); the cause inside Textual was not pinned down (the
idle did its work in every isolated try). Widening the columns before the row changes means no
frame can draw them too narrow, whatever that idle does.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.text import Text
from textual.widgets import DataTable
from textual.widgets.data_table import ColumnKey, RowKey

__all__ = ["add_row_fitted", "update_cell_fitted"]


def cell_width(cell: Any) -> int:
    """Columns a cell takes, never fewer than Textual will measure (markup counts as text)."""
    if isinstance(cell, Text):
        return max((line.cell_len for line in cell.split()), default=0)
    text = f"{cell:.2f}" if isinstance(cell, float) else str(cell)
    return max((Text(line).cell_len for line in text.splitlines()), default=0)


def _widen(table: DataTable[Any], column_key: ColumnKey | str, cell: Any) -> None:
    column = table.columns.get(column_key if isinstance(column_key, ColumnKey) else ColumnKey(column_key))
    if column is not None and column.auto_width:
        column.content_width = max(column.content_width, cell_width(cell))


def add_row_fitted(table: DataTable[Any], cells: Sequence[Any], key: str) -> RowKey:
    """`table.add_row(*cells, key=key)`, the columns first widened to fit its cells."""
    for column, cell in zip(table.ordered_columns, cells, strict=False):
        _widen(table, column.key, cell)
    return table.add_row(*cells, key=key)


def update_cell_fitted(table: DataTable[Any], row_key: str, column_key: str, value: Any) -> None:
    """`table.update_cell(...)`, its column first widened to fit `value` (narrowing is still
    Textual's, on idle: a column too wide for a moment crops nothing)."""
    _widen(table, column_key, value)
    table.update_cell(row_key, column_key, value, update_width=True)
