"""The course's glossary: each term in English and in Chinese, its formula, the notebook that teaches it
and the ``gantransfer`` function that computes it.

The seed article is written in Chinese; its own terms (内容解析 content parsing, 风格矩阵 style matrix,
融合 fusion, 生成器 generator, 判别器 discriminator, …) are marked ``in_seed``. The other Chinese terms are
the usual ones in the Chinese literature, for the concepts the notebooks add.

The glossary is data (:data:`GLOSSARY`), so a test can check that every function it names exists and is
documented, and ``notebooks/00_overview.ipynb`` shows it as a table (:func:`as_markdown`)::

    >>> from gantransfer import glossary
    >>> entry = glossary.lookup("style matrix")
    >>> entry.chinese, entry.function
    ('风格矩阵', 'gantransfer.pipeline.style.gram_matrix')
    >>> glossary.resolve(entry)                       # doctest: +ELLIPSIS
    <function gram_matrix at ...>

Formulas are LaTeX without ``$`` and without ``|`` (they sit in Markdown tables: absolute values and norms
are written ``\\lvert … \\rvert`` and ``\\lVert … \\rVert``). Taught in ``notebooks/00_overview.ipynb``.
"""
from __future__ import annotations

import dataclasses
import importlib
from typing import Any, Callable

__all__ = ["Term", "GLOSSARY", "lookup", "resolve", "as_rows", "as_markdown", "as_dataframe", "by_notebook"]


@dataclasses.dataclass(frozen=True)
class Term:
    """One glossary entry.

    Attributes:
      english: the English term, as the notebooks use it.
      chinese: the Chinese term (the seed article's own where ``in_seed``).
      formula: LaTeX, without the surrounding ``$``.
      notebook: the stem of the notebook that teaches it, e.g. ``"02_style_matrix"``.
      function: dotted path of the ``gantransfer`` function (or class) that computes it.
      in_seed: the Chinese term is the one the seed article uses.
      note: an optional remark shown under the table.
    """

    english: str
    chinese: str
    formula: str
    notebook: str
    function: str
    in_seed: bool = False
    note: str = ""


_T = Term

