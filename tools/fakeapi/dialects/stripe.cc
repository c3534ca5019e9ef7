// The Stripe dialect (adapters-spec §4): POST /v1/{object} creates, POST /v1/{object}/{id}
// updates, DELETE /v1/{object}/{id} deletes where Stripe can, GET /v1/{object}/{id} retrieves.
// Bodies are form-encoded with bracketed nesting (metadata[plan]=pro, items[0][price]=...),
// parsed back into JSON records; a key's Bearer or Basic ("key:") auth; Idempotency-Key replays
// (same key and body: the stored answer with Idempotent-Replayed; another body: 400
// idempotency_error); Request-Id and Stripe-Version on every answer. Refusals as Stripe words
// them: any string containing INVALID (400, param named), unknown ids (404 resource_missing),
// unknown customer/product params (parameter_unknown), missing required ones
// (parameter_missing), bad integers (parameter_invalid_integer), DELETE where Stripe has no such
// route (404 "Unrecognized request URL", e.g. prices).
#include <rapidjson/document.h>

#include <algorithm>
#include <ctime>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "tools/fakeapi/dialect.h"
#include "tools/fakeapi/json.h"

namespace fakeapi {
namespace {

using Document = rapidjson::Document;
using Value = rapidjson::Value;
using Allocator = Document::AllocatorType;

constexpr const char* kJson = "application/json";
constexpr const char* kVersion = "2025-04-30.basil";
constexpr size_t kMaxKeyDepth = 20;
constexpr size_t kMaxIdempotencyKey = 255;

// ---- small helpers -------------------------------------------------------------------------

std::string randomToken(size_t length) {
  static constexpr std::string_view kChars =
      "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  thread_local std::mt19937_64 generator{std::random_device{}()};
  std::uniform_int_distribution<size_t> pick(0, kChars.size() - 1);
  std::string token;
  for (size_t i = 0; i < length; ++i) token += kChars[pick(generator)];
  return token;
}

// Whether `name` is one of the space-separated `words`.
bool listed(std::string_view words, std::string_view name) {
  if (name.empty() || name.find(' ') != std::string_view::npos) return false;
  size_t at = words.find(name);
  while (at != std::string_view::npos) {
    size_t after = at + name.size();
    if ((at == 0 || words[at - 1] == ' ') && (after == words.size() || words[after] == ' '))
      return true;
    at = words.find(name, at + 1);
  }
  return false;
}

// Collections with a DELETE route in Stripe's v1 API (the ones a mirror would hold).
constexpr std::string_view kDeletable =
    "customers products coupons plans invoiceitems webhook_endpoints subscription_items tax_ids "
    "invoices";
// Objects whose id the caller may choose (`id=` on create).
constexpr std::string_view kCustomIds = "products coupons plans";
// Params Stripe shows as integers and booleans (metadata values stay strings).
constexpr std::string_view kIntegerParams =
    "amount amount_off balance unit_amount quantity trial_period_days days_until_due "
    "next_invoice_sequence max_redemptions duration_in_months interval_count percent_off "
    "redeem_by trial_end cancel_at";
constexpr std::string_view kBooleanParams = "active shippable cancel_at_period_end";
// The create/update params of the API reference; others are parameter_unknown. Objects without
// a list take anything but the read-only members.
constexpr std::string_view kCustomerParams =
    "address balance cash_balance coupon default_source description email expand invoice_prefix "
    "invoice_settings metadata name next_invoice_sequence payment_method phone "
    "preferred_locales promotion_code shipping source tax tax_exempt tax_id_data";
constexpr std::string_view kProductParams =
    "active default_price default_price_data description expand id images marketing_features "
    "metadata name package_dimensions shippable statement_descriptor tax_code unit_label url";
constexpr std::string_view kReadOnly = "object created livemode deleted";

std::string singular(const std::string& object) {
  if (object.size() > 1 && object.back() == 's') return object.substr(0, object.size() - 1);
  return object;
}

std::string idPrefix(const std::string& object) {
  if (object == "customers") return "cus_";
  if (object == "products") return "prod_";
  if (object == "prices") return "price_";
  return "obj_";
}

int hexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string urlDecode(std::string_view text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '+') {
      out += ' ';
    } else if (text[i] == '%' && i + 2 < text.size() && hexDigit(text[i + 1]) >= 0 &&
               hexDigit(text[i + 2]) >= 0) {
      out += static_cast<char>(hexDigit(text[i + 1]) * 16 + hexDigit(text[i + 2]));
      i += 2;
    } else {
      out += text[i];
    }
  }
  return out;
}

