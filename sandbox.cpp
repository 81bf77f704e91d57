// sandbox.cpp: placeholder until the sandbox issue lands (see sandbox.hpp).
#include "sandbox.hpp"

std::string enter_sandbox(const Options&) { return "--enable-sandbox is not implemented yet"; }
