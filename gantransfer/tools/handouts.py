"""Handouts: every notebook executed and rendered to one self-contained HTML file that opens offline,
and a teacher's edition with the exercises solved.

    gantransfer handouts [-o handouts] [--solutions | --both] [--fast] [NOTEBOOK ...]
    python -m gantransfer.tools.handouts ...          # the same, before the subcommand is wired up

nbconvert's own HTML templates load MathJax, require.js, the widget manager and mermaid from CDNs, so
their pages are blank or broken offline. Here nothing is loaded from anywhere:

* **Template.** nbconvert's ``lab`` template with the blocks that load scripts emptied (require.js, MathJax,
  mermaid, the widget manager) and the notebook's widget state dropped. JupyterLab's CSS is inlined, and
  images (outputs and Markdown pictures) are embedded as ``data:`` URIs (``embed_images``).
* **Math.** Every ``$…$`` and ``$$…$$`` of the Markdown (cells and Markdown outputs) is taken out before
  nbconvert sees it and converted to **MathML** by ``latex2mathml``: browsers (Chromium ≥ 109, Firefox,
  Safari) draw MathML themselves, with no script and no web font. Where ``latex2mathml`` is not
  installed, formulas stay as their TeX source in a ``<code>`` (readable, not typeset): see
  :data:`MATH_RENDERING`.
* **Widgets.** Each ipywidget output becomes a static snapshot of its last state (sliders, check boxes,
  buttons shown disabled, images embedded, progress bars at their end), marked as a snapshot.
* **Post-check.** :func:`remote_references` lists everything in a page that a browser would fetch from a
  network (scripts, style sheets, fonts, images, frames, CSS ``url()`` and ``@import``); :func:`render`
  refuses to write a page with any, or with references to local files (the page must stand alone).

The teacher's edition (``solutions=True``) replaces each exercise — a code cell that defines a ``my_…``
function whose body is ``raise NotImplementedError`` — by ``exercises.solution(name)``, runs the notebook,
and checks that every checker printed ``✔``.

Taught in ``notebooks/00_overview.ipynb`` (how to make the handouts); see also ``TEACHING.md``.
"""
from __future__ import annotations

import argparse
import ast
import base64
import copy
import html as html_lib
import re
import sys
from html.parser import HTMLParser
from pathlib import Path
from typing import Iterable, Sequence

import nbformat

from gantransfer.notebook import exercises
from gantransfer.tools import course, handouts_math

__all__ = ["render", "main", "remote_references", "teacher_edition", "exercise_cells", "to_html", "MATH_RENDERING",
           "HandoutError"]

#: How formulas end up in the HTML (:data:`gantransfer.tools.handouts_math.MATH_RENDERING`).
MATH_RENDERING = handouts_math.MATH_RENDERING


#: The line that marks an exercise cell's unwritten function body.
EXERCISE_MARK = "raise NotImplementedError"

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"


class HandoutError(RuntimeError):
    """A notebook failed, a teacher's-edition checker did not pass, or a page would not be self-contained."""


# ---------------------------------------------------------------------------------------------------
# Math: find it in Markdown, turn it into MathML.


# ---------------------------------------------------------------------------------------------------
# Widgets: a static snapshot of the last state.

_CONTROLS = ("Slider", "Checkbox", "Dropdown", "Button", "Text", "Select", "RadioButtons", "Toggle", "Picker",
             "Combobox", "Play", "Upload", "Password")


