// The session parameters the pooler keeps per client and re-applies on each server link it
// gets (PgBouncer's varcache): client_encoding, DateStyle, TimeZone,
// standard_conforming_strings, application_name, then those named by track_extra_parameters.
// Values come from the startup packet and from the server's ParameterStatus messages.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace apibouncer {

using ParameterNames = std::vector<std::string>;

// At most this many names are tracked (one bit each per client); names past it are ignored.
constexpr size_t kMaxTrackedParameters = 64;

// The always-tracked names followed by `extra` (comma-separated; blanks and repeats dropped).
std::shared_ptr<const ParameterNames> trackedParameterNames(std::string_view extra);
// Index of `name` in `names`, compared case-insensitively as PostgreSQL does; -1 if absent.
int indexOfParameter(const ParameterNames& names, std::string_view name);
// The value of `name` in a server's reported parameters, case-insensitively; nullptr if none.
const std::string* findParameter(const std::map<std::string, std::string>& params,
                                 const std::string& name);

class TrackedParameters {
 public:
  explicit TrackedParameters(std::shared_ptr<const ParameterNames> names)
      : names_(std::move(names)) {}
  const ParameterNames& names() const { return *names_; }
  const std::shared_ptr<const ParameterNames>& namesRef() const { return names_; }
  size_t size() const { return names_->size(); }
  bool has(size_t i) const { return (set_mask_ >> i) & 1u; }
  const std::string& value(size_t i) const { return values_[i]; }
  void setAt(size_t i, std::string_view value);
  // Keeps `value` if `name` is tracked; false if it is not.
  bool set(std::string_view name, std::string_view value);
  // The same names, the same ones set, to the same values.
  bool sameValues(const TrackedParameters& other) const;

 private:
  std::shared_ptr<const ParameterNames> names_;  // shared by every client of a config
  std::vector<std::string> values_;              // sized on the first set
  uint64_t set_mask_ = 0;
};

}  // namespace apibouncer
