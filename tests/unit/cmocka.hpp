// SPDX-License-Identifier: GPL-2.0-or-later
// tests/unit/cmocka.hpp: cmocka for the unit tests, included by each of
// them after every other header: its macros (fail, ...) must not meet the
// C++ headers. cmocka 1.1 needs <setjmp.h>, <stdarg.h> and <stddef.h> before
// it, and declares its C functions without extern "C" guards.
#pragma once

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

extern "C" {
#include <cmocka.h>
}
