"""Small helpers for the chapter notebooks."""

from __future__ import annotations

import inspect


def show_source(obj):
    """Display the library's source of ``obj``, so a chapter shows the one copy of the
    code it then checks, instead of pasting it a second time."""
    from IPython.display import Code

    return Code(inspect.getsource(obj), language="python")
