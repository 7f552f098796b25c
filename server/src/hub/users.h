// Users and their access tokens. A token is shown once, when it is made (`hub user add`); the
// database keeps only its SHA-256 digest, so a leaked database holds no usable token. Removing a
// user removes its tokens in the same statement: they stop working at once.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/error.h"
#include "hub/db.h"

namespace studyhub::hub {

struct User {
  int64_t id = 0;
  std::string name;
};

struct UserSummary {
  std::string name;
  std::string created_at;  // ISO 8601
  int64_t sites = 0, tokens = 0;
};

// 1 to 39 characters: lowercase letters, digits and single dashes inside (GitHub's rule); the name
// is a URL path segment (/s/<user>/<site>/).
bool is_valid_user_name(std::string_view name);

// A new user with one fresh token; fails if the name is taken.
Result<std::string> add_user(db::Connection& conn, const std::string& name);
// Another token for an existing user (rotation), the old ones keep working until the user is removed.
Result<std::string> add_token(db::Connection& conn, const std::string& name);
Result<std::vector<UserSummary>> list_users(db::Connection& conn);
// Removes the user, its tokens, sites and deployments; false when there was no such user.
Result<bool> remove_user(db::Connection& conn, const std::string& name);

// The user a presented token belongs to; nullopt when it belongs to nobody.
Result<std::optional<User>> authenticate(db::Connection& conn, const std::string& token);

// sha256 of the token, as stored.
std::string token_digest(std::string_view token);

}  // namespace studyhub::hub