#: Every term, in the order the course teaches them.
GLOSSARY: tuple[Term, ...] = (
    # 01 · content parsing
    _T("content image (the seed's source image)", "源图像", r"I_c", "01_content_parsing",
       "gantransfer.core.samples.content_image", in_seed=True),
    _T("convolutional neural network (CNN)", "卷积神经网络",
       r"x^{l} = \max\big(0,\; W^{l} * x^{l-1} + b^{l}\big)", "01_content_parsing",
       "gantransfer.pipeline.extractor.VGG16", in_seed=True,
       note="VGG16 (Simonyan & Zisserman 2015) replaces Gatys et al.'s VGG19, as in Johnson et al. 2016."),
    _T("content parsing", "内容解析", r"I_c \mapsto \{F^l(I_c)\}_{l = 1 \ldots L}", "01_content_parsing",
       "gantransfer.pipeline.extractor.extract", in_seed=True,
       note="The seed's first step: a CNN decomposes the image into feature maps at several levels of "
            "abstraction (抽象层次)."),
    _T("feature map", "特征映射", r"F^l(x) \in \mathbb{R}^{h \times w \times c}", "01_content_parsing",
       "gantransfer.pipeline.extractor.forward", in_seed=True),
    _T("receptive field", "感受野", r"r \leftarrow r + (k - 1)\,j,\quad j \leftarrow j\,s", "01_content_parsing",
       "gantransfer.notebook.receptive.receptive_field"),
    _T("content loss", "内容损失", r"\mathcal{L}_\text{content} = \operatorname{mean}\big[(F^l(x) - F^l(I_c))^2\big]",
       "01_content_parsing", "gantransfer.pipeline.style.content_loss"),
    _T("feature inversion (content reconstruction)", "特征重建",
       r"\hat x = \arg\min_x \mathcal{L}_\text{content}(x, I_c, l)", "01_content_parsing",
       "gantransfer.notebook.inversion.reconstruct_content"),
    # 02 · style matrix
    _T("style image", "风格图像", r"I_\text{style}", "02_style_matrix", "gantransfer.core.samples.style_image",
       in_seed=True),
    _T("style matrix (Gram matrix)", "风格矩阵", r"G^l = \tfrac{1}{hw}\,(F^l)^\top F^l \in \mathbb{R}^{c \times c}",
       "02_style_matrix", "gantransfer.pipeline.style.gram_matrix", in_seed=True,
       note="The seed's second step, 风格转移, turns the style image into this matrix: how each local "
            "feature co-varies with the others."),
    _T("texture synthesis", "纹理合成", r"\hat x = \arg\min_x \sum_{l} w_l\,\operatorname{mean}\big[(G^l(x) - A^l)^2\big]",
       "02_style_matrix", "gantransfer.notebook.inversion.synthesize_texture"),
    # 03 · style transfer by optimisation
    _T("style loss", "风格损失", r"\mathcal{L}_\text{style} = \sum_l w_l\,\operatorname{mean}\big[(G^l(x) - A^l)^2\big]",
       "03_style_transfer", "gantransfer.pipeline.style.style_loss"),
    _T("guided Gram matrix (spatial control)", "引导格拉姆矩阵",
       r"G^l_k = \frac{\sum_p m_k(p)\, F^l_p F^{l\top}_p}{\sum_p m_k(p)}", "03_style_transfer",
       "gantransfer.methods.guided.region_grams",
       note="Gatys et al. 2017: the Gram matrix read only where region k's mask m_k is on, matched to style k's."),
    _T("total variation", "全变分",
       r"\mathrm{TV}(x) = \operatorname{mean}\lvert x_{i+1,j} - x_{i,j}\rvert"
       r" + \operatorname{mean}\lvert x_{i,j+1} - x_{i,j}\rvert",
       "03_style_transfer", "gantransfer.pipeline.style.total_variation_loss"),
    _T("fusion (by optimisation)", "融合",
       r"I_s = \arg\min_x\ \alpha\,\mathcal{L}_\text{content}"
       r" + \beta\,\mathcal{L}_\text{style} + \gamma\,\mathrm{TV}(x)",
       "03_style_transfer", "gantransfer.methods.optimize.transfer_losses", in_seed=True,
       note="The seed's third step. Notebook 03 fuses by optimising the pixels; notebook 04 in feature space."),
    _T("style transfer", "风格迁移", r"I_s = G(I_c, S)", "03_style_transfer", "gantransfer.methods.optimize.stylize",
       in_seed=True),
    _T("colour preservation", "颜色保留", r"I_s \leftarrow \big(Y(I_s),\ C_b(I_c),\ C_r(I_c)\big)",
       "03_style_transfer", "gantransfer.methods.color.preserve_color"),
    # 04 · fusion in feature space, the generator
    _T("feature statistics (mean and std)", "特征均值与标准差",
       r"\mu_k = \operatorname{mean}_p F_{pk},\quad \sigma_k = \sqrt{\operatorname{var}_p F_{pk} + \varepsilon}",
       "04_fusion", "gantransfer.pipeline.style.feature_mean_std"),
    _T("adaptive instance normalisation (AdaIN)", "自适应实例归一化",
       r"\mathrm{AdaIN}(c, s) = \sigma(s)\,\frac{c - \mu(c)}{\sigma(c)} + \mu(s)", "04_fusion",
       "gantransfer.pipeline.fusion.adain"),
    _T("covariance matrix", "协方差矩阵", r"\Sigma = \tfrac{1}{hw}\sum_p (x_p - \mu)(x_p - \mu)^\top", "04_fusion",
       "gantransfer.pipeline.style.covariance"),
    _T("whitening and colouring transform (WCT)", "白化与着色变换",
       r"\mathrm{WCT}(c, s) = \Sigma_s^{1/2}\,\Sigma_c^{-1/2}\,(c - \mu_c) + \mu_s", "04_fusion",
       "gantransfer.pipeline.fusion.wct"),
    _T("fusion (in feature space)", "融合", r"t = \alpha \sum_k w_k\,T\big(f(I_c), f(S_k)\big) + (1 - \alpha)\,f(I_c)",
       "04_fusion", "gantransfer.pipeline.fusion.fuse", in_seed=True),
    _T("style interpolation (content–style trade-off)", "风格插值",
       r"\alpha \sum_k \frac{w_k}{\sum_j w_j}\,T_k + (1 - \alpha)\,c", "04_fusion", "gantransfer.pipeline.fusion.mix"),
    _T("encoder", "编码器", r"f(I) = F^{\text{relu4\_1}}(I)", "04_fusion", "gantransfer.pipeline.generator.encode"),
    _T("decoder", "解码器", r"\mathrm{Dec}(t) \in \mathbb{R}^{8h \times 8w \times 3}", "04_fusion",
       "gantransfer.pipeline.generator.Decoder",
       note="Written Dec, because from notebook 05 on, D is the discriminator."),
    _T("generator", "生成器", r"I_s = G(I_c, S) = \mathrm{Dec}\big(T(f(I_c), f(I_\text{style}))\big)", "04_fusion",
       "gantransfer.pipeline.generator.generate", in_seed=True),
    _T("perceptual loss (the decoder's training loss)", "感知损失",
       r"\lVert f(\mathrm{Dec}(t)) - t \rVert^2 + \lambda \sum_l \big(\lVert \mu(\phi_l(\mathrm{Dec}(t))) - \mu(\phi_l(s)) \rVert^2"
       r" + \lVert \sigma(\phi_l(\mathrm{Dec}(t))) - \sigma(\phi_l(s)) \rVert^2\big)"
       r" + \mu\,\lVert \mathrm{Dec}(f(c)) - c \rVert^2",
       "04_fusion", "gantransfer.training.decoder_training.decoder_losses"),
    # 04b · one pass, further
    _T("multi-level WCT", "多层白化着色变换",
       r"x_{l} = \mathrm{Dec}_l\big(T(f_l(x_{l+1}), f_l(I_\text{style}))\big),\ l = 3, 2, 1",
       "04b_multilevel_and_mosaic", "gantransfer.pipeline.generator.generate_multilevel",
       note="Li et al. 2017: WCT at relu3_1, relu2_1, relu1_1 in turn, each level with its own decoder."),
    _T("frequency split (the photo's layout kept)", "频率分离",
       r"I' = I_s + k\,\big[B(Y_c) - \overline{B(Y_c)} + \overline{B(Y_s)} - B(Y_s)\big]",
       "04b_multilevel_and_mosaic", "gantransfer.methods.color.keep_layout"),
    _T("style mosaic", "风格马赛克", r"i \mapsto \arg\max_j \pi^\star_{ij},\quad S_{ij} = \cos(k_i, s_j) - \lambda d_{ij}",
       "04b_multilevel_and_mosaic", "gantransfer.methods.mosaic.generate_mosaic",
       note="Each block of the photo painted with the style patch an entropic optimal-transport plan gives it."),
    # 05 · adversarial training
    _T("discriminator", "判别器", r"D(x)_{ij} = \text{logit that patch } (i, j) \text{ of } x \text{ is the style's}",
       "05b_style_gan", "gantransfer.pipeline.discriminator.patch_critic", in_seed=True,
       note="Two k × k convolutions of stride k: one logit per non-overlapping k² px patch."),
    _T("patch discriminator (PatchGAN)", "图像块判别器", r"D(x) \in \mathbb{R}^{h \times w}\ \text{(one logit per patch)}",
       "05_adversarial_training", "gantransfer.training.texture_gan.critic"),
    _T("generative adversarial network (GAN)", "生成对抗网络",
       r"\min_G \max_D\ \mathbb{E}_x \log D(x) + \mathbb{E}_z \log\big(1 - D(G(z))\big)",
       "05_adversarial_training", "gantransfer.training.toy_gan.train_toy_gan", in_seed=True),
    _T("adversarial training", "对抗训练",
       r"\mathcal{L}_D = \ell_D\big(D(\pi(s)), D(G_S(c))\big),\quad"
       r" \mathcal{L}_G = \mathcal{L}_\text{content} + \lambda\,\mathcal{L}_\text{Gram}"
       r" + \beta\,\ell_G\big(D(G_S(c))\big)",
       "05b_style_gan", "gantransfer.training.style_gan.train_step", in_seed=True,
       note="One step of D on L_D, then one of G_S on L_G, on the same batch; π(s): the style crop's patches shuffled."),
    _T("cycle-consistency loss", "循环一致性损失",
       r"\mathcal{L}_\text{cyc} = \operatorname{mean}\lvert F(G(a)) - a \rvert + \operatorname{mean}\lvert G(F(b)) - b \rvert",
       "05b_style_gan", "gantransfer.training.cycle_gan.cycle_loss",
       note="Zhu et al. 2017 (CycleGAN): unpaired photos a and paintings b; G paints, F un-paints."),
    _T("discriminator loss (hinge)", "判别器损失",
       r"\ell_D = \operatorname{mean}\,\max(0, 1 - D(x_\text{real}))"
       r" + \operatorname{mean}\,\max(0, 1 + D(x_\text{fake}))",
       "05_adversarial_training", "gantransfer.pipeline.discriminator.d_loss"),
    _T("generator adversarial loss (hinge)", "生成器对抗损失", r"\ell_G = -\operatorname{mean}\,D\big(G(c, s)\big)",
       "05_adversarial_training", "gantransfer.pipeline.discriminator.g_loss"),
    _T("R1 gradient penalty", "R1 梯度惩罚", r"R_1 = \mathbb{E}_x \lVert \nabla_x D(x) \rVert^2",
       "05_adversarial_training", "gantransfer.pipeline.discriminator.r1_penalty"),
    _T("spectral normalisation", "谱归一化", r"\bar W = W / \sigma_{\max}(W)", "05_adversarial_training",
       "gantransfer.pipeline.discriminator.spectral_normalize"),
    _T("mode collapse", "模式崩溃",
       r"\#\{k : \text{share}_k \ge 1\%\} < K \text{ modes covered}",
       "05_adversarial_training", "gantransfer.training.toy_gan.mode_coverage"),
    # 06 · evaluation and scaling out
    _T("perceptual distance (LPIPS)", "感知距离",
       r"d(x, y) = \sum_l \tfrac{1}{h_l w_l} \sum_{h, w} \sum_c w_{l,c} \big(\hat\phi_l(x)_{hwc} - \hat\phi_l(y)_{hwc}\big)^2",
       "06_evaluation_and_scale", "gantransfer.methods.metrics.lpips_distance",
       note="Zhang et al. 2018: VGG16 features, unit-normalised per position, weighted by heads fitted to human judgements."),
    _T("style distance (Gram)", "风格距离", r"d(x, s) = \sum_l \operatorname{mean}\big[(G^l(x) - G^l(s))^2\big]",
       "06_evaluation_and_scale", "gantransfer.methods.metrics.style_distance",
       note="Blind to layout: positions are summed away. Report it as a ratio to the photo's own distance."),
    _T("structural similarity (SSIM)", "结构相似性",
       r"\mathrm{SSIM} = \frac{(2\mu_x\mu_y + C_1)(2\sigma_{xy} + C_2)}{(\mu_x^2 + \mu_y^2 + C_1)(\sigma_x^2 + \sigma_y^2 + C_2)}",
       "06_evaluation_and_scale", "gantransfer.methods.metrics.ssim"),
    _T("data parallelism (device mesh)", "数据并行", r"\nabla_\theta \tfrac{1}{B} \sum_{i} \ell_i = \tfrac{1}{n} \sum_{d = 1}^{n} g_d",
       "06_evaluation_and_scale", "gantransfer.training.parallel.make_mesh",
       note="The batch is split along the mesh axis \"data\"; parameters are replicated; jit inserts the all-reduce."),
    # 07 · applications
    _T("optical flow", "光流", r"I_t(p) \approx I_{t-1}\big(p + w(p)\big)", "07_applications",
       "gantransfer.methods.temporal.optical_flow", note="Where each pixel of one frame came from in the last one."),
    _T("temporal consistency (flow-guided blend)", "时间一致性",
       r"O_t = (1 - \lambda M_t)\,S(I_t) + \lambda M_t\,\mathrm{warp}(O_{t-1}, w_t)", "07_applications",
       "gantransfer.methods.temporal.blend",
       note="Ruder et al. 2016: M_t masks the pixels the flow cannot be trusted on (occlusions)."),
    _T("warping error (flicker)", "扭曲误差",
       r"E = \frac{\sum_p M_t(p)\,\lVert O_t(p) - \mathrm{warp}(O_{t-1}, w_t)(p) \rVert^2}{\sum_p M_t(p)}",
       "07_applications", "gantransfer.methods.temporal.warping_error", note="Lai et al. 2018."),
    _T("tileable texture", "无缝纹理", r"x(h + H, w) = x(h, w + W) = x(h, w)", "07_applications",
       "gantransfer.methods.texture.synthesize_tileable",
       note="Synthesised on a torus (wrap-around), so copies side by side show no seam."),
)


