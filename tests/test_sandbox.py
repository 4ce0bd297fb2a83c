"""The grading sandbox: what a command run through it can see and do, and learners who attack it.

The first tests run small commands through ``python -m
course_lib.instructor.sandbox`` as the grader does (any command, in the
learner's folder): the allow-list of mounts, the allow-listed environment, a
fresh root-owned runtime folder, size-limited writable folders. The last ones
grade, through the real ``course autograde --jobs 2``, learners who break
their runtime folder, fill the disk or leave processes behind, beside honest
learners graded after them, who must keep full marks.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from course_lib.instructor import sandbox
from tests import pipeline
from tests.submissions.make import LAST as LAST_ID, solved, _cell
from tests.test_instructor import FULL, LAST, NAME, course

pytestmark = pytest.mark.xdist_group("instructor")  # beside test_instructor, never at the same time
ISOLATED = sandbox.namespaces_allowed()
needs_namespaces = pytest.mark.skipif(not ISOLATED, reason="this machine forbids namespaces (or we are not root)")


@pytest.fixture
def place(tmp_path):
    """A course folder with secrets, two learners' folders and a grading workspace."""
    root = tmp_path / "course"
    own = root / "autograded" / "ana" / "ch1"
    other = root / "autograded" / "bob" / "ch1"
    for folder in (own, other, root / "solutions" / "ch1"):
        folder.mkdir(parents=True)
    (own / "answer.txt").write_text("mine")
    (other / "answer.txt").write_text("bob's")
    (root / "solutions" / "ch1" / "key.txt").write_text("the answers")
    (root / "submissions.zip").write_bytes(b"PK secret")
    (root / "gradebook.db").write_bytes(b"grades")
    workspace = sandbox.make_workspace()
    yield root, own, workspace
    shutil.rmtree(workspace, ignore_errors=True)


def through_sandbox(own: Path, workspace: Path, code: str, **settings) -> subprocess.CompletedProcess:
    """Run ``python -c code`` through the sandbox in ``own``, as the grader starts its kernels."""
    env = {**os.environ, "GRADER_SECRET": "only the grader knows",
           sandbox.ENV_SETTINGS: sandbox.Settings(workspace=str(workspace), **settings).to_env()}
    return subprocess.run([sys.executable, "-m", "course_lib.instructor.sandbox", sys.executable, "-c", code],
                          cwd=own, env=env, capture_output=True, text=True, timeout=120)


def report(result: subprocess.CompletedProcess) -> dict:
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


LOOK = r"""
import json, os, sys
targets = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
def readable(path):
    try:
        with open(path, 'rb') as f:
            return bool(f.read(1))
    except OSError:
        return False
runtime = os.environ.get('JUPYTER_RUNTIME_DIR', '')
st = os.stat(runtime)
try:
    os.chmod(runtime, 0)
    chmod = 'allowed'
except OSError as error:
    chmod = type(error).__name__
import course_lib, numpy
print(json.dumps({
    'read': {p: readable(p) for p in targets.get('paths', [])},
    'env': sorted(os.environ), 'secret': 'GRADER_SECRET' in os.environ,
    'root': sorted(os.listdir('/')), 'uid': os.getuid(), 'own': open('answer.txt').read(),
    'runtime': [st.st_uid, oct(st.st_mode & 0o7777), chmod],
    'course_lib': course_lib.__file__, 'course_grader': __import__('importlib').util.find_spec('course_grader') is not None, 'repository': sorted(os.listdir(os.path.dirname(os.path.dirname(course_lib.__file__)))),
}))
"""


@needs_namespaces
def test_a_command_sees_its_own_folder_python_and_packages_and_nothing_else(place):
    root, own, workspace = place
    secrets = [root / "solutions" / "ch1" / "key.txt", root / "submissions.zip", root / "gradebook.db",
               root / "autograded" / "bob" / "ch1" / "answer.txt", pipeline.ROOT / "pyproject.toml",
               pipeline.ROOT / "nbgrader_config.py", *sorted((pipeline.COURSE.solutions / "ch1").glob("*.ipynb"))]
    code = LOOK.replace("targets = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}",
                        f"targets = {json.dumps({'paths': [str(p) for p in secrets]})}")
    out = report(through_sandbox(own, workspace, code))
    assert out["own"] == "mine" and out["uid"] >= 64000
    assert not any(out["read"].values()), out["read"]
    assert not out["course_grader"]  # the grader-only package is not there
    assert out["repository"] == sorted({"course_lib", ".venv"} & set(os.listdir(pipeline.ROOT))), out["repository"]
    assert set(out["root"]) <= {"bin", "sbin", "lib", "lib32", "lib64", "libx32", "usr", "etc", "dev", "proc",
                                "tmp", "var", "run", *{p.split("/")[1] for p in sandbox.allowed_paths()},
                                own.parts[1]}, out["root"]


