"""The worker: runs a learner's answer cells and serves calls of their functions.

The trusted grader (``course_grader``, a separate package the sandbox does
not mount) starts this module in the sandbox, with the learner's folder as
working directory::

    python -m course_lib.instructor.sandbox python -m course_lib.instructor.worker

and talks to it over the process's original stdin and stdout, in frames of
plain data (:mod:`course_lib.instructor.wire`). Before any learner code runs,
the worker keeps private copies of those two pipes and points file
descriptors 0 and 1 elsewhere (stdin at /dev/null, stdout at stderr), so a
learner's ``print`` can never write into the channel by accident.

Requests (one JSON object each) and replies:

* ``{"op": "exec", "source": ..., "label": ...}``: run one cell in the
  notebook's namespace -> ``{"ok": true}`` or ``{"ok": false, "error": ...}``;
* ``{"op": "call", "name": ..., "args": [...], "kwargs": {...}, "forbid": [...],
  "grad": bool}``: call the learner's function ``name`` with the arguments
  (functions among them are names, resolved here), with every ``forbid``
  target (and each alias of it in the notebook) replaced by a tripwire for the
  duration of the call; with ``"bind": {name: dotted}`` (dotted names under
  ``course_lib.grading``), the course's versions of earlier functions stand in
  for the learner's during the call. The reply carries the result, the arguments as they
  are after the call (so the grader sees in-place changes), the forbidden
  calls the tripwire saw and, with ``grad``, the gradient of the result's sum
  with respect to each argument tensor that requires one. Failures come back
  as ``{"ok": false, "kind": ..., "message": ...}``;
* ``{"op": "quit"}``.

Nothing here is trusted: the learner's code runs in this process and may
change any of it. What the grader trusts is only that what it receives is
plain data, which it compares in its own process.
"""

from __future__ import annotations

import builtins
import os
import sys
import traceback
import types
from typing import Any

from course_lib.instructor import wire
from course_lib.grading import ForbiddenCallError, _resolve  # noqa: F401 (kept before learner code runs)

_encode, _decode, _write, _read = wire.encode, wire.decode, wire.write_frame, wire.read_frame


def _resolve_function(name: str, args: list) -> Any:
    target = wire.resolve_name(name)
    return target(*args) if args else target


def _compile(source: str, label: str) -> Any:
    try:
        return compile(source, f"<{label}>", "exec")
    except SyntaxError:
        try:  # IPython syntax (magics): transform it as a kernel would
            from IPython.core.inputtransformer2 import TransformerManager
            return compile(TransformerManager().transform_cell(source), f"<{label}>", "exec")
        except Exception:  # noqa: BLE001
            raise


def loaded(target: str) -> bool:
    """Whether ``target`` can be found without importing anything (its module is already loaded)."""
    parts = target.split(".")
    for cut in range(len(parts), 0, -1):
        owner = sys.modules.get(".".join(parts[:cut]))
        if owner is None:
            continue
        try:
            for attr in parts[cut:]:
                owner = getattr(owner, attr)
        except AttributeError:
            return False
        return True
    return False


class Tripwire:
    """Replace each forbidden target and its aliases in ``namespace``; record calls.

    Only targets whose module is already loaded are replaced (importing, say,
    torch for every learner would cost seconds); :func:`call` runs the answer
    again with every target in place when the call itself loaded one of them.
    """

    def __init__(self, name: str, targets: list[str], namespace: dict) -> None:
        self.name, self.targets, self.namespace = name, targets, namespace
        self.calls: list[str] = []
        self.saved: list[tuple[Any, str, Any]] = []
        self.originals: list[tuple[str, Any]] = []

    def _wire(self, label: str) -> Any:
        calls, name = self.calls, self.name

        def forbidden(*args: Any, **kwargs: Any) -> Any:
            calls.append(label)
            raise ForbiddenCallError(
                f"{name}: your answer calls {label}, which this exercise asks you "
                f"to write yourself. Use only basic operations here.")
        return forbidden

    def __enter__(self) -> "Tripwire":
        self.missing = [t for t in self.targets if not loaded(t)]
        for target in self.targets:
            if target in self.missing:
                continue
            for owner, attr, original in _resolve(target):
                label = f"{getattr(owner, '__name__', target)}.{attr}"
                self.originals.append((label, original))
                self.saved.append((owner, attr, original))
                setattr(owner, attr, self._wire(label))
                for alias, value in list(self.namespace.items()):
                    if value is original:
                        self.saved.append((self.namespace, alias, value))
                        self.namespace[alias] = self._wire(label)
        return self

    def __exit__(self, *exc: Any) -> None:
        for owner, attr, original in reversed(self.saved):
            if owner is self.namespace:
                owner[attr] = original
            else:
                setattr(owner, attr, original)


def call(request: dict, namespace: dict) -> dict:
    name = request["name"]
    label = request.get("label") or name
    if name not in namespace:
        return {"ok": False, "kind": "error", "message": f"{label} raised NameError: name {name!r} is not defined"}
    forbid = [str(t) for t in request.get("forbid", [])]
    reply = _call_once(request, namespace, label, forbid)
    if reply.pop("_loaded_forbidden", False):  # the call loaded a forbidden module: again, with it in place
        reply = _call_once(request, namespace, label, forbid)
        reply.pop("_loaded_forbidden", None)
    return reply


