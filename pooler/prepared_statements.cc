// Statement registry, per-link LRU and per-client names (see prepared_statements.h).
#include "pooler/prepared_statements.h"

#include <algorithm>
#include <cctype>

namespace apibouncer {

bool mayDropAllStatements(std::string_view sql) {
  auto followedBy = [sql](size_t at, std::string_view upper) {
    if (sql.size() - at < upper.size()) return false;
    for (size_t i = 0; i < upper.size(); ++i)
      if (std::toupper(static_cast<unsigned char>(sql[at + i])) != upper[i]) return false;
    return true;
  };
  for (size_t i = 0; i < sql.size(); ++i) {
    if ((sql[i] | 0x20) != 'd') continue;
    if (followedBy(i + 1, "EALLOCATE") || followedBy(i + 1, "ISCARD")) return true;
  }
  return false;
}

StatementRegistry::StatementRegistry() : by_definition_(std::make_shared<Map>()) {}

StatementRef StatementRegistry::intern(std::string_view definition) {
  auto it = by_definition_->find(definition);
  if (it != by_definition_->end()) {
    if (StatementRef existing = it->second.lock()) return existing;
  }
  auto* statement =
      new PreparedStatement{"apibouncer_" + std::to_string(next_id_++), std::string(definition)};
  // The query is the definition up to its NUL (the parameter types follow).
  statement->may_drop_all = mayDropAllStatements(definition.substr(0, definition.find('\0')));
  // The last holder removes the entry; the registry may already be gone at shutdown.
  std::weak_ptr<Map> map = by_definition_;
  StatementRef ref(statement, [map](const PreparedStatement* s) {
    if (auto m = map.lock()) {
      auto found = m->find(s->definition);
      if (found != m->end() && found->first.data() == s->definition.data()) m->erase(found);
    }
    delete s;
  });
  if (it != by_definition_->end()) by_definition_->erase(it);  // expired, not yet removed
  by_definition_->emplace(ref->definition, ref);
  return ref;
}

bool ServerStatementCache::touch(const PreparedStatement* statement) {
  auto it = index_.find(statement);
  if (it == index_.end()) return false;
  lru_.splice(lru_.begin(), lru_, it->second);
  return true;
}

std::vector<StatementRef> ServerStatementCache::add(StatementRef statement, size_t capacity) {
  std::vector<StatementRef> evicted;
  if (touch(statement.get())) return evicted;
  lru_.push_front(std::move(statement));
  index_.emplace(lru_.front().get(), lru_.begin());
  while (lru_.size() > capacity && lru_.size() > 1) {
    index_.erase(lru_.back().get());
    evicted.push_back(std::move(lru_.back()));
    lru_.pop_back();
  }
  return evicted;
}

void ServerStatementCache::remove(const PreparedStatement* statement) {
  auto it = index_.find(statement);
  if (it == index_.end()) return;
  lru_.erase(it->second);
  index_.erase(it);
}

void ServerStatementCache::clear() {
  index_.clear();
  lru_.clear();
}

void ServerStatementCache::retainOnly(std::span<const PreparedStatement* const> kept) {
  for (auto it = lru_.begin(); it != lru_.end();) {
    if (std::find(kept.begin(), kept.end(), it->get()) != kept.end()) {
      ++it;
      continue;
    }
    index_.erase(it->get());
    it = lru_.erase(it);
  }
}

const StatementRef* ClientStatements::find(std::string_view name) const {
  auto it = by_name_.find(name);
  return it == by_name_.end() ? nullptr : &it->second;
}

void ClientStatements::add(std::string_view name, StatementRef statement) {
  by_name_.insert_or_assign(std::string(name), std::move(statement));
}

void ClientStatements::remove(std::string_view name) {
  auto it = by_name_.find(name);
  if (it != by_name_.end()) by_name_.erase(it);
}

void ClientStatements::retainOnly(std::span<const std::string_view> kept) {
  std::erase_if(by_name_, [kept](const auto& entry) {
    return std::find(kept.begin(), kept.end(), entry.first) == kept.end();
  });
}

}  // namespace apibouncer
