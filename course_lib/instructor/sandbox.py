"""A sandbox for learners' code: the kernel that runs a submission during autograding.

nbgrader starts a kernel for every notebook it grades. :func:`install_kernel`
writes a kernel spec named ``python3`` whose command starts this module first::

    python -m course_lib.instructor.sandbox python -m ipykernel_launcher -f CONNECTION_FILE

Started as root on Linux, :func:`run` then, before the kernel's first line runs:

1. copies the learner's folder (the kernel's working directory) into a fresh
   scratch folder inside the grading run's *workspace* (a folder the grader
   made with ``mkdtemp``) and gives the copy to an unprivileged user id, one
   id per parallel grader. Nothing outside the workspace changes owner;
2. in a child process, enters new mount, network, process-id, IPC and
   host-name namespaces (the mount namespace is made private first, so the
   machine never sees these mounts): no network but a loopback that is down,
   no other process visible;
3. remounts every file system read-only, puts fresh, small ``/tmp``,
   ``/var/tmp`` and ``/dev/shm`` in place, and covers the grader's secrets
   with empty read-only mounts: ``solutions/``, the gradebook, every
   learner's submissions and grades, the tests and the git history (see
   :data:`HIDDEN_NAMES`);
4. mounts the scratch copy, writable, where the learner's folder was (what the
   kernel writes there is thrown away), and the kernel's connection folder;
5. drops to the unprivileged user with no capabilities and ``no_new_privs``,
   and sets resource limits (:class:`Limits`): CPU seconds, address space,
   processes, file size, open files, no core dumps.

When the kernel exits or is killed, the process-id namespace ends and every
process it started dies with it; the scratch copy is deleted.

Where namespaces are forbidden (:func:`namespaces_allowed`), the kernel runs
in the scratch copy as the unprivileged user, with the resource limits, but
sees the whole file system as that user may; not root or not Linux, it gets
the resource limits only. :func:`probe` says what is enforced on this machine. Kernel messages travel over Unix sockets
(``KernelManager.transport = "ipc"``) because the kernel has no network.
"""

from __future__ import annotations

import ctypes
import json
import os
import resource
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

ENV_SETTINGS = "COURSE_SANDBOX"  # JSON of Settings, set by the grader for its kernels
WORKSPACE_PREFIX = "course-grading-"  # the grader's mkdtemp folders; nothing else is ever chowned

# Names covered inside the course folder and inside the repository of course_lib.
HIDDEN_NAMES = ("solutions", "source", "submitted", "autograded", "feedback", "release",
                "grades", ".course", ".git", "tests", "gradebook.db",
                "gradebook.db-journal", "gradebook.db-wal", "gradebook.db-shm")

CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC = 0x00020000, 0x04000000, 0x08000000
CLONE_NEWPID, CLONE_NEWNET = 0x20000000, 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 32, 4096, 16384, 1 << 18
PR_SET_PDEATHSIG, PR_SET_NO_NEW_PRIVS = 1, 38
MOUNT_FLAGS = {"ro": MS_RDONLY, "nosuid": MS_NOSUID, "nodev": MS_NODEV, "noexec": MS_NOEXEC}
FAILED_TO_START = 111  # exit code of a sandbox that could not be built
FRESH_TMP = ("/tmp", "/var/tmp", "/dev/shm")  # each an empty tmpfs in the sandbox
MAX_COPY_FILES = 1000  # a learner's folder larger than this is not copied (a kernel started in / ...)

_libc = ctypes.CDLL(None, use_errno=True)


@dataclass
class Limits:
    """Resource limits of one kernel (``setrlimit``; each applies per process but ``processes``)."""

    cpu_seconds: int = 300           # CPU time of the kernel process; then SIGXCPU ends it
    memory_bytes: int = 4 << 30      # address space per process; beyond it, MemoryError
    processes: int = 256             # processes and threads of the sandbox user
    file_bytes: int = 64 << 20       # largest file the kernel may write
    open_files: int = 256


