// GitHub request building (github_request.h): the mutation document, its variables, and the
// checks that refuse a row before anything is sent.
#include "adapters/github/github_request.h"

#include <array>

#include "adapters/github/github_adapter.h"

namespace apibouncer::adapters::github {
namespace {

constexpr const char* kIssueSelection =
    "{clientMutationId issue{id number title body state url createdAt updatedAt}}";

// Issue fields GitHub fills in itself: createIssue has no input for them.
constexpr std::array<std::string_view, 8> kAssignedOnCreate = {
    "id", "number", "state", "url", "createdAt", "updatedAt", "closedAt", "closed"};

bool assignedOnCreate(std::string_view field) {
  for (std::string_view assigned : kAssignedOnCreate)
    if (field == assigned) return true;
  return false;
}

ApiError refusal(ErrorClass error_class, std::string message, std::string field = {}) {
  ApiError error;
  error.error_class = error_class;
  error.message = std::move(message);
  error.field = std::move(field);
  return error;
}

const std::string* fieldValue(const Fields& fields, std::string_view name) {
  for (const auto& [field, value] : fields)
    if (field == name) return &value;
  return nullptr;
}

// The createIssue input members of an INSERT row. A mirror's columns GitHub assigns (number,
// state, ...) come along as NULL (or the default 'OPEN') and are left out; any other value for
// them cannot be expressed.
std::variant<std::string, ApiError> createMembers(const Row& row) {
  for (const char* required : {"repositoryId", "title"}) {
    const std::string* value = fieldValue(row.fields, required);
    if (value == nullptr || *value == "null")
      return refusal(ErrorClass::kRequiredField,
                     std::string("createIssue needs ") + required +
                         (std::string_view(required) == "repositoryId"
                              ? " (the repository's node id: map a column to repositoryId)"
                              : ""),
                     required);
  }
  std::string members;
  for (const auto& [field, value] : row.fields) {
    if (assignedOnCreate(field)) {
      if (value == "null" || (field == "state" && value == "\"OPEN\"")) continue;
      return refusal(
          ErrorClass::kUnsupported,
          "GitHub assigns " + field + " when it creates an issue; createIssue cannot set it",
          field);
    }
    members += jsonQuote(field) + ":" + value + ",";
  }
  return members;
}

std::variant<std::string, ApiError> inputOf(Operation operation, const Row& row, size_t index) {
  for (const auto& [field, value] : row.fields)
    if (field == "clientMutationId")
      return refusal(ErrorClass::kValidation,
                     "clientMutationId is set by apibouncer to correlate rows; do not map a column "
                     "to it",
                     field);
  std::string input = "{";
  if (operation == Operation::kInsert) {
    auto members = createMembers(row);
    if (auto* error = std::get_if<ApiError>(&members)) return *error;
    input += std::get<std::string>(members);
  } else {
    if (row.id.empty())
      return refusal(ErrorClass::kValidation, "a row to write has no issue node id", "id");
    input += jsonQuote(shapeOf(operation).id_member) + ":" + jsonQuote(row.id) + ",";
    if (operation == Operation::kUpdate)
      for (const auto& [field, value] : row.fields) {
        if (field == "id")
          return refusal(ErrorClass::kUnsupported, "an issue's node id cannot be changed", field);
        input += jsonQuote(field) + ":" + value + ",";
      }
  }
  return input + "\"clientMutationId\":" + jsonQuote(clientMutationIdOf(index)) + "}";
}

}  // namespace

const MutationShape& shapeOf(Operation operation) {
  static constexpr MutationShape kCreate{"createIssue", "CreateIssueInput", "", kIssueSelection};
  static constexpr MutationShape kUpdate{"updateIssue", "UpdateIssueInput", "id", kIssueSelection};
  static constexpr MutationShape kDelete{"deleteIssue", "DeleteIssueInput", "issueId",
                                         "{clientMutationId}"};
  switch (operation) {
    case Operation::kInsert:
      return kCreate;
    case Operation::kUpdate:
      return kUpdate;
    case Operation::kDelete:
      break;
  }
  return kDelete;
}

std::string aliasOf(size_t index) {
  return "r" + std::to_string(index);
}

std::string clientMutationIdOf(size_t index) {
  return "row-" + std::to_string(index);
}

std::string graphqlUrl(std::string_view base_url) {
  constexpr std::string_view kEnterpriseRest = "/api/v3";
  if (base_url.size() >= kEnterpriseRest.size() &&
      base_url.substr(base_url.size() - kEnterpriseRest.size()) == kEnterpriseRest)
    return std::string(base_url.substr(0, base_url.size() - kEnterpriseRest.size())) +
           "/api/graphql";
  return std::string(base_url) + "/graphql";
}

std::variant<std::string, ApiError> mutationBody(const WriteRequest& request) {
  if (request.object != "issues")
    return refusal(ErrorClass::kUnsupported,
                   "the github platform writes issues only (object = "
                   "issues), not \"" +
                       request.object + "\"");
  if (request.rows.empty())
    return refusal(ErrorClass::kValidation, "a GitHub write needs at least one row");
  const MutationShape& shape = shapeOf(request.operation);
  std::string definitions, selections, variables;
  for (size_t i = 0; i < request.rows.size(); ++i) {
    auto input = inputOf(request.operation, request.rows[i], i);
    if (auto* error = std::get_if<ApiError>(&input)) return *error;
    std::string n = std::to_string(i);
    const char* separator = i ? "," : "";
    definitions += separator + ("$i" + n + ":" + shape.input_type + "!");
    selections += (i ? " " : "") + aliasOf(i) + ":" + shape.mutation + "(input:$i" + n + ")" +
                  shape.selection;
    variables += separator + ("\"i" + n + "\":" + std::get<std::string>(input));
  }
  std::string query = "mutation(" + definitions + "){" + selections + "}";
  return "{\"query\":" + jsonQuote(query) + ",\"variables\":{" + variables + "}}";
}

}  // namespace apibouncer::adapters::github
