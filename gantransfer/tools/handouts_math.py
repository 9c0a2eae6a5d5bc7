"""The handouts' formulas: ``$…$`` and ``$$…$$`` in a notebook's Markdown found (outside code) and written as
MathML, so an offline handout needs no script and no web font.
"""
from __future__ import annotations

import html as html_lib
import re

#: How formulas end up in the HTML: ``"MathML (latex2mathml)"`` or ``"TeX source"`` (latex2mathml missing).
try:
    import latex2mathml.converter as _latex2mathml
    MATH_RENDERING = "MathML (latex2mathml)"
except ImportError:  # pragma: no cover - depends on the environment
    _latex2mathml = None
    MATH_RENDERING = "TeX source"

_INLINE_MATH = re.compile(r"\$(?=\S)((?:\\.|[^$\\\n]|\n(?![ \t]*\n))+?)(?<=[^\s\\])\$(?!\d)")


_FENCE = re.compile(r"[ ]{0,3}(`{3,}|~{3,})")


def split_math(text: str) -> list[tuple[str, str, bool]]:
    """Split Markdown into ``("text", s, False)`` and ``("math", tex, display)`` pieces.

    ``$$…$$`` (display, may span lines) and ``$…$`` (inline: no space just inside the dollars, no blank line,
    not followed by a digit: pandoc's rule, which keeps "$5 and $10" text) are math; dollars inside code
    spans and fenced code blocks, and escaped ``\\$``, are text. JupyterLab is more lenient (it also takes
    ``$ x $``, ``\\(…\\)`` and ``\\[…\\]``): notebooks meant for handouts write math the stricter way.
    """
    pieces: list[tuple[str, str, bool]] = []
    buf: list[str] = []
    i, n, line_start = 0, len(text), True

    def flush():
        if buf:
            pieces.append(("text", "".join(buf), False))
            buf.clear()

    while i < n:
        ch = text[i]
        if line_start and (m := _FENCE.match(text, i)):
            fence = m.group(1)
            close = re.compile(r"\n[ ]{0,3}" + re.escape(fence[0]) + "{" + str(len(fence)) + r",}[ \t]*(?=\n|$)")
            c = close.search(text, m.end())
            j = n if c is None else c.end()
            buf.append(text[i:j])
            i, line_start = j, False
            continue
        if ch == "\\" and i + 1 < n:
            buf.append(text[i:i + 2])
            i, line_start = i + 2, False
            continue
        if ch == "`":
            ticks = re.match(r"`+", text[i:]).group(0)
            j = text.find(ticks, i + len(ticks))
            while j != -1 and text.startswith("`", j + len(ticks)):
                j = text.find(ticks, j + len(ticks) + 1)
            if j == -1:
                buf.append(ticks)
                i += len(ticks)
            else:
                buf.append(text[i:j + len(ticks)])
                i = j + len(ticks)
            line_start = False
            continue
        if ch == "$":
            if text.startswith("$$", i):
                j = text.find("$$", i + 2)
                if j != -1 and text[i + 2:j].strip():
                    flush()
                    pieces.append(("math", text[i + 2:j], True))
                    i, line_start = j + 2, False
                    continue
            elif m := _INLINE_MATH.match(text, i):
                flush()
                pieces.append(("math", m.group(1), False))
                i, line_start = m.end(), False
                continue
        buf.append(ch)
        line_start = ch == "\n"
        i += 1
    flush()
    return pieces


def math_to_html(tex: str, *, display: bool = False) -> str:
    """One formula as HTML: MathML where ``latex2mathml`` is installed and knows every command of it, else its
    TeX source in a ``<code>``."""
    tex = " ".join(tex.split())
    if _latex2mathml is not None:
        try:
            mathml = _latex2mathml.convert(tex, display="block" if display else "inline")
        except Exception:  # noqa: BLE001 - a formula it cannot parse is shown as source, not lost
            mathml = ""
        for command, fixed in _MATHML_FIXES.items():       # commands latex2mathml leaves as "\\arg"
            mathml = mathml.replace(command, fixed)
        if mathml and not re.search(r">\\[A-Za-z|{}]", mathml):  # no TeX command left in the MathML
            return mathml.replace("<math ", f'<math alttext="{html_lib.escape(tex, quote=True)}" ', 1)
    delim = "$$" if display else "$"
    tag = "div" if display else "span"
    return f'<{tag} class="gt-tex"><code>{html_lib.escape(delim + tex + delim)}</code></{tag}>'


#: MathML that latex2mathml (3.81) gets wrong, and what it should be: ``\\arg``, and the delimiters after
#: ``\\big``, ``\\Big``, … (``\\big\\langle``, ``\\big\\|``), which it leaves as their TeX names.
_DELIMITERS = {"langle": "&#x027E8;", "rangle": "&#x027E9;", "lvert": "&#x0007C;", "rvert": "&#x0007C;",
               "vert": "&#x0007C;", "lVert": "&#x02016;", "rVert": "&#x02016;", "Vert": "&#x02016;",
               "|": "&#x02016;", "{": "&#x0007B;", "}": "&#x0007D;", "lfloor": "&#x0230A;", "rfloor": "&#x0230B;",
               "lceil": "&#x02308;", "rceil": "&#x02309;", "uparrow": "&#x02191;", "downarrow": "&#x02193;",
               "backslash": "&#x0005C;"}


_MATHML_FIXES = {"<mi>\\arg</mi>": "<mi>arg</mi>",
                 **{f">\\{name}</mo>": f">{char}</mo>" for name, char in _DELIMITERS.items()}}


class MathStash:
    """Replaces math in Markdown by placeholder words, and the placeholders in the final HTML by MathML."""

    _TOKEN = re.compile(r"GTMATHPH(\d+)Q")

    def __init__(self):
        self.formulas: list[tuple[str, bool]] = []

    def hide(self, markdown: str) -> str:
        out = []
        for kind, value, display in split_math(markdown):
            if kind == "text":
                out.append(value)
                continue
            self.formulas.append((value, display))
            token = f"GTMATHPH{len(self.formulas) - 1}Q"
            out.append(token)
        return "".join(out)

    def restore(self, page: str) -> str:
        def in_tag(m):  # a placeholder inside an attribute (a heading's id): the TeX, made id-safe
            return self._TOKEN.sub(lambda t: re.sub(r"[^\w-]+", "", self.formulas[int(t.group(1))][0]), m.group(0))

        page = re.sub(r"<[^<>]*GTMATHPH\d+Q[^<>]*>", in_tag, page)
        return self._TOKEN.sub(lambda t: math_to_html(self.formulas[int(t.group(1))][0],
                                                      display=self.formulas[int(t.group(1))][1]), page)
