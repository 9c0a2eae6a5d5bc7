"""The glossary: every function it names exists and is documented; the seed's terms are there, in its words."""
import dataclasses
import inspect
from pathlib import Path

import pytest

from gantransfer.notebook import glossary
from gantransfer.tools import course

ROOT = Path(__file__).resolve().parent.parent
SEED_TERMS = ("内容解析", "风格矩阵", "融合", "生成器", "判别器", "生成对抗网络", "对抗训练", "卷积神经网络", "特征映射")


def _seed_text():
    for folder in (ROOT.parent / "shared" / "seed", ROOT / "shared" / "seed"):
        files = sorted(folder.glob("*.txt")) if folder.is_dir() else []
        if files:
            return "".join(f.read_text(encoding="utf-8") for f in files)
    return None


@pytest.mark.parametrize("entry", glossary.GLOSSARY, ids=[e.english for e in glossary.GLOSSARY])
def test_function_exists_and_is_documented(entry):
    obj = glossary.resolve(entry)            # ImportError / AttributeError when it does not exist
    assert callable(obj), f"{entry.function} is not a function or class"
    doc = obj.__dict__.get("__doc__") if inspect.isclass(obj) else obj.__doc__   # a class's own, not its base's
    assert doc and doc.strip(), f"{entry.function} has no docstring"


def test_entries_are_complete_and_unique():
    stems = {nb.stem for nb in course.COURSE}
    englishes = [e.english for e in glossary.GLOSSARY]
    assert len(set(englishes)) == len(englishes)
    for e in glossary.GLOSSARY:
        assert e.english and e.chinese and e.formula and e.function.startswith("gantransfer."), e
        assert e.notebook in stems, f"{e.english}: notebook {e.notebook} is not on the course map"
        assert "$" not in e.formula and "|" not in e.formula, f"{e.english}: write | as \\lvert/\\rvert in a table"
    assert dataclasses.is_dataclass(glossary.Term) and glossary.Term.__dataclass_params__.frozen


def test_seed_terms_are_all_there():
    chinese = {e.chinese for e in glossary.GLOSSARY}
    assert set(SEED_TERMS) <= chinese, set(SEED_TERMS) - chinese
    for term in SEED_TERMS:
        assert any(e.in_seed for e in glossary.GLOSSARY if e.chinese == term)


def test_seed_terms_are_the_seeds_words():
    seed = _seed_text()
    if seed is None:
        pytest.skip("the seed article is not beside this checkout")
    for e in glossary.GLOSSARY:
        assert (e.chinese in seed) == e.in_seed, f"{e.english}: {e.chinese} in the seed is {e.chinese in seed}"


def test_every_taught_notebook_has_terms():
    for nb in course.COURSE[1:]:
        assert glossary.by_notebook(nb.stem), nb.stem
        assert glossary.by_notebook(nb.stem.split("_")[0]) == glossary.by_notebook(nb.stem)


def test_lookup():
    assert glossary.lookup("style matrix").function == "gantransfer.pipeline.style.gram_matrix"
    assert glossary.lookup("Gram matrix") is glossary.lookup("风格矩阵")
    assert glossary.lookup("adain").function == "gantransfer.pipeline.fusion.adain"
    assert glossary.lookup("Discriminator").chinese == "判别器"
    assert glossary.resolve(glossary.lookup("R1 gradient penalty")).__name__ == "r1_penalty"
    with pytest.raises(KeyError, match="ambiguous"):
        glossary.lookup("融合")                 # by optimisation (03) and in feature space (04)
    with pytest.raises(KeyError):
        glossary.lookup("flux capacitor")
    with pytest.raises(ValueError):
        glossary.resolve("os.path.join")


def test_tables():
    md = glossary.as_markdown()
    rows = [line for line in md.splitlines() if line.startswith("| **")]
    assert len(rows) == len(glossary.GLOSSARY)
    assert all(row.count(" | ") == 3 for row in rows)
    assert "风格矩阵 †" in md and "`pipeline.style.gram_matrix`" in md
    assert glossary.as_rows()[0].keys() == {f.name for f in dataclasses.fields(glossary.Term)}


def test_formulas_become_mathml():
    pytest.importorskip("latex2mathml")
    from gantransfer.tools import handouts_math

    for e in glossary.GLOSSARY:
        assert handouts_math.math_to_html(e.formula).startswith("<math"), e.formula