std::optional<std::string> base64Decode(std::string_view text) {
  static constexpr std::string_view kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  unsigned buffer = 0;
  int bits = 0;
  for (char c : text) {
    if (c == '=') break;
    size_t value = kAlphabet.find(c);
    if (value == std::string_view::npos) return std::nullopt;
    buffer = (buffer << 6) | static_cast<unsigned>(value);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((buffer >> bits) & 0xFF);
    }
  }
  return out;
}

bool isInteger(std::string_view text) {
  if (!text.empty() && text.front() == '-') text.remove_prefix(1);
  return !text.empty() && text.size() <= 18 &&
         std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// ---- Stripe's answers ------------------------------------------------------------------------

struct Answer {
  int status = 200;
  std::string body;
  bool saved = true;  // kept for an idempotent replay (Stripe keeps what began executing)
};

Answer stripeError(int status, std::string_view type, std::string_view message,
                   std::string_view code = {}, std::string_view param = {}) {
  Document doc(rapidjson::kObjectType);
  Allocator& alloc = doc.GetAllocator();
  auto text = [&](std::string_view s) {
    return Value(s.data(), static_cast<rapidjson::SizeType>(s.size()), alloc);
  };
  Value error(rapidjson::kObjectType);
  if (!code.empty()) {
    error.AddMember("code", text(code), alloc);
    std::string doc_url = "https://stripe.com/docs/error-codes/" + std::string(code);
    std::replace(doc_url.begin(), doc_url.end(), '_', '-');
    error.AddMember("doc_url", text(doc_url), alloc);
  }
  error.AddMember("message", text(message), alloc);
  if (!param.empty()) error.AddMember("param", text(param), alloc);
  error.AddMember("type", text(type), alloc);
  doc.AddMember("error", error, alloc);
  // Validation failures are not saved for replay: they happen before the API runs.
  return Answer{status, toJson(doc), status != 400 && status != 401};
}

Answer invalid(std::string_view message, std::string_view param, std::string_view code = {}) {
  return stripeError(400, "invalid_request_error", message, code, param);
}

Answer noSuch(const std::string& object, const std::string& id) {
  Answer answer =
      stripeError(404, "invalid_request_error", "No such " + singular(object) + ": '" + id + "'",
                  "resource_missing", "id");
  answer.saved = true;
  return answer;
}

Answer unrecognized(const httplib::Request& req) {
  return stripeError(404, "invalid_request_error",
                     "Unrecognized request URL (" + req.method + ": " + req.path +
                         "). Please see https://stripe.com/docs or we can help at "
                         "https://support.stripe.com/.");
}

// ---- form bodies as nested params -------------------------------------------------------------

// One parameter: a leaf value, or named children (indexed: every child came as [n] or []).
struct Param {
  std::optional<std::string> value;
  std::vector<std::string> keys;
  std::vector<Param> children;
  bool indexed = true;

  Param* child(const std::string& key, bool index) {
    indexed = indexed && index;
    for (size_t i = 0; i < keys.size(); ++i)
      if (keys[i] == key) return &children[i];
    keys.push_back(key);
    children.emplace_back();
    return &children.back();
  }
};

// `a[b][0]` -> {"a", "b", "0"}; nullopt if malformed or deeper than kMaxKeyDepth.
std::optional<std::vector<std::string>> splitKey(const std::string& key) {
  size_t open = key.find('[');
  std::vector<std::string> segments{key.substr(0, open)};
  if (segments.front().empty()) return std::nullopt;
  while (open != std::string::npos && open < key.size()) {
    size_t close = key.find(']', open);
    if (key[open] != '[' || close == std::string::npos) return std::nullopt;
    segments.push_back(key.substr(open + 1, close - open - 1));
    open = close + 1;
  }
  if (segments.size() > kMaxKeyDepth) return std::nullopt;
  return segments;
}

// Parses a form body into `root`; returns the offending key on a malformed one.
std::optional<std::string> parseForm(std::string_view body, Param& root) {
  while (!body.empty()) {
    size_t amp = body.find('&');
    std::string_view pair = body.substr(0, amp);
    body = amp == std::string_view::npos ? std::string_view() : body.substr(amp + 1);
    if (pair.empty()) continue;
    size_t eq = pair.find('=');
    std::string key = urlDecode(pair.substr(0, eq));
    std::string value = eq == std::string_view::npos ? "" : urlDecode(pair.substr(eq + 1));
    auto segments = splitKey(key);
    if (!segments) return key;
    Param* node = &root;
    for (const std::string& segment : *segments) {
      if (node->value) return key;  // a[b]=1 after a=1
      bool index = segment.empty() || isInteger(segment);
      node = node->child(segment.empty() ? std::to_string(node->keys.size()) : segment, index);
    }
    if (!node->keys.empty()) return key;  // a=1 after a[b]=1
    node->value = std::move(value);
  }
  return std::nullopt;
}

std::string paramPath(const std::vector<std::string>& path) {
  std::string text = path.front();
  for (size_t i = 1; i < path.size(); ++i) text += "[" + path[i] + "]";
  return text;
}

// The first leaf (in body order) `refuses` answers for, as a Stripe 400 naming it.
template <class Check>
std::optional<Answer> findRefusal(const Param& param, std::vector<std::string>& path, Check check) {
  if (param.value) return check(*param.value, path);
  for (size_t i = 0; i < param.children.size(); ++i) {
    path.push_back(param.keys[i]);
    auto refusal = findRefusal(param.children[i], path, check);
    path.pop_back();
    if (refusal) return refusal;
  }
  return std::nullopt;
}

// A leaf as Stripe shows it: "" unsets (null), integers and booleans typed by their name.
Value leafValue(const std::string& key, const std::string& text, bool in_metadata,
                Allocator& alloc) {
  if (text.empty()) return Value(rapidjson::kNullType);
  if (!in_metadata && listed(kIntegerParams, key) && isInteger(text))
    return Value(static_cast<int64_t>(std::stoll(text)));
  if (!in_metadata && listed(kBooleanParams, key) && (text == "true" || text == "false"))
    return Value(text == "true");
  return Value(text.c_str(), static_cast<rapidjson::SizeType>(text.size()), alloc);
}

// Depth is bounded by kMaxKeyDepth.
Value toValue(const std::string& key, const Param& param, bool in_metadata, Allocator& alloc) {
  if (param.value) return leafValue(key, *param.value, in_metadata, alloc);
  if (param.indexed && !param.children.empty() && !in_metadata) {
    std::vector<size_t> order(param.children.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
      return std::stoll(param.keys[a]) < std::stoll(param.keys[b]);
    });
    Value array(rapidjson::kArrayType);
    for (size_t i : order) array.PushBack(toValue(key, param.children[i], false, alloc), alloc);
    return array;
  }
  Value object(rapidjson::kObjectType);
  for (size_t i = 0; i < param.children.size(); ++i) {
    const std::string& name = param.keys[i];
    object.AddMember(Value(name.c_str(), static_cast<rapidjson::SizeType>(name.size()), alloc),
                     toValue(name, param.children[i], in_metadata || key == "metadata", alloc),
                     alloc);
  }
  return object;
}

