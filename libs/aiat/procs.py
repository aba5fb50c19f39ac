"""Child processes that die with their parent, even when the parent is SIGKILLed (Linux)."""

from __future__ import annotations

import os
import signal
import sys

PR_SET_PDEATHSIG = 1
# Run by a fresh interpreter, not as subprocess's preexec_fn: that runs Python in the forked child of a
# multi-threaded process, where gRPC's fork handlers crash it (seen: SIGSEGV, SIGABRT before the exec).
# The signals Python ignores at start-up get their defaults back, as subprocess's restore_signals does.
_SHIM = (
    "import ctypes, os, signal, sys\n"
    f"ctypes.CDLL(None, use_errno=True).prctl({PR_SET_PDEATHSIG}, {int(signal.SIGKILL)})\n"
    "if os.getppid() != int(sys.argv[1]):\n"  # the parent died before prctl took effect
    "    os._exit(1)\n"
    "for name in ('SIGPIPE', 'SIGXFZ', 'SIGXFSZ'):\n"
    "    if hasattr(signal, name):\n"
    "        signal.signal(getattr(signal, name), signal.SIG_DFL)\n"
    "os.execvp(sys.argv[2], sys.argv[2:])\n"
)


def dying_with_this_process(argv: list[str]) -> list[str]:
    """`argv` behind an exec shim that has the kernel SIGKILL it when this process dies (elsewhere: `argv`).

    The signal comes when the *thread* that started the child ends, so use it only where that thread
    waits for the child (a blocking subprocess call), never from a short-lived thread.
    """
    if sys.platform != "linux":
        return argv
    return [sys.executable, "-I", "-S", "-c", _SHIM, str(os.getpid()), *argv]