def _call_once(request: dict, namespace: dict, label: str, forbid: list[str]) -> dict:
    fn = namespace[request["name"]]
    args = _decode(request.get("args", []), _resolve_function)
    kwargs = _decode(request.get("kwargs", {"$": "dict", "items": []}), _resolve_function)
    leaves = wire.tensors_needing_grad([args, kwargs])
    wire_ = Tripwire(label, forbid, namespace)
    saved = _bind(namespace, request.get("bind") or {})
    try:
        reply = _run(fn, args, kwargs, leaves, wire_, label, request)
    finally:
        for name, value in saved:
            if value is _UNSET:
                namespace.pop(name, None)
            else:
                namespace[name] = value
    if wire_.missing and any(loaded(t) for t in wire_.missing):
        reply["_loaded_forbidden"] = True
    return reply


_UNSET = object()
BIND_PREFIX = "course_lib.grading."


def _bind(namespace: dict, bind: dict) -> list:
    """Put the course's versions of earlier functions in place (``bind``: name -> dotted name).

    Each is wrapped, so that the tripwire (which forbids the same references in answers)
    does not see it as an alias of a forbidden target. Returns what to restore.
    """
    saved = []
    for name, target in bind.items():
        if not (isinstance(name, str) and isinstance(target, str) and target.startswith(BIND_PREFIX)):
            continue
        reference = wire.resolve_name(target)

        def stand_in(*args: Any, _reference: Any = reference, **kwargs: Any) -> Any:
            return _reference(*args, **kwargs)
        saved.append((name, namespace.get(name, _UNSET)))
        namespace[name] = stand_in
    return saved


def _run(fn: Any, args: list, kwargs: dict, leaves: list, wire_: "Tripwire", label: str, request: dict) -> dict:
    with wire_:
        for target_label, original in wire_.originals:
            if fn is original:
                return {"ok": False, "kind": "forbidden",
                        "message": f"{label}: your answer is {target_label}, which is not allowed here."}
        try:
            result = fn(*args, **kwargs)
        except ForbiddenCallError as error:
            return {"ok": False, "kind": "forbidden", "message": str(error)}
        except NotImplementedError:
            return {"ok": False, "kind": "notimplemented", "message": ""}
        except AssertionError as error:
            return {"ok": False, "kind": "assertion", "message": str(error)}
        except BaseException as error:  # noqa: BLE001 (the learner's code crashed or exited)
            return {"ok": False, "kind": "error", "message": f"{label} raised {type(error).__name__}: {error}"}
    if wire_.calls:
        return {"ok": False, "kind": "forbidden",
                "message": f"{label}: your answer calls {wire_.calls[0]}, which is not allowed here."}
    reply: dict = {"ok": True}
    try:
        reply["value"] = _encode(result)
        reply["args"] = _encode(list(args), functions=True)
        reply["kwargs"] = _encode(dict(kwargs), functions=True)
    except wire.WireError as error:
        return {"ok": False, "kind": "error",
                "message": f"{label} returned something the grader cannot read ({error})."}
    if request.get("grad"):
        reply["grads"] = None
        torch = sys.modules.get("torch")
        if torch is not None and isinstance(result, torch.Tensor) and result.requires_grad and leaves:
            try:
                grads = torch.autograd.grad(result.sum(), leaves, allow_unused=True)
                reply["grads"] = [None if g is None else _encode(g.detach()) for g in grads]
            except BaseException as error:  # noqa: BLE001
                reply["grads_error"] = f"{type(error).__name__}: {error}"
    return reply


def execute(request: dict, namespace: dict) -> dict:
    try:
        code = _compile(request["source"], request.get("label", "cell"))
        exec(code, namespace)  # noqa: S102 (the learner's cell, in the sandbox)
    except BaseException as error:  # noqa: BLE001
        lines = traceback.format_exception_only(type(error), error)
        return {"ok": False, "error": "".join(lines).strip()[-2000:]}
    return {"ok": True}


def serve(requests: Any, replies: Any, namespace: dict) -> None:
    while True:
        try:
            request = _read(requests)
        except EOFError:
            return
        op = request.get("op")
        if op == "quit":
            return
        try:
            if op == "exec":
                reply = execute(request, namespace)
            elif op == "call":
                reply = call(request, namespace)
            else:
                reply = {"ok": False, "kind": "error", "message": f"unknown request {op!r}"}
        except BaseException as error:  # noqa: BLE001 (a bad request: say so, keep serving)
            reply = {"ok": False, "kind": "error", "message": f"the worker failed: {type(error).__name__}: {error}"}
        try:
            _write(replies, reply)
        except wire.WireError as error:
            _write(replies, {"ok": False, "kind": "error", "message": str(error)})


def main() -> None:
    requests = os.fdopen(os.dup(0), "rb")
    replies = os.fdopen(os.dup(1), "wb")
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    os.dup2(2, 1)  # the learner's prints go to stderr, never into the channel
    os.environ.setdefault("MPLBACKEND", "Agg")
    notebook = types.ModuleType("__main__")
    notebook.__dict__["__builtins__"] = builtins
    sys.modules["__main__"] = notebook
    serve(requests, replies, notebook.__dict__)


if __name__ == "__main__":
    main()
