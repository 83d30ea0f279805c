"""Run a snippet in a child process with a time limit and a memory limit.

Tests of inputs that once crashed the process (a segmentation fault in a C extension), hung it (a FIFO
opened for reading) or filled the memory run their code here, so a regression fails the one test with
the child's exit status and output instead of killing or stalling the whole suite.

Each snippet runs in its own child process, forked from a warm interpreter that has already imported
torch and visiondata (a fresh ``python -c`` spent about 2.5 s of each test importing them). The child
gets the caller's environment and working folder, its own limits, and its output in files; a crash,
a hang or a runaway allocation ends the child only. Where ``fork`` is missing, a fresh interpreter runs
the snippet instead.
"""

from __future__ import annotations

import atexit
import json
import os
import resource
import subprocess
import sys
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
#: Address space for the child: enough for torch and a small dataset, far below what the bugs took.
DEFAULT_MEMORY = 6 << 30
#: One thread each: every thread's stack counts against the address-space limit.
ONE_THREAD = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}

#: The warm interpreter: reads one request per line, forks a child for it, answers one line.
_FORK_SERVER = r"""
import json, os, resource, signal, sys, tempfile, time, traceback, types
import numpy, PIL.Image, torch, visiondata, visiondata.datasets, visiondata.formats  # the slow imports, once

answers = sys.stdout
sys.stdout = sys.stderr  # nothing the imports print may reach the answer pipe
for line in sys.stdin:
    request = json.loads(line)
    outputs = [tempfile.TemporaryFile(), tempfile.TemporaryFile()]
    child = os.fork()
    if child == 0:
        status = 1
        try:
            os.dup2(outputs[0].fileno(), 1)
            os.dup2(outputs[1].fileno(), 2)
            sys.stdout = os.fdopen(1, "w", closefd=False)
            sys.stderr = os.fdopen(2, "w", closefd=False)
            os.dup2(os.open(os.devnull, os.O_RDONLY), 0)  # never the request pipe
            sys.stdin = open(os.devnull)
            os.environ.clear()
            os.environ.update(request["env"])
            os.chdir(request["cwd"])
            resource.setrlimit(resource.RLIMIT_AS, (request["memory"], request["memory"]))
            main = sys.modules["__main__"] = types.ModuleType("__main__")  # as under python -c
            exec(compile(request["code"], "<string>", "exec"), main.__dict__)
            status = 0
        except SystemExit as exit:
            if exit.code is None or isinstance(exit.code, int):
                status = exit.code or 0
            else:
                print(exit.code, file=sys.stderr)
        except BaseException:
            traceback.print_exc()
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(status)
    deadline = time.monotonic() + request["timeout"]
    hung = False
    while True:
        done, status = os.waitpid(child, os.WNOHANG)
        if done:
            break
        if time.monotonic() > deadline:
            os.kill(child, signal.SIGKILL)
            os.waitpid(child, 0)
            hung = True
            break
        time.sleep(0.01)
    texts = []
    for output in outputs:
        output.seek(0)
        texts.append(output.read().decode("utf-8", "replace"))
        output.close()
    code = None if hung else (-os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status))
    answers.write(json.dumps({"returncode": code, "stdout": texts[0], "stderr": texts[1]}) + "\n")
    answers.flush()
"""

_server: subprocess.Popen[str] | None = None


def _fork_server() -> subprocess.Popen[str]:
    global _server
    if _server is None or _server.poll() is not None:
        _server = subprocess.Popen(
            [sys.executable, "-c", _FORK_SERVER],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=REPO,
            env={**os.environ, **ONE_THREAD},
        )
        atexit.register(_server.kill)
    return _server


def run_isolated(
    code: str, timeout: float = 60, memory_bytes: int = DEFAULT_MEMORY, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``code`` (dedented) in a child process; raise AssertionError on a timeout, naming it a hang.

    The child's address space is capped at ``memory_bytes`` (``RLIMIT_AS``), so a runaway allocation
    fails in the child (``MemoryError`` or a killed process) rather than swapping the machine. The
    child sees this process's environment (one torch thread) and runs in ``cwd`` (the checkout by
    default), with ``__name__ == "__main__"`` as under ``python -c``.
    """
    code = textwrap.dedent(code)
    environment = {**os.environ, **ONE_THREAD}
    folder = str(cwd or REPO)
    if not hasattr(os, "fork"):
        return _run_in_a_fresh_interpreter(code, timeout, memory_bytes, folder, environment)
    server = _fork_server()
    request = {"code": code, "timeout": timeout, "memory": memory_bytes, "cwd": folder, "env": environment}
    server.stdin.write(json.dumps(request) + "\n")
    server.stdin.flush()
    answer = json.loads(server.stdout.readline())
    if answer["returncode"] is None:
        raise AssertionError(f"the child hung: still running after {timeout} s\n{answer['stderr']}")
    return subprocess.CompletedProcess(
        ["<fork>", code], answer["returncode"], answer["stdout"], answer["stderr"]
    )


def _run_in_a_fresh_interpreter(
    code: str, timeout: float, memory_bytes: int, cwd: str, environment: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))

    try:
        return subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            timeout=timeout,
            preexec_fn=limit,
            cwd=cwd,
            env=environment,
        )
    except subprocess.TimeoutExpired as error:
        raise AssertionError(
            f"the child hung: still running after {timeout} s\n{error.stderr or ''}"
        ) from None


def assert_clean_exit(result: subprocess.CompletedProcess[str]) -> None:
    """The child exited 0; else fail with its status (a negative one is the signal) and its output."""
    assert result.returncode == 0, (
        f"child exited with {result.returncode} (negative: killed by signal {-result.returncode})\n"
        f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    )
