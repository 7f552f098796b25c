#include "pipeline/hub_publish.h"

#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

#include "core/digest.h"
#include "core/file_io.h"
#include "core/text.h"
#include "core/wait.h"
#include "hub_client/hub_client.h"
#include "snapshot/git.h"

namespace studyhub::pipeline {

namespace fs = std::filesystem;
using nlohmann::json;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

namespace {

constexpr size_t kLogTailLines = 60;

// The snapshot each site last had accepted by each hub: <state>/hub-known.json. A re-publish of
// it skips asking which blobs the hub lacks (10,000 ids there and back for a big folder); if the
// hub lost some meanwhile, creating the deployment says so and the usual upload follows.
std::string known_snapshot(const std::filesystem::path& state_dir, const std::string& hub_url, const std::string& site) {
  auto text = read_file(state_dir / "hub-known.json");
  if (!text) return "";
  json known = json::parse(*text, nullptr, false);
  if (!known.is_object() || !known.contains(hub_url) || !known[hub_url].is_object()) return "";
  return known[hub_url].value(site, "");
}

void remember_snapshot(const std::filesystem::path& state_dir, const std::string& hub_url, const std::string& site,
                       const std::string& snapshot_id) {
  auto text = read_file(state_dir / "hub-known.json");
  json known = text ? json::parse(*text, nullptr, false) : json::object();
  if (!known.is_object()) known = json::object();
  if (!known[hub_url].is_object() || known[hub_url].size() > 500) known[hub_url] = json::object();
  known[hub_url][site] = snapshot_id;
  write_file_atomic(state_dir / "hub-known.json", known.dump());  // a lost race only costs one question
}

// The blob ids of a tree in the snapshot store (the shadow repository); empty when it is not there.
std::set<std::string> blobs_of_tree(const std::filesystem::path& state_dir, const std::string& tree_id) {
  std::set<std::string> out;
  git_oid id;
  git_repository* raw_repo = nullptr;
  if (git_oid_fromstr(&id, tree_id.c_str()) != 0 ||
      git_repository_open_bare(&raw_repo, snapshot::shadow_repo_path(state_dir).c_str()) != 0)
    return out;
  git::Repository repo(raw_repo);
  git_tree* raw_tree = nullptr;
  if (git_tree_lookup(&raw_tree, repo.get(), &id) != 0) return out;
  git::Tree tree(raw_tree);
  git_tree_walk(
      tree.get(), GIT_TREEWALK_PRE,
      [](const char*, const git_tree_entry* entry, void* payload) -> int {
        if (git_tree_entry_filemode(entry) != GIT_FILEMODE_TREE)
          static_cast<std::set<std::string>*>(payload)->insert(git::hex(*git_tree_entry_id(entry)));
        return 0;
      },
      &out);
  return out;
}

std::string mode_text(uint32_t mode) {
  return mode == 0100755 ? "100755" : mode == 0120000 ? "120000" : "100644";
}

// What the event stream of one deployment has told so far.
struct Followed {
  int64_t last_seq = 0;
  std::string state;  // the newest state line
  json final_line;    // the final state's line
  std::deque<std::string> log_tail;
  std::vector<Diagnostic> diagnostics;
  std::optional<Stage> last_stage;
  int percent = 0;
};

// Renders one NDJSON line of the hub as the pipeline's events: "state" lines become queued and
// stage events here; "event" lines are the worker's own events, decoded by the one decoder.
void render_line(const json& line, Followed& f, const std::string& host, const EventSink& emit) {
  const std::string type = line.value("type", "");
  f.last_seq = std::max<int64_t>(f.last_seq, line.value("seq", int64_t{0}));
  if (type == "state") {
    f.state = line.value("state", "");
    if (f.state == "queued") {
      if (line.contains("position") && line["position"].is_number_integer()) {
        int position = line["position"].get<int>();
        int ahead = std::max(0, position - 1);
        emit(queued_event(Queue::hub, "queued: " + std::to_string(ahead) + " publishes ahead on " + host, position, ahead));
      } else {
        emit(queued_event(Queue::hub, "queued on " + host));
      }
    } else if (f.state == "building") {
      f.last_stage = Stage::build;
      f.percent = std::max(f.percent, 30);
      std::string attempt = line.value("attempt", 1) > 1 ? " (attempt " + std::to_string(line.value("attempt", 1)) + ")" : "";
      emit(stage_event(Stage::build, "building on " + host + attempt, f.percent));
    } else if (f.state == "publishing") {
      f.last_stage = Stage::publish;
      f.percent = std::max(f.percent, 95);
      emit(stage_event(Stage::publish, "publishing on " + host, f.percent));
    }
    if (f.state == "ready" || f.state == "failed" || f.state == "canceled" || f.state == "superseded") f.final_line = line;
    return;
  }
  auto event = type == "event" ? event_from_json(line.value("event", json())) : std::nullopt;
  if (!event) return;  // a kind of line this client does not know: not ours to guess at
  switch (event->kind) {
    case Event::Kind::stage:
    case Event::Kind::progress:
      if (event->stage == Stage::snapshot) return;  // the worker reading the snapshot it was sent: not news here
      // The worker's percentages, kept above the upload's share.
      f.percent = std::max(f.percent, std::max(30, event->percent));
      event->kind = f.last_stage != event->stage ? Event::Kind::stage : Event::Kind::progress;
      event->percent = f.percent;
      f.last_stage = event->stage;
      break;
    case Event::Kind::log:
      f.log_tail.push_back(event->message);
      if (f.log_tail.size() > kLogTailLines) f.log_tail.pop_front();
      break;
    case Event::Kind::diagnostics:
      f.diagnostics = event->diagnostics;
      break;
    case Event::Kind::queued:
      break;
  }
  emit(*event);
}

}  // namespace

namespace {

// The file list of a deployment request as JSON text, written once: 10,000 files as JSON objects
// cost a re-publish more than everything else it does.
std::string file_list_json(const snapshot::Snapshot& snap) {
  std::string files = "[";
  for (const auto& f : snap.files) {
    if (files.size() > 1) files += ',';
    files += "{\"path\":";
    files += json(f.path).dump();
    files += ",\"oid\":\"" + f.blob + "\",\"mode\":\"" + std::string(mode_text(f.mode)) + "\"}";
  }
  return files + ']';
}

// One publish to a hub: upload what it lacks, create the deployment, follow it to its end.
class HubPublish {
 public:
  HubPublish(const PublishPlan& plan, const PipelineEnv& env, std::stop_token stop, const EventSink& emit,
             Clock::time_point started)
      : plan_(plan), env_(env), stop_(stop), emit_(emit), started_(started), folder_(plan.snapshot.folder.string()),
        hub_(plan.target.hub, {.note = [this](const std::string& message) { emit_(progress_event(Stage::upload, message, 10)); }}),
        host_(hub_.host()) {
    for (const auto& f : plan.snapshot.files)
      if (sizes_.emplace(f.blob, f.size).second) oids_.push_back(f.blob);
  }