@needs_namespaces
def test_the_grader_only_package_is_covered_even_inside_an_allowed_folder(place, tmp_path):
    _, own, workspace = place
    packages = tmp_path / "site-packages"  # as if course_grader were installed into the environment
    (packages / "course_grader").mkdir(parents=True)
    (packages / "course_grader" / "__init__.py").write_text("REFERENCES = 'secret'\n")
    (packages / "numbers_helper.py").write_text("X = 1\n")
    env = {**os.environ, "PYTHONPATH": str(packages), sandbox.ENV_SETTINGS: sandbox.Settings(
        workspace=str(workspace), readable=(str(packages),)).to_env()}
    code = f"import os; print(sorted(os.listdir({str(packages)!r})), os.listdir({str(packages / 'course_grader')!r}))"
    result = subprocess.run([sys.executable, "-m", "course_lib.instructor.sandbox", sys.executable, "-c", code],
                            cwd=own, env=env, capture_output=True, text=True, timeout=60)
    assert result.stdout.split("]", 1)[1].strip() == "[]", result.stdout + result.stderr[-1000:]
    assert "numbers_helper.py" in result.stdout  # the rest of the folder is there


@needs_namespaces
def test_the_environment_is_allow_listed(place):
    _, own, workspace = place
    out = report(through_sandbox(own, workspace, LOOK))
    assert not out["secret"]
    assert {"PATH", "HOME", "TMPDIR", "JUPYTER_RUNTIME_DIR", "LANG"} <= set(out["env"])
    assert set(out["env"]) <= set(sandbox.ENV_ALLOWED) | {
        "PATH", "HOME", "USER", "LOGNAME", "TMPDIR", "MPLCONFIGDIR", "XDG_CACHE_HOME", "XDG_CONFIG_HOME",
        "IPYTHONDIR", "JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR", "JUPYTER_RUNTIME_DIR", "JPY_PARENT_PID"}
    out = report(through_sandbox(own, workspace, LOOK.replace("'secret': 'GRADER_SECRET' in os.environ",
                                                              "'secret': os.environ.get('GRADER_SECRET')"),
                                 pass_env=("GRADER_SECRET",)))
    assert out["secret"] == "only the grader knows"  # what the grader passes on purpose


def test_kernel_env_keeps_only_allowed_names(monkeypatch):
    """The environment every path gets (namespaces, no namespaces, not root): no grader secret."""
    monkeypatch.setenv("GRADER_SECRET", "x")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "x")
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    env = sandbox.kernel_env(sandbox.Settings(), home="/h", tmp="/t", runtime="/r")
    assert "GRADER_SECRET" not in env and "AWS_SECRET_ACCESS_KEY" not in env and sandbox.ENV_SETTINGS not in env
    assert env["OMP_NUM_THREADS"] == "3" and env["HOME"] == "/h" and env["JUPYTER_RUNTIME_DIR"] == "/r"
    assert env["PATH"].split(os.pathsep)[0] == os.path.dirname(sys.executable)
    env = sandbox.kernel_env(sandbox.Settings(pass_env=("GRADER_SECRET",)), home="/h", tmp="/t", runtime=None)
    assert env["GRADER_SECRET"] == "x" and "JUPYTER_RUNTIME_DIR" not in env


