"""A sandbox for learners' code: the kernels (and workers) that run submissions during autograding.

nbgrader starts a kernel for every notebook it grades. :func:`install_kernel`
writes a kernel spec named ``python3`` whose command starts this module first::

    python -m course_lib.instructor.sandbox python -m ipykernel_launcher -f CONNECTION_FILE

Any other command works the same way (``python -m course_lib.instructor.sandbox
COMMAND ...``): it runs in the learner's folder (the current directory), with
its standard streams and any inherited file descriptors intact. The settings
come from the environment variable ``COURSE_SANDBOX`` (:class:`Settings`).

Started as root on Linux, :func:`run`, before the command's first line runs:

1. makes a fresh folder for this kernel inside the grading run's *workspace*
   (a root-owned folder the grader made with :func:`make_workspace`), and
   gives the kernel a fresh **runtime folder** of its own: a tiny tmpfs at
   ``/run/jupyter`` inside the sandbox, owned by root with mode ``1733`` and
   mounted ``nosymfollow``. The kernel may create its sockets there but can
   neither list, change nor remove the folder, and the next kernel gets
   another one. If the command has ``-f CONNECTION_FILE`` (a Jupyter kernel),
   the kernel gets its own copy of that file, pointing its Unix sockets into
   that folder, and each socket path the grader uses becomes a link to the
   kernel's socket (through ``/proc/PID/root``): the grader's own runtime
   folder stays root's and is never shown to the kernel;
2. puts the kernel in a child cgroup (v2) with limits on memory, processes
   and CPU of the kernel and everything it starts, where the machine lets the
   grader use those controllers (:func:`cgroup_base`: a parent cgroup made
   for grading and named in ``COURSE_CGROUP``, see :data:`CGROUP_HELP`, or the
   grader's own cgroup if it is the root one); the cgroup is removed, with
   anything left in it, when the kernel ends;
3. in a child process, enters new mount, network, process-id, IPC and
   host-name namespaces (the mount namespace is made private first, so the
   machine never sees these mounts): no network but a loopback that is down,
   no other process visible;
4. builds a **new root by allow-list** on an empty, read-only tmpfs and
   ``pivot_root``\\ s into it. The kernel sees only: the interpreter and its
   standard library (``sys.base_prefix``), the environment with the installed
   packages (``sys.prefix``), course_lib's own folder (installed editable: not
   the rest of its repository), the shared libraries and programs of
   ``/usr`` (``bin``, ``lib*``), a few files of ``/etc`` (written for it: a
   ``passwd`` that knows the sandbox user, ``hosts``; and the loader's cache),
   ``/dev/null``, ``zero``, ``full``, ``random``, ``urandom``, a fresh
   ``/proc`` of its own, empty ``/tmp``, ``/var/tmp`` and ``/dev/shm``, its
   runtime folder at ``/run/jupyter``, and, at its usual path, a **copy of the
   learner's folder** on a tmpfs of its own. Nothing else of the course folder
   or the machine exists there (not ``solutions/``, the gradebook, other
   learners, ``submissions.zip``, other clones of the repository or the
   grader-only package: :data:`GRADER_ONLY`, covered with an empty folder
   should it be installed into the environment). Every writable file system is a size-limited tmpfs
   (``Limits.disk_bytes`` each), so a learner cannot fill the grader's disk;
5. drops to an unprivileged user id that no other running sandbox uses
   (from ``Settings.uid`` up; the per-user process limit is then the
   kernel's own) with no capabilities and ``no_new_privs``,
   sets resource limits (:class:`Limits`: CPU seconds, address space per
   process, processes of that user, file size, open files, no core dumps),
   and runs the command with an **allow-listed environment**
   (:data:`ENV_ALLOWED`, ``Settings.pass_env``, and ``PATH``, ``HOME``,
   ``TMPDIR``, ``JUPYTER_RUNTIME_DIR`` ... set for the sandbox): nothing else
   of the grader's environment.

When the kernel exits or is killed, the process-id namespace ends and every
process it started dies with it; the kernel's folder is deleted.

Fallbacks. Where the machine forbids namespaces (:func:`namespaces_allowed`;
some containers do), the command runs as the unprivileged user in a scratch
copy of the learner's folder (on the grader's disk, so only the per-file limit
bounds what it writes), with the allow-listed environment, a fresh
root-owned runtime folder (on the disk too, without ``nosymfollow``), the
resource limits and the cgroup where available, but it can read whatever
that user may read on the machine. It
refuses to start, with a message saying why, when that user cannot reach the
interpreter (for example pyenv in ``/root``, mode 700): install Python where
other users may read it, or grade where namespaces are allowed. Not root or
not Linux, the command gets the resource limits and the allow-listed
environment only. Without cgroup v2 controllers (cgroup v1 or a container
that does not delegate them), the limits are the per-process ``setrlimit``
ones only: the memory limit applies per process and the process limit per
user id, and CPU is not shared out. :func:`probe` says what is enforced on
this machine. Kernel messages travel over Unix sockets
(``KernelManager.transport = "ipc"``) because the kernel has no network.
"""

