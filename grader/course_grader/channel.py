"""The trusted side of the channel: the worker process, and proxies of the learner's functions.

:class:`Worker` starts ``course_lib.instructor.worker`` (through the sandbox
when the course's grader set ``COURSE_SANDBOX``), feeds it the notebook's
cells one at a time and enforces every time limit itself: a cell or a call
that runs too long, or a worker that dies, is killed here, and the worker is
started again (without the cell that hung or killed it) for the next call.

:class:`Answers` hands out :class:`Proxy` objects that look like the
learner's functions: a call writes its arguments as plain data, waits for
the reply, reads the result back into numpy arrays and torch tensors, and
writes the arguments as the worker saw them after the call back into the
caller's objects, so a check sees in-place changes as if the function had
run here. Nothing the worker sends is ever unpickled, resolved or called.

Checks use :func:`answer` around calls exactly as the notebooks' test cells
do (``with answer("neuron", forbid=FORBID): out = answers.neuron(...)``); a
failure becomes the same learner-facing message as in the kernel.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import select
import signal
import struct
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Any, Iterator

import numpy as np

from course_lib.grading import ForbiddenCallError, assert_close
from course_lib.instructor import wire

DEFAULT_SECONDS = 10.0
CELL_SECONDS = 60.0


class WorkerStopped(Exception):
    """The worker exited, was killed, or broke the protocol."""


class WorkerTimeout(Exception):
    """The worker did not answer in time (and was killed)."""


def worker_command() -> list[str]:
    """How to start a worker: through the sandbox when the course's grader runs one."""
    python = sys.executable
    command = [python, "-m", "course_lib.instructor.worker"]
    if os.environ.get("COURSE_SANDBOX"):
        return [python, "-m", "course_lib.instructor.sandbox"] + command
    return command


class Worker:
    """One learner's worker process: the notebook's cells run there, calls are served from there."""

    def __init__(self, cells: list[tuple[str, str]], cwd: str, cell_seconds: float = CELL_SECONDS,
                 course_cells: set[str] = frozenset()) -> None:
        self.cells = cells                  # (label, source), in notebook order
        self.cwd = cwd
        self.cell_seconds = cell_seconds
        self.course_cells = set(course_cells)  # the course's own (locked) cells: at least CELL_SECONDS each
        self.broken: dict[str, str] = {}     # cells that hung or killed the worker: not run again
        self.errors: dict[str, str] = {}     # cells that raised
        self.process: subprocess.Popen | None = None
        self.starts = 0

    # --- the process ---------------------------------------------------------------

    def _spawn(self) -> None:
        env = dict(os.environ)
        env.setdefault("MPLBACKEND", "Agg")
        self.process = subprocess.Popen(worker_command(), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        stderr=subprocess.DEVNULL, cwd=self.cwd, env=env,
                                        start_new_session=True)
        self.starts += 1

    def kill(self) -> None:
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)
        with contextlib.suppress(Exception):
            self.process.kill()
        with contextlib.suppress(Exception):
            self.process.wait(timeout=10)
        for stream in (self.process.stdin, self.process.stdout):
            with contextlib.suppress(Exception):
                stream.close()
        self.process = None

    def close(self) -> None:
        if self.process is not None and self.process.poll() is None:
            with contextlib.suppress(Exception):
                wire.write_frame(self.process.stdin, {"op": "quit"})
                self.process.wait(timeout=2)
        self.kill()

    def _receive(self, deadline: float) -> Any:
        fd = self.process.stdout.fileno()

        def read(n: int) -> bytes:
            data = b""
            while len(data) < n:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise WorkerTimeout()
                ready, _, _ = select.select([fd], [], [], left)
                if not ready:
                    raise WorkerTimeout()
                chunk = os.read(fd, min(n - len(data), 1 << 20))
                if not chunk:
                    raise WorkerStopped("the worker stopped")
                data += chunk
            return data

        (length,) = struct.unpack(">Q", read(8))
        if length > wire.MAX_FRAME:
            raise WorkerStopped("the worker sent a frame that is too large")
        import json
        try:
            reply = json.loads(read(length).decode("utf-8"))
        except ValueError as error:
            raise WorkerStopped(f"the worker sent something that is not JSON ({error})") from None
        if not isinstance(reply, dict):
            raise WorkerStopped("the worker's reply is not an object")
        return reply

    def _request(self, message: dict, seconds: float) -> dict:
        try:
            wire.write_frame(self.process.stdin, message)
        except (BrokenPipeError, OSError, ValueError):
            raise WorkerStopped("the worker stopped") from None
        return self._receive(time.monotonic() + seconds)

    def start(self) -> None:
        """Start the worker and run every cell (a cell that hangs or kills it is left out)."""
        while True:
            self.kill()
            self._spawn()
            for label, source in self.cells:
                if label in self.broken:
                    continue
                seconds = max(self.cell_seconds, CELL_SECONDS) if label in self.course_cells else self.cell_seconds
                try:
                    reply = self._request({"op": "exec", "source": source, "label": label}, seconds)
                except WorkerTimeout:
                    self.broken[label] = f"still running after {seconds:g} s"
                    break
                except WorkerStopped as error:
                    self.broken[label] = f"it stopped the worker ({error})"
                    break
                if reply.get("ok"):
                    self.errors.pop(label, None)
                else:
                    self.errors[label] = str(reply.get("error", ""))[:2000]
            else:
                return

    def call(self, message: dict, seconds: float) -> dict:
        if self.process is None or self.process.poll() is not None:
            self.start()
        try:
            return self._request(message, seconds)
        except (WorkerTimeout, WorkerStopped):
            self.kill()
            raise