@needs_namespaces
def test_every_command_gets_a_fresh_root_owned_runtime_folder(place):
    _, own, workspace = place
    leave = ("import os\nr = os.environ['JUPYTER_RUNTIME_DIR']\nprint(os.path.exists(os.path.join(r, 'left')))\n"
             "open(os.path.join(r, 'left'), 'w').write('x')\n")
    for _ in range(2):  # what the first one left is not in the second one's folder
        assert through_sandbox(own, workspace, leave).stdout.strip() == "False"
    out = report(through_sandbox(own, workspace, LOOK))
    assert out["runtime"] == [0, "0o1733", "PermissionError"]  # root's, and chmod is refused
    listing = through_sandbox(own, workspace, "import os; os.listdir(os.environ['JUPYTER_RUNTIME_DIR'])")
    assert "PermissionError" in listing.stderr  # it may add sockets to it, not list it
    link = through_sandbox(own, workspace, "import os; r = os.environ['JUPYTER_RUNTIME_DIR']\n"
                           "os.symlink('/etc/hosts', r + '/kernel-1')\nopen(r + '/kernel-1').read()")
    assert "Too many levels of symbolic links" in link.stderr  # links there lead nowhere, for the grader too
    assert os.listdir(workspace) == []  # every kernel's folder is gone


@needs_namespaces
def test_writes_stay_in_size_limited_copies(place):
    root, own, workspace = place
    fill = ("import os\nsizes = {}\nfor folder in ['.', '/tmp', '/dev/shm', os.environ['JUPYTER_RUNTIME_DIR']]:\n"
            "    n = 0\n    try:\n        for i in range(100):\n"
            "            with open(os.path.join(folder, f'fill{i}'), 'wb') as f:\n"
            "                for _ in range(4):\n                    f.write(b'x' * (1 << 20))\n"
            "                    n += 1\n    except OSError as error:\n        sizes[folder] = (n, error.errno)\n"
            "open('answer.txt', 'w').write('changed')\nprint(sizes)\n")
    out = through_sandbox(own, workspace, fill, limits=sandbox.Limits(disk_bytes=8 << 20))
    sizes = eval(out.stdout.strip().splitlines()[-1])
    assert all(n <= 8 and errno == 28 for n, errno in sizes.values()) and len(sizes) == 4, sizes  # ENOSPC
    assert (own / "answer.txt").read_text() == "mine" and sorted(os.listdir(own)) == ["answer.txt"]
    write = ("import os\nfor path in ['../../bob/ch1/answer.txt', '" + str(root / "pwned") + "', '/usr/pwned']:\n"
             "    try:\n        open(path, 'w').write('x')\n        print('WROTE', path)\n"
             "    except OSError:\n        pass\n")
    assert "WROTE" not in through_sandbox(own, workspace, write).stdout
    assert not (root / "pwned").exists() and (root / "autograded" / "bob" / "ch1" / "answer.txt").read_text() == "bob's"


@needs_namespaces
def test_processes_end_with_the_command_and_descriptors_pass_through(place):
    _, own, workspace = place
    read, write = os.pipe()
    env = {**os.environ, sandbox.ENV_SETTINGS: sandbox.Settings(workspace=str(workspace)).to_env()}
    code = (f"import os, subprocess\nos.write({write}, b'through the pipe')\n"
            "subprocess.Popen(['sleep', '600'], start_new_session=True)\nprint(input().upper())\n")
    result = subprocess.run([sys.executable, "-m", "course_lib.instructor.sandbox", sys.executable, "-c", code],
                            cwd=own, env=env, input="hello\n", capture_output=True, text=True, timeout=60,
                            pass_fds=(write,))
    os.close(write)
    assert result.stdout.strip() == "HELLO", result.stderr
    assert os.read(read, 100) == b"through the pipe"
    os.close(read)
    users = subprocess.run(["ps", "-eo", "uid=,args="], capture_output=True, text=True).stdout.splitlines()
    assert not [u for u in users if int(u.split()[0]) >= 64000 and "sleep 600" in u]