def _widget_html(model_id: str, state: dict, seen: set | None = None) -> tuple[str, bool]:
    """``(html, interactive)`` of one widget and its children, from the saved widget state."""
    seen = set() if seen is None else seen
    model = state.get(model_id)
    if model is None or model_id in seen:
        return "", False
    seen.add(model_id)
    name = model.get("model_name", "")
    s = model.get("state", {})
    esc = html_lib.escape
    desc = s.get("description", "")
    label = f'<span class="gt-w-desc">{esc(desc)}</span> ' if desc else ""
    interactive = any(word in name for word in _CONTROLS)
    children = [c.removeprefix("IPY_MODEL_") for c in s.get("children", [])]
    if children or name.endswith(("BoxModel", "AccordionModel", "TabModel", "StackModel")):
        parts = [_widget_html(c, state, seen) for c in children]
        inner = "".join(p for p, _ in parts)
        interactive = interactive or any(i for _, i in parts)
        row = name in ("HBoxModel", "GridBoxModel")
        return f'<div class="{"gt-w-hbox" if row else "gt-w-vbox"}">{inner}</div>', interactive
    value = s.get("value")
    if name in ("HTMLModel", "HTMLMathModel"):
        return f'<div class="gt-w-html">{label}{value or ""}</div>', False
    if name == "LabelModel":
        return f'<span class="gt-w-html">{label}{esc(str(value or ""))}</span>', False
    if name == "ImageModel":
        buffer = next((b for b in model.get("buffers", []) if b.get("path") == ["value"]), {})
        data = buffer.get("data", "")
        if not data:
            return "", False
        if buffer.get("encoding") != "base64":
            data = base64.b64encode(str(data).encode("latin-1")).decode()
        width = f' width="{esc(str(s["width"]))}"' if s.get("width") else ""
        fmt = esc(str(s.get("format", "png")))
        mime = "svg+xml" if fmt == "svg" else fmt
        return f'<img class="gt-w-image" src="data:image/{mime};base64,{data}"{width} alt="widget image">', False
    if name.endswith("ProgressModel"):
        return (f'<span class="gt-w-item">{label}<progress value="{esc(str(value))}" '
                f'max="{esc(str(s.get("max", 100)))}"></progress></span>'), False
    if "Slider" in name:
        shown = " – ".join(map(str, value)) if isinstance(value, list) else str(value)
        first = value[0] if isinstance(value, list) and value else value
        return (f'<span class="gt-w-item">{label}<input type="range" disabled min="{esc(str(s.get("min", 0)))}" '
                f'max="{esc(str(s.get("max", 100)))}" value="{esc(str(first))}">'
                f' <span class="gt-w-value">{esc(shown)}</span></span>'), True
    if name in ("CheckboxModel", "ToggleButtonModel"):
        checked = " checked" if value else ""
        return f'<label class="gt-w-item"><input type="checkbox" disabled{checked}> {esc(desc)}</label>', True
    if "_options_labels" in s:
        labels = s.get("_options_labels", [])
        index = s.get("index")
        picked = [labels[i] for i in (index if isinstance(index, list) else [index]) if isinstance(i, int)
                  and 0 <= i < len(labels)]
        return (f'<span class="gt-w-item">{label}<select disabled><option>{esc(", ".join(picked))}</option>'
                f'</select></span>'), True
    if name == "ButtonModel":
        return f'<button class="gt-w-item" disabled>{esc(desc or s.get("icon", "button"))}</button>', True
    if name == "OutputModel":
        return "".join(_output_html(o) for o in s.get("outputs", [])), False
    if value is not None and not isinstance(value, (dict, list)):
        return f'<span class="gt-w-item">{label}<input disabled value="{esc(str(value))}"></span>', interactive
    return f'<span class="gt-w-item">[{esc(name.removesuffix("Model"))}]</span>', interactive


def _output_html(output: dict) -> str:
    """A plain HTML rendering of one output saved inside an Output widget."""
    if output.get("output_type") == "stream":
        return f'<pre class="gt-w-stream">{html_lib.escape(str(output.get("text", "")))}</pre>'
    data = output.get("data", {})
    for mime in ("image/png", "image/jpeg"):
        if mime in data:
            return f'<img src="data:{mime};base64,{str(data[mime]).strip()}" alt="output">'
    if "text/html" in data:
        return str(data["text/html"]) if isinstance(data["text/html"], str) else "".join(data["text/html"])
    if "text/plain" in data:
        return f"<pre>{html_lib.escape(str(data['text/plain']))}</pre>"
    return ""


