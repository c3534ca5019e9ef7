// The fake GitHub (adapters-spec §5): POST /graphql running the aliased issue mutations the
// github adapter sends — `mutation($i0:CreateIssueInput!,..){r0:createIssue(input:$i0){..} ..}`
// with inputs in `variables` — over in-memory issues, one alias after the other and not as a
// transaction, like GitHub; and POST /login/oauth/access_token for App user tokens (refusals
// with HTTP 200). Anything else is refused with GraphQL's error shape. Refusal rules: a string
// containing INVALID (UNPROCESSABLE on that alias), an unknown node id (NOT_FOUND), more than
// 100 aliases (an error without a path, nothing done).
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "tools/fakeapi/dialect.h"
#include "tools/fakeapi/json.h"

namespace fakeapi {
namespace {

constexpr const char* kJson = "application/json; charset=utf-8";
constexpr size_t kMaxAliases = 100;
constexpr long kPointsPerHour = 5000;

// ---- the schema subset: mutations, their inputs, and what they can select -------------------

enum class InputKind { kId, kString, kIdList, kState };
struct InputField {
  const char* name;
  InputKind kind;
  bool required;
};
struct MutationType {
  const char* field;
  const char* input_type;
  const char* payload_type;
  std::vector<InputField> inputs;
};

// The schema tables read better one mutation / type per line.
// clang-format off
const std::vector<MutationType>& mutations() {
  using enum InputKind;
  static const std::vector<MutationType> kMutations = {
      {"createIssue", "CreateIssueInput", "CreateIssuePayload",
       {{"repositoryId", kId, true}, {"title", kString, true}, {"body", kString, false},
        {"assigneeIds", kIdList, false}, {"labelIds", kIdList, false}, {"milestoneId", kId, false},
        {"projectIds", kIdList, false}, {"issueTemplate", kString, false},
        {"issueTypeId", kId, false}, {"parentIssueId", kId, false},
        {"clientMutationId", kString, false}}},
      {"updateIssue", "UpdateIssueInput", "UpdateIssuePayload",
       {{"id", kId, true}, {"title", kString, false}, {"body", kString, false},
        {"state", kState, false}, {"assigneeIds", kIdList, false}, {"labelIds", kIdList, false},
        {"milestoneId", kId, false}, {"projectIds", kIdList, false}, {"issueTypeId", kId, false},
        {"clientMutationId", kString, false}}},
      {"deleteIssue", "DeleteIssueInput", "DeleteIssuePayload",
       {{"issueId", kId, true}, {"clientMutationId", kString, false}}},
  };
  return kMutations;
}

// Object types and their fields: "" for a leaf, else the field's object type.
const std::map<std::string, std::map<std::string, std::string>>& objectTypes() {
  static const std::map<std::string, std::map<std::string, std::string>> kTypes = {
      {"CreateIssuePayload", {{"clientMutationId", ""}, {"issue", "Issue"}}},
      {"UpdateIssuePayload", {{"clientMutationId", ""}, {"issue", "Issue"}}},
      {"DeleteIssuePayload", {{"clientMutationId", ""}, {"repository", "Repository"}}},
      {"Issue", {{"id", ""}, {"number", ""}, {"title", ""}, {"body", ""}, {"state", ""},
                 {"url", ""}, {"createdAt", ""}, {"updatedAt", ""}, {"closed", ""},
                 {"closedAt", ""}, {"repository", "Repository"}}},
      {"Repository", {{"id", ""}}},
  };
  return kTypes;
}
// clang-format on

// ---- the document: a small GraphQL lexer and a parser for the one shape accepted ------------

struct Token {
  enum Kind { kName, kPunct, kVariable, kOther, kEnd } kind = kEnd;
  std::string_view text;
  size_t offset = 0;
};

struct Selection {
  std::string key, field;   // key: the alias, or the field's name
  std::string object_type;  // "" for a leaf
  std::vector<Selection> children;
};

struct Call {
  std::string alias, variable;
  const MutationType* mutation = nullptr;
  std::vector<Selection> selection;
  size_t offset = 0;
};

struct Document {
  std::vector<std::pair<std::string, std::string>> variables;  // $name -> declared type
  std::vector<Call> calls;
};

// A GraphQL error without a path: GitHub refused the document and ran nothing.
struct DocumentError {
  DocumentError(std::string message_text, size_t at = 0, std::string field = {},
                std::string why = {})
      : message(std::move(message_text)),
        offset(at),
        problem_field(std::move(field)),
        explanation(std::move(why)) {}
  std::string message;
  size_t offset = 0;
  std::string problem_field, explanation;  // variable coercion problems
};

std::vector<Token> lex(std::string_view text) {
  std::vector<Token> tokens;
  size_t i = 0;
  auto isName = [](char c, bool first) {
    return c == '_' || std::isalpha(static_cast<unsigned char>(c)) ||
           (!first && std::isdigit(static_cast<unsigned char>(c)));
  };
  while (i < text.size()) {
    char c = text[i];
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == ',') {
      ++i;
    } else if (c == '#') {
      while (i < text.size() && text[i] != '\n') ++i;
    } else if (isName(c, true) || (c == '$' && i + 1 < text.size() && isName(text[i + 1], true))) {
      size_t start = i++;
      while (i < text.size() && isName(text[i], false)) ++i;
      tokens.push_back(
          {c == '$' ? Token::kVariable : Token::kName, text.substr(start, i - start), start});
    } else if (std::string_view("!():{}[]=@|&$").find(c) != std::string_view::npos) {
      tokens.push_back({Token::kPunct, text.substr(i, 1), i});
      ++i;
    } else {  // strings, numbers, ...: no literal is part of the accepted shape
      size_t start = i++;
      while (i < text.size() && !std::isspace(static_cast<unsigned char>(text[i])) &&
             std::string_view("(){}:,").find(text[i]) == std::string_view::npos)
        ++i;
      tokens.push_back({Token::kOther, text.substr(start, i - start), start});
    }
  }
  tokens.push_back({Token::kEnd, {}, text.size()});
  return tokens;
}

class Parser {
 public:
  explicit Parser(std::string_view query) : tokens_(lex(query)) {}

