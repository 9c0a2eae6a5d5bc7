"""gantransfer: neural and adversarial style transfer in JAX/Flax, for teaching.

``gantransfer.stylize(content, style, method=..., **settings)`` is the one entry point
(:func:`gantransfer.methods.registry.stylize`); the layers below it are ``core`` ← ``pipeline`` ← ``methods`` ←
``training`` ← ``notebook`` ← ``tools`` ← ``cli``, each importing only the layers before it.
"""

__all__ = ["stylize"]


def __getattr__(name: str):
    if name == "stylize":
        # lazy: `import gantransfer.core.images` (or any low layer) must not load JAX and every method first.
        from gantransfer.methods.registry import stylize

        return stylize
    raise AttributeError(f"module 'gantransfer' has no attribute {name!r}")
