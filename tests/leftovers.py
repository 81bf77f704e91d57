#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""tests/leftovers.py TEST [ARGS...]: runs one integration test (bash TEST)
and fails it if it leaves a process running.

This process becomes a child subreaper first, so that whatever the test
starts stays below it even when its parent exits before it (a daemonizing
client, `in_guest COMMAND &` once its subshell is killed), whatever user,
session or namespaces it runs in. A test ends all it starts: what still
runs once the test has ended, after 10 s for processes already on their way
out (a daemon's helper), is listed, killed, and fails the test. Nothing
else about the test's surroundings changes: no namespace of its own.
"""
import ctypes
import os
import signal
import subprocess
import sys
import time

PR_SET_CHILD_SUBREAPER = 36
GRACE_SECONDS = 10


def reap():
    """Collects orphans that have exited (they were handed to us)."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def below(pid):
    """Every process below pid, as /proc lists each one's children."""
    found = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return found
    for task in tasks:
        try:
            with open(f"/proc/{pid}/task/{task}/children") as f:
                children = [int(c) for c in f.read().split()]
        except OSError:
            continue
        for child in children:
            found.append(child)
            found.extend(below(child))
    return found


def running(pids):
    """Those of pids that have not ended (zombies have)."""
    alive = []
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if state != "Z":
            alive.append(pid)
    return alive


def command_line(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return "?"


def main():
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        sys.exit("tests/leftovers.py: cannot become a child subreaper: " +
                 os.strerror(ctypes.get_errno()))
    test = subprocess.Popen(["bash"] + sys.argv[1:])
    # timeout(1) signals its whole process group, the test included, which
    # then ends as it would have on its own (its cleanup runs); this process
    # stays to look for what is left. Passing the signal on as well would
    # interrupt the test's cleanup.
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, signal.SIG_IGN)
    # Orphans handed to this process are reaped at once, as init would: a
    # zombie still answers kill -0, and tests wait for processes to go.
    while True:
        pid, wait_status = os.waitpid(-1, 0)
        if pid == test.pid:
            break
    status = os.waitstatus_to_exitcode(wait_status)
    if status < 0:
        status = 128 - status
    deadline = time.monotonic() + GRACE_SECONDS
    while True:
        reap()
        left = running(below(os.getpid()))
        if not left or time.monotonic() >= deadline:
            break
        time.sleep(0.2)
    if left:
        name = os.path.basename(sys.argv[1]).removesuffix(".sh")
        print(f"FAIL: {name}: left running after the test ended:", flush=True)
        for pid in left:
            print(f"    {pid} {command_line(pid)}", flush=True)
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        time.sleep(0.2)
        reap()
        status = 1
    sys.exit(status)


if __name__ == "__main__":
    main()