  std::optional<DocumentError> parse(Document& doc) {
    if (!name("mutation"))
      return error(
          "the fake GitHub API runs mutations only (createIssue, updateIssue, "
          "deleteIssue)");
    if (peek().kind == Token::kName) ++pos_;  // operation name
    if (punct("(")) {
      while (!punct(")")) {
        const Token& variable = peek();
        if (variable.kind != Token::kVariable) return unexpected();
        ++pos_;
        if (!punct(":")) return unexpected();
        if (peek().kind != Token::kName) return unexpected();
        std::string type(peek().text);
        ++pos_;
        if (punct("!")) type += "!";
        if (punct("=")) return error("the fake GitHub API takes no variable defaults");
        doc.variables.emplace_back(std::string(variable.text.substr(1)), type);
      }
    }
    if (!punct("{")) return unexpected();
    do {
      Call call;
      if (auto failed = parseCall(call)) return failed;
      doc.calls.push_back(std::move(call));
    } while (!punct("}"));
    if (peek().kind != Token::kEnd) return unexpected();
    return std::nullopt;
  }

 private:
  const Token& peek() const { return tokens_[pos_]; }
  bool punct(std::string_view text) {
    if (peek().kind != Token::kPunct || peek().text != text) return false;
    ++pos_;
    return true;
  }
  bool name(std::string_view text) {
    if (peek().kind != Token::kName || peek().text != text) return false;
    ++pos_;
    return true;
  }
  DocumentError error(std::string message) const { return {std::move(message), peek().offset}; }
  DocumentError unexpected() const {
    const Token& token = peek();
    if (token.kind == Token::kEnd) return error("Unexpected end of document");
    const char* kind = token.kind == Token::kName       ? "IDENTIFIER"
                       : token.kind == Token::kVariable ? "VAR_SIGN"
                       : token.kind == Token::kPunct    ? "PUNCTUATOR"
                                                        : "LITERAL";
    return error("Parse error on \"" + std::string(token.text) + "\" (" + kind + ")");
  }

