// Deployments as users see them, and every change to them that an API request makes: create (with
// dedupe, supersede and quotas), read, cancel, the site list, rollback and removal. All of it is SQL
// in one place; the queue's side (claim, lease, finish) is in queue.h.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/error.h"
#include "hub/db.h"
#include "hub/users.h"

namespace studyhub::hub {

// The states of a deployment. queued → building → publishing → ready | failed | canceled;
// queued → superseded (a newer deployment of the site came first) | canceled.
inline bool is_final_state(std::string_view s) {
  return s == "ready" || s == "failed" || s == "canceled" || s == "superseded";
}

// Where returned URLs point: <public>/s/<user>/<name>/ and <public>/v/<user>/<snapshot>/.
struct Urls {
  std::string public_url;  // no trailing slash
  std::string site(const std::string& user, const std::string& name) const {
    return public_url + "/s/" + user + "/" + name + "/";
  }
  std::string version(const std::string& user, const std::string& snapshot_id) const {
    return public_url + "/v/" + user + "/" + snapshot_id + "/";
  }
};

struct Deployment {
  int64_t id = 0;
  std::string site, user, snapshot_id, state;
  std::optional<int> position;  // queued only: 1 is next
  bool cached = false;
  int64_t files = 0, bytes = 0;
  std::string created_at;
  std::optional<std::string> started_at, finished_at, error, error_code;
  nlohmann::json diagnostics;  // null or a list
  std::optional<int64_t> superseded_by;
  int attempts = 0;
};
nlohmann::json to_json(const Deployment& d, const Urls& urls);

struct Quotas {
  int64_t max_sites = 100;         // per user
  int64_t max_queued = 20;         // per user, waiting at once
};

struct NewDeployment {
  std::string site;
  std::string snapshot_id;
  int64_t files = 0, bytes = 0;
  std::optional<std::string> request_key;  // Idempotency-Key: a retried request answers the same deployment
};

struct CreateOutcome {
  Deployment deployment;
  bool created = false;  // false: an existing one answers (cached, the same snapshot live, a retry)
};

// Errors carry the API's codes: quota.sites, quota.queued.
Result<CreateOutcome> create_deployment(db::Connection& conn, const User& user, const NewDeployment& request,
                                        const Quotas& quotas);

// nullopt when there is no such deployment of this user (another user's is not found either).
Result<std::optional<Deployment>> get_deployment(db::Connection& conn, int64_t id, int64_t user_id);

// Queued: canceled at once. Building or publishing: marked, and its worker is told (NOTIFY); it
// stops the build and records canceled. Finished: unchanged. Answers the deployment as it is now.
Result<std::optional<Deployment>> cancel_deployment(db::Connection& conn, int64_t id, int64_t user_id);

struct SiteSummary {
  std::string name, snapshot_id, published_at;
  int64_t deployment_id = 0;
  std::vector<std::string> history;  // snapshot ids of its last ready deployments, newest first
};
// The user's published sites, each with the history a rollback can go back to (`keep` entries).
Result<std::vector<SiteSummary>> list_sites(db::Connection& conn, int64_t user_id, int keep);

// A site and its ready deployments, newest first (what a rollback can go back to).
struct SiteHistory {
  SiteSummary site;
  std::vector<Deployment> ready;
};
Result<std::optional<SiteHistory>> site_history(db::Connection& conn, int64_t user_id, const std::string& name);

// Points the site at an earlier ready deployment without building: the given snapshot, else the
// newest one before the current with other content. `version_exists` says whether a version is
// still on disk. Errors: not_found (no such site, or no such earlier version), conflict.
// `repoint(snapshot_id)` swaps the site's link on disk while the site's row is locked.
Result<SiteSummary> rollback_site(db::Connection& conn, const User& user, const std::string& name,
                                  const std::optional<std::string>& snapshot_id,
                                  const std::function<bool(const std::string&)>& version_exists,
                                  const std::function<Status(const std::string&)>& repoint);

// Cancels the site's live deployments and removes it; `take_down(versions)` removes the link and
// the versions no other site of the user has (their immutable URLs go too) while the row is
// locked. false when there was no such site.
Result<bool> delete_site(db::Connection& conn, const User& user, const std::string& name,
                         const std::function<Status(const std::vector<std::string>& versions)>& take_down);

// Whether a deployment of this user with this snapshot was built and became ready.
Result<bool> was_built_for(db::Connection& conn, int64_t user_id, const std::string& snapshot_id);

// Every site's current snapshot, as (user, name, snapshot) (to make the links on disk match).
Result<std::vector<std::tuple<std::string, std::string, std::string>>> all_current_sites(db::Connection& conn);

// Versions (folder names, "<user>.<snapshot>") a prune must keep: every site's current one and its
// last `keep` ready ones, and those of live deployments.
Result<std::vector<std::string>> referenced_snapshots(db::Connection& conn, int keep);

// Recomputes the queue positions and records a position event for each deployment whose position
// changed.
Status refresh_positions(db::Connection& conn);

// The channels the hub NOTIFYs on.
inline constexpr const char* kJobsChannel = "studyhub_jobs";      // a job became available
inline constexpr const char* kEventsChannel = "studyhub_events";  // payload: deployment id
inline constexpr const char* kCancelChannel = "studyhub_cancel";  // payload: deployment id

}  // namespace studyhub::hub
