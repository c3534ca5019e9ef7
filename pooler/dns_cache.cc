// DnsCache (see dns_cache.h).
#include "pooler/dns_cache.h"

#include <algorithm>
#include <cstring>

#include "pooler/socket_address.h"

namespace apibouncer {

// One getaddrinfo in flight. The cache may go first (shutdown): `cache` is then null and the
// callback only frees.
struct DnsCache::Lookup {
  uv_getaddrinfo_t req;
  DnsCache* cache;
  std::string host;
};

DnsCache::~DnsCache() {
  for (auto& [host, pending] : in_flight_) {
    if (pending.lookup == nullptr) continue;
    pending.lookup->cache = nullptr;
    uv_cancel(reinterpret_cast<uv_req_t*>(&pending.lookup->req));
  }
}

DnsCache::Ticket DnsCache::resolve(const std::string& host, double max_ttl, double nxdomain_ttl,
                                   Done done) {
  uint64_t now = uv_now(loop_);
  if (auto it = entries_.find(host); it != entries_.end()) {
    if (now < it->second.expires_ms) {
      Entry entry = it->second;  // `done` may start another lookup that rewrites the map
      done(entry.status, entry.addrs);
      return 0;
    }
    entries_.erase(it);
  }
  Ticket ticket = next_ticket_++;
  InFlight& pending = in_flight_[host];
  pending.waiters.push_back({ticket, std::move(done)});
  pending.max_ttl = max_ttl;
  pending.nxdomain_ttl = nxdomain_ttl;
  if (pending.lookup != nullptr) return ticket;

  auto* lookup = new Lookup{{}, this, host};
  lookup->req.data = lookup;
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  int rc = uv_getaddrinfo(loop_, &lookup->req, resolvedCb, host.c_str(), nullptr, &hints);
  if (rc != 0) {
    delete lookup;
    finish(host, rc, nullptr);  // answers every waiter now, this one included
    return 0;
  }
  pending.lookup = lookup;
  return ticket;
}

void DnsCache::cancel(Ticket ticket) {
  if (ticket == 0) return;
  for (auto& [host, pending] : in_flight_)
    std::erase_if(pending.waiters, [ticket](const Waiter& w) { return w.ticket == ticket; });
}

void DnsCache::resolvedCb(uv_getaddrinfo_t* req, int status, addrinfo* res) {
  auto* lookup = static_cast<Lookup*>(req->data);
  if (lookup->cache != nullptr) lookup->cache->finish(lookup->host, status, res);
  uv_freeaddrinfo(res);
  delete lookup;
}

void DnsCache::finish(const std::string& host, int status, const addrinfo* res) {
  Entry entry;
  for (const addrinfo* ai = status == 0 ? res : nullptr; ai != nullptr; ai = ai->ai_next) {
    if (ai->ai_family != AF_INET && ai->ai_family != AF_INET6) continue;
    sockaddr_storage addr{};
    std::memcpy(&addr, ai->ai_addr, std::min<size_t>(ai->ai_addrlen, sizeof addr));
    entry.addrs.push_back(addr);
  }
  entry.status = status != 0 ? status : entry.addrs.empty() ? UV_EAI_NONAME : 0;
  // Taken out first: a waiter's `done` may start a new lookup of the same name.
  auto node = in_flight_.extract(host);
  InFlight pending = node.empty() ? InFlight{} : std::move(node.mapped());
  double ttl = entry.status == 0 ? pending.max_ttl : pending.nxdomain_ttl;
  if (ttl > 0) {
    entry.expires_ms = uv_now(loop_) + static_cast<uint64_t>(ttl * 1000.0);
    entries_[host] = entry;
  }
  for (Waiter& waiter : pending.waiters) waiter.done(entry.status, entry.addrs);
}

std::vector<DnsCache::Host> DnsCache::hosts() const {
  uint64_t now = uv_now(loop_);
  std::vector<Host> out;
  for (const auto& [name, entry] : entries_) {
    if (now >= entry.expires_ms) continue;
    Host host{name, (entry.expires_ms - now + 999) / 1000, {}};
    for (const sockaddr_storage& addr : entry.addrs) host.addrs.push_back(ipText(addr));
    out.push_back(std::move(host));
  }
  return out;
}

}  // namespace apibouncer
