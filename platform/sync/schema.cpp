// The offline-sync tables: the change log read by devices (with one head row per feed that
// numbers changes in commit order), and the uploaded batches and their events.
#include <fmt/format.h>

#include "platform/sync/sync.h"

namespace guichet::sync {
namespace {

std::string SchemaSql(std::string_view id_column) {
  return fmt::format(
      // last_seq: the newest change of the feed; compacted_through: changes up to it are gone,
      // so a cursor below it is answered with a fresh snapshot.
      "CREATE TABLE sync_feed_heads (feed TEXT PRIMARY KEY, last_seq BIGINT NOT NULL,"
      " compacted_through BIGINT NOT NULL DEFAULT 0);"
      "CREATE TABLE sync_changes (feed TEXT NOT NULL, seq BIGINT NOT NULL, scope TEXT NOT NULL,"
      " item_key TEXT NOT NULL, op TEXT NOT NULL CHECK (op IN ('u', 'd')), payload TEXT,"
      " at_ms BIGINT NOT NULL, PRIMARY KEY (feed, seq));"
      "CREATE INDEX sync_changes_age ON sync_changes (feed, at_ms);"
      // An item's latest change (small feeds can build their snapshot from the log).
      "CREATE INDEX sync_changes_item ON sync_changes (feed, item_key, seq);"
      // One row per device that ever uploaded: the highest seq stored, and the row writers of
      // that device lock, so two uploads of one device never interleave their checks.
      "CREATE TABLE sync_devices (device_id BIGINT PRIMARY KEY REFERENCES devices (id),"
      " last_seq BIGINT NOT NULL, updated_at BIGINT NOT NULL);"
      "CREATE TABLE sync_batches ({id}, device_id BIGINT NOT NULL REFERENCES devices (id),"
      " batch_id TEXT NOT NULL, first_seq BIGINT NOT NULL, last_seq BIGINT NOT NULL,"
      " signature TEXT NOT NULL, signed_sha256 TEXT NOT NULL, received_at BIGINT NOT NULL,"
      " UNIQUE (device_id, batch_id));"
      "CREATE TABLE sync_events ({id}, device_id BIGINT NOT NULL REFERENCES devices (id),"
      " seq BIGINT NOT NULL, batch_row_id BIGINT NOT NULL REFERENCES sync_batches (id),"
      " kind TEXT NOT NULL, at_ms BIGINT NOT NULL, payload TEXT NOT NULL,"
      " content_sha256 TEXT NOT NULL,"
      " state TEXT NOT NULL CHECK (state IN ('received', 'applied', 'refused', 'waiting',"
      " 'abandoned')),"
      " code TEXT, wait_key TEXT, result TEXT, attempts BIGINT NOT NULL DEFAULT 0,"
      " last_try_at BIGINT, next_try_at BIGINT, received_at BIGINT NOT NULL,"
      " done_at BIGINT, abandoned_by BIGINT, abandon_reason TEXT,"
      " UNIQUE (device_id, seq));"
      "CREATE INDEX sync_events_state ON sync_events (state, next_try_at);"
      "CREATE INDEX sync_events_wait ON sync_events (kind, wait_key, state);"
      "CREATE INDEX sync_events_device_state ON sync_events (device_id, state, seq);",
      fmt::arg("id", id_column));
}

}  // namespace

std::vector<storage::Migration> Migrations() {
  return {{"platform.sync", 1, "create feeds change log, batches and events",
           SchemaSql("id INTEGER PRIMARY KEY AUTOINCREMENT"),
           SchemaSql("id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY")}};
}

}  // namespace guichet::sync
