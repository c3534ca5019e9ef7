// IPv4/IPv6 socket addresses as the pooler prints and dials them: the IP as text, the port,
// and a copy with another port. One place for the family switch every caller needed.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <string>

namespace apibouncer {

std::string ipText(const sockaddr_storage& addr);  // "" unless AF_INET / AF_INET6
int portOf(const sockaddr_storage& addr);          // 0 unless AF_INET / AF_INET6
sockaddr_storage withPort(sockaddr_storage addr, int port);

}  // namespace apibouncer