from __future__ import annotations

import ctypes
import json
import os
import platform
import resource
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

ENV_SETTINGS = "COURSE_SANDBOX"  # JSON of Settings, set by the grader for its kernels
CGROUP_ENV = "COURSE_CGROUP"  # a cgroup v2 folder made for grading (see CGROUP_HELP)
CGROUP_HELP = """\
As root, on a machine with cgroup v2 (/sys/fs/cgroup/cgroup.controllers lists memory, pids, cpu):
  mkdir /sys/fs/cgroup/course-grading
  echo '+memory +pids +cpu' > /sys/fs/cgroup/cgroup.subtree_control
  echo '+memory +pids +cpu' > /sys/fs/cgroup/course-grading/cgroup.subtree_control
  export COURSE_CGROUP=/sys/fs/cgroup/course-grading    # then run course autograde"""
WORKSPACE_PREFIX = "course-grading-"  # the grader's mkdtemp folders; nothing else is ever chowned
RUNTIME_INSIDE = "/run/jupyter"  # the kernel's runtime folder, as the kernel sees it
HOME_INSIDE = "/tmp/home"

# Names covered if they ever show up inside an allowed folder (a second layer: the
# allow-list already leaves the course folder and the repository out).
HIDDEN_NAMES = ("solutions", "source", "submitted", "autograded", "feedback", "release",
                "grades", ".course", ".git", "tests", "gradebook.db",
                "gradebook.db-journal", "gradebook.db-wal", "gradebook.db-shm")

# The grader's environment variables a kernel may see (everything else is dropped).
ENV_ALLOWED = ("LANG", "LANGUAGE", "LC_ALL", "LC_CTYPE", "LC_NUMERIC", "TZ", "TERM",
               "OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMEXPR_NUM_THREADS",
               "VECLIB_MAXIMUM_THREADS", "PYTHONHASHSEED", "PYTHONUNBUFFERED", "PYTHONWARNINGS",
               "PYTHONDONTWRITEBYTECODE", "MPLBACKEND", "PYDEVD_DISABLE_FILE_VALIDATION",
               "JUPYTER_PLATFORM_DIRS", "JPY_SESSION_NAME")

CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC = 0x00020000, 0x04000000, 0x08000000
CLONE_NEWPID, CLONE_NEWNET = 0x20000000, 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 32, 4096, 16384, 1 << 18
MNT_DETACH, MS_NOSYMFOLLOW = 2, 256
PR_SET_PDEATHSIG, PR_SET_NO_NEW_PRIVS = 1, 38
SYS_PIVOT_ROOT = {"x86_64": 155, "aarch64": 41, "arm64": 41, "riscv64": 41, "ppc64le": 203,
                  "s390x": 217, "i686": 217, "armv7l": 218}
MOUNT_FLAGS = {"ro": MS_RDONLY, "nosuid": MS_NOSUID, "nodev": MS_NODEV, "noexec": MS_NOEXEC}
FAILED_TO_START = 111  # exit code of a sandbox that could not be built
FRESH_TMP = ("/tmp", "/var/tmp", "/dev/shm")  # each an empty tmpfs in the sandbox
DEVICES = ("null", "zero", "full", "random", "urandom")
USR = ("bin", "lib", "lib32", "lib64", "libx32", "libexec", "share/zoneinfo")
ETC_FILES = ("ld.so.cache", "ld.so.conf", "ld.so.conf.d", "localtime", "mime.types", "fonts")
UID_LOCKS = "/run/lock/course-sandbox" if os.path.isdir("/run/lock") else "/tmp/course-sandbox-uids"
UID_RANGE = 1000  # kernels at once on one machine, at most
GRADER_ONLY = ("course_grader",)  # packages of the trusted grader: never visible to a kernel
MAX_COPY_FILES = 1000  # a learner's folder larger than this is not copied (a kernel started in / ...)

