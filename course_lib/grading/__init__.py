"""What the test cells of the exercises call.

A test cell wraps each call of a learner's answer in :func:`answer`, which
turns the usual failures into messages a learner can act on: an answer not
written yet, a forbidden shortcut, a call that takes too long, an exception.
The comparisons (:func:`assert_close`, :func:`assert_shape`, ...) say what
was expected, what came back and, where it recognises one, the likely mistake.

These helpers run the visible tests in the learner's kernel. The recorded
score comes from the trusted grader (the grader-only package
``course_grader``, which holds the hidden checks and reuses the comparisons
below on plain data in its own process). ``grading.fixtures`` and
``grading.ch4`` hold what learners' notebooks and the grader's worker import:
example weights and functions passed to answers by name.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import signal
import sys
import types
from typing import Any, Callable, Iterator, Mapping

import numpy as np

__all__ = [
    "answer",
    "assert_close",
    "assert_shape",
    "assert_equal",
    "assert_true",
    "likely_mistake",
    "fresh_rng",
    "to_array",
    "check_call",
    "assert_unchanged",
    "ForbiddenCallError",
]


class ForbiddenCallError(AssertionError):
    """The answer called a function the exercise asks the learner to write."""


# --- formatting ---------------------------------------------------------------

def to_array(value: Any) -> np.ndarray:
    """A numpy array from numbers, lists, numpy arrays or torch tensors."""
    if hasattr(value, "detach"):  # a torch tensor
        value = value.detach().cpu().numpy()
    return np.asarray(value, dtype=float)


def _show(value: Any) -> str:
    """A short, readable rendering of a number or an array."""
    try:
        arr = to_array(value)
    except (TypeError, ValueError):
        return repr(value)[:200]
    if arr.ndim == 0:
        return f"{float(arr):.6g}"
    return np.array2string(arr, precision=4, suppress_small=True, threshold=12, edgeitems=3)


# --- the wrapper around every call of an answer -----------------------------

def _resolve(target: str) -> list[tuple[Any, str, Any]]:
    """``"numpy.tanh"`` -> [(numpy, "tanh", numpy.tanh)]; a module -> all its functions."""
    parts = target.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            owner: Any = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for name in parts[cut:-1]:
            owner = getattr(owner, name)
        if cut == len(parts):  # the target is a whole module
            return [
                (owner, name, obj)
                for name, obj in vars(owner).items()
                if callable(obj) and not name.startswith("_")
                and getattr(obj, "__module__", None) == owner.__name__
            ]
        return [(owner, parts[-1], getattr(owner, parts[-1]))]
    raise ValueError(f"cannot find {target!r} to forbid it")


@contextlib.contextmanager
def _forbidden(name: str, targets: tuple[str, ...]) -> Iterator[list[str]]:
    """Replace each target (and any alias of it in the notebook) by a tripwire."""
    calls: list[str] = []
    saved: list[tuple[Any, str, Any]] = []

    def tripwire(label: str) -> Callable[..., Any]:
        def forbidden(*args: Any, **kwargs: Any) -> Any:
            calls.append(label)
            raise ForbiddenCallError(
                f"{name}: your answer calls {label}, which this exercise asks you "
                f"to write yourself. Use only basic operations here."
            )
        return forbidden

    main = sys.modules.get("__main__")
    for target in targets:
        for owner, attr, original in _resolve(target):
            label = f"{getattr(owner, '__name__', target)}.{attr}"
            saved.append((owner, attr, original))
            setattr(owner, attr, tripwire(label))
            if main is not None:
                for alias, value in list(vars(main).items()):
                    if value is original:
                        saved.append((main, alias, value))
                        setattr(main, alias, tripwire(label))
    try:
        yield calls
    finally:
        for owner, attr, original in reversed(saved):
            setattr(owner, attr, original)


@contextlib.contextmanager
def _time_limit(name: str, seconds: float | None) -> Iterator[None]:
    """Stop the answer after ``seconds`` (main thread only; elsewhere no limit)."""
    if not seconds or not hasattr(signal, "setitimer"):
        yield
        return
    try:
        def on_alarm(signum: int, frame: Any) -> None:
            raise AssertionError(
                f"{name}: still running after {seconds:g} s. Is there a loop that never ends?"
            )
        previous = signal.signal(signal.SIGALRM, on_alarm)
    except ValueError:  # not the main thread
        yield
        return
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@contextlib.contextmanager
def answer(name: str, forbid: tuple[str, ...] | list[str] = (), seconds: float | None = 10) -> Iterator[None]:
    """Run the calls of one answer with learner-friendly failures.

    ``forbid`` lists dotted names (``"numpy.tanh"``, ``"torch.Tensor.backward"``,
    or a whole module such as ``"course_lib.numpy_nn"``) that the answer must not call.
    """
    with _forbidden(name, tuple(forbid)) as calls, _time_limit(name, seconds):
        try:
            yield
        except NotImplementedError:
            raise AssertionError(
                f"{name} is not written yet: replace `raise NotImplementedError()` "
                f"with your code, run that cell, then run this test again."
            ) from None
        except AssertionError:
            raise
        except Exception as error:  # the learner's code crashed
            raise AssertionError(
                f"{name} raised {type(error).__name__}: {error}"
            ) from error
    if calls:  # the answer swallowed the ForbiddenCallError
        raise ForbiddenCallError(f"{name}: your answer calls {calls[0]}, which is not allowed here.")


# --- comparisons ------------------------------------------------------------

def likely_mistake(got: Any, mistakes: Mapping[str, Any] | None, atol: float = 1e-6,
                   rtol: float = 1e-6) -> str | None:
    """The description of the first known mistake whose result equals ``got`` (within the tolerances)."""
    for description, wrong in (mistakes or {}).items():
        try:
            g, w = to_array(got), to_array(wrong)
        except (TypeError, ValueError):
            continue
        if g.shape == w.shape and np.allclose(g, w, atol=atol, rtol=rtol):
            return description
    return None


def assert_shape(got: Any, shape: tuple[int, ...], what: str, hint: str = "") -> None:
    """Fail unless ``got`` has exactly this shape."""
    if got is None:
        raise AssertionError(f"{what}: got None. Did you forget `return`?")
    actual = tuple(to_array(got).shape)
    if actual != tuple(shape):
        raise AssertionError(f"{what}: expected shape {tuple(shape)}, got {actual}. {hint}".rstrip())


def assert_close(
    got: Any,
    expected: Any,
    what: str,
    hint: str = "",
    mistakes: Mapping[str, Any] | None = None,
    atol: float = 1e-6,
    rtol: float = 1e-5,
) -> None:
    """Fail unless ``got`` matches ``expected`` in shape and value.

    ``mistakes`` maps a description of a common mistake to the value that
    mistake would produce; a match is named in the message.
    """
    if got is None:
        raise AssertionError(f"{what}: got None. Did you forget `return`?")
    try:
        g = to_array(got)
    except (TypeError, ValueError):
        raise AssertionError(f"{what}: expected a number or an array, got {type(got).__name__}.") from None
    e = to_array(expected)
    if g.shape != e.shape:
        raise AssertionError(f"{what}: expected shape {e.shape}, got {g.shape}. {hint}".rstrip())
    if not np.all(np.isfinite(g)) and np.all(np.isfinite(e)):
        raise AssertionError(f"{what}: got {_show(g)}, which contains nan or inf. {hint}".rstrip())
    if not np.allclose(g, e, atol=atol, rtol=rtol):
        message = f"{what}: expected {_show(e)}, got {_show(g)}."
        mistake = likely_mistake(g, mistakes, atol=atol, rtol=rtol)
        if mistake:
            message += f" This looks like {mistake}."
        elif hint:
            message += f" {hint}"
        raise AssertionError(message)


def assert_equal(got: Any, expected: Any, what: str, hint: str = "") -> None:
    """Fail unless ``got == expected`` (for integers, strings, lists; a numpy array counts as its list)."""
    if isinstance(got, np.ndarray):
        got = got.tolist()
    if got != expected:
        raise AssertionError(f"{what}: expected {expected!r}, got {got!r}. {hint}".rstrip())


def assert_true(condition: bool, message: str) -> None:
    """Fail with ``message`` unless ``condition`` holds."""
    if not condition:
        raise AssertionError(message)


def fresh_rng() -> np.random.Generator:
    """A random generator seeded at grading time, for hidden inputs."""
    return np.random.default_rng(int.from_bytes(os.urandom(8), "little"))


def assert_unchanged(before: np.ndarray, after: np.ndarray, what: str) -> None:
    """Fail if an answer modified an input array in place."""
    if not np.array_equal(before, after):
        raise AssertionError(
            f"{what}: the input array was changed in place. Build a new array instead of editing the input."
        )


def check_call(
    name: str,
    fn: Callable[..., Any],
    args: tuple[Any, ...],
    expected: Any,
    what: str,
    mistakes: Mapping[str, Any] | None = None,
    forbid: tuple[str, ...] | list[str] = (),
    hint: str = "",
    atol: float = 1e-6,
) -> Any:
    """Call an answer under :func:`answer` and compare its result; returns it."""
    with answer(name, forbid=forbid):
        got = fn(*args)
    if any(fn is original for target in forbid for _, _, original in _resolve(target)):
        raise ForbiddenCallError(f"{name}: your answer is {fn.__module__}.{fn.__name__}, which is not allowed here.")
    assert_close(got, expected, what, hint=hint, mistakes=mistakes, atol=atol)
    return got


# --- short tracebacks in JupyterLab -------------------------------------------

def _is_grading_frame(frame: types.FrameType) -> bool:
    """A frame of this package or of contextlib (which runs :func:`answer`)."""
    filename = frame.f_code.co_filename
    return filename.startswith(_PACKAGE_DIR) or filename == contextlib.__file__


def _show_without_grading_frames(shell: Any, etype: type, value: BaseException, tb: Any,
                                 tb_offset: int | None = None) -> None:
    """IPython exception handler: the traceback of a failed check, minus this package's frames.

    A learner then sees their own cell and the check's message, not the
    machinery of :func:`answer` and :func:`assert_close`.
    """
    kept = []
    while tb is not None:
        if not _is_grading_frame(tb.tb_frame):
            kept.append(tb)
        tb = tb.tb_next
    trimmed = None
    for entry in reversed(kept):
        trimmed = types.TracebackType(trimmed, entry.tb_frame, entry.tb_lasti, entry.tb_lineno)
    shell.showtraceback((etype, value, trimmed), tb_offset=tb_offset)


def _install_short_tracebacks() -> None:
    """In an IPython kernel, show failed checks (AssertionError) with short tracebacks."""
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is not None:
        shell.set_custom_exc((AssertionError,), _show_without_grading_frames)


_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))
_install_short_tracebacks()
