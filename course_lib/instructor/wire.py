"""The grader's channel to the worker: plain data only, never pickle, never code.

A message is one frame: 8 bytes of length (big-endian), then that many bytes
of JSON (UTF-8). JSON carries numbers, strings, lists and ``None``; a few
tagged objects carry the rest:

* ``{"$": "nd", "kind": "array" | "tensor" | "scalar", "npy": BASE64, "grad": bool}``:
  a numpy array, a torch tensor (as its array; ``grad`` says whether it
  requires a gradient) or a numpy scalar, written by ``np.save`` and read by
  ``np.load(allow_pickle=False)``: the dtype travels with it, an object array
  cannot;
* ``{"$": "tuple", "items": [...]}`` and ``{"$": "dict", "items": [[key, value], ...]}``;
* ``{"$": "fn", "name": NAME, "args": [...]}``: a function, by name only. The
  worker resolves ``NAME`` as a dotted library name (``"numpy.tanh"``); with
  ``args``, it calls that name (a factory in :mod:`course_lib.grading.fixtures`)
  with the plain arguments to make the function.

The trusted side decodes with :func:`decode` and ``resolve=None``: it never
resolves a name, unpickles or calls anything it received. Anything else a
learner's function returns (an ``int`` subclass, an object with a clever
``__eq__``) cannot be written: the worker reports it as an error.
"""

from __future__ import annotations

import base64
import importlib
import io
import json
import struct
import sys
from typing import Any, BinaryIO, Callable

import numpy as np

MAX_FRAME = 64 * 2**20  # bytes; a larger frame is refused
MAX_DEPTH = 64


class WireError(ValueError):
    """A value that cannot cross the channel, or a malformed frame."""


# --- frames ------------------------------------------------------------------------

def write_frame(stream: BinaryIO, message: Any) -> None:
    data = json.dumps(message, allow_nan=True, separators=(",", ":")).encode("utf-8")
    stream.write(struct.pack(">Q", len(data)) + data)
    stream.flush()


def read_exactly(stream: BinaryIO, n: int) -> bytes:
    chunks, got = [], 0
    while got < n:
        chunk = stream.read(n - got)
        if not chunk:
            raise EOFError("the channel closed")
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def read_frame(stream: BinaryIO) -> Any:
    (length,) = struct.unpack(">Q", read_exactly(stream, 8))
    if length > MAX_FRAME:
        raise WireError(f"a frame of {length} bytes is larger than {MAX_FRAME}")
    return json.loads(read_exactly(stream, length).decode("utf-8"))


# --- values ------------------------------------------------------------------------

def _npy(array: np.ndarray) -> str:
    if array.dtype.hasobject:
        raise WireError("an array of Python objects cannot be sent")
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _from_npy(text: str) -> np.ndarray:
    try:
        array = np.load(io.BytesIO(base64.b64decode(text, validate=True)), allow_pickle=False)
    except (ValueError, OSError, EOFError, TypeError) as error:
        raise WireError(f"not a plain array ({error})") from None
    if not isinstance(array, np.ndarray) or array.dtype.hasobject:
        raise WireError("not a plain array")
    return array


class Function:
    """A function that crosses the channel by name (see the module's docstring)."""

    def __init__(self, name: str, *args: Any) -> None:
        self.name, self.args = name, args

    def __repr__(self) -> str:
        return f"Function({self.name!r})"