  PublishOutcome run() {
    warn_plain_http();
    emit_(stage_event(Stage::upload, "connecting to " + host_, 10));
    if (auto ok = hub_.check(stop_); !ok) return fail(ok.error());
    if (auto sent = send_what_the_hub_lacks(); !sent) return fail(sent.error());
    auto deployment = create_deployment();
    if (!deployment) return fail(deployment.error());
    remember_snapshot(env_.state_dir, plan_.target.hub.url, plan_.name, plan_.snapshot.id);
    if (deployment->value("state", "") == "ready") {
      emit_(progress_event(Stage::publish, "already published on " + host_ + ": nothing to build", 100));
      return result_from(deployment.value(), true);
    }
    return follow(deployment->value("id", int64_t{0}));
  }

 private:
  PublishFailure fail(Error e) const { return PublishFailure{std::move(e), {}, {}, folder_}; }

  void warn_plain_http() const {
    if (!plan_.target.hub.url.starts_with("http://")) return;
    if (host_.starts_with("127.") || host_.starts_with("localhost") || host_.starts_with("[::1]")) return;
    emit_(log_event(Stage::upload, "warning: " + host_ + " is reached over plain http, so your hub token crosses the network "
                                                         "unencrypted; use an https:// URL"));
  }

  // Only what the hub lacks travels. The hub has every blob of the snapshot it last took for this
  // site: only the others are asked about (a one-file change asks about one id, not 10,000).
  // Should it have lost some, creating the deployment says so and they are sent then.
  Status send_what_the_hub_lacks() {
    const std::string previous = known_snapshot(env_.state_dir, plan_.target.hub.url, plan_.name);
    if (previous == plan_.snapshot.id) {
      emit_(progress_event(Stage::upload, "nothing to send: " + host_ + " has this snapshot already", 30));
      return ok_status();
    }
    std::vector<std::string> ask = oids_;
    if (!previous.empty()) {
      git::init_once();
      auto had = blobs_of_tree(env_.state_dir, previous);
      std::erase_if(ask, [&](const std::string& oid) { return had.count(oid) > 0; });
    }
    auto missing = ask.empty() ? Result<std::vector<std::string>>(std::vector<std::string>{}) : hub_.missing(ask, stop_);
    if (!missing) return missing.error();
    if (!missing->empty()) return upload(missing.value());
    emit_(progress_event(Stage::upload, "nothing to send: " + host_ + " has every file already", 30));
    return ok_status();
  }