_libc = ctypes.CDLL(None, use_errno=True)


@dataclass
class Limits:
    """Resource limits of one kernel.

    ``setrlimit`` always (per process, but ``processes``: per user id); with
    cgroup v2, ``memory_bytes`` and ``processes`` also bound the kernel and
    everything it starts together, and ``cpus`` caps the CPU it may use.
    """

    cpu_seconds: int = 300           # CPU time of the kernel process; then SIGXCPU ends it
    memory_bytes: int = 4 << 30      # address space per process; with cgroups, memory of the whole kernel
    processes: int = 256             # processes and threads of the sandbox user (cgroup: of the kernel)
    file_bytes: int = 64 << 20       # largest file the kernel may write
    open_files: int = 256
    disk_bytes: int = 256 << 20      # size of each writable file system (its folder, /tmp, /var/tmp, /dev/shm)
    cpus: float = 1.0                # cgroup cpu.max: CPUs' worth of time the kernel may use


@dataclass
class Settings:
    """What the grader tells the sandbox through the environment."""

    uid: int = 64000                 # the unprivileged user the kernel runs as (the first one free from here)
    hide: tuple[str, ...] = ()       # absolute paths covered if they lie inside an allowed folder
    workspace: str = ""              # the grading run's mkdtemp folder (kernel folders, connection files)
    limits: Limits = field(default_factory=Limits)
    isolate: bool = True             # False: no namespaces (another user id and the limits only)
    readable: tuple[str, ...] = ()   # more folders or files the kernel may read (read-only)
    pass_env: tuple[str, ...] = ()   # more environment variables passed to the kernel

    def to_env(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_env(cls) -> "Settings":
        data = json.loads(os.environ.get(ENV_SETTINGS, "{}"))
        limits = Limits(**data.pop("limits", {}))
        tuples = {name: tuple(data.get(name, ())) for name in ("hide", "readable", "pass_env")}
        return cls(**{**data, **tuples, "limits": limits})


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
    """Paths to cover inside each folder, should an allowed folder ever hold them."""
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


def allowed_paths(settings: Settings | None = None) -> list[str]:
    """What the kernel may read besides its own folder: Python, the environment, course_lib, /usr."""
    import course_lib
    folders = {sys.base_prefix, sys.prefix, str(Path(course_lib.__file__).resolve().parent)}
    folders.update(f"/usr/{name}" for name in USR)
    folders.update(settings.readable if settings else ())
    return sorted({os.path.realpath(f) for f in folders if os.path.exists(f)})


def grader_only_paths() -> list[str]:
    """Where the grader-only packages (:data:`GRADER_ONLY`) are installed, as we find them.

    Installed editable, they live outside every allowed folder and the kernel
    never sees them; installed into the environment, they are covered.
    """
    import importlib.util
    paths = []
    for name in GRADER_ONLY:
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            continue
        if spec is not None:
            paths += list(spec.submodule_search_locations or []) or ([spec.origin] if spec.origin else [])
    return sorted({os.path.realpath(p) for p in paths})


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


def _pivot_root(new_root: str) -> None:
    """Make ``new_root`` the root of this mount namespace and drop the old one."""
    os.chdir(new_root)
    number = SYS_PIVOT_ROOT.get(platform.machine())
    if number is None:  # an architecture we do not know the call's number for: chroot (no capability is kept)
        os.chroot(".")
    else:
        _check(_libc.syscall(number, b".", b"."), "pivot_root")
        _check(_libc.umount2(b".", MNT_DETACH), "umount old root")
    os.chdir("/")


# --- cgroup v2 ------------------------------------------------------------------------

def cgroup_base() -> Path | None:
    """The cgroup v2 folder under which each kernel gets a child with memory, pids and cpu limits.

    cgroup v2 lets a cgroup hand controllers to children only while it holds
    no process itself (but for the root), so the grader cannot use its own
    cgroup unless it runs in the root one. The instructor may name a parent
    made for grading in ``COURSE_CGROUP`` (see :data:`CGROUP_HELP`); else our
    own cgroup is tried. None: no cgroup limits here (rlimits only).
    """
    candidates = []
    if os.environ.get(CGROUP_ENV):
        candidates.append(Path(os.environ[CGROUP_ENV]))
    try:
        own = next(line[3:] for line in Path("/proc/self/cgroup").read_text().splitlines()
                   if line.startswith("0::"))
        mounts = [line.split() for line in Path("/proc/self/mountinfo").read_text().splitlines()]
        point = next(f[4] for f in mounts if f[f.index("-") + 1] == "cgroup2")
        candidates.append(Path(point) / own.lstrip("/"))
    except (OSError, StopIteration, ValueError):
        pass
    wanted = {"memory", "pids", "cpu"}
    for base in candidates:
        try:
            enabled = set((base / "cgroup.subtree_control").read_text().split())
            if not wanted <= enabled:
                if not wanted <= set((base / "cgroup.controllers").read_text().split()):
                    continue
                (base / "cgroup.subtree_control").write_text(" ".join(f"+{c}" for c in sorted(wanted - enabled)))
        except OSError:
            continue  # not delegated to us, or this cgroup holds processes (cgroup v2 forbids both)
        if os.access(base, os.W_OK):
            return base
    return None


class Cgroup:
    """A child cgroup for one kernel: memory, processes and CPU of everything it starts."""

    def __init__(self, base: Path, limits: Limits):
        self.path = Path(tempfile.mkdtemp(prefix="course-kernel-", dir=base))
        values = {"memory.max": limits.memory_bytes, "memory.swap.max": 0, "pids.max": limits.processes,
                  "cpu.max": f"{max(1000, int(limits.cpus * 100_000))} 100000"}
        for name, value in values.items():
            if (self.path / name).exists():
                (self.path / name).write_text(str(value))

    def join(self) -> None:
        """Move the calling process (and so all it will start) into this cgroup."""
        (self.path / "cgroup.procs").write_text(str(os.getpid()))

    def remove(self) -> None:
        """Kill what is left in the cgroup and remove it."""
        kill = self.path / "cgroup.kill"
        try:
            if kill.exists():
                kill.write_text("1")
            else:
                for pid in (self.path / "cgroup.procs").read_text().split():
                    os.kill(int(pid), signal.SIGKILL)
        except OSError:
            pass
        for _ in range(50):
            try:
                self.path.rmdir()
                return
            except FileNotFoundError:
                return
            except OSError:
                time.sleep(0.02)


# --- building the sandbox (in the child, inside the new namespaces) -------------------

def _target(root: str, path: str) -> str:
    return os.path.join(root, os.path.relpath(path, "/"))


def _bind(source: str, target: str, flags: int) -> None:
    """Bind ``source`` (folder or file) at ``target``, with ``flags`` (MS_RDONLY, ...) on every mount."""
    if os.path.isdir(source):
        os.makedirs(target, exist_ok=True)
    else:
        os.makedirs(os.path.dirname(target), exist_ok=True)
        if not os.path.lexists(target):
            open(target, "w").close()
    _mount(source, target, None, MS_BIND | MS_REC)
    for point, own in _mount_points():  # the folder and every mount below it
        if point == target or point.startswith(target.rstrip("/") + "/"):
            _mount(None, point, None, MS_REMOUNT | MS_BIND | own | flags)


def _write(path: str, text: str) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    Path(path).write_text(text)


def _copy_learner(own: str, target: str, uid: int) -> None:
    """The learner's files, copied to ``target`` and given to ``uid``."""
    shutil.copytree(own, target, symlinks=True, dirs_exist_ok=True)
    _chown_tree(Path(target), uid)


def _build_root(root: str, own: str, connection: dict | None, settings: Settings) -> None:
    """The new root, by allow-list, in the folder ``root`` (see the module's docstring)."""
    limits = settings.limits
    _mount("tmpfs", root, "tmpfs", MS_NOSUID | MS_NODEV, "size=4m,mode=755")
    for tmp in FRESH_TMP:
        os.makedirs(_target(root, tmp), exist_ok=True)
        _mount("tmpfs", _target(root, tmp), "tmpfs", MS_NOSUID | MS_NODEV,
               f"size={limits.disk_bytes},mode=1777")
    for name in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):  # merged /usr: links into it
        if os.path.islink(f"/{name}"):
            os.symlink(os.readlink(f"/{name}"), _target(root, f"/{name}"))
    for path in allowed_paths(settings):
        _bind(path, _target(root, path), MS_RDONLY | MS_NOSUID | MS_NODEV)
    for name in ETC_FILES:
        source = os.path.realpath(f"/etc/{name}")
        if os.path.exists(source):
            _bind(source, _target(root, f"/etc/{name}"), MS_RDONLY | MS_NOSUID | MS_NODEV)
    uid = settings.uid
    _write(_target(root, "/etc/passwd"),
           f"root:x:0:0:root:/root:/usr/sbin/nologin\nlearner:x:{uid}:{uid}:learner:{HOME_INSIDE}:/usr/sbin/nologin\n")
    _write(_target(root, "/etc/group"), f"root:x:0:\nlearner:x:{uid}:\n")
    _write(_target(root, "/etc/hosts"), "127.0.0.1 localhost sandbox\n::1 localhost\n")
    _write(_target(root, "/etc/hostname"), "sandbox\n")
    _write(_target(root, "/etc/nsswitch.conf"), "passwd: files\ngroup: files\nhosts: files\n")
    for name in DEVICES:
        _bind(f"/dev/{name}", _target(root, f"/dev/{name}"), MS_NOSUID)
    for name, target in (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"),
                         ("stdout", "/proc/self/fd/1"), ("stderr", "/proc/self/fd/2")):
        os.symlink(target, _target(root, f"/dev/{name}"))
    os.makedirs(_target(root, "/proc"))
    # The learner's folder: a copy on a tmpfs of its own, at its usual path.
    inside = _target(root, own)
    os.makedirs(inside, exist_ok=True)
    _mount("tmpfs", inside, "tmpfs", MS_NOSUID | MS_NODEV, f"size={limits.disk_bytes},mode=755")
    _copy_learner(own, inside, uid)
    runtime = _target(root, RUNTIME_INSIDE)  # fresh, root's, mode 1733: the kernel adds sockets, nothing more
    os.makedirs(runtime)
    # nosymfollow: the grader connects to the sockets through this folder; a link the kernel put
    # in their place must not lead it to a socket of the machine's (Linux 5.10 and later).
    flags, options = MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=1m,nr_inodes=64,mode=1733"
    try:
        _mount("tmpfs", runtime, "tmpfs", flags | MS_NOSYMFOLLOW, options)
    except OSError:
        _mount("tmpfs", runtime, "tmpfs", flags, options)
    _write_connection(runtime, connection, uid)
    allowed = allowed_paths(settings)
    for path in [*settings.hide, *grader_only_paths()]:  # should an allowed folder hold one, cover it
        if not any(_inside(path, Path(folder)) for folder in allowed):
            continue  # not in the new root at all
        covered = _target(root, path)
        if os.path.isdir(covered) and not os.path.islink(covered):
            _mount("tmpfs", covered, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV, "size=4k,mode=755")
        elif os.path.isfile(covered) and not os.path.islink(covered):
            _bind("/dev/null", covered, MS_RDONLY)