@needs_namespaces
def test_a_fork_bomb_does_not_stop_a_kernel_started_beside_it(place):
    _, own, workspace = place
    env = {**os.environ, sandbox.ENV_SETTINGS: sandbox.Settings(
        workspace=str(workspace), limits=sandbox.Limits(processes=16)).to_env()}
    bomb = ("import os, time\nprint('ready', flush=True)\nwhile True:\n    try:\n        os.fork()\n"
            "    except OSError:\n        time.sleep(60)\n")
    with subprocess.Popen([sys.executable, "-m", "course_lib.instructor.sandbox", sys.executable, "-c", bomb],
                          cwd=own, env=env, stdout=subprocess.PIPE, text=True) as bombing:
        assert bombing.stdout.readline().strip() == "ready"
        import time
        time.sleep(1)
        beside = through_sandbox(own, workspace, "import os, subprocess\nfor _ in range(8):\n"
                                 "    subprocess.run(['true'], check=True)\nprint(os.getuid())",
                                 limits=sandbox.Limits(processes=16))
        bombing.kill()
    assert beside.returncode == 0, beside.stderr[-1000:]  # its own user id: the bomb's processes do not count
    time.sleep(1)  # killing the sandbox ended the bomb (the parent-death signal survives the change of user)
    users = subprocess.run(["ps", "-eo", "uid=,args="], capture_output=True, text=True).stdout.splitlines()
    assert not [u for u in users if int(u.split()[0]) >= 64000 and "os.fork()" in u]


@pytest.mark.skipif(not sandbox.can_isolate(), reason="not root on Linux")
def test_without_namespaces_a_closed_interpreter_is_refused_clearly(place):
    _, own, workspace = place
    closed = [sandbox._closed_ancestor(p, 64000) for p in sandbox.allowed_paths()]
    result = through_sandbox(own, workspace, "import os; print(os.getuid(), os.getcwd())", isolate=False)
    if any(closed):
        assert result.returncode == sandbox.FAILED_TO_START
        assert f"may not enter {next(c for c in closed if c)}" in result.stderr
    else:
        uid, cwd = result.stdout.split()
        assert uid == "64000" and Path(cwd).parent.parent == workspace


def test_cgroup_gets_the_limits_and_is_removed(tmp_path, monkeypatch):
    limits = sandbox.Limits(memory_bytes=1 << 30, processes=32, cpus=0.5)
    plain = sandbox.Cgroup(tmp_path, limits)  # in a plain folder: no control files, nothing written
    assert plain.path.parent == tmp_path and not any(plain.path.iterdir())
    named = tmp_path / "course-grading"
    named.mkdir()
    (named / "cgroup.subtree_control").write_text("cpu memory pids\n")
    monkeypatch.setenv(sandbox.CGROUP_ENV, str(named))
    assert sandbox.cgroup_base() == named  # the parent the instructor made for grading comes first
    monkeypatch.delenv(sandbox.CGROUP_ENV)
    base = sandbox.cgroup_base()
    if base is None:
        pytest.skip("no delegated cgroup v2 controllers here: the limits are rlimits only")
    group = sandbox.Cgroup(base, limits)
    assert (group.path / "memory.max").read_text().strip() == str(1 << 30)
    assert (group.path / "pids.max").read_text().strip() == "32"
    assert (group.path / "cpu.max").read_text().split() == ["50000", "100000"]
    group.remove()
    assert not group.path.exists()


@needs_namespaces
def test_probe_reports_everything_blocked(tmp_path):
    (tmp_path / "solutions").mkdir()
    (tmp_path / "solutions" / "key.txt").write_text("x")
    settings = sandbox.Settings(hide=tuple(sandbox.hidden_paths(tmp_path)))
    out = sandbox.probe(tmp_path, settings)
    allowed = {what for what, outcome in out.items() if outcome == "allowed"}
    assert allowed == {"write in its folder"}, out


# --- through the real pipeline --------------------------------------------------------------

