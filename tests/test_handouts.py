"""Handouts: offline HTML (no remote scripts, fonts or images), math as MathML, the teacher's edition passes
its checkers. The rendering test executes two small notebooks in fast mode."""
import re
from pathlib import Path

import nbformat
import pytest

from gantransfer.notebook import exercises
from gantransfer.tools import handouts, handouts_math

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]*_*.ipynb"))


# --- math -------------------------------------------------------------------------------------------

def _math(text):
    return [(value, display) for kind, value, display in handouts_math.split_math(text) if kind == "math"]


def test_split_math():
    assert _math("a $x^2$ b $$\\sum_i y_i$$ c") == [("x^2", False), ("\\sum_i y_i", True)]
    assert _math("$$\nG = F^\\top F\n$$") == [("\nG = F^\\top F\n", True)]
    assert _math("code `$HOME` and `` a $b$ ``") == []
    assert _math("```\n$x$\n```\nafter $y$") == [("y", False)]
    assert _math("costs \\$5, or $5 and $10") == []                  # escaped and currency dollars
    assert _math("$ x$ and $x $") == []                              # not math in JupyterLab either
    text = "keep *this* $a_b$ _here_"
    assert "".join(v if k == "text" else f"${v}$" for k, v, _ in handouts_math.split_math(text)) == text


def test_math_to_html():
    if handouts.MATH_RENDERING.startswith("MathML"):
        out = handouts_math.math_to_html("\\hat x = \\arg\\min_x f", display=True)
        assert out.startswith("<math") and 'display="block"' in out and "\\arg" not in out.split(">", 1)[1]
        assert "<code>" in handouts_math.math_to_html("\\notacommand x")           # unknown: shown as its source
    else:
        assert handouts_math.math_to_html("x^2") == '<span class="gt-tex"><code>$x^2$</code></span>'


def test_every_formula_in_the_notebooks_becomes_mathml():
    pytest.importorskip("latex2mathml")
    for path in NOTEBOOKS:
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.cell_type == "markdown":
                for tex, display in _math(cell.source):
                    assert handouts_math.math_to_html(tex, display=display).startswith("<math"), (path.name, tex)


# --- the offline check ------------------------------------------------------------------------------

def test_remote_references_finds_loads():
    page = """<html><head>
    <script src="https://cdn.example.org/require.js"></script>
    <link rel="stylesheet" href="//fonts.example.com/css?family=Roboto">
    <style>/* https://github.com/in-a-comment */ @import "https://x.org/a.css";
      @font-face { src: url('https://fonts.example.com/f.woff2'); }
      .a { background: url(data:image/png;base64,AA) }</style>
    <script type="module">const m = await import("https://cdnjs.example.org/mermaid.mjs");</script>
    <script type="application/json">{"homepage": "https://example.org"}</script>
    </head><body><img src="pic.png" srcset="https://a.org/1x.png 1x, b.png 2x">
    <div style="background-image: url(http://x.org/bg.png)"></div><a href="https://arxiv.org/abs/1508.06576">paper</a>
    <math xmlns="http://www.w3.org/1998/Math/MathML"><mi>x</mi></math><img src="data:image/png;base64,AAAA">
    </body></html>"""
    found = handouts.remote_references(page)
    joined = "\n".join(found)
    for url in ("cdn.example.org/require.js", "//fonts.example.com/css", "https://x.org/a.css", "f.woff2",
                "mermaid.mjs", "https://a.org/1x.png", "http://x.org/bg.png"):
        assert url in joined, url
    for url in ("arxiv.org", "MathML", "in-a-comment", "data:", "pic.png", "example.org\"", "homepage"):
        assert url not in joined, url
    assert len(found) == 7
    local = "\n".join(handouts.remote_references(page, local=True))
    assert "pic.png" in local and "b.png" in local and "data:" not in local


def test_nbconverts_default_page_is_not_offline():
    """The reason this module exists: nbconvert's own template loads scripts from CDNs."""
    from nbconvert import HTMLExporter

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("$x$")])
    body, _ = HTMLExporter(template_name="lab").from_notebook_node(nb)
    assert any("mathjax" in ref.lower() or "require" in ref.lower() for ref in handouts.remote_references(body))


