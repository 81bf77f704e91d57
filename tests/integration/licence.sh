#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# licence: every source, build and test file that git tracks names the
# project's licence in an SPDX line, and COPYING holds the GPL version 2.
. "$(dirname "$0")/../lib.sh"

cd "$REPO"
git rev-parse --git-dir >/dev/null 2>&1 || skip "not a git checkout (a release tarball): nothing to list"
grep -q 'GNU GENERAL PUBLIC LICENSE' COPYING && grep -q 'Version 2, June 1991' COPYING ||
    fail "COPYING is not the GPL version 2"
missing=()
while IFS= read -r f; do
    case $f in
        *.cpp | *.hpp | *.sh | *.py | *.1 | Makefile | configure.ac | *.in | .ci/run | debian/rules | debian/write-changelog) ;;
        *) continue ;;
    esac
    head -n 3 "$f" | grep -q 'SPDX-License-Identifier: GPL-2.0-or-later' || missing+=("$f")
done < <(git ls-files)
[ ${#missing[@]} -eq 0 ] || fail "no SPDX line in: ${missing[*]}"
pass "every tracked source file carries GPL-2.0-or-later"