def encode(value: Any, depth: int = 0, functions: bool = False) -> Any:
    """Plain JSON for ``value``; raises :class:`WireError` for anything else.

    ``functions=True`` writes a function as its name (the worker's echo of the
    arguments it was given, functions included)."""
    if depth > MAX_DEPTH:
        raise WireError("a value nested too deeply")
    kind = type(value)
    if value is None or kind in (bool, int, str):
        return value
    if kind is float:
        return value
    if kind is list:
        return [encode(v, depth + 1, functions) for v in value]
    if kind is tuple:
        return {"$": "tuple", "items": [encode(v, depth + 1, functions) for v in value]}
    if kind is dict:
        return {"$": "dict", "items": [[encode(k, depth + 1, functions), encode(v, depth + 1, functions)]
                                       for k, v in value.items()]}
    if isinstance(value, Function):
        return {"$": "fn", "name": value.name, "args": [encode(a, depth + 1) for a in value.args]}
    if kind is np.ndarray:
        return {"$": "nd", "kind": "array", "npy": _npy(value), "grad": False}
    if isinstance(value, np.generic) and type(value).__module__ == "numpy":
        return {"$": "nd", "kind": "scalar", "npy": _npy(np.asarray(value)), "grad": False}
    torch = _torch()
    if torch is not None and kind in (torch.Tensor, torch.nn.Parameter):
        tensor = value.detach().cpu()
        if tensor.dtype == torch.bfloat16 or tensor.dtype == torch.float16:
            tensor = tensor.float()
        return {"$": "nd", "kind": "tensor", "npy": _npy(tensor.numpy()), "grad": bool(value.requires_grad)}
    if functions and callable(value):
        return {"$": "fn", "name": str(getattr(value, "__name__", "function")), "args": []}
    raise WireError(f"a value of type {kind.__module__}.{kind.__qualname__} cannot be sent")


def decode(value: Any, resolve: Callable[[str, list], Any] | None = None, depth: int = 0) -> Any:
    """The value ``encode`` wrote. ``resolve`` turns a function's name into a function
    (the worker's side); without it a function stays a :class:`Function` (the grader's side)."""
    if depth > MAX_DEPTH:
        raise WireError("a value nested too deeply")
    if value is None or type(value) in (bool, int, float, str):
        return value
    if type(value) is list:
        return [decode(v, resolve, depth + 1) for v in value]
    if type(value) is not dict:
        raise WireError(f"unexpected JSON value {type(value).__name__}")
    tag = value.get("$")
    if tag == "tuple":
        return tuple(decode(v, resolve, depth + 1) for v in value["items"])
    if tag == "dict":
        out = {}
        for key, item in value["items"]:
            key = decode(key, resolve, depth + 1)
            if type(key) not in (str, int, float, bool, tuple) and key is not None:
                raise WireError("a dictionary key that is not a plain value")
            out[key] = decode(item, resolve, depth + 1)
        return out
    if tag == "nd":
        array = _from_npy(value["npy"])
        if value["kind"] == "array":
            return array
        if value["kind"] == "scalar":
            return array[()]
        if value["kind"] == "tensor":
            import torch
            tensor = torch.from_numpy(array.copy())
            if value.get("grad") is True and tensor.is_floating_point():
                tensor.requires_grad_()
            return tensor
        raise WireError(f"unknown array kind {value['kind']!r}")
    if tag == "fn":
        args = [decode(a, resolve, depth + 1) for a in value.get("args", [])]
        if resolve is None:
            return Function(str(value["name"]), *args)
        return resolve(str(value["name"]), args)
    raise WireError(f"unknown tag {tag!r}")


def _torch():
    """torch if something has imported it (the wire never imports it itself)."""
    return sys.modules.get("torch")


def resolve_name(name: str) -> Any:
    """``"numpy.tanh"`` -> numpy.tanh: import the longest module prefix, then follow attributes."""
    parts = name.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            owner: Any = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for attr in parts[cut:]:
            owner = getattr(owner, attr)
        return owner
    raise WireError(f"cannot find {name!r}")


def tensors_needing_grad(value: Any, found: list | None = None) -> list:
    """The torch tensors with ``requires_grad`` inside ``value`` (lists, tuples, dicts), in order."""
    found = [] if found is None else found
    torch = _torch()
    if torch is not None and isinstance(value, torch.Tensor):
        if value.requires_grad:
            found.append(value)
    elif isinstance(value, (list, tuple)):
        for v in value:
            tensors_needing_grad(v, found)
    elif isinstance(value, dict):
        for v in value.values():
            tensors_needing_grad(v, found)
    return found
