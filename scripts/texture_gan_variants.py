"""Texture GAN variants that are not in the library (issue 22.1b lab notes, docs/gan.md's table).

VARIANT joins flags with "+": ``d1`` (a stride-1 3 × 3 stem in D, so it sees single-pixel grain), ``bn`` (batch
normalisation without a learned scale after each of G's convolutions, Jetchev et al. 2016), ``wide`` (G width 64),
``d3`` (three strided layers in D), ``lr`` (G's learning rate 5e-4), ``bil`` (bilinear ×2 upsampling in G,
wrap-around, instead of nearest), ``p2d`` / ``p2d9`` (P²-GAN's non-overlapping patch D of
16 / 9 px, the per-style GAN's), ``crop96`` (96 px crops), ``ms`` (a second
PatchGAN on the crops average-pooled ×2, its logits upsampled beside the first's: a multi-scale D as in pix2pixHD,
Wang et al. 2018, so one head judges 18 px and one 36 px patches), ``b8`` (batch 8), ``lr2`` (both
learning rates 2e-3), ``mn`` (fresh noise
channels concatenated after each upsampling, as Ulyanov et al.'s texture networks and StyleGAN's noise inputs give
a generator its fine random detail: the extra noise rides in the noise field's channels and is moved to each finer
scale by depth-to-space), ``ttur`` (G 1e-4, D 4e-4), ``fast`` (both 1e-3, β1 0: the library's defaults since 2026-12-06, so
the flag changes nothing now; the rows before that date ran against 2e-4, β1 0.5). (A Gram term in G's
objective, ``gramW``, was measured with commit f7090c0's ``TextureGanConfig.style_weight``, since removed.) The library's functions are replaced in this
process only. Prints one JSON line (time, texture ratio, D's last verdicts) and writes sample | style as a PNG.

    python scripts/texture_gan_variants.py bn+d1 brush_strokes 0 1500 --png /tmp/bn+d1_brush_strokes_0.png

STYLE is a bundled style's name or a PNG file; ``--every N`` also prints the metrics every N steps and puts a
sample from each of those steps into the PNG (``default stained_glass 0 6000 --every 1500`` made docs/gan.md's
long-run row).
"""
import sys, time, json
import jax, jax.numpy as jnp, numpy as np
from PIL import Image
from gantransfer.core import samples
from gantransfer.methods import judging
from gantransfer.pipeline import discriminator, extractor, style_generator
from gantransfer.training import texture_gan as tg

variant, style_name, seed, steps = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
png = sys.argv[sys.argv.index("--png") + 1] if "--png" in sys.argv else None
size = int(sys.argv[sys.argv.index("--size") + 1]) if "--size" in sys.argv else 256
flags = set(variant.split("+"))
orig_init, orig_generate, orig_critic = tg.init_state, tg.generate, tg.critic

def bn(x):   # batch norm without learned scale (Jetchev et al.'s G)
    m = x.mean(axis=(0, 1, 2), keepdims=True); v = x.var(axis=(0, 1, 2), keepdims=True)
    return (x - m) * jax.lax.rsqrt(v + 1e-5)

def init_state(config):
    s = orig_init(config)
    if "d1" in flags:
        k = jax.random.key(config.seed + 99)
        s["d"]["pre"] = style_generator.conv_init(k, 3, 3, config.d_width)
        # first strided layer now takes d_width channels
        k2 = jax.random.key(config.seed + 98)
        first = s["d"]["layers"][0]
        s["d"]["layers"][0] = style_generator.conv_init(k2, 4, config.d_width, first["w"].shape[-1])
        _, d_tx = tg._optimizers(config)
        s["d_opt"] = d_tx.init(s["d"])
    if flags & {"p2d", "p2d9"}:     # P²-GAN's non-overlapping patch D (the per-style GAN's), 16 or 9 px patches
        s["d"] = discriminator.init_patch_critic(jax.random.key(config.seed + 97), d_patch=9 if "p2d9" in flags else 16,
                                                 d_width=config.d_width)
        s["d_opt"] = tg._optimizers(config)[1].init(s["d"])
    if "mn" in flags:               # each block's first convolution also reads MN_CH noise channels
        keys = jax.random.split(jax.random.key(config.seed + 95), len(s["g"]["blocks"]) + 1)
        s["g"]["input"] = style_generator.conv_init(keys[-1], 3, Z_BASE, s["g"]["input"]["w"].shape[-1])
        for i, (first, second) in enumerate(s["g"]["blocks"]):
            c_in, c_out = first["w"].shape[2], first["w"].shape[3]
            s["g"]["blocks"][i] = [style_generator.conv_init(keys[i], 3, c_in + MN_CH, c_out), second]
        s["g_opt"] = tg._optimizers(config)[0].init(s["g"])
    if "ms" in flags:               # a second head of the same shape for the ×2 average-pooled crops
        coarse = orig_init(tg.TextureGanConfig(**{**config.__dict__, "seed": config.seed + 96}))["d"]
        s["d"] = {**s["d"], "coarse": coarse}
        s["d_opt"] = tg._optimizers(config)[1].init(s["d"])
    return s

