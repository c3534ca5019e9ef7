// Closing one accepted connection from inside a request handler, so the client gets no response.
#pragma once

#include <string>

namespace fakeapi {

// cpp-httplib 0.11 never hands the accepted socket to handlers, so this finds it among the
// process's open descriptors by its two endpoints (the request's local port and remote address)
// and shuts it down. httplib's later attempt to write the response then fails and it closes the
// socket. Returns false if no descriptor matched.
bool shutDownConnection(int local_port, const std::string& remote_addr, int remote_port);

}  // namespace fakeapi
