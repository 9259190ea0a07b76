"""Commands in processes of their own that do not each import TensorFlow: forked from one that did.

The fault tests start `lnn-keras run` a dozen times and SIGKILL most of those processes; a fresh
interpreter spends about 5 of its 7 CPU-seconds there importing TensorFlow and keras_lnn.
`multiprocessing`'s forkserver imports them once, in a server that has run no TensorFlow
operation and holds no thread of its own making, and forks a child per command. TensorFlow
creates its thread pools at the first operation, so each child makes its own, sized by its own
`TF_NUM_*_THREADS`. A child runs its code as `python -c CODE ARGS` would (argv, environment,
output, exit status, atexit handlers); it shares with the server what is read at import time only:
KERAS_BACKEND, TF_CPP_MIN_LOG_LEVEL and oneDNN's switch, those of this pytest process.

    code, output = run("import sys; print(sys.argv[1:])", ["a", "b"], env=dict(os.environ))

tests/test_faults.py checks that a child exits and prints as `python -c` does.
"""
import atexit
import multiprocessing
import os
import sys
import tempfile
import traceback

PRELOAD = ["keras_lnn.cli", "keras_lnn.runs.model_run", "tensorflow", __name__]
_CONTEXT = multiprocessing.get_context("forkserver")
_CONTEXT.set_forkserver_preload(PRELOAD)


def _child(code, args, env, output_path):
    os.environ.clear()
    os.environ.update(env)
    output = os.open(output_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    os.dup2(output, 1)
    os.dup2(output, 2)
    sys.argv = ["-c", *args]
    status = 0
    try:
        exec(compile(code, "<string>", "exec"), {"__name__": "__main__"})
    except SystemExit as exit_:  # as the interpreter exits: None is 0, a message is printed and 1
        if exit_.code is None or isinstance(exit_.code, int):
            status = exit_.code or 0
        else:
            print(exit_.code, file=sys.stderr)
            status = 1
    except BaseException:
        traceback.print_exc()
        status = 1
    finally:
        atexit._run_exitfuncs()
        sys.stdout.flush()
        sys.stderr.flush()
    os._exit(status)  # not multiprocessing's own exit: its status is the code's


class Command:
    """`python -c CODE ARGS` with `env`, forked from the preloaded server; started at once.

    Args:
        code: the program, as `python -c` takes it.
        args: its `sys.argv[1:]`.
        env: its whole environment.
    """

    def __init__(self, code, args, env):
        handle, self._output_path = tempfile.mkstemp(prefix="preloaded-", suffix=".log")
        os.close(handle)
        self.process = _CONTEXT.Process(target=_child, args=(code, list(args), dict(env), self._output_path))
        self.process.start()
        self.pid = self.process.pid
        self.output = None

    def wait(self, timeout):
        """The exit status (negative: killed by that signal), as `subprocess` gives it; sets `output`
        (stdout and stderr together)."""
        self.process.join(timeout)
        try:
            if self.process.exitcode is None:
                self.process.kill()
                self.process.join()
                raise TimeoutError(f"still running after {timeout} s")
            with open(self._output_path) as handle:
                self.output = handle.read()
        finally:
            os.unlink(self._output_path)
        return self.process.exitcode


def run(code, args, env, timeout=300):
    """`(exit status, output)` of a `Command`, waited for."""
    command = Command(code, args, env)
    return command.wait(timeout), command.output