def _enter(command: list[str], settings: Settings, own: str, kernel_dir: Path, connection: dict | None) -> None:
    """The child: new namespaces, a new root by allow-list, then process 1 runs the command."""
    _check(_libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0), "pdeathsig")
    _check(_libc.unshare(CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS),
           "unshare")
    _mount(None, "/", None, MS_REC | MS_PRIVATE)  # nothing below reaches the machine's mounts
    root = str(kernel_dir / "root")
    os.mkdir(root, 0o755)
    _build_root(root, own, connection, settings)
    _pivot_root(root)
    _mount(None, "/", None, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, "size=4m,mode=755")
    _check(_libc.sethostname(b"sandbox", 7), "sethostname")
    os.chdir(own)
    init = os.fork()
    if init == 0:
        try:
            _init(command, settings)
        except BaseException as error:  # noqa: BLE001 (report, then leave the namespace)
            print(f"sandbox: {error}", file=sys.stderr, flush=True)
        os._exit(FAILED_TO_START)
    _, status = os.waitpid(init, 0)
    os._exit(os.waitstatus_to_exitcode(status) % 256)


def _init(command: list[str], settings: Settings) -> None:
    """Process 1 of the new namespace: mount /proc, drop privileges, run the command, reap."""
    _check(_libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0), "pdeathsig")
    _mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    _drop_privileges(settings.uid)
    apply_limits(settings.limits)
    os.makedirs(HOME_INSIDE, exist_ok=True)
    # JPY_PARENT_PID=1: ipykernel does not watch its parent, which here is process 1 and would
    # look dead to it; the kernel ends with the namespace anyway.
    env = kernel_env(settings, home=HOME_INSIDE, tmp="/tmp", runtime=RUNTIME_INSIDE, extra={"JPY_PARENT_PID": "1"})
    kernel = os.fork()
    if kernel == 0:
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.execvpe(command[0], command, env)
    while True:  # process 1 reaps every orphan; it ends when the kernel ends
        pid, status = os.wait()
        if pid == kernel:
            os._exit(os.waitstatus_to_exitcode(status) % 256)


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
    parent = os.getppid()
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)  # from root to another id: every capability goes
    _check(_libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs")
    # Changing user clears the parent-death signal: set it again, so that killing the sandbox
    # (as jupyter_client does with a kernel that stops answering) ends the kernel too.
    _check(_libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0), "pdeathsig")
    if os.getppid() != parent:
        os._exit(FAILED_TO_START)


