// Stripe's per-object DELETE policy (stripe_objects.h), from the v1 API reference (stripe/openapi
// spec3): only these collections have `DELETE /v1/{object}/{id}` returning
// {"id","object","deleted":true}. Everything else is archived (active=false) or canceled.
#include "adapters/stripe/stripe_objects.h"

#include <array>

namespace apibouncer::adapters::stripe {
namespace {

constexpr std::array<std::string_view, 18> kDeletable = {
    "accounts",
    "apple_pay/domains",
    "coupons",
    "customers",
    "ephemeral_keys",
    "invoiceitems",
    "invoices",  // drafts only: Stripe refuses the others itself
    "plans",
    "products",
    "radar/value_list_items",
    "radar/value_lists",
    "subscription_items",
    "tax_ids",
    "terminal/configurations",
    "terminal/locations",
    "terminal/readers",
    "test_helpers/test_clocks",
    "webhook_endpoints",
};

// Archived by setting active=false.
constexpr std::array<std::string_view, 7> kArchivable = {
    "prices",        "promotion_codes", "shipping_rates",        "tax_rates",
    "payment_links", "billing/meters",  "entitlements/features",
};

// Ended through their own cancel (or expire) endpoint; subscriptions' DELETE is a cancellation
// that keeps the object, so it is not offered as a delete either.
constexpr std::array<std::string_view, 6> kCancelable = {
    "payment_intents",        "setup_intents",     "subscriptions",
    "subscription_schedules", "checkout/sessions", "quotes",
};

template <size_t N>
bool listed(const std::array<std::string_view, N>& list, std::string_view object) {
  for (std::string_view name : list)
    if (name == object) return true;
  return false;
}

}  // namespace

bool validObjectPath(std::string_view object) {
  if (object.empty() || object.front() == '/' || object.back() == '/') return false;
  char previous = 0;
  for (char c : object) {
    bool word = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
    if (!word && !(c == '/' && previous != '/')) return false;
    previous = c;
  }
  return true;
}

bool deletable(std::string_view object) {
  return listed(kDeletable, object);
}

std::string whyNotDeletable(std::string_view object) {
  std::string text = "Stripe cannot delete " + std::string(object);
  if (listed(kArchivable, object))
    return text + "; archive the row instead: UPDATE it with active = false";
  if (listed(kCancelable, object))
    return text +
           "; cancel it in Stripe instead (its cancel endpoint), then let the sync update "
           "the row";
  return text +
         " (no DELETE endpoint); UPDATE the row (e.g. active = false) or cancel the object "
         "in Stripe instead";
}

}  // namespace apibouncer::adapters::stripe
