// Who uploaded which blob. The store keeps one copy of equal bytes, but a user sees and may publish
// only the blobs they uploaded themselves: `missing` answers for the asking user, a deployment may
// name only that user's blobs, and what each user stores is counted against a quota. Knowing (or
// guessing) a file's hash is then worth nothing; proving possession means sending the bytes.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/error.h"
#include "hub/db.h"

namespace studyhub::hub {

// The ids of `oids` this user has not uploaded (in the order given).
Result<std::vector<std::string>> not_owned(db::Connection& conn, int64_t user_id, const std::vector<std::string>& oids);

// Bytes of the blobs this user uploaded (each counted once, however many files name it).
Result<int64_t> stored_bytes(db::Connection& conn, int64_t user_id);

// Whether `more` bytes still fit under the user's quota; an Error with the code quota.storage when
// they do not (checked on an upload's Content-Length before its body, and again when it is recorded).
Status fits_quota(db::Connection& conn, int64_t user_id, int64_t more, int64_t max_stored_bytes);

// Records that the user uploaded `oid` (`size` bytes), unless it would take them past
// `max_stored_bytes`: then an Error with the code quota.storage. Uploading a blob they own again
// costs nothing.
Status record_upload(db::Connection& conn, int64_t user_id, const std::string& oid, int64_t size,
                     int64_t max_stored_bytes);

// Whether this user has a deployment of this snapshot: its blobs were then shown to be theirs.
Result<bool> has_deployed(db::Connection& conn, int64_t user_id, const std::string& snapshot_id);

}  // namespace studyhub::hub
