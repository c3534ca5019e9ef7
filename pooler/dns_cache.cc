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
  for (auto& [host, lookup] : lookups_) {
    lookup->cache = nullptr;
    uv_cancel(reinterpret_cast<uv_req_t*>(&lookup->req));
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
  waiting_[host].push_back({ticket, std::move(done)});
  ttls_[host] = {max_ttl, nxdomain_ttl};
  if (lookups_.contains(host)) return ticket;

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
  lookups_[host] = lookup;
  return ticket;
}

void DnsCache::cancel(Ticket ticket) {
  if (ticket == 0) return;
  for (auto& [host, waiters] : waiting_)
    std::erase_if(waiters, [ticket](const Waiter& w) { return w.ticket == ticket; });
}

void DnsCache::resolvedCb(uv_getaddrinfo_t* req, int status, addrinfo* res) {
  auto* lookup = static_cast<Lookup*>(req->data);
  if (lookup->cache != nullptr) {
    lookup->cache->lookups_.erase(lookup->host);
    lookup->cache->finish(lookup->host, status, res);
  }
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
  auto [max_ttl, nxdomain_ttl] = ttls_[host];
  ttls_.erase(host);
  double ttl = entry.status == 0 ? max_ttl : nxdomain_ttl;
  if (ttl > 0) {
    entry.expires_ms = uv_now(loop_) + static_cast<uint64_t>(ttl * 1000.0);
    entries_[host] = entry;
  }
  std::vector<Waiter> waiters;
  if (auto it = waiting_.find(host); it != waiting_.end()) {
    waiters = std::move(it->second);
    waiting_.erase(it);
  }
  for (Waiter& waiter : waiters) waiter.done(entry.status, entry.addrs);
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
