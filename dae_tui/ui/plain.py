"""Strings from outside the program, shown as they are: never read as markup, never raw controls.

A run's name is whatever its folder is called, and configs, status messages, study names and
paths come from files anyone can write. Textual reads a `str` given to a Static, a DataTable cell,
a tooltip or a notification as markup, so a folder named `[on red]x` was drawn red and
`[@click=app.quit]` became a link that quit the app; an ESC in a name would reach the terminal.
Every such string goes through `plain` (a `Text`, which is never parsed) or, where our own
markup colours it (a legend), in as a `$variable` of `markup` (Textual substitutes those as
literal text). Escaping was tried first and does not hold: Textual's and Rich's `escape` leave an
unclosed `[on re` as it is, and the parser then swallows the `[/]` after it; a trailing
backslash escapes that `[/]` too.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.content import Content

from dae_tui.core.formatting import printable

__all__ = ["markup", "plain"]


def plain(text: object, style: str = "", **kwargs: Any) -> Text:
    """`text` as a `Text` in `style`: shown literally, control characters as visible stand-ins."""
    return Text(printable(str(text)), style=style, **kwargs)


def markup(template: str, **values: object) -> Content:
    """Our markup `template` with each `$name` in it replaced by `values[name]` as literal text
    (controls made visible): `markup("[red]$error[/]", error=text)`."""
    return Content.from_markup(template, **{name: printable(str(value)) for name, value in values.items()})
