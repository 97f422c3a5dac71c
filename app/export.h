// `guichet export` (requirement W22, reversibility): a documented archive of the organisations,
// staff, holders, supports, counters, balances and every ledger transfer, that a successor can
// load without Guichet. One directory: a README.md describing each file and field, a
// manifest.json (format, version, row counts and SHA-256 of each file) and one JSON Lines file
// per table. Secrets (password hashes, second-factor secrets, session and link tokens) are
// never exported.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "platform/base/clock.h"
#include "platform/base/result.h"
#include "platform/storage/database.h"

namespace guichet::app {

inline constexpr int64_t kExportPageRows = 1000;  // rows read per query
inline constexpr std::string_view kExportFormat = "guichet-export";
inline constexpr int64_t kExportFormatVersion = 1;

struct ExportedFile {
  std::string name;  // "holders.jsonl"
  int64_t rows = 0;
  std::string sha256;
};

struct ExportReport {
  std::string directory;
  std::vector<ExportedFile> files;
};

// Writes the archive into `directory`, which must not exist yet (it is created).
Result<ExportReport> WriteExport(storage::Database& database, const std::string& directory, const Clock& clock);

}  // namespace guichet::app