  // The snapshot's objects are read only when something must travel: an unchanged re-publish
  // never loads libgit2.
  Status open_snapshot_store() {
    if (odb_) return ok_status();
    git::init_once();
    git_odb* raw_odb = nullptr;
    if (git_odb_open(&raw_odb, (snapshot::shadow_repo_path(env_.state_dir) / "objects").c_str()) != 0)
      return git::failure("cannot open the snapshot store");
    odb_.emplace(raw_odb);
    return ok_status();
  }

  Status upload(const std::vector<std::string>& missing) {
    if (auto opened = open_snapshot_store(); !opened) return opened;
    std::vector<hub_client::Blob> blobs;
    for (const auto& oid : missing) {
      blobs.push_back({oid, sizes_.count(oid) ? sizes_[oid] : 0, [this, oid]() -> Result<std::string> {
                         std::lock_guard lock(odb_mutex_);
                         git_oid id;
                         git_odb_object* obj = nullptr;
                         if (git_oid_fromstr(&id, oid.c_str()) != 0 || git_odb_read(&obj, odb_->get(), &id) != 0)
                           return git::failure("cannot read a file of the snapshot");
                         git::OdbObject held(obj);
                         return std::string(static_cast<const char*>(git_odb_object_data(obj)), git_odb_object_size(obj));
                       }});
    }
    uint64_t total = 0;
    for (const auto& b : blobs) total += b.size;
    emit_(progress_event(Stage::upload, "sending " + std::to_string(blobs.size()) + " files (" + human_bytes(total) + ") to " + host_, 10));
    auto last_report = Clock::now() - 1s;
    auto done = hub_.upload(blobs, [&](uint64_t sent, uint64_t all) {
      if (Clock::now() - last_report < 100ms && sent != all) return;
      last_report = Clock::now();
      int percent = 10 + static_cast<int>(all ? sent * 20 / all : 20);
      Event e = progress_event(Stage::upload,
                               "sending " + std::to_string(blobs.size()) + " files: " + human_bytes(sent) + " of " + human_bytes(all),
                               percent);
      e.bytes = sent;
      e.total_bytes = all;
      emit_(e);
    }, stop_);
    if (!done) return done;
    uploaded_files_ += blobs.size();
    uploaded_bytes_ += total;
    return ok_status();
  }

  // One key for this publish: a retried request answers the deployment it made, never a second one.
  Result<json> create_deployment() {
    const std::string request_key = random_token(18);
    const std::string files = file_list_json(plan_.snapshot);
    Result<json> deployment = Error{"not created"};
    for (int round = 0; round < 3; ++round) {
      deployment = hub_.create_deployment(plan_.name, plan_.snapshot.id, files, request_key, stop_);
      if (deployment || deployment.error().code != "blobs.missing") break;
      // Blobs the hub dropped meanwhile (or a race with its cleanup): send them, ask again.
      auto again = hub_.missing(oids_, stop_);
      if (!again) return again.error();
      if (auto sent = upload(again.value()); !sent) return sent.error();
    }
    return deployment;
  }

  PublishResult result_from(const json& d, bool cached) const {
    PublishResult r;
    r.target = "hub";
    r.name = plan_.name;
    r.url = d.value("url", "");
    r.immutable_url = d.value("immutableUrl", "");
    r.snapshot_id = d.value("snapshotId", plan_.snapshot.id);
    r.folder = folder_;
    r.cached = cached;
    r.files = plan_.snapshot.files.size();
    r.bytes = plan_.snapshot.bytes;
    r.deployment_id = d.value("id", int64_t{0});
    r.uploaded_files = uploaded_files_;
    r.uploaded_bytes = uploaded_bytes_;
    r.duration_ms = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started_).count();
    return r;
  }