def test_widget_snapshot_and_markdown_output_math():
    state = {"box": {"model_name": "VBoxModel", "state": {"children": ["IPY_MODEL_s", "IPY_MODEL_p"]}},
             "s": {"model_name": "FloatSliderModel",
                   "state": {"description": "alpha", "value": 0.5, "min": 0, "max": 1}},
             "p": {"model_name": "FloatProgressModel", "state": {"value": 3, "max": 3}}}
    cell = nbformat.v4.new_code_cell("w", outputs=[
        nbformat.v4.new_output("display_data",
                               data={handouts.WIDGET_VIEW: {"model_id": "box"}, "text/plain": "VBox()"}),
        nbformat.v4.new_output("display_data", data={"text/markdown": "| a |\n| --- |\n| $\\alpha$ |"})])
    nb = nbformat.v4.new_notebook(cells=[cell])
    nb.metadata["widgets"] = {handouts.WIDGET_STATE: {"state": state, "version_major": 2, "version_minor": 0}}
    page = handouts.to_html(nb, name="t")
    assert "<script" not in page and "alpha" in page and 'type="range"' in page and "<progress" in page
    assert "A snapshot of an interactive widget" in page
    assert ("<math" in page) == handouts.MATH_RENDERING.startswith("MathML") and "GTMATH" not in page


# --- the teacher's edition --------------------------------------------------------------------------

def _exercises_in_notebooks():
    seen = []
    for path in NOTEBOOKS:
        seen += [ex for _, _, ex in handouts.exercise_cells(nbformat.read(path, as_version=4))]  # raises if unknown
    return seen


def test_every_exercise_cell_has_a_solution():
    seen = _exercises_in_notebooks()
    assert len(seen) == len(set(seen)) and set(seen) <= set(exercises.SOLUTIONS)


def test_every_solution_has_an_exercise_cell():
    unused = set(exercises.SOLUTIONS) - set(_exercises_in_notebooks())
    assert not unused, f"exercises.SOLUTIONS without an exercise cell in notebooks/: {sorted(unused)}"


def test_teacher_edition_replaces_only_the_function():
    nb = nbformat.read(ROOT / "notebooks" / "02_style_matrix.ipynb", as_version=4)
    teacher = handouts.teacher_edition(nb)
    assert teacher.cells[0].cell_type == "markdown" and "Teacher's edition" in teacher.cells[0].source
    solved = [c for c in teacher.cells if "solution" in c.metadata.get("tags", [])]
    assert len(solved) == 3                                               # gram_matrix, tiles_gram, style_layer_loss
    for cell in solved:
        assert "NotImplementedError" not in cell.source and ".check_" in cell.source
        compile(cell.source, "<cell>", "exec")
    assert exercises.solution("gram_matrix").strip() in solved[0].source
    assert exercises.solution("tiles_gram").strip() in solved[1].source
    assert all("NotImplementedError" in nb.cells[i].source for i, _, _ in handouts.exercise_cells(nb))  # untouched


# --- rendering, in fast mode --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    out = tmp_path_factory.mktemp("handouts")
    student = handouts.render(out, notebooks=["00"], fast=True, timeout=300)
    teacher = handouts.render(out, solutions=True, notebooks=["02"], fast=True, timeout=300)
    return out, student, teacher


def test_render_writes_offline_pages(rendered):
    out, student, teacher = rendered
    assert [p.name for p in student] == ["00_overview.html"]
    assert [p.name for p in teacher] == ["02_style_matrix.teacher.html"]
    for page in (*student, *teacher, out / "index.html", out / "index.teacher.html"):
        html = page.read_text(encoding="utf-8")
        assert handouts.remote_references(html, local=True) == [], page.name
        assert "<script" not in html and "GTMATH" not in html
    overview = student[0].read_text(encoding="utf-8")
    assert "data:image/png;base64," in overview                           # the figures are inside the page
    assert "风格矩阵" in overview and "gantransfer bench --notebooks" in overview
    if handouts.MATH_RENDERING.startswith("MathML"):
        assert overview.count("<math") > 40 and "$I_s" not in overview
    assert "00_overview.html" in (out / "index.html").read_text(encoding="utf-8")


def test_teacher_edition_passes_its_checkers(rendered):
    _, _, teacher = rendered
    html = teacher[0].read_text(encoding="utf-8")
    for name in ("gram_matrix", "tiles_gram", "style_layer_loss"):
        assert re.search(f"✔ {name}:", html), name
    assert "✘" not in html and "not done yet" not in html and "raise NotImplementedError" not in html
    assert "Teacher&#39;s edition" in html or "Teacher's edition" in html


def test_main(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        handouts.main(["--help"])
    assert exit_info.value.code == 0
    assert handouts.main(["-o", str(tmp_path), "no_such_notebook"]) == 1
    assert "no notebook" in capsys.readouterr().err