void setMember(Value& object, const std::string& name, Value value, Allocator& alloc) {
  if (Value* existing = findMember(object, name)) {
    *existing = std::move(value);
    return;
  }
  object.AddMember(Value(name.c_str(), static_cast<rapidjson::SizeType>(name.size()), alloc),
                   std::move(value), alloc);
}

// ---- the dialect -----------------------------------------------------------------------------

class StripeDialect final : public Dialect {
 public:
  std::string_view name() const override { return "stripe"; }

  void route(httplib::Server& http, Gate& gate) override {
    const char* collection = R"(/v1/([a-z_]+))";
    const char* one = R"(/v1/([a-z_]+)/([^/]+))";
    http.Post(collection, [this, &gate](const httplib::Request& req, httplib::Response& res) {
      serve(gate, req, res, [&] { return create(req); });
    });
    http.Post(one, [this, &gate](const httplib::Request& req, httplib::Response& res) {
      serve(gate, req, res, [&] { return update(req); });
    });
    http.Delete(one, [this, &gate](const httplib::Request& req, httplib::Response& res) {
      serve(gate, req, res, [&] { return remove(req); });
    });
    http.Get(one, [this, &gate](const httplib::Request& req, httplib::Response& res) {
      serve(gate, req, res, [&] { return retrieve(req); });
    });
  }

