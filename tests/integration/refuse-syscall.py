#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Runs a program with one system call refused, as a security module or an
old kernel would refuse it, through a seccomp filter (Debian's libseccomp).

refuse-syscall.py SYSCALL ERRNO [INDEX=VALUE ...] -- PROGRAM [ARGS...]

SYSCALL fails with ERRNO (a name: EACCES, EIO); every other call is allowed.
INDEX=VALUE conditions (argument INDEX equals VALUE, e.g. 0=0x4204) narrow
the refusal to the calls that match them all. The filter is inherited by
children and survives exec."""
import ctypes
import errno
import os
import sys


class Cmp(ctypes.Structure):
    _fields_ = [("arg", ctypes.c_uint), ("op", ctypes.c_int),
                ("a", ctypes.c_uint64), ("b", ctypes.c_uint64)]


def main():
    args = sys.argv[1:]
    if "--" not in args or args.index("--") < 2 or args.index("--") == len(args) - 1:
        sys.exit(__doc__)
    split = args.index("--")
    syscall, error, conditions, program = args[0], args[1], args[2:split], args[split + 1:]
    if not hasattr(errno, error):
        sys.exit(f"refuse-syscall: unknown errno name {error}")
    equal = 4  # SCMP_CMP_EQ
    rules = []
    for condition in conditions:
        index, _, value = condition.partition("=")
        rules.append(Cmp(int(index), equal, int(value, 0), 0))
    lib = ctypes.CDLL("libseccomp.so.2")
    lib.seccomp_init.restype = ctypes.c_void_p
    ctx = ctypes.c_void_p(lib.seccomp_init(ctypes.c_uint32(0x7fff0000)))  # SCMP_ACT_ALLOW
    nr = lib.seccomp_syscall_resolve_name(syscall.encode())
    if nr < 0:
        sys.exit(f"refuse-syscall: unknown system call {syscall}")
    action = ctypes.c_uint32(0x50000 | getattr(errno, error))  # SCMP_ACT_ERRNO
    array = (Cmp * len(rules))(*rules)
    if lib.seccomp_rule_add_array(ctx, action, nr, len(rules), array) or lib.seccomp_load(ctx):
        sys.exit("refuse-syscall: cannot install the seccomp filter")
    os.execvp(program[0], program)


main()