def kernel_env(settings: Settings, home: str, tmp: str, runtime: str | None,
               extra: dict[str, str] | None = None) -> dict[str, str]:
    """The command's environment: the allowed variables of ours, and the sandbox's own."""
    names = set(ENV_ALLOWED) | set(settings.pass_env)
    env = {name: value for name, value in os.environ.items() if name in names}
    env.setdefault("LANG", "C.UTF-8")
    env.update({"PATH": os.pathsep.join([os.path.dirname(sys.executable), "/usr/bin", "/bin"]),
                "HOME": home, "USER": "learner", "LOGNAME": "learner", "TMPDIR": tmp,
                "MPLCONFIGDIR": f"{home}/.matplotlib", "XDG_CACHE_HOME": f"{home}/.cache",
                "XDG_CONFIG_HOME": f"{home}/.config", "IPYTHONDIR": f"{home}/.ipython",
                "JUPYTER_CONFIG_DIR": f"{home}/.jupyter", "JUPYTER_DATA_DIR": f"{home}/.local/share/jupyter",
                **({"JUPYTER_RUNTIME_DIR": runtime} if runtime else {}), **(extra or {})})
    return env


# --- the grader's side ------------------------------------------------------------------

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
    """Give a copy of the learner's folder (always a fresh one of this kernel's) to the sandbox user."""
    os.chown(path, uid, uid, follow_symlinks=False)
    for root, dirs, files in os.walk(path):
        for name in dirs + files:
            os.chown(os.path.join(root, name), uid, uid, follow_symlinks=False)


