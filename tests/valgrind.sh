#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# tests/valgrind.sh BINARY: runs a representative subset of the integration
# tests with the daemon under valgrind memcheck (make check-valgrind). A
# wrapper stands in for $SLIRP; each run's log goes to the test's report
# directory, where tests/lib.sh fails the test on any error (invalid access,
# uninitialised use, or a definite leak: --errors-for-leak-kinds=definite).
# Confined runs (--enable-seccomp/--enable-sandbox) run without valgrind:
# it needs system calls the allowlist refuses and cannot emulate pivot_root.
set -u
cd "$(dirname "$0")/.."
binary=${1:?usage: tests/valgrind.sh BINARY}
command -v valgrind >/dev/null || { echo "valgrind is missing: run 'make deps'"; exit 1; }
wrapper_dir=$(mktemp -d /tmp/s4n-valgrind.XXXXXX)
trap 'rm -rf "$wrapper_dir"' EXIT
chmod 755 "$wrapper_dir"
cat >"$wrapper_dir/slirp4netns" <<WRAPPER
#!/bin/sh
case " \$* " in
    *" --enable-sandbox "* | *" --enable-seccomp "*) exec "$binary" "\$@" ;;
esac
exec valgrind --tool=memcheck --leak-check=full --errors-for-leak-kinds=definite \\
    --show-leak-kinds=definite --track-fds=no --error-exitcode=99 --child-silent-after-fork=yes \\
    --log-file="\${S4N_REPORTS:-/tmp}/vg.%p" "$binary" "\$@"
WRAPPER
chmod 755 "$wrapper_dir/slirp4netns"

subset=${VALGRIND_TESTS:-basic-configure api-commands api-forward dns dhcp ipv6 bess-uml host-loopback signals exit-fd fault-guest-garbage fault-signals-traffic}
status=0
for name in $subset; do
    # Valgrind is ~20x slower: give start-up and requests room.
    SLIRP=$wrapper_dir/slirp4netns TEST_TIMEOUT=600 S4N_TIME_SCALE=20 bash tests/run.sh "/$name.sh" | grep -v "^unit " | tail -n 25 | sed "s/^/$name: /"
    [ "${PIPESTATUS[0]}" = 0 ] || status=1
done
[ $status = 0 ] && echo "valgrind: subset clean" || echo "valgrind: failures above"
exit $status