def _norm(text: str) -> str:
    return " ".join(text.lower().replace("-", " ").split())


def lookup(term: str) -> Term:
    """The entry whose English term, its part before or inside brackets (``"style matrix"``, ``"AdaIN"``),
    its start, or its Chinese term is ``term`` (case and hyphens ignored).

    Raises:
      KeyError: no entry, or several equally good ones.
    """
    want = _norm(term)
    def names(e: Term) -> tuple[str, ...]:  # "style matrix (Gram matrix)" → the whole, "style matrix", "gram matrix"
        full = _norm(e.english)
        head, _, tail = full.partition(" (")
        return (full, head, tail.rstrip(")")) if tail else (full,)

    for match in (lambda e: _norm(e.english) == want or e.chinese == term.strip(),
                  lambda e: want in names(e),
                  lambda e: _norm(e.english).startswith(want)):
        found = [e for e in GLOSSARY if match(e)]
        if len(found) == 1:
            return found[0]
        if len(found) > 1:
            raise KeyError(f"{term!r} is ambiguous: {', '.join(e.english for e in found)}")
    raise KeyError(f"no glossary entry {term!r}")


def resolve(entry: Term | str) -> Callable[..., Any]:
    """The function (or class) an entry names, imported: ``resolve(lookup("AdaIN"))`` is ``fusion.adain``.

    Args:
      entry: a :class:`Term`, or a dotted path such as ``"gantransfer.pipeline.style.gram_matrix"``.
    Raises:
      ImportError: the module does not exist; AttributeError: it has no such name.
    """
    path = entry.function if isinstance(entry, Term) else str(entry)
    module_name, _, attr = path.rpartition(".")
    if not module_name.startswith("gantransfer"):
        raise ValueError(f"{path!r} is not a gantransfer function")
    obj: Any = importlib.import_module(module_name)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