  std::optional<DocumentError> parseCall(Call& call) {
    call.offset = peek().offset;
    if (peek().kind != Token::kName) return unexpected();
    call.alias = std::string(peek().text);
    ++pos_;
    if (!punct(":"))
      return DocumentError{
          "every mutation needs an alias rN: (the fake GitHub API maps rows "
          "by alias)",
          call.offset};
    if (call.alias.size() < 2 || call.alias[0] != 'r' ||
        call.alias.find_first_not_of("0123456789", 1) != std::string::npos)
      return DocumentError{"aliases are r0, r1, ...: not '" + call.alias + "'", call.offset};
    if (peek().kind != Token::kName) return unexpected();
    std::string field(peek().text);
    for (const MutationType& mutation : mutations())
      if (field == mutation.field) call.mutation = &mutation;
    if (call.mutation == nullptr)
      return error("Field '" + field + "' doesn't exist on type 'Mutation'");
    ++pos_;
    if (!punct("(")) return error("Field '" + field + "' is missing required arguments: input");
    if (!name("input") || !punct(":")) return unexpected();
    if (peek().kind != Token::kVariable)
      return error("the fake GitHub API takes mutation inputs from variables only ($iN)");
    call.variable = std::string(peek().text.substr(1));
    ++pos_;
    if (!punct(")")) return unexpected();
    return parseSelection(call.mutation->payload_type, call.selection);
  }

  // `{ field [alias: field] [{...}] ... }` of `type`; recursion is bounded by the schema.
  std::optional<DocumentError> parseSelection(const std::string& type,
                                              std::vector<Selection>& out) {
    if (!punct("{")) return error("Field must have selections (" + type + " is an object type)");
    const auto& fields = objectTypes().at(type);
    do {
      if (peek().kind != Token::kName) return unexpected();
      Selection selection;
      selection.key = selection.field = std::string(peek().text);
      ++pos_;
      if (punct(":")) {
        if (peek().kind != Token::kName) return unexpected();
        selection.field = std::string(peek().text);
        ++pos_;
      }
      auto found = fields.find(selection.field);
      if (found == fields.end())
        return error("Field '" + selection.field + "' doesn't exist on type '" + type + "'");
      selection.object_type = found->second;
      if (!selection.object_type.empty()) {
        if (auto failed = parseSelection(selection.object_type, selection.children)) return failed;
      } else if (peek().kind == Token::kPunct && peek().text == "{") {
        return error("Selections can't be made on scalars (field '" + selection.field + "')");
      }
      out.push_back(std::move(selection));
    } while (!punct("}"));
    return std::nullopt;
  }