def _kernel_connection(command: list[str], workspace: Path, runtime: str) -> tuple[list[str], dict | None, dict]:
    """The kernel's own connection file, with its Unix sockets in its runtime folder.

    ``runtime`` is that folder as the kernel sees it. Returns the command
    (``-f`` now names the kernel's copy), the copy's content (None: no ``-f``)
    and, for each socket path the grader will use, the socket's name in the
    kernel's folder: the sandbox makes each grader path a link to it (a Unix
    socket is found through links), so the grader's own runtime folder is
    never given to the kernel.
    """
    connection = _connection_file(command)
    if connection is None:
        return command, None, {}
    if not _inside(connection, workspace):
        raise SystemExit(f"sandbox: the connection file {connection} lies outside {workspace}")
    info = json.loads(Path(connection).read_text())
    sockets = {}
    if info.get("transport") == "ipc":
        grader_ip = info["ip"] if os.path.isabs(info["ip"]) else os.path.join(os.path.dirname(connection), info["ip"])
        for key in ("shell_port", "iopub_port", "stdin_port", "control_port", "hb_port"):
            if key in info:
                link = f"{grader_ip}-{info[key]}"
                if not _inside(link, workspace):
                    raise SystemExit(f"sandbox: the kernel's socket {link} would lie outside {workspace}")
                sockets[link] = f"kernel-{info[key]}"
        info["ip"] = f"{runtime}/kernel"
    command = list(command)
    command[command.index("-f") + 1] = f"{runtime}/kernel.json"
    return command, info, sockets


def _write_connection(folder: str, info: dict | None, uid: int) -> None:
    """Write the kernel's connection file (mode 600, the kernel's) in its runtime folder."""
    if info is None:
        return
    path = os.path.join(folder, "kernel.json")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(info, f)
    os.chown(path, uid, uid)


