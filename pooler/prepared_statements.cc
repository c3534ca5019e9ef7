// Statement registry, per-link LRU and per-client names (see prepared_statements.h).
#include "pooler/prepared_statements.h"

namespace apibouncer {

StatementRegistry::StatementRegistry() : by_definition_(std::make_shared<Map>()) {}

StatementRef StatementRegistry::intern(std::string_view definition) {
  auto it = by_definition_->find(definition);
  if (it != by_definition_->end()) {
    if (StatementRef existing = it->second.lock()) return existing;
  }
  auto* statement =
      new PreparedStatement{"apibouncer_" + std::to_string(next_id_++), std::string(definition)};
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

}  // namespace apibouncer
