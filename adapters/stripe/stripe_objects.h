// What Stripe lets a mirror do to each object type (adapters-spec §4): which path segments name
// an object collection, and which collections have a DELETE endpoint. Pure.
#pragma once

#include <string>
#include <string_view>

namespace apibouncer::adapters::stripe {

// `customers`, `products`, `terminal/locations`, ...: lower-case words joined by single slashes.
bool validObjectPath(std::string_view object);

// Whether `DELETE /v1/{object}/{id}` exists (customers, products, coupons, plans, ...).
bool deletable(std::string_view object);

// Why a DELETE of `object` cannot be sent, and what to do instead (archive with active=false,
// or cancel).
std::string whyNotDeletable(std::string_view object);

}  // namespace apibouncer::adapters::stripe