  std::vector<Token> tokens_;
  size_t pos_ = 0;
};

// Aliases, variable declarations and their uses agree (GraphQL validation, before running).
std::optional<DocumentError> validate(const Document& doc) {
  if (doc.calls.size() > kMaxAliases)
    return DocumentError{"This request has " + std::to_string(doc.calls.size()) +
                         " mutations; the fake GitHub API runs at most " +
                         std::to_string(kMaxAliases) + " per request."};
  std::map<std::string, std::string> declared(doc.variables.begin(), doc.variables.end());
  std::map<std::string, bool> used;
  std::map<std::string, bool> aliases;
  for (const Call& call : doc.calls) {
    if (aliases[call.alias])
      return DocumentError{"Field '" + call.alias + "' has a field conflict", call.offset};
    aliases[call.alias] = true;
    auto it = declared.find(call.variable);
    if (it == declared.end())
      return DocumentError{
          "Variable $" + call.variable + " is used by anonymous mutation but not declared",
          call.offset};
    std::string wanted = std::string(call.mutation->input_type) + "!";
    if (it->second != wanted)
      return DocumentError{"Type mismatch on variable $" + call.variable + " and argument input (" +
                               it->second + " / " + wanted + ")",
                           call.offset};
    used[call.variable] = true;
  }
  for (const auto& [variable, type] : doc.variables)
    if (!used[variable])
      return DocumentError{"Variable $" + variable +
                           " is declared by anonymous mutation but not used"};
  return std::nullopt;
}

// ---- inputs -----------------------------------------------------------------------------------

std::string describe(const rapidjson::Value& value) {
  if (value.IsArray()) return "[...]";
  if (value.IsObject()) return "{...}";
  return toJson(value);  // a scalar: no recursion
}

// Why `value` is not a valid `field`, or "".
std::string coercionProblem(const InputField& field, const rapidjson::Value& value) {
  if (value.IsNull()) return field.required ? "Expected value to not be null" : "";
  switch (field.kind) {
    case InputKind::kId:
      return value.IsString() || value.IsInt64()
                 ? ""
                 : "Could not coerce value " + describe(value) + " to ID";
    case InputKind::kString:
      return value.IsString() ? "" : "Could not coerce value " + describe(value) + " to String";
    case InputKind::kState:
      if (value.IsString() && (asStringView(value) == "OPEN" || asStringView(value) == "CLOSED"))
        return "";
      return "Expected " + describe(value) + " to be one of: CLOSED, OPEN";
    case InputKind::kIdList:
      if (!value.IsArray()) return "Could not coerce value " + describe(value) + " to [ID!]";
      for (const auto& item : value.GetArray())
        if (!item.IsString()) return "Could not coerce value " + describe(item) + " to ID";
      return "";
  }
  return "";
}

std::optional<DocumentError> coerce(const std::string& variable, const MutationType& mutation,
                                    const rapidjson::Value* value) {
  std::string prefix =
      "Variable $" + variable + " of type " + mutation.input_type + "! was provided invalid value";
  if (value == nullptr || value->IsNull())
    return DocumentError{prefix, 0, "", "Expected value to not be null"};
  if (!value->IsObject()) return DocumentError{prefix, 0, "", "Expected value to be an object"};
  for (const auto& member : value->GetObject()) {
    std::string name = member.name.GetString();
    const InputField* field = nullptr;
    for (const InputField& candidate : mutation.inputs)
      if (name == candidate.name) field = &candidate;
    std::string problem = field == nullptr
                              ? std::string("Field is not defined on ") + mutation.input_type
                              : coercionProblem(*field, member.value);
    if (!problem.empty())
      return DocumentError{prefix + " for " + name + " (" + problem + ")", 0, name, problem};
  }
  for (const InputField& field : mutation.inputs)
    if (field.required && findMember(*value, field.name) == nullptr)
      return DocumentError{prefix + " for " + field.name + " (Expected value to not be null)", 0,
                           field.name, "Expected value to not be null"};
  return std::nullopt;
}

// The first input field holding a string with INVALID in it (the shared refusal rule).
std::string invalidField(const rapidjson::Value& input) {
  auto refused = [](const rapidjson::Value& value) {
    return value.IsString() && asStringView(value).find("INVALID") != std::string_view::npos;
  };
  for (const auto& member : input.GetObject()) {
    bool bad = refused(member.value);
    if (member.value.IsArray())
      for (const auto& item : member.value.GetArray()) bad = bad || refused(item);
    if (bad) return member.name.GetString();
  }
  return {};
}

// A JSON string literal.
std::string quote(std::string_view text) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> out(buffer);
  out.String(text.data(), static_cast<rapidjson::SizeType>(text.size()));
  return std::string(buffer.GetString(), buffer.GetSize());
}

std::string text(const rapidjson::Value& input, const char* name) {
  const rapidjson::Value* value = findMember(input, name);
  if (value == nullptr || !value->IsString()) return {};
  return std::string(asStringView(*value));
}

// The current UTC time in strftime's `format`.
std::string utcNow(const char* format) {
  std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  char buffer[64];
  std::strftime(buffer, sizeof buffer, format, &utc);
  return buffer;
}
std::string nowIso8601() {
  return utcNow("%Y-%m-%dT%H:%M:%SZ");
}