def up2(x):
    if "bil" not in flags:
        return jnp.repeat(jnp.repeat(x, 2, axis=1), 2, axis=2)
    # bilinear ×2 with wrap-around borders: pad one pixel circularly, resize, crop
    n, h, w, c = x.shape
    xp = jnp.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)), mode="wrap")
    y = jax.image.resize(xp, (n, 2 * h + 4, 2 * w + 4, c), "linear")
    return y[:, 2:-2, 2:-2]

Z_BASE, MN_CH = 16, 4

def depth_to_space(x, r):
    n, h, w, c = x.shape
    return x.reshape(n, h, w, r, r, c // (r * r)).transpose(0, 1, 3, 2, 4, 5).reshape(n, h * r, w * r, c // (r * r))

def generate(g, z, *, padding="circular"):
    if "mn" in flags:
        extra, offset = [], Z_BASE
        for r in (2, 4, 8):
            extra.append(depth_to_space(z[..., offset:offset + MN_CH * r * r], r))
            offset += MN_CH * r * r
        x = jax.nn.leaky_relu(tg._conv(z[..., :Z_BASE], g["input"], padding=padding), 0.2)
        for (first, second), noise in zip(g["blocks"], extra):
            x = jnp.repeat(jnp.repeat(x, 2, axis=1), 2, axis=2)
            x = jax.nn.leaky_relu(tg._conv(jnp.concatenate([x, noise], -1), first, padding=padding), 0.2)
            x = jax.nn.leaky_relu(tg._conv(x, second, padding=padding), 0.2)
        return jax.nn.sigmoid(tg._conv(x, g["rgb"], padding=padding))
    if "bn" not in flags and "bil" not in flags:
        return orig_generate(g, z, padding=padding)
    norm = bn if "bn" in flags else (lambda x: x)
    x = jax.nn.leaky_relu(norm(tg._conv(z, g["input"], padding=padding)), 0.2)
    for first, second in g["blocks"]:
        x = up2(x)
        x = jax.nn.leaky_relu(norm(tg._conv(x, first, padding=padding)), 0.2)
        x = jax.nn.leaky_relu(norm(tg._conv(x, second, padding=padding)), 0.2)
    return jax.nn.sigmoid(tg._conv(x, g["rgb"], padding=padding))

def critic(d, x):
    if flags & {"p2d", "p2d9"}:
        return discriminator.patch_critic(d, x)
    if "coarse" in d:
        fine = orig_critic({"layers": d["layers"], "out": d["out"]}, x)
        n, h, w, c = x.shape
        pooled = x.reshape(n, h // 2, 2, w // 2, 2, c).mean(axis=(2, 4))
        coarse = orig_critic(d["coarse"], pooled)
        coarse = jnp.repeat(jnp.repeat(coarse, 2, axis=1), 2, axis=2)[:, :fine.shape[1], :fine.shape[2]]
        return jnp.concatenate([fine, coarse], axis=-1)   # each head weighs half in the mean
    if "pre" in d:
        x = jax.nn.leaky_relu(tg._conv(x, d["pre"]), 0.2)
    return orig_critic({"layers": d["layers"], "out": d["out"]}, x)

tg.init_state, tg.generate, tg.critic = init_state, generate, critic
kw = {}
if "wide" in flags: kw["width"] = 64
if "d3" in flags: kw["d_layers"] = 3
if "lr" in flags: kw["g_learning_rate"] = 5e-4
if "ttur" in flags: kw.update(g_learning_rate=1e-4, d_learning_rate=4e-4)
if "crop96" in flags: kw["crop"] = 96
if "b8" in flags: kw["batch"] = 8
if "lr2" in flags: kw.update(g_learning_rate=2e-3, d_learning_rate=2e-3)
if "mn" in flags: kw["z_dim"] = Z_BASE + MN_CH * (4 + 16 + 64)
if "fast" in flags: kw.update(g_learning_rate=1e-3, d_learning_rate=1e-3, beta1=0.0)
config = tg.TextureGanConfig(steps=steps, seed=seed, **kw)
def load_style(name, size):   # a bundled style, or an image file (any style image works)
    if name.endswith(".png"):
        return np.asarray(samples.load_input(name, kind="style", size=size))
    return samples.style_image(name, size=size)

style = load_style(style_name, size)
every = int(sys.argv[sys.argv.index("--every") + 1]) if "--every" in sys.argv else 0   # snapshots, for --png
snapshots = []
start = time.perf_counter()
for r in tg.train_texture_gan(style, config, sample_side=128):
    if every and r.step % every == 0:
        snapshots.append(r.sample)
        print(json.dumps({"step": r.step, "seconds": round(time.perf_counter() - start, 1), **{k: round(v, 3) for k, v in r.metrics.items()}}), flush=True)
secs = time.perf_counter() - start
ratio = judging.texture_ratio(extractor.load_params(), r.sample, style)
print(json.dumps({"variant": variant, "style": style_name, "seed": seed, "steps": steps, "size": size, "seconds": round(secs, 1),
                  "ratio": round(ratio, 3), **{k: round(v, 3) for k, v in r.metrics.items()}}), flush=True)
if png:
    pair = np.concatenate([*(snapshots[:-1] if snapshots else []), r.sample, np.asarray(style)[:128, :128]], 1)
    Image.fromarray((pair * 255).astype(np.uint8)).save(png)