  std::string dump() const override {
    std::lock_guard lock(state_mutex_);
    Document doc(rapidjson::kObjectType);
    Allocator& alloc = doc.GetAllocator();
    if (records_.find("customers") == records_.end())
      doc.AddMember("customers", Value(rapidjson::kArrayType), alloc);
    for (const auto& [object, records] : records_) {
      Value list(rapidjson::kArrayType);
      for (const Document& record : records) list.PushBack(Value(record, alloc), alloc);
      doc.AddMember(Value(object.c_str(), static_cast<rapidjson::SizeType>(object.size()), alloc),
                    list, alloc);
    }
    return toJson(doc);
  }

  void clear() override {
    std::lock_guard lock(state_mutex_);
    records_.clear();
    replies_.clear();
  }

 private:
  struct Saved {
    std::string fingerprint;  // method, path and body of the first request with the key
    Answer answer;
  };

  template <class Handle>
  void serve(Gate& gate, const httplib::Request& req, httplib::Response& res, Handle handle) {
    res.set_header("Request-Id", "req_" + randomToken(14));
    res.set_header("Stripe-Version", req.has_header("Stripe-Version")
                                         ? req.get_header_value("Stripe-Version")
                                         : std::string(kVersion));
    auto unauthorized = [&req](httplib::Response& out) { writeUnauthorized(req, out); };
    // The Gate knows Bearer tokens; Stripe also takes the key as Basic auth's user name.
    std::optional<httplib::Request> as_bearer = basicAsBearer(req);
    if (gate.intercept(as_bearer ? *as_bearer : req, res, unauthorized)) return;
    Answer answer;
    if (std::optional<Answer> refused = checkHeaders(req)) {
      answer = *refused;
    } else {
      std::lock_guard gate_lock(gate.mutex());
      std::lock_guard lock(state_mutex_);
      answer = idempotent(req, res, handle);
    }
    res.status = answer.status;
    res.set_content(answer.body, kJson);
  }

  static std::optional<httplib::Request> basicAsBearer(const httplib::Request& req) {
    std::string authorization = req.get_header_value("Authorization");
    if (authorization.rfind("Basic ", 0) != 0) return std::nullopt;
    auto decoded = base64Decode(authorization.substr(6));
    if (!decoded) return std::nullopt;
    httplib::Request copy = req;
    copy.headers.erase("Authorization");
    copy.headers.emplace("Authorization", "Bearer " + decoded->substr(0, decoded->find(':')));
    return copy;
  }

  static void writeUnauthorized(const httplib::Request& req, httplib::Response& res) {
    std::string authorization = req.get_header_value("Authorization");
    std::string key = authorization.substr(authorization.find(' ') + 1);  // npos + 1: all
    if (authorization.rfind("Basic ", 0) == 0) {
      std::string decoded = base64Decode(key).value_or("");
      key = decoded.substr(0, decoded.find(':'));
    }
    std::string message =
        "You did not provide an API key. You need to provide your API key in the Authorization "
        "header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY'). See "
        "https://stripe.com/docs/api#authentication for details, or we can help at "
        "https://support.stripe.com/.";
    if (!key.empty()) message = "Invalid API Key provided: " + masked(key);
    res.status = 401;
    res.set_header("WWW-Authenticate", "Basic realm=\"Stripe\"");
    res.set_content(stripeError(401, "invalid_request_error", message).body, kJson);
  }

  // sk_test_abcdefgh1234 -> sk_test_********1234, as Stripe shows a refused key.
  static std::string masked(const std::string& key) {
    size_t second = key.find('_', key.find('_') + 1);
    std::string prefix = second == std::string::npos ? "" : key.substr(0, second + 1);
    size_t shown = key.size() >= prefix.size() + 8 ? 4 : 0;
    return prefix + std::string(key.size() - prefix.size() - shown, '*') +
           key.substr(key.size() - shown);
  }

  static std::optional<Answer> checkHeaders(const httplib::Request& req) {
    if (req.has_header("Stripe-Version")) {
      std::string version = req.get_header_value("Stripe-Version");
      bool dated = version.size() >= 10 && version[4] == '-' && version[7] == '-' &&
                   (version.size() == 10 || version[10] == '.');
      if (!dated) return invalid("Invalid Stripe API version: " + version, "");
    }
    std::string type = req.get_header_value("Content-Type");
    if (req.method == "POST" && !req.body.empty() &&
        type.rfind("application/x-www-form-urlencoded", 0) != 0)
      return invalid("Invalid request: unsupported Content-Type " + type +
                         ". If error persists and you need assistance, please contact "
                         "support@stripe.com.",
                     "");
    if (req.get_header_value("Idempotency-Key").size() > kMaxIdempotencyKey)
      return invalid("Idempotency-Key header value is too long: keys can be up to 255 characters",
                     "");
    return std::nullopt;
  }

