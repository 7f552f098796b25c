// Build caches on this machine (node_modules kept between builds of one site), one folder per
// user and site: <work>/u<user id>/s<site id>. Database ids are never reused, so a site deleted and
// made again, or a user removed and added again under the same name, never meets an old cache, on
// this machine or any other; caches of sites that are gone are swept away.
#pragma once

#include <cstdint>
#include <filesystem>

#include "core/error.h"
#include "hub/db.h"

namespace studyhub::hub {

std::filesystem::path cache_dir(const std::filesystem::path& work_dir, int64_t user_id, int64_t site_id);

// Removes the caches of users and sites the database no longer has; answers how many went.
Result<int> sweep_caches(db::Connection& conn, const std::filesystem::path& work_dir);

}  // namespace studyhub::hub
