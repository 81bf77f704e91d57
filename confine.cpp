// confine.cpp: sandbox, then seccomp (see confine.hpp).
#include "confine.hpp"

#include "sandbox.hpp"
#include "seccomp.hpp"

bool confine(const Options& options, std::string* err) {
    if (options.enable_sandbox && !enter_sandbox(options, err)) return false;
    return !options.enable_seccomp || install_seccomp_filter(err);
}