def _snapshot_widgets(nb) -> None:
    """Replace each widget output by a static snapshot (text/html) and drop the widget state."""
    state = nb.metadata.get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            if WIDGET_VIEW not in data:
                continue
            model_id = data[WIDGET_VIEW].get("model_id", "")
            snapshot, interactive = _widget_html(model_id, state)
            if not snapshot:
                plain = data.get("text/plain", "")
                snapshot = f"<pre>{html_lib.escape(plain if isinstance(plain, str) else ''.join(plain))}</pre>"
            note = ('<div class="gt-widget-note">A snapshot of an interactive widget: open the notebook in '
                    'JupyterLab to use it.</div>') if interactive else ""
            out["data"] = {"text/html": f'<div class="gt-widget">{snapshot}{note}</div>'}
    nb.metadata.pop("widgets", None)


# ---------------------------------------------------------------------------------------------------
# The teacher's edition.

def _solution_functions() -> dict[str, str]:
    """``{"my_gram": "gram_matrix", ...}``: the function each reference solution defines → exercise name."""

    names = {}
    for exercise in exercises.SOLUTIONS:
        m = re.search(r"def\s+(my_\w+)\s*\(", exercises.solution(exercise))
        if m:
            names[m.group(1)] = exercise
    return names


def _exercise_defs(source: str) -> list[tuple[str, int, int]]:
    """``(function, first line, last line)`` (1-based) of each ``def my_…`` whose body raises NotImplementedError."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    found = []
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name.startswith("my_"):
            raises = any(isinstance(n, ast.Raise) and "NotImplementedError" in ast.unparse(n.exc or n)
                         for n in ast.walk(node))
            if raises:
                first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
                found.append((node.name, first, node.end_lineno))
    return found


def exercise_cells(nb) -> list[tuple[int, str, str]]:
    """The exercise cells of a notebook: ``(cell index, function name, exercise name)``.

    An exercise cell is a code cell containing ``raise NotImplementedError`` inside a ``def my_…`` function.
    Raises :class:`HandoutError` for one whose function has no reference solution in
    :data:`gantransfer.notebook.exercises.SOLUTIONS`.
    """
    known = _solution_functions()
    cells = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code" or EXERCISE_MARK not in cell.source:
            continue
        for function, _, _ in _exercise_defs(cell.source):
            if function not in known:
                raise HandoutError(f"cell {index} defines {function}, which no exercise solution defines "
                                   f"(solutions define {', '.join(sorted(known))})")
            cells.append((index, function, known[function]))
    return cells


def teacher_edition(nb):
    """A copy of ``nb`` with every exercise solved by ``exercises.solution(name)`` and a note at the top.

    Only the ``def my_…`` block is replaced; the rest of the cell (the checker call) stays, so running the
    notebook shows the checkers passing.
    """


    nb = copy.deepcopy(nb)
    done = []
    for index, function, exercise in exercise_cells(nb):
        cell = nb.cells[index]
        lines = cell.source.splitlines()
        for name, first, last in sorted(_exercise_defs(cell.source), key=lambda d: -d[1]):
            if name != function:
                continue
            solution = (f"# Teacher's edition: the reference solution, exercises.solution({exercise!r})\n"
                        + exercises.solution(exercise)).rstrip("\n").splitlines()
            lines[first - 1:last] = solution
        cell.source = "\n".join(lines)
        tags = cell.metadata.setdefault("tags", [])
        if "solution" not in tags:
            tags.append("solution")
        done.append(exercise)
    note = ("**Teacher's edition.** " + (
        f"The exercise cells hold the reference solutions ({', '.join(f'`{e}`' for e in done)}, from "
        "`gantransfer.notebook.exercises.solution(name)`), and each checker below shows ✔." if done else
        "This notebook has no exercises."))
    nb.cells.insert(0, nbformat.v4.new_markdown_cell(note))
    return nb


def _checker_lines(cell) -> str:
    return "".join(str(o.get("text", "")) for o in cell.get("outputs", []) if o.get("output_type") == "stream")


# ---------------------------------------------------------------------------------------------------
# Offline check.

_REMOTE = re.compile(r"^\s*(?:(?:https?|wss?|ftp):)?//", re.IGNORECASE)
_NOT_A_FILE = re.compile(r"^\s*(?:data:|blob:|about:|javascript:|#|$)", re.IGNORECASE)
_LOAD_ATTRS = {"src", "srcset", "data", "poster", "background", "lowsrc", "dynsrc", "manifest", "xlink:href"}
_HREF_LOADS = {"link", "image", "use", "feimage", "script", "base"}
_JS_TYPES = {"", "text/javascript", "application/javascript", "module", "text/ecmascript", "application/ecmascript"}


def _css_urls(css: str) -> list[str]:
    css = re.sub(r"/\*.*?\*/", "", css, flags=re.DOTALL)
    urls = re.findall(r"url\(\s*['\"]?([^'\")\s]+)", css, flags=re.IGNORECASE)
    urls += re.findall(r"@import\s+['\"]([^'\"]+)", css, flags=re.IGNORECASE)
    return urls


class _RefFinder(HTMLParser):
    def __init__(self, local: bool):
        super().__init__(convert_charrefs=True)
        self.local = local
        self.found: list[str] = []
        self._in: str | None = None
        self._script_type = ""

    def _check(self, url: str, where: str) -> None:
        url = url.strip()
        if _REMOTE.match(url) or (self.local and not _NOT_A_FILE.match(url)):
            self.found.append(f"{where}: {url}")

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if value is None:
                continue
            if name in _LOAD_ATTRS or (name == "href" and tag in _HREF_LOADS):
                urls = [u.split()[0] for u in value.split(",") if u.strip()] if name == "srcset" else [value]
                for url in urls:
                    self._check(url, f"<{tag} {name}>")
            elif name == "style":
                for url in _css_urls(value):
                    self._check(url, f"<{tag} style>")
            elif tag == "meta" and name == "content" and "url=" in value.lower():
                self._check(value.lower().split("url=", 1)[1], "<meta refresh>")
        if tag in ("style", "script"):
            self._in = tag
            self._script_type = (dict(attrs).get("type") or "").lower()

    def handle_endtag(self, tag):
        if tag == self._in:
            self._in = None

    def handle_data(self, data):
        if self._in == "style":
            for url in _css_urls(data):
                self._check(url, "<style> url()")
        elif self._in == "script" and self._script_type in _JS_TYPES:
            for url in re.findall(r"(?:(?:https?|wss?|ftp):)//[^\s'\"`)]+|['\"`]//[\w-]+\.[\w.-]+[^\s'\"`]*", data):
                self.found.append(f"<script>: {url.strip(chr(34) + chr(39) + '`')}")


def remote_references(html: str, *, local: bool = False) -> list[str]:
    """What a browser would fetch from the network to show this page: ``["<script src>: https://…", …]``.

    Checks every loading attribute (``src``, ``srcset``, ``data``, ``poster``, ``<link href>``, SVG
    ``href``…), CSS ``url()`` and ``@import`` in ``<style>`` and ``style=""`` (comments ignored), meta
    refreshes, and URLs inside inline scripts. Hyperlinks (``<a href>``) are not loads and are not listed.
    With ``local=True``, references to local files (relative paths, ``file:``) are listed too: a page
    that has none stands alone wherever it is copied. An empty list means the page opens offline.
    """
    finder = _RefFinder(local)
    finder.feed(html)
    finder.close()
    return finder.found


# ---------------------------------------------------------------------------------------------------
# Rendering.

_TEMPLATE = r"""
{%- extends 'index.html.j2' -%}
{#- nbconvert's lab template without anything that loads from a CDN (gantransfer.tools.handouts). -#}
{%- block html_head_js -%}{%- endblock html_head_js -%}
{%- block jupyter_widgets -%}{%- endblock jupyter_widgets -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{%- block extra_css -%}
<style type="text/css">
math[display="block"] { margin: 0.8em 0; overflow-x: auto; overflow-y: hidden; }
math { font-size: 1.08em; }
.gt-tex code { background: #f5f5f5; padding: 0 0.2em; }
.gt-widget { border: 1px dashed #bbb; border-radius: 4px; padding: 6px; margin: 4px 0; }
.gt-widget-note { font-size: 0.85em; color: #777; margin-top: 4px; font-style: italic; }
.gt-w-hbox { display: flex; flex-wrap: wrap; gap: 8px; align-items: center; }
.gt-w-vbox { display: flex; flex-direction: column; gap: 4px; }
.gt-w-item { display: inline-flex; gap: 4px; align-items: center; }
.gt-w-desc { color: #555; }
.gt-w-image { max-width: 100%; height: auto; }
.gt-edition { background: #fff4d6; border: 1px solid #e0b84f; padding: 4px 10px; margin: 8px 0; }
</style>
{%- endblock extra_css -%}
"""


def _exporter():
    from nbconvert import HTMLExporter  # lazy: nbconvert is slow to import; only to render

    exporter = HTMLExporter(template_name="lab", embed_images=True)
    exporter.raw_template = _TEMPLATE
    return exporter


def _hide_math(nb, stash: handouts_math.MathStash) -> None:
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            cell.source = stash.hide(cell.source)
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            if "text/markdown" in data:
                md = data["text/markdown"]
                data["text/markdown"] = stash.hide(md if isinstance(md, str) else "".join(md))
            if "text/latex" in data and "text/html" not in data:
                tex = data.pop("text/latex")
                tex = (tex if isinstance(tex, str) else "".join(tex)).strip()
                data["text/html"] = stash.hide(tex if tex.startswith("$") else f"$${tex}$$")


def to_html(nb, *, name: str, path: str | Path | None = None, title: str | None = None) -> str:
    """An executed notebook as one self-contained HTML page (see the module docstring for how).

    Args:
      nb: the notebook (not changed).
      name: its name (the page's default title).
      path: where it was read from, so that Markdown images beside it can be embedded.
      title: the page's title (default: ``name``).
    Raises:
      HandoutError: the page would fetch something (:func:`remote_references`, local files included).
    """
    nb = copy.deepcopy(nb)
    if title:
        nb.metadata["title"] = title
    _snapshot_widgets(nb)
    stash = handouts_math.MathStash()
    _hide_math(nb, stash)
    folder = str(Path(path).resolve().parent) if path else "."
    body, _ = _exporter().from_notebook_node(nb, resources={"metadata": {"name": name, "path": folder}})
    page = stash.restore(body)
    page = page.replace("<head>", f"<head>\n<!-- rendered offline by gantransfer.tools.handouts; math: {MATH_RENDERING} -->",
                        1)
    bad = remote_references(page, local=True)
    if bad:
        raise HandoutError(f"{name}: the page would load {len(bad)} thing(s) from outside itself: "
                           + "; ".join(bad[:5]))
    return page


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def _title(stem: str) -> str:
    entry = next((nb for nb in course.COURSE if nb.stem == stem), None)
    return f"{stem[:2]} · {entry.title}" if entry else stem


def render(out_dir: str | Path, *, solutions: bool = False, fast: bool = False,
           notebooks: Iterable[str | Path] | None = None, timeout: int | None = None) -> list[Path]:
    """Execute notebooks and write each as a self-contained HTML page that opens offline.

    Args:
      out_dir: the folder to write to (created). Pages are ``NN_name.html``, or ``NN_name.teacher.html``
        for the teacher's edition; an ``index.html`` (``index.teacher.html``) links them. Existing pages
        of the same names are replaced.
      solutions: the teacher's edition: exercises solved (:func:`teacher_edition`), and every checker must
        print ``✔``.
      fast: execute in fast mode (``GANTRANSFER_FAST=1``: tiny sizes, few steps); otherwise at the
        notebooks' default settings (minutes each on a 2-core CPU).
      notebooks: which ones (``"02"``, ``"02_style_matrix"``, a path…); default all of ``notebooks/``.
      timeout: per-cell limit in seconds (default none).
    Returns:
      The pages written, in order.
    Raises:
      HandoutError: a notebook failed, a checker did not pass, or a page would not be self-contained.
    """
    from nbclient.exceptions import CellExecutionError  # lazy: only when executing notebooks

    out_dir = Path(out_dir)
    written = []
    suffix = ".teacher.html" if solutions else ".html"
    for path in course.notebook_paths(notebooks):
        nb = nbformat.read(path, as_version=4)
        if solutions:
            nb = teacher_edition(nb)
            checked = [(i + 1, ex) for i, _, ex in exercise_cells(nbformat.read(path, as_version=4))]
        try:
            course.run_notebook(nb, path, fast=fast, timeout=timeout)
        except CellExecutionError as err:
            lines = [ln for ln in re.sub(r"\x1b\[[0-9;]*m", "", str(err)).strip().splitlines() if ln.strip()]
            raise HandoutError(f"{path.name} failed{' (teacher edition)' if solutions else ''}: "
                               f"{lines[-1] if lines else err}") from err
        if solutions:
            for index, exercise in checked:
                text = _checker_lines(nb.cells[index])
                if not any(line.startswith("✔") for line in text.splitlines()):
                    raise HandoutError(f"{path.name}: the teacher's edition of exercise {exercise!r} does not pass "
                                       f"its checker: {text.strip() or 'no output'}")
        title = _title(path.stem) + (" (teacher's edition)" if solutions else "")
        page = to_html(nb, name=path.stem, path=path, title=title)
        target = out_dir / f"{path.stem}{suffix}"
        _write(target, page)
        written.append(target)
    _write_index(out_dir, solutions)
    return written


def _write_index(out_dir: Path, solutions: bool) -> Path:
    suffix = ".teacher.html" if solutions else ".html"
    pages = sorted(p for p in out_dir.glob(f"[0-9][0-9]*_*{suffix}")
                   if solutions or not p.name.endswith(".teacher.html"))
    items = "\n".join(f'<li><a href="{html_lib.escape(p.name)}">{html_lib.escape(_title(p.name.split(".")[0]))}'
                      f'</a></li>' for p in pages)
    edition = "teacher's edition (exercises solved)" if solutions else "student handouts"
    page = (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>gantransfer: {edition}</title>'
            f'<style>body {{ font-family: system-ui, sans-serif; max-width: 42em; margin: 2em auto; }}</style>'
            f'</head><body><h1>gantransfer: {edition}</h1><ol>\n{items}\n</ol>'
            f'<p>Each page is self-contained and opens offline; math: {html_lib.escape(MATH_RENDERING)}.</p>'
            f'</body></html>\n')
    target = out_dir / ("index.teacher.html" if solutions else "index.html")
    _write(target, page)
    return target


def main(argv: Sequence[str] | None = None) -> int:
    """``gantransfer handouts``: render the notebooks to offline HTML; exit code 0, 1 (failure) or 2 (usage)."""
    parser = argparse.ArgumentParser(
        prog="gantransfer handouts",
        description="Execute every notebook and write each as one self-contained HTML page that opens offline "
                    "(math as MathML, widgets as snapshots); --solutions writes the teacher's edition.")
    parser.add_argument("notebooks", nargs="*", metavar="NOTEBOOK",
                        help="which notebooks (01, 02_style_matrix, a path); default all")
    parser.add_argument("-o", "--out", default="handouts", help="output folder (default: handouts)")
    edition = parser.add_mutually_exclusive_group()
    edition.add_argument("--solutions", action="store_true",
                         help="the teacher's edition only (exercises solved, checkers must pass)")
    edition.add_argument("--both", action="store_true",
                         help="the student handouts in OUT and the teacher's edition in OUT/teacher")
    parser.add_argument("--fast", action="store_true", help="fast mode (GANTRANSFER_FAST=1): tiny sizes, few steps")
    parser.add_argument("--timeout", type=int, default=None, help="per-cell time limit in seconds (default none)")
    args = parser.parse_args(argv)
    out = Path(args.out)
    jobs = [(out, False), (out / "teacher", True)] if args.both else [(out, args.solutions)]
    try:
        for folder, solutions in jobs:
            for page in render(folder, solutions=solutions, fast=args.fast, notebooks=args.notebooks or None,
                               timeout=args.timeout):
                print(page)
    except (HandoutError, FileNotFoundError) as err:
        print(f"gantransfer handouts: error: {err}", file=sys.stderr)
        return 1
    print(f"math: {MATH_RENDERING}", file=sys.stderr)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