# --- the proxies ----------------------------------------------------------------------

@dataclass
class _Context:
    label: str | None
    forbid: tuple[str, ...]
    seconds: float
    bind: dict | None = None


_CONTEXT: contextvars.ContextVar[_Context | None] = contextvars.ContextVar("answer", default=None)


@contextlib.contextmanager
def answer(name: str, forbid: tuple[str, ...] | list[str] = (), seconds: float | None = DEFAULT_SECONDS,
           bind: dict[str, str] | None = None) -> Iterator[None]:
    """Calls of the answer ``name`` inside this block: these forbidden targets, this time limit per call.

    ``bind`` maps names of the learner's earlier functions to the course's versions (dotted names
    under ``course_lib.grading``): the worker runs each call with those in their place, so that a
    check of a later answer charges a bug in an earlier one to that earlier answer only.
    """
    token = _CONTEXT.set(_Context(name, tuple(forbid), float(seconds or DEFAULT_SECONDS), dict(bind or {})))
    try:
        yield
    finally:
        _CONTEXT.reset(token)


def check_call(name: str, fn: Any, args: tuple, expected: Any, what: str, mistakes: Any = None,
               forbid: tuple[str, ...] | list[str] = (), hint: str = "", atol: float = 1e-6) -> Any:
    """Call an answer under :func:`answer` and compare its result; returns it."""
    with answer(name, forbid=forbid):
        got = fn(*args)
    assert_close(got, expected, what, hint=hint, mistakes=mistakes, atol=atol)
    return got


def _mutable(value: Any) -> bool:
    torch = sys.modules.get("torch")
    return isinstance(value, (np.ndarray, list, dict, tuple)) or (torch is not None and isinstance(value, torch.Tensor))


def write_back(local: Any, new: Any) -> None:
    """Make ``local`` (the caller's argument) look like ``new`` (the same argument after the call)."""
    torch = sys.modules.get("torch")
    if isinstance(local, np.ndarray) and isinstance(new, np.ndarray):
        if local.shape == new.shape and local.flags.writeable:
            np.copyto(local, new, casting="unsafe")
    elif torch is not None and isinstance(local, torch.Tensor) and isinstance(new, torch.Tensor):
        if local.shape == new.shape:
            with torch.no_grad():
                local.copy_(new.to(local.dtype))
    elif isinstance(local, list) and isinstance(new, list):
        if len(local) != len(new):
            local[:] = new
            return
        for i, (a, b) in enumerate(zip(local, new)):
            if _mutable(a) and type(a) is type(b) or (torch is not None and isinstance(a, torch.Tensor)
                                                       and isinstance(b, torch.Tensor)):
                write_back(a, b)
            else:
                local[i] = b
    elif isinstance(local, tuple) and isinstance(new, tuple) and len(local) == len(new):
        for a, b in zip(local, new):
            write_back(a, b)
    elif isinstance(local, dict) and isinstance(new, dict):
        for key in list(local):
            if key not in new:
                del local[key]
        for key, b in new.items():
            a = local.get(key)
            if key in local and _mutable(a) and (type(a) is type(b) or (
                    torch is not None and isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor))):
                write_back(a, b)
            else:
                local[key] = b