  // Under both locks. Same key and body: the saved answer again; another body: refused.
  template <class Handle>
  Answer idempotent(const httplib::Request& req, httplib::Response& res, Handle handle) {
    std::string key = req.get_header_value("Idempotency-Key");
    if (req.method != "POST" || key.empty()) return handle();
    std::string fingerprint = req.method + " " + req.path + "\n" + req.body;
    if (auto saved = replies_.find(key); saved != replies_.end()) {
      if (saved->second.fingerprint != fingerprint)
        return stripeError(400, "idempotency_error",
                           "Keys for idempotent requests can only be used with the same "
                           "parameters they were first used with. Try using a key other than '" +
                               key + "' if you meant to execute a different request.");
      res.set_header("Idempotent-Replayed", "true");
      return saved->second.answer;
    }
    Answer answer = handle();
    if (answer.saved) replies_.emplace(key, Saved{fingerprint, answer});
    return answer;
  }

  Document* find(const std::string& object, const std::string& id) {
    auto it = records_.find(object);
    if (it == records_.end()) return nullptr;
    for (Document& record : it->second) {
      const Value* record_id = findMember(record, "id");
      if (record_id != nullptr && asStringView(*record_id) == id) return &record;
    }
    return nullptr;
  }

  // Stripe's checks on a create or update's params, before anything changes.
  std::optional<Answer> refuse(const std::string& object, const Param& params, bool creating) {
    for (size_t i = 0; i < params.keys.size(); ++i) {
      const std::string& key = params.keys[i];
      bool known = object == "customers" ? listed(kCustomerParams, key)
                   : object == "products"
                       ? listed(kProductParams, key) && (creating || key != "id")
                       : !listed(kReadOnly, key) &&
                             (key != "id" || (creating && listed(kCustomIds, object)));
      if (!known) return invalid("Received unknown parameter: " + key, key, "parameter_unknown");
    }
    std::vector<std::string> path;
    auto refusal =
        findRefusal(params, path, [](const std::string& value, const std::vector<std::string>& at) {
          std::optional<Answer> answer;
          std::string param = paramPath(at);
          if (value.find("INVALID") != std::string::npos)
            answer =
                invalid("Invalid value for " + param + ": '" + value + "' is not accepted.", param);
          else if (at.size() >= 1 && at.front() != "metadata" &&
                   listed(kIntegerParams, at.back()) && !value.empty() && !isInteger(value))
            answer = invalid("Invalid integer: " + value, param, "parameter_invalid_integer");
          return answer;
        });
    if (refusal) return refusal;
    if (const Param* metadata = namedChild(params, "metadata")) {
      bool flat = std::all_of(metadata->children.begin(), metadata->children.end(),
                              [](const Param& child) { return child.value.has_value(); });
      if ((metadata->value && !metadata->value->empty()) || !flat)
        return invalid("Invalid hash", "metadata", "parameter_invalid_hash");
    }
    if (creating) {
      std::vector<std::string_view> required;
      if (object == "products") required = {"name"};
      if (object == "prices") required = {"currency"};
      for (std::string_view name : required)
        if (namedChild(params, name) == nullptr)
          return invalid("Missing required param: " + std::string(name) + ".", name,
                         "parameter_missing");
    }
    return std::nullopt;
  }

  static const Param* namedChild(const Param& params, std::string_view name) {
    for (size_t i = 0; i < params.keys.size(); ++i)
      if (params.keys[i] == name) return &params.children[i];
    return nullptr;
  }

  // Applies params to a record: metadata keys merge ("" removes one, metadata= clears all);
  // every other param replaces the member ("" sets it to null).
  static void apply(Document& record, const Param& params) {
    Allocator& alloc = record.GetAllocator();
    for (size_t i = 0; i < params.keys.size(); ++i) {
      const std::string& key = params.keys[i];
      const Param& param = params.children[i];
      if (key == "expand" || key == "id") continue;
      if (key != "metadata") {
        setMember(record, key, toValue(key, param, false, alloc), alloc);
        continue;
      }
      Value* metadata = findMember(record, "metadata");
      if (metadata == nullptr || !metadata->IsObject() || param.value) {
        setMember(record, "metadata", Value(rapidjson::kObjectType), alloc);
        metadata = findMember(record, "metadata");
      }
      for (size_t m = 0; m < param.keys.size(); ++m) {
        const std::string& name = param.keys[m];
        if (param.children[m].value->empty()) {
          metadata->RemoveMember(name.c_str());
        } else {
          setMember(*metadata, name, leafValue(name, *param.children[m].value, true, alloc), alloc);
        }
      }
    }
  }

