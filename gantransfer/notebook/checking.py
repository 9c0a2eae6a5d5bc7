"""How an exercise checker reports: one line, ``✔`` right, ``✘`` wrong and why, ``…`` not done yet.

The machinery every ``check_<name>`` of :mod:`gantransfer.notebook.exercises` and
:mod:`gantransfer.notebook.exercises_advanced` shares: a student's exception or ``None`` becomes a message,
never a traceback.
"""
from __future__ import annotations

import contextlib
from typing import Callable, Iterable, Iterator

import numpy as np

RIGHT, WRONG, TODO = "✔", "✘", "…"


class NotDone(Exception):
    pass


class Wrong(Exception):
    pass


class Delegated(Exception):
    """Raised by a library function that an exercise asks the student to write, when the student calls it."""


def _refused(*args, **kwargs):
    # Stands in (as ``__code__``) for a library function the student must not call: no closure, any arguments.
    from gantransfer.notebook.checking import Delegated  # lazy: this code runs with another module's globals

    raise Delegated()


@contextlib.contextmanager
def refusing(functions: Iterable[Callable]) -> Iterator[None]:
    """While inside, each of ``functions`` raises :class:`Delegated` when called, however it was imported.

    The function objects keep their identity (``from gantransfer.pipeline.style import gram_matrix`` made
    before still names the same object); only their code is swapped, and put back on the way out.
    """
    saved = []
    try:
        for fn in functions:
            saved.append((fn, fn.__code__))
            fn.__code__ = _refused.__code__
        yield
    finally:
        for fn, code in saved:
            fn.__code__ = code


def _library_name(fn) -> str:
    module = getattr(fn, "__module__", "") or ""
    return f"{module.removeprefix('gantransfer.').split('.')[-1]}.{fn.__name__}" if module else fn.__name__


def call_student(fn, *args, refuse: Iterable[Callable] = ()):
    """Call the student's function; turn 'not written yet' and crashes into messages.

    ``refuse``: the library's own answers to this exercise (its reference and close relatives). The student's
    function runs with them switched off, so an answer that only calls one of them is reported, not passed.
    """
    refuse = tuple(refuse)
    try:
        with refusing(refuse):
            out = fn(*args)
    except Delegated:
        names = " or ".join(f"`{_library_name(f)}`" for f in refuse)
        raise Wrong(f"your function calls {names}, the library's own answer to this exercise. The point is to "
                    "see how it works: write it yourself with jnp (or np) operations.") from None
    except NotImplementedError:
        raise NotDone("not done yet: replace `raise NotImplementedError` with your code, then run this cell again.")
    except Exception as err:  # a student's bug is reported, never propagated
        raise Wrong(f"your function raised {type(err).__name__}: {err}")
    if out is None:
        raise NotDone("not done yet: your function returned None (write its body and `return` the result).")
    if out is Ellipsis:
        raise NotDone("not done yet: your function returned `...` (write its body and `return` the result).")
    return out


def as_array(out, what: str) -> np.ndarray:
    try:
        arr = np.asarray(out, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise Wrong(f"{what} should be a number or an array; got {type(out).__name__} ({err})")
    if not np.all(np.isfinite(arr)):
        raise Wrong(f"{what} contains NaN or infinite values")
    return arr


def scalar(out) -> float:
    arr = as_array(out, "the loss")
    if arr.size != 1:
        raise Wrong(f"a loss must be a single number (a scalar); got an array of shape {arr.shape}. "
                     "Reduce it with a mean (or a sum where the formula says so).")
    return float(arr.reshape(()))


def close(a, b, rtol=1e-4, atol=1e-6) -> bool:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=rtol, atol=atol))


def report(name: str, body: Callable[[], str]) -> bool:
    if not callable(body):
        raise TypeError("internal: body must be callable")
    try:
        message = body()
    except NotDone as err:
        print(f"{TODO} {name}: {err}")
        return False
    except Wrong as err:
        print(f"{WRONG} {name}: {err}")
        return False
    print(f"{RIGHT} {name}: {message}")
    return True


def need_callable(name: str, fn) -> bool:
    if callable(fn):
        return True
    print(f"{WRONG} {name}: pass your function itself, e.g. check_{name}(my_function), not {type(fn).__name__}")
    return False


def ratio_hint(got: float, expected: float, factors: dict[str, float]) -> str | None:
    """Name the mistake when ``got / expected`` equals one of the known factors."""
    if expected == 0:
        return None
    ratio = got / expected
    for hint, factor in factors.items():
        if np.isclose(ratio, factor, rtol=1e-3):
            return hint
    return None