BURNER = "sandbox-burner"  # the name the left-over processes give themselves
HOSTILE = {
    # chmod 0 everything it can reach: its runtime folder, its connection file and sockets, its folder
    "a-break-runtime": (
        "import glob, os, shutil\n"
        "runtime = os.environ.get('JUPYTER_RUNTIME_DIR', '')\n"
        "targets = [runtime, *glob.glob(runtime + '/*'), '/tmp']\n"
        "try:\n"
        "    from ipykernel.connect import get_connection_file\n"
        "    targets += [get_connection_file(), os.path.dirname(get_connection_file())]\n"
        "except Exception:\n"
        "    pass\n"
        "for path in targets + ['.']:\n"
        "    try:\n"
        "        os.chmod(path, 0)\n"
        "        print('chmod 0:', path)\n"
        "    except OSError as error:\n"
        "        print('refused:', path, type(error).__name__)\n"
        "try:\n"
        "    shutil.rmtree(runtime)\n"
        "except OSError as error:\n"
        "    print('refused: rmtree', type(error).__name__)\n"
    ),
    # write 32 MB files everywhere it may write until the disk is full
    "b-fill-disk": (
        "import os\n"
        "total = 0\n"
        "for folder in ['.', '/tmp', '/var/tmp', '/dev/shm', os.environ.get('JUPYTER_RUNTIME_DIR', '.')]:\n"
        "    for i in range(64):\n"
        "        try:\n"
        "            with open(os.path.join(folder, f'fill-{i}.bin'), 'wb') as f:\n"
        "                for _ in range(8):\n"
        "                    f.write(bytes(4 << 20))\n"
        "                    total += 4\n"
        "        except OSError as error:\n"
        "            print('full:', folder, error.strerror)\n"
        "            break\n"
        "print('MB written:', total)\n"
    ),
    # leave CPU-burning processes behind, detached from the kernel, then carry on
    "c-fork-daemons": (
        "import os\n"
        "for _ in range(3):\n"
        "    pid = os.fork()\n"
        "    if pid == 0:\n"
        "        os.setsid()\n"
        "        if os.fork() == 0:\n"
        "            with open('/proc/self/comm', 'w') as f:\n"
        "                f.write('" + BURNER + "')\n"
        "            while True:\n"
        "                pass\n"
        "        os._exit(0)\n"
        "    os.waitpid(pid, 0)\n"
        "print('three detached burners left running')\n"
    ),
}
HONEST = ("d-honest", "e-honest")  # graded after the hostile ones, in both jobs


def _answer_output(root: Path, name: str) -> str:
    nb = nbformat.read(root / "autograded" / name / "ch1" / NAME, as_version=4)
    cell = nb.cells[_cell(nb, LAST_ID)]
    return "".join(o.get("text", "") + o.get("evalue", "") for o in cell.outputs)


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """Three hostile learners graded first, then two honest ones, two at a time, in one run."""
    root = tmp_path_factory.mktemp("sandboxed") / "course"
    incoming = root.parent / "incoming"
    pipeline.course_folder(root, "ch1")
    for name in [*HOSTILE, *HONEST]:
        nb = solved()
        if name in HOSTILE:
            nb.cells[_cell(nb, LAST_ID)].source = HOSTILE[name]
        (incoming / name / "ch1").mkdir(parents=True)
        nbformat.write(nb, incoming / name / "ch1" / NAME)
    course(root, "collect", str(incoming))
    out = course(root, "autograde", "--jobs", "2", "--timeout", "60")
    course(root, "grades")
    import csv
    with open(root / "grades" / "grades.csv") as f:
        rows = {row["learner"]: row for row in csv.DictReader(f)}
    return root, out, rows


@needs_namespaces
def test_hostile_learners_do_not_change_anyone_elses_score(graded):
    _, out, rows = graded
    for name in HONEST:
        assert rows[name]["status"] == "graded" and float(rows[name]["score"]) == FULL, (rows[name], out)
        assert rows[name]["message"] == "", rows[name]
    for name in HOSTILE:  # graded (perhaps flagged for review), losing only the answer they replaced
        assert rows[name]["status"] in ("graded", "review"), (rows[name], out)
        assert float(rows[name]["score"]) == FULL - LAST, (rows[name], out)


@needs_namespaces
def test_what_the_hostile_learners_met(graded):
    root, _, _ = graded
    broke = _answer_output(root, "a-break-runtime")
    assert "refused: /run/jupyter PermissionError" in broke and "refused: rmtree" in broke, broke
    filled = _answer_output(root, "b-fill-disk")
    assert filled.count("full:") == 5 and "No space left on device" in filled, filled
    assert int(filled.split("MB written:")[1].split()[0]) <= 4 * 256 + 1, filled
    assert "burners left running" in _answer_output(root, "c-fork-daemons")
    names = subprocess.run(["ps", "-eo", "comm="], capture_output=True, text=True).stdout.split()
    assert BURNER not in names  # they ended with their kernel