@dataclass
class Settings:
    """What the grader tells the sandbox through the environment."""

    uid: int = 64000                 # the unprivileged user the kernel runs as
    hide: tuple[str, ...] = ()       # absolute paths covered with empty mounts
    workspace: str = ""              # the grading run's mkdtemp folder (scratch copies, connection files)
    limits: Limits = field(default_factory=Limits)
    isolate: bool = True             # False: no namespaces (another user id and the limits only)

    def to_env(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_env(cls) -> "Settings":
        data = json.loads(os.environ.get(ENV_SETTINGS, "{}"))
        limits = Limits(**data.pop("limits", {}))
        return cls(**{**data, "hide": tuple(data.get("hide", ())), "limits": limits})


def make_workspace() -> Path:
    """A fresh folder for one grading run (root's, others may only pass through it)."""
    folder = Path(tempfile.mkdtemp(prefix=WORKSPACE_PREFIX))
    folder.chmod(0o711)
    return folder


def _checked_workspace(path: str) -> Path:
    """The workspace, if it is one the grader made: owned by us, named by :func:`make_workspace`."""
    folder = Path(os.path.realpath(path)) if path else None
    if (folder is None or not folder.name.startswith(WORKSPACE_PREFIX) or not folder.is_dir()
            or folder.stat().st_uid != os.geteuid()):
        raise SystemExit(f"sandbox: {path!r} is not a grading workspace made by make_workspace()")
    return folder


def _inside(path: str, folder: Path) -> bool:
    """Whether ``path`` lies strictly inside ``folder``."""
    return folder in Path(os.path.realpath(path)).parents


def hidden_paths(*folders: Path) -> list[str]:
    """The paths to cover inside each folder (existing or not: they may appear later)."""
    return sorted({str(Path(folder).resolve() / name) for folder in folders for name in HIDDEN_NAMES})


def can_isolate() -> bool:
    """Whether this process may build the namespaces (root on Linux)."""
    return sys.platform.startswith("linux") and os.geteuid() == 0


def install_kernel(folder: Path, python: str = sys.executable) -> Path:
    """Write a ``python3`` kernel spec that starts kernels in the sandbox; put ``folder`` first in JUPYTER_PATH."""
    spec = Path(folder) / "kernels" / "python3"
    spec.mkdir(parents=True, exist_ok=True)
    argv = [python, "-m", "course_lib.instructor.sandbox",
            python, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    kernel = {"argv": argv, "display_name": "Python 3 (sandboxed grader)", "language": "python",
              "metadata": {"debugger": False}}
    (spec / "kernel.json").write_text(json.dumps(kernel, indent=1))
    return spec


# --- system calls ---------------------------------------------------------------

def _check(result: int, what: str) -> None:
    if result != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"{what}: {os.strerror(errno)}")


def _mount(source: str | None, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    enc = lambda s: None if s is None else s.encode()  # noqa: E731
    _check(_libc.mount(enc(source), enc(target), enc(fstype), ctypes.c_ulong(flags), enc(data)),
           f"mount {target}")


def _mount_points() -> list[tuple[str, int]]:
    """(mount point, per-mount flags) of every mount, outermost first."""
    points = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        fields = line.split()
        point = fields[4].encode().decode("unicode_escape")
        flags = sum(MOUNT_FLAGS.get(opt, 0) for opt in fields[5].split(","))
        points.append((point, flags))
    return points


# --- building the sandbox (in the child, inside the new namespaces) -------------------

def _closed_ancestor(path: str) -> str | None:
    """The outermost folder above ``path`` that other users may not enter (e.g. ``/root``)."""
    for folder in reversed(Path(path).parents[:-1]):
        if not os.stat(folder).st_mode & stat.S_IXOTH:
            return str(folder)
    return None


def _bind_back(handles: dict[str, int], flags: int) -> None:
    """Mount each opened folder at its path (which may now lie under a cover)."""
    for path, handle in handles.items():
        os.makedirs(path, exist_ok=True)
        _mount(f"/proc/self/fd/{handle}", path, None, MS_BIND)
        _mount(None, path, None, MS_REMOUNT | MS_BIND | MS_NOSUID | MS_NODEV | flags)
        os.close(handle)


def _confine_filesystem(writable: dict[str, str], readable: list[str], hide: tuple[str, ...]) -> None:
    """Everything read-only, secrets covered, ``writable`` (target -> source) writable, ``readable`` readable.

    Must run in a new mount namespace: the first mount makes it private, so
    nothing below propagates to the machine's mounts.
    """
    _mount(None, "/", None, MS_REC | MS_PRIVATE)
    opened = lambda paths: {t: os.open(s, os.O_PATH | os.O_DIRECTORY) for t, s in paths.items()}  # noqa: E731
    # The interpreter may live in a closed home (pyenv in /root): cover the home, show the interpreter.
    closed = {path: ancestor for path in [*readable, *writable] if (ancestor := _closed_ancestor(path))}
    rw = opened(writable)
    ro = opened({path: path for path in readable if path in closed})
    # A repository or environment under /tmp (a clone in CI) must show through the fresh /tmp.
    in_tmp = opened({path: path for path in readable if any(_inside(path, Path(tmp)) for tmp in FRESH_TMP)})
    for point, flags in _mount_points():
        if point.startswith(("/proc", "/sys", "/dev")) and point != "/dev/shm":
            continue
        try:
            _mount(None, point, None, MS_REMOUNT | MS_BIND | MS_RDONLY | flags)
        except OSError:
            pass  # a mount that cannot change is covered by the user's permissions
    for tmp in FRESH_TMP:
        if os.path.isdir(tmp):
            _mount("tmpfs", tmp, "tmpfs", MS_NOSUID | MS_NODEV, "size=256m,mode=1777")
    _bind_back(in_tmp, MS_RDONLY)  # before the covers, which hide secrets inside these folders
    covers = [path for path in hide if os.path.isdir(path) and not os.path.islink(path)]
    covers += sorted(set(closed.values()))
    for path in covers:
        os.makedirs(path, exist_ok=True)  # only ever succeeds in a fresh tmpfs: the rest is read-only now
        _mount("tmpfs", path, "tmpfs", MS_NOSUID | MS_NODEV, "size=64k,mode=755")
    for path in hide:
        if os.path.isfile(path):
            _mount("/dev/null", path, None, MS_BIND)
            _mount(None, path, None, MS_REMOUNT | MS_BIND | MS_RDONLY)
    _bind_back(ro, MS_RDONLY)
    _bind_back(rw, 0)
    for path in covers:
        _mount(None, path, None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV)


def apply_limits(limits: Limits) -> None:
    """Lower this process's resource limits (inherited by everything it starts)."""
    for kind, value in ((resource.RLIMIT_CPU, limits.cpu_seconds),
                        (resource.RLIMIT_AS, limits.memory_bytes),
                        (resource.RLIMIT_NPROC, limits.processes),
                        (resource.RLIMIT_FSIZE, limits.file_bytes),
                        (resource.RLIMIT_NOFILE, limits.open_files),
                        (resource.RLIMIT_CORE, 0)):
        _, hard = resource.getrlimit(kind)
        value = value if hard == resource.RLIM_INFINITY else min(value, hard)
        resource.setrlimit(kind, (value, value))


def _drop_privileges(uid: int) -> None:
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)  # from root to another id: every capability goes
    _check(_libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs")


def _private_env() -> dict[str, str]:
    """The kernel's environment: a home in its private /tmp (made after dropping root)."""
    home = "/tmp/home"
    os.makedirs(home, exist_ok=True)
    # JPY_PARENT_PID=1: ipykernel does not watch its parent, which here is process 1 and would
    # look dead to it; the kernel ends with the namespace anyway.
    return {**os.environ, "JPY_PARENT_PID": "1", "HOME": home, "TMPDIR": "/tmp", "MPLCONFIGDIR": f"{home}/.matplotlib",
            "XDG_CACHE_HOME": f"{home}/.cache", "IPYTHONDIR": f"{home}/.ipython"}


def _init(command: list[str], settings: Settings) -> None:
    """Process 1 of the new namespace: mount /proc, drop privileges, run the kernel, reap."""
    _check(_libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0), "pdeathsig")
    _mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    _drop_privileges(settings.uid)
    apply_limits(settings.limits)
    env = _private_env()
    kernel = os.fork()
    if kernel == 0:
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.execvpe(command[0], command, env)
    while True:  # process 1 reaps every orphan; it ends when the kernel ends
        pid, status = os.wait()
        if pid == kernel:
            os._exit(os.waitstatus_to_exitcode(status) % 256)


def _enter(command: list[str], settings: Settings, writable: dict[str, str]) -> None:
    """The child: new namespaces, confined file system, then process 1 runs the kernel."""
    _check(_libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0), "pdeathsig")
    _check(_libc.unshare(CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS),
           "unshare")
    _confine_filesystem(writable, _interpreter_folders(), settings.hide)
    os.chdir(os.getcwd())  # the new mount, not the read-only folder underneath
    init = os.fork()
    if init == 0:
        try:
            _init(command, settings)
        except BaseException as error:  # noqa: BLE001 (report, then leave the namespace)
            print(f"sandbox: {error}", file=sys.stderr, flush=True)
        os._exit(FAILED_TO_START)
    _, status = os.waitpid(init, 0)
    os._exit(os.waitstatus_to_exitcode(status) % 256)


