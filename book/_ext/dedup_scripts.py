"""Give each page every script once.

jupyter-book 1.x registers sphinx-thebe's and sphinx-togglebutton's inline
configuration scripts twice (once with the file name ``None``, once with
``''``), so every page declared ``const THEBE_JS_URL`` twice: a SyntaxError in
each page's console, found by tools/browser_check.py. This drops such repeats
when a page is written.
"""


def _dedup(app, pagename, templatename, context, doctree):
    scripts = context.get("script_files")
    if not isinstance(scripts, list):
        return
    seen, keep = set(), []
    for script in scripts:
        key = (getattr(script, "filename", script) or "", getattr(script, "priority", None),
               repr(sorted((getattr(script, "attributes", None) or {}).items())))
        if key not in seen:
            seen.add(key)
            keep.append(script)
    # In place: later handlers (sphinx.ext.mathjax) append to this same list.
    scripts[:] = keep


def setup(app):
    # early: html-page-context stops at the first handler that returns a template name
    app.connect("html-page-context", _dedup, priority=100)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