// application/x-www-form-urlencoded, as the token endpoint gets it.
std::map<std::string, std::string> formFields(std::string_view body) {
  auto hex = [](char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  auto decode = [&](std::string_view part) {
    std::string out;
    for (size_t i = 0; i < part.size(); ++i) {
      if (part[i] == '+') {
        out += ' ';
      } else if (part[i] == '%' && i + 2 < part.size() && hex(part[i + 1]) >= 0 &&
                 hex(part[i + 2]) >= 0) {
        out += static_cast<char>(hex(part[i + 1]) * 16 + hex(part[i + 2]));
        i += 2;
      } else {
        out += part[i];
      }
    }
    return out;
  };
  std::map<std::string, std::string> fields;
  while (!body.empty()) {
    size_t end = body.find('&');
    std::string_view pair = body.substr(0, end);
    size_t equals = pair.find('=');
    if (equals != std::string_view::npos)
      fields[decode(pair.substr(0, equals))] = decode(pair.substr(equals + 1));
    body = end == std::string_view::npos ? std::string_view() : body.substr(end + 1);
  }
  return fields;
}

// ---- the dialect ------------------------------------------------------------------------------

struct Issue {
  std::string id, repository_id, title, body, state = "OPEN", url, created_at, updated_at,
                                              closed_at;
  long number = 0;
  std::map<std::string, std::string> links;  // labelIds, assigneeIds, milestoneId, ...: JSON
};

class GithubDialect final : public Dialect {
 public:
  std::string_view name() const override { return "github"; }

  void route(httplib::Server& http, Gate& gate) override {
    http.Post("/graphql", [this, &gate](const httplib::Request& req, httplib::Response& res) {
      stamp(res);
      if (gate.intercept(req, res, [](httplib::Response& refused) {
            refused.status = 401;
            refused.set_content(R"({"message":"Bad credentials","documentation_url":)"
                                R"("https://docs.github.com/rest"})",
                                kJson);
          }))
        return;
      std::lock_guard lock(gate.mutex());
      graphql(req, res);
    });
    http.Post("/login/oauth/access_token",
              [this, &gate](const httplib::Request& req, httplib::Response& res) {
                stamp(res);
                if (gate.interceptUnauthenticated(req, res)) return;
                refreshToken(req, res, gate.tokens());
              });
  }

  std::string dump() const override {
    std::string records;
    for (const std::string& id : order_)
      records += (records.empty() ? "" : ",") + issueRecord(issues_.at(id));
    return R"({"issues":[)" + records + "]}";
  }

  void clear() override {
    issues_.clear();
    order_.clear();
    numbers_.clear();
    used_points_ = 0;
    reset_at_ = 0;
  }

 private:
  // Headers every answer of GitHub's carries.
  void stamp(httplib::Response& res) {
    unsigned long n = ++requests_;
    char id[64];
    std::snprintf(id, sizeof id, "%04lX:%04lX:%07lX:%07lX:%08lX", (n * 7919) & 0xFFFF,
                  (n * 104729) & 0xFFFF, n, (n * 31) & 0xFFFFFFF, salt_ & 0xFFFFFFFF);
    res.set_header("x-github-request-id", id);
    res.set_header("date", utcNow("%a, %d %b %Y %H:%M:%S GMT"));
  }

  void rateLimitHeaders(httplib::Response& res) const {
    res.set_header("x-ratelimit-limit", std::to_string(kPointsPerHour));
    res.set_header("x-ratelimit-remaining", std::to_string(kPointsPerHour - used_points_));
    res.set_header("x-ratelimit-used", std::to_string(used_points_));
    res.set_header("x-ratelimit-reset", std::to_string(reset_at_));
    res.set_header("x-ratelimit-resource", "graphql");
    res.set_header("x-github-media-type", "github.v4; format=json");
  }

  // Takes one point from the hour's budget; false when it is used up.
  bool spendPoint() {
    long now = static_cast<long>(std::time(nullptr));
    if (now >= reset_at_) {
      reset_at_ = now + 3600;
      used_points_ = 0;
    }
    if (used_points_ >= kPointsPerHour) return false;
    ++used_points_;
    return true;
  }

  void reply(httplib::Response& res, int status, const std::string& body) {
    res.status = status;
    res.set_content(body, kJson);
  }

  void graphql(const httplib::Request& req, httplib::Response& res) {
    if (req.get_header_value("User-Agent").empty())
      return reply(res, 403,
                   R"({"message":"Request forbidden by administrative rules. Please make sure )"
                   R"(your request has a User-Agent header (https://docs.github.com/rest/overview/)"
                   R"(resources-in-the-rest-api#user-agent-required)."})");
    std::string version = req.get_header_value("X-GitHub-Api-Version");
    if (!version.empty() && version != "2022-11-28" && version != "2026-03-10")
      return reply(res, 400,
                   R"({"message":"API version ')" + version +
                       R"(' is not supported.","documentation_url":"https://docs.github.com/rest/)"
                       R"(overview/api-versions"})");
    bool spent = spendPoint();
    rateLimitHeaders(res);
    if (!spent)
      return reply(res, 200,
                   R"({"errors":[{"type":"RATE_LIMITED","code":"graphql_rate_limit",)"
                   R"("message":"API rate limit already exceeded for user ID 1."}]})");
    rapidjson::Document body;
    body.Parse<rapidjson::kParseIterativeFlag>(req.body.data(), req.body.size());
    if (body.HasParseError() || !body.IsObject())
      return reply(res, 400,
                   R"({"message":"Problems parsing JSON","documentation_url":)"
                   R"("https://docs.github.com/graphql"})");
    const rapidjson::Value* query = findMember(body, "query");
    if (query == nullptr || !query->IsString())
      return reply(res, 200,
                   R"({"errors":[{"message":"A query attribute must be specified and must be )"
                   R"(a string."}]})");
    std::string_view query_text = asStringView(*query);
    Document doc;
    std::optional<DocumentError> refused = Parser(query_text).parse(doc);
    if (!refused) refused = validate(doc);
    const rapidjson::Value* variables = findMember(body, "variables");
    if (variables != nullptr && !variables->IsObject() && !variables->IsNull() && !refused)
      refused = DocumentError{"variables must be an object"};
    for (size_t i = 0; i < doc.calls.size() && !refused; ++i) {
      const Call& call = doc.calls[i];
      const rapidjson::Value* input =
          variables && variables->IsObject() ? findMember(*variables, call.variable) : nullptr;
      refused = coerce(call.variable, *call.mutation, input);
    }
    if (refused || variables == nullptr)  // every call's input was found in `variables`
      return reply(res, 200,
                   documentErrorJson(refused.value_or(DocumentError{"no variables"}), query_text));
    reply(res, 200, run(doc, *variables, query_text));
  }

  // "locations":[{"line":L,"column":C}] of `offset` in the query.
  static std::string location(std::string_view query, size_t offset) {
    long line = 1, column = 1;
    for (size_t i = 0; i < offset && i < query.size(); ++i) {
      column = query[i] == '\n' ? 1 : column + 1;
      line += query[i] == '\n';
    }
    return R"("locations":[{"line":)" + std::to_string(line) + R"(,"column":)" +
           std::to_string(column) + "}]";
  }

  static std::string documentErrorJson(const DocumentError& error, std::string_view query) {
    std::string entry = "{";
    if (!error.explanation.empty())
      entry += R"("extensions":{"problems":[{"path":[)" +
               (error.problem_field.empty() ? "" : quote(error.problem_field)) +
               R"(],"explanation":)" + quote(error.explanation) + "}]},";
    entry += location(query, error.offset) + R"(,"message":)" + quote(error.message) + "}";
    return R"({"errors":[)" + entry + "]}";
  }

  // Runs the calls in order; each alias succeeds or fails on its own, like GitHub.
  std::string run(const Document& doc, const rapidjson::Value& variables, std::string_view query) {
    std::string data, errors;
    for (const Call& call : doc.calls) {
      const rapidjson::Value& input = *findMember(variables, call.variable);
      std::string type, message;
      const Issue* issue = apply(call, input, type, message);
      data += (data.empty() ? "" : ",") + quote(call.alias) + ":";
      if (type.empty()) {
        data += payload(call.selection, input, issue, deleted_repository_);
        continue;
      }
      data += "null";
      errors += std::string(errors.empty() ? "" : ",") + R"({"type":)" + quote(type) +
                R"(,"path":[)" + quote(call.alias) + "]," + location(query, call.offset) +
                R"(,"message":)" + quote(message) + "}";
    }
    return R"({"data":{)" + data + "}" + (errors.empty() ? "" : R"(,"errors":[)" + errors + "]") +
           "}";
  }

  // One mutation. Sets `type` and `message` when refused; returns the issue written (none for
  // a delete, whose repository is left in deleted_repository_).
  const Issue* apply(const Call& call, const rapidjson::Value& input, std::string& type,
                     std::string& message) {
    if (std::string field = invalidField(input); !field.empty()) {
      type = "UNPROCESSABLE";
      message = field + " is invalid (the fake GitHub API refuses values containing INVALID)";
      return nullptr;
    }
    auto notFound = [&](const std::string& id) -> const Issue* {
      type = "NOT_FOUND";
      message = "Could not resolve to a node with the global id of '" + id + "'.";
      return nullptr;
    };
    std::string mutation = call.mutation->field;
    if (mutation == "createIssue") {
      std::string repository = text(input, "repositoryId");
      if (repository.rfind("R_", 0) != 0) return notFound(repository);
      return &create(repository, input);
    }
    std::string id = text(input, mutation == "updateIssue" ? "id" : "issueId");
    auto it = issues_.find(id);
    if (it == issues_.end()) return notFound(id);
    if (mutation == "updateIssue") {
      update(it->second, input);
      return &it->second;
    }
    deleted_repository_ = it->second.repository_id;
    issues_.erase(it);
    std::erase(order_, id);
    return nullptr;
  }

  Issue& create(const std::string& repository, const rapidjson::Value& input) {
    static constexpr const char* kChars =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    Issue issue;
    do {
      issue.id = "I_kwDO";
      for (int i = 0; i < 16; ++i) issue.id += kChars[random_() % 64];
    } while (issues_.count(issue.id));
    issue.repository_id = repository;
    issue.number = ++numbers_[repository];
    issue.url = "https://github.com/apibouncer-fake/" + repository + "/issues/" +
                std::to_string(issue.number);
    issue.created_at = nowIso8601();
    update(issue, input);
    order_.push_back(issue.id);
    return issues_[issue.id] = std::move(issue);
  }

  void update(Issue& issue, const rapidjson::Value& input) {
    for (const auto& member : input.GetObject()) {
      std::string_view name(member.name.GetString(), member.name.GetStringLength());
      const rapidjson::Value& value = member.value;
      std::string as_text = value.IsString() ? std::string(asStringView(value)) : "";
      if (name == "title") {
        issue.title = as_text;
      } else if (name == "body") {
        issue.body = as_text;  // null clears it: GitHub shows ""
      } else if (name == "state") {
        issue.state = as_text;
        issue.closed_at = as_text == "CLOSED" ? nowIso8601() : "";
      } else if (name != "id" && name != "repositoryId" && name != "clientMutationId") {
        issue.links[std::string(name)] = toJson(value);  // coerced: strings or lists of them
      }
    }
    issue.updated_at = nowIso8601();
  }

  // One Issue field as JSON (`repository` with its selection).
  static std::string issueField(const Selection& selection, const Issue& issue) {
    const std::string& f = selection.field;
    if (f == "number") return std::to_string(issue.number);
    if (f == "closed") return issue.state == "CLOSED" ? "true" : "false";
    if (f == "closedAt") return issue.closed_at.empty() ? "null" : quote(issue.closed_at);
    if (f == "repository") return repository(selection.children, issue.repository_id);
    const std::map<std::string, const std::string*> strings = {{"id", &issue.id},
                                                               {"title", &issue.title},
                                                               {"body", &issue.body},
                                                               {"state", &issue.state},
                                                               {"url", &issue.url},
                                                               {"createdAt", &issue.created_at},
                                                               {"updatedAt", &issue.updated_at}};
    return quote(*strings.at(f));  // the parser only lets Issue's fields through
  }

  static std::string repository(const std::vector<Selection>& selection, const std::string& id) {
    std::string members;
    for (const Selection& field : selection)  // Repository has only `id` here
      members += (members.empty() ? "" : ",") + quote(field.key) + ":" + quote(id);
    return "{" + members + "}";
  }

  static std::string payload(const std::vector<Selection>& selection, const rapidjson::Value& input,
                             const Issue* issue, const std::string& deleted_repository) {
    std::string members;
    for (const Selection& field : selection) {
      members += (members.empty() ? "" : ",") + quote(field.key) + ":";
      if (field.field == "clientMutationId") {
        const rapidjson::Value* echoed = findMember(input, "clientMutationId");
        members += echoed && echoed->IsString() ? quote(asStringView(*echoed)) : "null";
      } else if (field.field == "repository") {
        members += repository(field.children, deleted_repository);
      } else {  // issue
        std::string leaves;
        for (const Selection& leaf : field.children)
          leaves += (leaves.empty() ? "" : ",") + quote(leaf.key) + ":" + issueField(leaf, *issue);
        members += "{" + leaves + "}";
      }
    }
    return "{" + members + "}";
  }

  static std::string issueRecord(const Issue& issue) {
    std::string record;
    for (const char* field : {"id", "number", "title", "body", "state", "closed", "closedAt", "url",
                              "createdAt", "updatedAt"})
      record += (record.empty() ? "" : ",") + quote(field) + ":" +
                issueField(Selection{field, field, "", {}}, issue);
    record +=
        R"(,"repository":)" + repository({Selection{"id", "id", "", {}}}, issue.repository_id);
    for (const auto& [name, json] : issue.links) record += "," + quote(name) + ":" + json;
    return "{" + record + "}";
  }

  // POST /login/oauth/access_token: GitHub answers refusals with 200 and an `error` member.
  void refreshToken(const httplib::Request& req, httplib::Response& res, TokenAuthority& tokens) {
    std::map<std::string, std::string> form = formFields(req.body);
    for (const auto& [key, value] : req.params) form.emplace(key, value);
    auto refuse = [&](const char* error, const char* description, const char* anchor) {
      reply(res, 200,
            std::string(R"({"error":")") + error + R"(","error_description":")" + description +
                R"(","error_uri":"https://docs.github.com/apps/managing-oauth-apps/)"
                R"(troubleshooting-oauth-app-access-token-request-errors/#)" +
                anchor + "\"}");
    };
    if (form["grant_type"] != "refresh_token")
      return refuse("bad_verification_code", "The code passed is incorrect or expired.",
                    "bad-verification-code");
    TokenAuthority::Grant grant;
    switch (
        tokens.refresh(form["refresh_token"], form["client_id"], form["client_secret"], grant)) {
      case TokenAuthority::Refusal::kUnknownClient:
        return refuse("incorrect_client_credentials",
                      "The client_id and/or client_secret passed are incorrect.",
                      "incorrect-client-credentials");
      case TokenAuthority::Refusal::kBadRefreshToken:
        return refuse("bad_refresh_token", "The refresh token passed is incorrect or expired.",
                      "bad-refresh-token");
      case TokenAuthority::Refusal::kNone:
        break;
    }
    std::string expires = std::to_string(grant.expires_in);
    constexpr const char* kRefreshLifetime = "15811200";  // about six months
    if (req.get_header_value("Accept").find("application/json") == std::string::npos) {
      res.status = 200;  // GitHub's default answer is form-encoded
      res.set_content("access_token=" + grant.access_token + "&expires_in=" + expires +
                          "&refresh_token=" + grant.refresh_token + "&refresh_token_expires_in=" +
                          kRefreshLifetime + "&scope=&token_type=bearer",
                      "application/x-www-form-urlencoded; charset=utf-8");
      return;
    }
    reply(res, 200,
          R"({"access_token":)" + quote(grant.access_token) + R"(,"expires_in":)" + expires +
              R"(,"refresh_token":)" + quote(grant.refresh_token) +
              R"(,"refresh_token_expires_in":)" + kRefreshLifetime +
              R"(,"scope":"","token_type":"bearer"})");
  }

  // Under gate.mutex(): handlers run on many threads.
  std::map<std::string, Issue> issues_;
  std::vector<std::string> order_;       // creation order, for dump()
  std::map<std::string, long> numbers_;  // repository node id -> last issue number
  std::string deleted_repository_;       // of the issue the last deleteIssue removed
  long used_points_ = 0;
  long reset_at_ = 0;
  std::mt19937_64 random_{std::random_device{}()};
  // Lock-free: stamp() runs before the gate.
  std::atomic<unsigned long> requests_{0};
  const unsigned long salt_ =
      static_cast<unsigned long>(std::chrono::steady_clock::now().time_since_epoch().count());
};

}  // namespace

std::unique_ptr<Dialect> makeGithubDialect() {
  return std::make_unique<GithubDialect>();
}

}  // namespace fakeapi