def _link_sockets(sockets: dict[str, str], folder: str) -> list[str]:
    """Make each grader socket path a link to the kernel's socket of that name in ``folder``."""
    for link, name in sockets.items():
        if os.path.lexists(link):
            os.unlink(link)
        os.symlink(os.path.join(folder, name), link)
    return list(sockets)


def run(command: list[str], settings: Settings) -> int:
    """Run ``command`` (a kernel) in the sandbox; return its exit code."""
    if not can_isolate():
        apply_limits(settings.limits)
        env = kernel_env(settings, home=os.environ.get("HOME", os.getcwd()), tmp=tempfile.gettempdir(),
                         runtime=os.environ.get("JUPYTER_RUNTIME_DIR"),
                         extra={k: os.environ[k] for k in ("JPY_PARENT_PID",) if k in os.environ})
        os.execvpe(command[0], command, env)
    workspace = _checked_workspace(settings.workspace)
    own = os.getcwd()
    if not _small_folder(own):
        raise SystemExit(f"sandbox: the kernel's folder {own} holds more than {MAX_COPY_FILES} files")
    uid, uid_lock = _free_uid(settings.uid)  # held until this kernel ends
    settings = replace(settings, uid=uid)
    kernel_dir = Path(tempfile.mkdtemp(prefix="kernel-", dir=workspace))
    kernel_dir.chmod(0o711)
    links: list[str] = []
    cgroup = None
    try:
        # The runtime folder: with namespaces a tiny tmpfs inside the sandbox (the grader reaches
        # its sockets through /proc/PID/root); without, a folder of this kernel's on the disk.
        # Either way fresh, root's, mode 1733.
        runtime = RUNTIME_INSIDE if settings.isolate else str(kernel_dir / "runtime")
        command, info, sockets = _kernel_connection(command, workspace, runtime)
        if not settings.isolate:
            os.mkdir(runtime)
            os.chmod(runtime, 0o1733)
            _write_connection(runtime, info, settings.uid)
            links = _link_sockets(sockets, runtime)
        base = cgroup_base()
        cgroup = Cgroup(base, settings.limits) if base else None
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # an interrupt is for the kernel only
        child = os.fork()
        if child == 0:
            try:
                if cgroup:
                    cgroup.join()
                if settings.isolate:
                    _enter(command, settings, own, kernel_dir, info)
                else:
                    _unprivileged(command, settings, own, kernel_dir, runtime)
            except BaseException as error:  # noqa: BLE001
                print(f"sandbox: {error}", file=sys.stderr, flush=True)
            os._exit(FAILED_TO_START)
        if settings.isolate:
            links = _link_sockets(sockets, f"/proc/{child}/root{RUNTIME_INSIDE}")
        _, status = os.waitpid(child, 0)
        return os.waitstatus_to_exitcode(status)
    finally:
        if cgroup:
            cgroup.remove()
        for link in links:
            if os.path.islink(link):
                os.unlink(link)
        shutil.rmtree(kernel_dir, ignore_errors=True)
        os.close(uid_lock)


def _free_uid(first: int) -> tuple[int, int]:
    """A user id no other running sandbox uses, from ``first`` up, and the descriptor that holds it.

    The process limit counts processes per user id across the machine, so two
    kernels under one id (two grading runs at once, or ``course sandbox``
    beside a run) would share it: a fork bomb in one would stop the other.
    Each id is held with a lock on a file of :data:`UID_LOCKS` for the
    kernel's lifetime (the lock goes when the process ends, however it ends).
    """
    import fcntl
    os.makedirs(UID_LOCKS, mode=0o700, exist_ok=True)
    st = os.lstat(UID_LOCKS)
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.geteuid() or st.st_mode & 0o022:
        raise SystemExit(f"sandbox: {UID_LOCKS} must be a folder of ours that nobody else may write")
    for uid in range(first, first + UID_RANGE):
        fd = os.open(os.path.join(UID_LOCKS, str(uid)), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return uid, fd
        except BlockingIOError:
            os.close(fd)
    raise SystemExit(f"sandbox: user ids {first} to {first + UID_RANGE - 1} are all in use")


def _closed_ancestor(path: str, uid: int) -> str | None:
    """The first folder on the way to ``path`` that ``uid`` (not its owner, no group) may not pass."""
    for folder in [*reversed(Path(path).parents), Path(path)]:
        st = os.stat(folder)
        allowed = st.st_mode & (stat.S_IXUSR if st.st_uid == uid else stat.S_IXOTH)
        if not allowed:
            return str(folder)
    return None


def _unprivileged(command: list[str], settings: Settings, own: str, kernel_dir: Path, runtime: str) -> None:
    """Without namespaces: the command runs in a scratch copy as the sandbox user, with the limits."""
    _check(_libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0), "pdeathsig")
    for path in allowed_paths(settings):
        closed = _closed_ancestor(path, settings.uid)
        if closed:
            raise SystemExit(
                f"without namespaces the kernel runs as user {settings.uid}, which may not enter "
                f"{closed} (on the way to {path}); install Python and the course's environment where other "
                "users may read them (e.g. /opt), or grade as root where namespaces are allowed")
    scratch = kernel_dir / "learner"
    _copy_learner(own, str(scratch), settings.uid)
    os.chdir(scratch)
    _drop_privileges(settings.uid)
    apply_limits(settings.limits)
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    env = kernel_env(settings, home=str(scratch), tmp=str(scratch), runtime=runtime,
                     extra={k: os.environ[k] for k in ("JPY_PARENT_PID",) if k in os.environ})
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
def read_any(paths):
    for path in paths:
        if os.path.isfile(path) and open(path, "rb").read(1) or os.path.isdir(path) and os.listdir(path):
            return
    raise PermissionError("nothing to read")