def by_notebook(notebook: str) -> tuple[Term, ...]:
    """The entries a notebook teaches (``"02_style_matrix"`` or its number ``"02"``)."""
    return tuple(e for e in GLOSSARY if e.notebook == notebook or e.notebook.split("_")[0] == notebook)


def as_rows() -> list[dict[str, Any]]:
    """The glossary as a list of plain dicts (one per entry, the fields of :class:`Term`)."""
    return [dataclasses.asdict(e) for e in GLOSSARY]


def as_dataframe():
    """The glossary as a ``pandas.DataFrame`` (pandas is not a dependency: install it to use this)."""
    try:
        import pandas as pd  # lazy: pandas is optional, not a dependency
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError("as_dataframe needs pandas (pip install pandas); as_rows() gives the same data") from err
    return pd.DataFrame(as_rows())


def _cell(text: str) -> str:
    return text.replace("|", r"\|").replace("\n", " ")


def as_markdown(entries: tuple[Term, ...] | None = None, *, notes: bool = True) -> str:
    """A Markdown table: the term (English, then 中文, with a † on the seed's own terms), the formula, the
    notebook and the function (its path inside ``gantransfer``), then the notes.

    English and Chinese share the first column so that a narrow page cannot squeeze the Chinese to one
    character a line; :func:`as_rows` has them as separate fields.
    """
    entries = GLOSSARY if entries is None else entries
    lines = ["| term · 中文 | formula | notebook | `gantransfer.` function |",
             "| --- | --- | --- | --- |"]
    for e in entries:
        chinese = f"{e.chinese} †" if e.in_seed else e.chinese
        function = e.function.removeprefix("gantransfer.")
        lines.append(f"| **{_cell(e.english)}**<br>{chinese} | ${e.formula}$ | {e.notebook[:2]} | `{function}` |")
    if notes:
        lines.append("")
        lines.append("† the seed article's own term; the other Chinese terms are the usual ones in the literature.")
        lines.append("")
        for e in entries:
            if e.note:
                lines.append(f"* **{e.english}**: {e.note}")
    return "\n".join(lines) + "\n"