  Document blank(const std::string& object, const std::string& id) const {
    Document record(rapidjson::kObjectType);
    Allocator& alloc = record.GetAllocator();
    auto text = [&](const std::string& s) {
      return Value(s.c_str(), static_cast<rapidjson::SizeType>(s.size()), alloc);
    };
    record.AddMember("id", text(id), alloc);
    record.AddMember("object", text(singular(object)), alloc);
    auto null = [&](const char* name) {
      record.AddMember(Value(rapidjson::StringRef(name)), Value(), alloc);
    };
    if (object == "customers") {
      null("address");
      record.AddMember("balance", 0, alloc);
    }
    if (object == "products" || object == "prices") record.AddMember("active", true, alloc);
    record.AddMember("created", static_cast<int64_t>(std::time(nullptr)), alloc);
    if (object == "customers") {
      null("currency");
      null("default_source");
      record.AddMember("delinquent", false, alloc);
      null("description");
      null("email");
      record.AddMember("invoice_prefix", text(randomToken(8)), alloc);
    }
    record.AddMember("livemode", false, alloc);
    record.AddMember("metadata", Value(rapidjson::kObjectType), alloc);
    if (object == "customers") {
      null("name");
      null("phone");
      record.AddMember("preferred_locales", Value(rapidjson::kArrayType), alloc);
      null("shipping");
      record.AddMember("tax_exempt", "none", alloc);
    }
    return record;
  }

  Answer create(const httplib::Request& req) {
    std::string object = req.matches[1];
    Param params;
    if (auto bad = parseForm(req.body, params)) return invalid("Invalid parameter: " + *bad, *bad);
    if (auto refusal = refuse(object, params, true)) return *refusal;
    std::string id = idPrefix(object) + randomToken(14);
    if (const Param* chosen = namedChild(params, "id"); chosen && chosen->value) {
      id = *chosen->value;
      if (find(object, id) != nullptr)
        return invalid(singular(object) + " already exists with the ID " + id, "id",
                       "resource_already_exists");
    }
    Document record = blank(object, id);
    apply(record, params);
    Answer answer{200, toJson(record)};
    records_[object].push_back(std::move(record));
    return answer;
  }

  Answer update(const httplib::Request& req) {
    std::string object = req.matches[1], id = req.matches[2];
    Document* record = find(object, id);
    if (record == nullptr) return noSuch(object, id);
    Param params;
    if (auto bad = parseForm(req.body, params)) return invalid("Invalid parameter: " + *bad, *bad);
    if (auto refusal = refuse(object, params, false)) return *refusal;
    apply(*record, params);
    return Answer{200, toJson(*record)};
  }

  Answer remove(const httplib::Request& req) {
    std::string object = req.matches[1], id = req.matches[2];
    if (!listed(kDeletable, object)) return unrecognized(req);
    auto it = records_.find(object);
    Document* record = find(object, id);
    if (record == nullptr) return noSuch(object, id);
    Document gone(rapidjson::kObjectType);
    Allocator& alloc = gone.GetAllocator();
    gone.AddMember("id", Value(id.c_str(), static_cast<rapidjson::SizeType>(id.size()), alloc),
                   alloc);
    std::string type = singular(object);
    gone.AddMember(
        "object", Value(type.c_str(), static_cast<rapidjson::SizeType>(type.size()), alloc), alloc);
    gone.AddMember("deleted", true, alloc);
    it->second.erase(it->second.begin() + (record - it->second.data()));
    return Answer{200, toJson(gone)};
  }

  Answer retrieve(const httplib::Request& req) {
    std::string object = req.matches[1], id = req.matches[2];
    Document* record = find(object, id);
    if (record == nullptr) return noSuch(object, id);
    return Answer{200, toJson(*record)};
  }

  mutable std::mutex state_mutex_;  // taken after gate.mutex() by handlers; alone by dump/clear
  std::map<std::string, std::vector<Document>> records_;  // object -> records, creation order
  std::map<std::string, Saved> replies_;                  // Idempotency-Key -> first answer
};

}  // namespace

std::unique_ptr<Dialect> makeStripeDialect() {
  return std::make_unique<StripeDialect>();
}

}  // namespace fakeapi
