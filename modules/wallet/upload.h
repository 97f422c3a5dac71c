// The XML upload of holder creations and updates (W1, asynchronous mode): the schema
// (docs/wallet-holders.xsd, embedded here and checked equal by a test), validation with libxml2,
// and processing by a job with progress, a per-line report and an error file.
#pragma once

#include <boost/json/object.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "modules/wallet/wallet.h"

namespace guichet::jobs {
class Runner;
}

namespace guichet::wallet {

inline constexpr int64_t kUploadHoldersMax = 5000;          // <holder> elements per file
inline constexpr int64_t kUploadFileNameLengthMax = 200;
inline constexpr int64_t kUploadSchemaErrorsMax = 50;      // listed in a 422 answer
inline constexpr int64_t kUploadProgressEveryLines = 20;   // report and progress are saved this often
inline constexpr int64_t kUploadListMax = 100;
inline constexpr std::string_view kUploadJobKind = "wallet.upload";

// The schema's text, byte for byte docs/wallet-holders.xsd.
std::string_view HoldersXsd();

struct UploadLine {
  int64_t line = 0;  // the holder's position in the file, from 1
  int64_t source_line = 0;  // its line in the XML text
  std::string action;       // create | update
  std::string university_id;
  std::string outcome;  // created | updated | failed
  std::string code;     // the refusal code when failed
  std::string message;
  std::optional<int64_t> holder_id;
};

struct UploadView {
  int64_t id = 0;
  int64_t organisation_id = 0;
  std::string file_name;
  std::string state;  // queued | running | done
  int64_t lines_total = 0, lines_done = 0, lines_failed = 0;
  std::vector<UploadLine> report;
  int64_t created_at_ms = 0;
  std::optional<int64_t> finished_at_ms;
};

// One <holder> element, parsed.
struct UploadedHolder {
  int64_t source_line = 0;
  std::string action;
  NewHolder holder;          // for create
  HolderChange change;       // for update
  std::string element_xml;   // the element as sent, for the error file
};

struct ParsedUpload {
  int64_t institution = 0;
  std::vector<UploadedHolder> holders;
};

// Validates against the schema (validation_failed, 422, with "/line/<n>" pointers) and parses.
Result<ParsedUpload> ParseHoldersXml(std::string_view xml);

class Uploads {
 public:
  explicit Uploads(Wallet& wallet) : wallet_(wallet) {}

  // Checks the caller may create holders in the file's institution, stores the file and queues
  // its processing. invalid_xml (422) with the schema's errors, else the queued upload.
  Result<UploadView> Submit(const identity::Caller& caller, std::string_view file_name, std::string_view xml);
  Result<UploadView> Get(const identity::Caller& caller, int64_t upload_id);
  Result<std::vector<UploadView>> List(const identity::Caller& caller);
  // The failed <holder> elements, each after a comment naming its line and error: the file to
  // correct and send again.
  Result<std::string> ErrorFile(const identity::Caller& caller, int64_t upload_id);
  // The job: processes the lines not yet done.
  Status Process(int64_t upload_id);

  void RegisterJobs(jobs::Runner& runner);

 private:
  Wallet& wallet_;
};

boost::json::object UploadJson(const UploadView& upload, bool with_report);

}  // namespace guichet::wallet
