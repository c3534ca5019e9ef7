// Tracked session parameters (see tracked_params.h).
#include "pooler/tracked_params.h"

#include <strings.h>

namespace apibouncer {
namespace {

constexpr const char* kAlwaysTracked[] = {"client_encoding", "DateStyle", "TimeZone",
                                          "standard_conforming_strings", "application_name"};

bool sameName(std::string_view a, std::string_view b) {
  return a.size() == b.size() && strncasecmp(a.data(), b.data(), a.size()) == 0;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

std::shared_ptr<const ParameterNames> trackedParameterNames(std::string_view extra) {
  auto names =
      std::make_shared<ParameterNames>(std::begin(kAlwaysTracked), std::end(kAlwaysTracked));
  while (!extra.empty() && names->size() < kMaxTrackedParameters) {
    size_t comma = extra.find(',');
    std::string_view name = trim(extra.substr(0, comma));
    extra = comma == std::string_view::npos ? std::string_view() : extra.substr(comma + 1);
    if (!name.empty() && indexOfParameter(*names, name) < 0) names->emplace_back(name);
  }
  return names;
}

int indexOfParameter(const ParameterNames& names, std::string_view name) {
  for (size_t i = 0; i < names.size(); ++i)
    if (sameName(names[i], name)) return static_cast<int>(i);
  return -1;
}

const std::string* findParameter(const std::map<std::string, std::string>& params,
                                 const std::string& name) {
  // Runs for every tracked name at every link hand-over: the exact spelling first.
  if (auto it = params.find(name); it != params.end()) return &it->second;
  for (const auto& [key, value] : params)
    if (sameName(key, name)) return &value;
  return nullptr;
}

void TrackedParameters::setAt(size_t i, std::string_view value) {
  if (values_.size() < names_->size()) values_.resize(names_->size());
  values_[i] = std::string(value);
  set_mask_ |= uint64_t{1} << i;
}

bool TrackedParameters::set(std::string_view name, std::string_view value) {
  int index = indexOfParameter(*names_, name);
  if (index < 0) return false;
  setAt(static_cast<size_t>(index), value);
  return true;
}

bool TrackedParameters::sameValues(const TrackedParameters& other) const {
  if (names_ != other.names_ || set_mask_ != other.set_mask_) return false;
  for (size_t i = 0; i < values_.size(); ++i)
    if (has(i) && values_[i] != other.values_[i]) return false;
  return true;
}

}  // namespace apibouncer
