"""gantransfer: neural and adversarial style transfer in JAX/Flax, for teaching."""
__version__ = "0.1.0"

from . import runtime as _runtime

# Before JAX starts its threads: each XLA call's scratch space is reused instead of page-faulted in
# afresh (a tenth of a Gatys step on a 2-core CPU); see runtime.keep_freed_memory.
_runtime.keep_freed_memory()