class Proxy:
    """Looks like the learner's function ``name``; every call goes to the worker."""

    def __init__(self, answers: "Answers", name: str) -> None:
        self._answers, self._name = answers, name

    def __repr__(self) -> str:
        return f"<the learner's {self._name}>"

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        context = _CONTEXT.get() or _Context(None, (), DEFAULT_SECONDS)
        label = context.label or self._name
        leaves = wire.tensors_needing_grad([list(args), kwargs])
        message = {"op": "call", "name": self._name, "label": label, "args": wire.encode(list(args)),
                   "kwargs": wire.encode(dict(kwargs)), "forbid": list(context.forbid), "grad": bool(leaves)}
        if context.bind:
            message["bind"] = dict(context.bind)
        self._answers.calls += 1
        try:
            reply = self._answers.worker.call(message, context.seconds)
        except WorkerTimeout:
            raise AssertionError(f"{label}: still running after {context.seconds:g} s. "
                                 "Is there a loop that never ends?") from None
        except WorkerStopped:
            raise AssertionError(f"{label}: the process running your answer stopped during the call "
                                 "(it exited, was killed, or went over a limit).") from None
        if not reply.get("ok"):
            kind, text = reply.get("kind"), str(reply.get("message", ""))[:4000]
            if kind == "notimplemented":
                raise AssertionError(f"{label} is not written yet: replace `raise NotImplementedError()` "
                                     "with your code, run that cell, then run this test again.")
            if kind == "forbidden":
                raise ForbiddenCallError(text)
            raise AssertionError(text or f"{label} failed")
        try:
            value = wire.decode(reply.get("value"))
            write_back(list(args), wire.decode(reply.get("args", [])))
            write_back(kwargs, wire.decode(reply.get("kwargs", {"$": "dict", "items": []})))
            grads = reply.get("grads")
            if leaves and isinstance(grads, list) and len(grads) == len(leaves):
                for leaf, grad in zip(leaves, grads):
                    if leaf.is_leaf:
                        leaf.grad = None if grad is None else wire.decode(grad).to(leaf.dtype).reshape(leaf.shape)
        except (wire.WireError, ValueError, TypeError, KeyError, RuntimeError) as error:
            raise AssertionError(f"{label} returned something the grader cannot read ({error}).") from None
        if isinstance(value, wire.Function):
            raise AssertionError(f"{label} returned a function; it should return a value.")
        return value


class Answers:
    """The learner's answers, as proxies: ``answers.neuron(...)``.

    ``phase`` says which part of a check is running: ``"visible"`` (what the
    notebook's test cell also checks in the kernel) until a check calls
    :meth:`hidden`. A failure in the visible phase of a cell the kernel
    passed is a sign of tampering.
    """

    def __init__(self, worker: Worker) -> None:
        self.worker = worker
        self.phase = "visible"
        self.calls = 0

    def __getattr__(self, name: str) -> Proxy:
        if name.startswith("_"):
            raise AttributeError(name)
        return Proxy(self, name)

    def hidden(self) -> None:
        self.phase = "hidden"


def fn(name: str, *args: Any) -> wire.Function:
    """A function argument that crosses by name (``fn("numpy.tanh")``, ``fn(FIXTURES + "relu")``).

    Called here, it runs the trusted copy of the same function, so a check
    can compute its reference with it.
    """
    return _Local(name, *args)


class _Local(wire.Function):
    def __init__(self, name: str, *args: Any) -> None:
        super().__init__(name, *args)
        target = wire.resolve_name(name)
        self._local = target(*args) if args else target

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._local(*args, **kwargs)
