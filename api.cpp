// api.cpp: placeholder until the API issue lands (see api.hpp).
#include "api.hpp"

std::unique_ptr<ApiServer> ApiServer::start(const ApiContext&, std::string* error) {
    *error = "--api-socket is not implemented yet";
    return nullptr;
}