# --- the grader's side ------------------------------------------------------------------

def _interpreter_folders() -> list[str]:
    """Folders the kernel must read: Python itself, the environment, course_lib's repository."""
    import course_lib
    folders = {sys.base_prefix, sys.prefix, str(Path(course_lib.__file__).resolve().parents[1])}
    return sorted(os.path.realpath(f) for f in folders)


def _connection_file(command: list[str]) -> str | None:
    if "-f" in command[:-1]:
        return os.path.abspath(command[command.index("-f") + 1])
    return None


def _small_folder(path: str) -> bool:
    """Whether ``path`` holds few enough files to copy for one kernel."""
    count = 0
    for _, dirs, files in os.walk(path):
        count += len(dirs) + len(files)
        if count > MAX_COPY_FILES:
            return False
    return True


def _chown_tree(path: Path, uid: int) -> None:
    """Give a scratch copy (always a fresh folder inside the workspace) to the sandbox user."""
    os.chown(path, uid, uid, follow_symlinks=False)
    for root, dirs, files in os.walk(path):
        for name in dirs + files:
            os.chown(os.path.join(root, name), uid, uid, follow_symlinks=False)


def run(command: list[str], settings: Settings) -> int:
    """Run ``command`` (a kernel) in the sandbox; return its exit code."""
    if not can_isolate():
        apply_limits(settings.limits)
        os.execvp(command[0], command)
    workspace = _checked_workspace(settings.workspace)
    own = os.getcwd()
    if not _small_folder(own):
        raise SystemExit(f"sandbox: the kernel's folder {own} holds more than {MAX_COPY_FILES} files")
    scratch = Path(tempfile.mkdtemp(prefix="kernel-", dir=workspace))
    writable = {own: str(scratch)}
    try:
        shutil.copytree(own, scratch, symlinks=True, dirs_exist_ok=True)
        _chown_tree(scratch, settings.uid)
        connection = _connection_file(command)
        if connection:  # the kernel reads this file and makes its sockets beside it
            folder = os.path.dirname(connection)
            if not _inside(folder, workspace):
                raise SystemExit(f"sandbox: the connection file {connection} lies outside {workspace}")
            os.chown(folder, settings.uid, settings.uid)
            os.chown(connection, settings.uid, settings.uid)
            writable[folder] = folder
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # an interrupt is for the kernel only
        child = os.fork()
        if child == 0:
            try:
                if settings.isolate:
                    _enter(command, settings, writable)
                else:
                    _unprivileged(command, settings, scratch)
            except BaseException as error:  # noqa: BLE001
                print(f"sandbox: {error}", file=sys.stderr, flush=True)
            os._exit(FAILED_TO_START)
        _, status = os.waitpid(child, 0)
        return os.waitstatus_to_exitcode(status)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _unprivileged(command: list[str], settings: Settings, scratch: Path) -> None:
    """Without namespaces: the kernel runs in the scratch copy as the sandbox user, with the limits."""
    _check(_libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0), "pdeathsig")
    os.chdir(scratch)
    _drop_privileges(settings.uid)
    apply_limits(settings.limits)
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    env = {**os.environ, "HOME": str(scratch), "TMPDIR": str(scratch), "MPLCONFIGDIR": f"{scratch}/.matplotlib"}
    os.execvpe(command[0], command, env)


