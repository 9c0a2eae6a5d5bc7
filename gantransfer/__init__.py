"""gantransfer: neural and adversarial style transfer in JAX/Flax, for teaching."""
__version__ = "0.1.0"