  // The outcome a final state line stands for (superseded is followed on, not ended here).
  PublishOutcome ended(int64_t id, const Followed& followed, bool cancel_sent) {
    const std::string& state = followed.state;
    if (state == "ready") {
      auto d = hub_.deployment(id, {});
      json base = d ? d.value() : followed.final_line;
      if (!d) base["snapshotId"] = plan_.snapshot.id;
      emit_(progress_event(Stage::publish, "published on " + host_, 100));
      return result_from(base, followed.final_line.value("cached", false));
    }
    if (state == "canceled" && (cancel_sent || stop_.stop_requested())) return fail(cancelled_error());
    PublishFailure failure{Error{followed.final_line.value("error", "the deployment ended " + state) +
                                 (state == "canceled" ? " (canceled on " + host_ + ")" : "")},
                           followed.diagnostics, {}, folder_};
    if (state == "failed") failure.error.message = "on " + host_ + ": " + failure.error.message;
    for (const auto& l : followed.log_tail) failure.log_tail += l + "\n";
    return failure;
  }

  // Follows the deployment's events to its end, resuming after drops; a cancel here cancels it there.
  PublishOutcome follow(int64_t id) {
    Followed followed;
    bool cancel_sent = false;
    std::stop_source follow_stop;
    std::stop_callback on_cancel(stop_, [&] { follow_stop.request_stop(); });
    int drops = 0;
    auto last_progress = Clock::now();
    for (;;) {
      if (stop_.stop_requested() && !cancel_sent) {
        cancel_sent = true;
        emit_(log_event(Stage::build, "cancelling deployment " + std::to_string(id) + " on " + host_));
        auto canceled = hub_.cancel(id);
        if (!canceled) return fail(Error{"could not cancel the deployment on " + host_ + ": " + canceled.error().message});
        follow_stop = std::stop_source();  // follow on, briefly, to see it end
      }
      const int64_t seq_before = followed.last_seq;
      auto followed_ok = hub_.follow(id, followed.last_seq, [&](const json& line) {
        render_line(line, followed, host_, emit_);
        last_progress = Clock::now();
      }, follow_stop.get_token());
      if (!followed.final_line.is_null()) {
        if (followed.state != "superseded" || !followed.final_line.contains("supersededBy"))
          return ended(id, followed, cancel_sent);
        // A newer publish of this site replaced this one before it was built: its result is ours.
        id = followed.final_line["supersededBy"].get<int64_t>();
        emit_(log_event(Stage::build, "a newer publish of " + plan_.name + " replaced this one before it was built; following "
                                      "deployment " + std::to_string(id)));
        followed = Followed{};
        continue;
      }
      if (cancel_sent && !followed_ok && followed_ok.error().cancelled) return fail(cancelled_error());
      if (!followed_ok && followed_ok.error().code == "auth") return fail(followed_ok.error());
      if (!followed_ok && !followed_ok.error().cancelled && followed_ok.error().code != "stream" &&
          followed_ok.error().code != "busy" && followed_ok.error().code != "unreachable" && followed_ok.error().code != "protocol")
        return fail(followed_ok.error());
      if (stop_.stop_requested() && !cancel_sent) continue;  // cancel it on the hub, then see it end
      if (cancel_sent && Clock::now() - last_progress > 30s)
        return fail(Error{"the deployment " + std::to_string(id) + " was asked to cancel, but " + host_ +
                          " has not confirmed it; it may still finish there"});
      // The stream ended before the final state: resume from the last line seen, with backoff.
      drops = followed.last_seq > seq_before ? 1 : drops + 1;
      if (drops > 12)
        return fail(Error{"lost the connection to " + host_ + " while following deployment " + std::to_string(id) +
                          " (" + (followed_ok ? std::string("the stream kept ending") : followed_ok.error().message) +
                          "); it goes on there — run the publish again to see its result"});
      auto wait = std::chrono::milliseconds(std::min(8000, 250 << std::min(drops, 5)));
      emit_(log_event(Stage::build, "the event stream from " + host_ + " dropped; resuming after line " +
                                        std::to_string(followed.last_seq) + " in " + std::to_string(wait.count()) + " ms"));
      (void)wait_for(stop_, wait);
    }
  }

  const PublishPlan& plan_;
  const PipelineEnv& env_;
  std::stop_token stop_;
  const EventSink& emit_;
  Clock::time_point started_;
  const std::string folder_;
  hub_client::HubClient hub_;
  const std::string host_;
  std::vector<std::string> oids_;
  std::map<std::string, uint64_t> sizes_;
  std::optional<git::Odb> odb_;
  std::mutex odb_mutex_;
  uint64_t uploaded_files_ = 0, uploaded_bytes_ = 0;
};

}  // namespace

PublishOutcome publish_to_hub(const PublishPlan& plan, const PipelineEnv& env, std::stop_token stop, const EventSink& emit,
                              Clock::time_point started) {
  return HubPublish(plan, env, stop, emit, started).run();
}

}  // namespace studyhub::pipeline