def namespaces_allowed() -> bool:
    """Whether this machine lets root make the namespaces (util-linux ``unshare``; private mounts)."""
    if not can_isolate() or shutil.which("unshare") is None:
        return False
    flags = ["--mount", "--net", "--pid", "--ipc", "--uts", "--fork", "--propagation", "private"]
    return subprocess.run(["unshare", *flags, "true"], capture_output=True, timeout=30).returncode == 0


# --- what is enforced ---------------------------------------------------------------

PROBE = r'''
import os, socket, sys, json
report = {}
def attempt(name, action):
    try:
        action()
        report[name] = "allowed"
    except Exception as error:
        report[name] = "blocked (%s)" % type(error).__name__
targets = json.loads(sys.argv[1])
def read_secrets():
    for path in targets["hidden"]:
        if os.path.isfile(path) and os.path.getsize(path) or os.path.isdir(path) and os.listdir(path):
            return
    raise PermissionError("nothing to read")
def refuse(allowed):
    if not allowed:
        raise PermissionError()
attempt("read solutions, gradebook, other submissions", read_secrets)
attempt("write outside its folder", lambda: open(os.path.join(targets["outside"], "probe.txt"), "w").write("x"))
attempt("write in its folder", lambda: open("probe.txt", "w").write("x"))
attempt("network", lambda: socket.create_connection(("1.1.1.1", 53), timeout=2))
attempt("run as root", lambda: refuse(os.geteuid() == 0))
attempt("see other processes", lambda: refuse(len([p for p in os.listdir("/proc") if p.isdigit()]) > 3))
print(json.dumps(report))
'''


def probe(course: Path, settings: Settings) -> dict[str, str]:
    """Try what a hostile learner would try, inside the sandbox; report what happened."""
    workspace = make_workspace()
    try:
        own = workspace / "learner"
        own.mkdir()
        targets = {"hidden": [p for p in settings.hide if os.path.exists(p)], "outside": str(course)}
        command = [sys.executable, "-c", PROBE, json.dumps(targets)]
        settings = replace(settings, workspace=str(workspace))
        env = {**os.environ, ENV_SETTINGS: settings.to_env()}
        out = subprocess.run([sys.executable, "-m", "course_lib.instructor.sandbox", *command],
                             cwd=own, env=env, capture_output=True, text=True, timeout=60)
    finally:
        shutil.rmtree(workspace, ignore_errors=True)
    (Path(course) / "probe.txt").unlink(missing_ok=True)
    if out.returncode != 0:
        raise RuntimeError(f"the sandbox failed to start:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> None:
    command = list(sys.argv[1:] if argv is None else argv)
    if not command:
        sys.exit("usage: python -m course_lib.instructor.sandbox COMMAND [ARG...]")
    sys.exit(run(command, Settings.from_env()))


if __name__ == "__main__":
    main()