def refuse(allowed):
    if not allowed:
        raise PermissionError()
def break_runtime():
    folder = os.environ.get("JUPYTER_RUNTIME_DIR", "")
    os.chmod(folder, 0)
attempt("read solutions, gradebook, other submissions", lambda: read_any(targets["hidden"]))
attempt("read the course folder outside its own", lambda: read_any([targets["outside"]]))
attempt("read the repository beside course_lib", lambda: read_any(targets["repository"]))
attempt("see the grader's environment", lambda: refuse(targets["secret"] in os.environ))
attempt("write outside its folder", lambda: open(os.path.join(targets["outside"], "probe.txt"), "w").write("x"))
attempt("write in its folder", lambda: open("probe.txt", "w").write("x"))
attempt("break its runtime folder", break_runtime)
attempt("network", lambda: socket.create_connection(("1.1.1.1", 53), timeout=2))
attempt("run as root", lambda: refuse(os.geteuid() == 0))
attempt("see other processes", lambda: refuse(len([p for p in os.listdir("/proc") if p.isdigit()]) > 3))
print(json.dumps(report))
'''
PROBE_SECRET = "COURSE_PROBE_SECRET"


def probe(course: Path, settings: Settings) -> dict[str, str]:
    """Try what a hostile learner would try, inside the sandbox; report what happened."""
    import course_lib
    repository = Path(course_lib.__file__).resolve().parents[1]
    workspace = make_workspace()
    try:
        own = workspace / "learner"
        own.mkdir()
        targets = {"hidden": [p for p in settings.hide if os.path.exists(p)], "outside": str(course),
                   "repository": [str(p) for p in repository.iterdir()
                                  if str(p.resolve()) not in allowed_paths(settings) and p.name != "course_lib"],
                   "secret": PROBE_SECRET}
        command = [sys.executable, "-c", PROBE, json.dumps(targets)]
        settings = replace(settings, workspace=str(workspace))
        env = {**os.environ, ENV_SETTINGS: settings.to_env(), PROBE_SECRET: "grader only"}
        out = subprocess.run([sys.executable, "-m", "course_lib.instructor.sandbox", *command],
                             cwd=own, env=env, capture_output=True, text=True, timeout=60)
    finally:
        shutil.rmtree(workspace, ignore_errors=True)
    (Path(course) / "probe.txt").unlink(missing_ok=True)
    if out.returncode != 0:
        raise RuntimeError(f"the sandbox failed to start:\n{out.stderr}")
    report = json.loads(out.stdout.strip().splitlines()[-1])
    report["cgroup v2 limits (memory, processes, CPU)"] = (
        "enforced" if cgroup_base() else f"not available: rlimits only (to enable, see {CGROUP_ENV} in the guide)")
    return report


def main(argv: list[str] | None = None) -> None:
    command = list(sys.argv[1:] if argv is None else argv)
    if not command:
        sys.exit("usage: python -m course_lib.instructor.sandbox COMMAND [ARG...]")
    sys.exit(run(command, Settings.from_env()))


if __name__ == "__main__":
    main()
