#include "modules/wallet/upload.h"

#include <fmt/format.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlschemas.h>

#include <boost/json/array.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <memory>
#include <mutex>

#include "modules/wallet/internal.h"
#include "platform/jobs/jobs.h"
#include "platform/orgs/orgs.h"

namespace guichet::wallet {
namespace {

using boost::json::array;
using boost::json::object;
using boost::json::value;
using storage::Row;
using storage::Transaction;
using storage::TransactionMode;

constexpr std::string_view kXsd = R"xsd(<?xml version="1.0" encoding="UTF-8"?>
<!-- Guichet wallet: a file of holder account creations and updates, sent by an institution
     (requirement W1, asynchronous mode). See docs/wallet.md. Namespace version 1.
     Every <holder> is one line of the processing report, numbered from 1 in file order. -->
<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema"
           xmlns="urn:guichet:wallet:holders:1"
           targetNamespace="urn:guichet:wallet:holders:1"
           elementFormDefault="qualified">
  <xs:simpleType name="Text100">
    <xs:restriction base="xs:string"><xs:minLength value="1"/><xs:maxLength value="100"/></xs:restriction>
  </xs:simpleType>
  <xs:simpleType name="Email">
    <xs:restriction base="xs:string"><xs:maxLength value="254"/><xs:pattern value="[^@\s]+@[^@\s]+\.[^@\s]+"/></xs:restriction>
  </xs:simpleType>
  <xs:simpleType name="Phone">
    <xs:restriction base="xs:string"><xs:pattern value="\+?[0-9]{6,19}"/></xs:restriction>
  </xs:simpleType>
  <xs:simpleType name="Language">
    <xs:restriction base="xs:string"><xs:enumeration value="fr"/><xs:enumeration value="en"/></xs:restriction>
  </xs:simpleType>
  <xs:simpleType name="SupportNumber">
    <xs:restriction base="xs:string"><xs:pattern value="[A-Za-z0-9_\-]{1,40}"/></xs:restriction>
  </xs:simpleType>
  <xs:simpleType name="Technology">
    <xs:restriction base="xs:string"><xs:pattern value="[a-z0-9_]{1,40}"/></xs:restriction>
  </xs:simpleType>
  <xs:simpleType name="Form">
    <xs:restriction base="xs:string"><xs:enumeration value="physical"/><xs:enumeration value="virtual"/></xs:restriction>
  </xs:simpleType>
  <xs:simpleType name="Action">
    <xs:restriction base="xs:string"><xs:enumeration value="create"/><xs:enumeration value="update"/></xs:restriction>
  </xs:simpleType>
  <xs:complexType name="Support">
    <xs:attribute name="number" type="SupportNumber" use="required"/>
    <xs:attribute name="technology" type="Technology" use="required"/>
    <xs:attribute name="form" type="Form" use="required"/>
  </xs:complexType>
  <xs:complexType name="Holder">
    <!-- create: university_id, last_name, first_name, email and one support at least are
         required (checked line by line); update: university_id names the holder, the other
         elements present are changed, supports listed are added. -->
    <xs:sequence>
      <xs:element name="university_id" type="Text100"/>
      <xs:element name="ine" type="Text100" minOccurs="0"/>
      <xs:element name="tariff_profile" type="Text100" minOccurs="0"/>
      <xs:element name="last_name" type="Text100" minOccurs="0"/>
      <xs:element name="first_name" type="Text100" minOccurs="0"/>
      <xs:element name="email" type="Email" minOccurs="0"/>
      <xs:element name="birth_date" type="xs:date" minOccurs="0"/>
      <xs:element name="phone" type="Phone" minOccurs="0"/>
      <xs:element name="language" type="Language" minOccurs="0"/>
      <xs:element name="end_of_validity" type="xs:date" minOccurs="0"/>
      <xs:element name="supports" minOccurs="0">
        <xs:complexType>
          <xs:sequence>
            <xs:element name="support" type="Support" minOccurs="1" maxOccurs="10"/>
          </xs:sequence>
        </xs:complexType>
      </xs:element>
    </xs:sequence>
    <xs:attribute name="action" type="Action" use="required"/>
  </xs:complexType>
  <xs:element name="holders">
    <xs:complexType>
      <xs:sequence>
        <xs:element name="holder" type="Holder" minOccurs="1" maxOccurs="5000"/>
      </xs:sequence>
      <!-- The institution: an organisation id of the wallet's tree. -->
      <xs:attribute name="institution" type="xs:positiveInteger" use="required"/>
    </xs:complexType>
  </xs:element>
</xs:schema>
)xsd";

// The compiled schema, made once; libxml2 schemas are read-only once parsed and may be shared
// by validation contexts of several threads.
xmlSchemaPtr Schema() {
  static std::once_flag once;
  static xmlSchemaPtr schema = nullptr;
  std::call_once(once, [] {
    xmlInitParser();
    xmlSchemaParserCtxtPtr context = xmlSchemaNewMemParserCtxt(kXsd.data(), static_cast<int>(kXsd.size()));
    GUICHET_ASSERT(context != nullptr);
    schema = xmlSchemaParse(context);
    xmlSchemaFreeParserCtxt(context);
  });
  GUICHET_ASSERT(schema != nullptr);
  return schema;
}

struct Problems {
  std::vector<FieldError> errors;
  int64_t total = 0;
};

void Collect(void* data, xmlErrorPtr error) {
  auto* problems = static_cast<Problems*>(data);
  if (error == nullptr) return;
  ++problems->total;
  if (static_cast<int64_t>(problems->errors.size()) >= kUploadSchemaErrorsMax) return;
  std::string message = error->message != nullptr ? error->message : "invalid";
  while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) message.pop_back();
  problems->errors.push_back({fmt::format("/line/{}", error->line), message});
}

Error InvalidXml(Problems problems, std::string summary) {
  if (problems.errors.empty()) problems.errors.push_back({"/line/0", summary});
  return Error{ErrorKind::kValidation, "invalid_xml",
               fmt::format("{} ({} problem{}).", summary, problems.total, problems.total == 1 ? "" : "s"),
               std::move(problems.errors)};
}

struct DocFree {
  void operator()(xmlDoc* doc) const { xmlFreeDoc(doc); }
};

std::string Content(xmlNode* node) {
  xmlChar* text = xmlNodeGetContent(node);
  std::string out = text != nullptr ? reinterpret_cast<const char*>(text) : "";
  xmlFree(text);
  return out;
}

std::string Attribute(xmlNode* node, const char* name) {
  xmlChar* text = xmlGetProp(node, reinterpret_cast<const xmlChar*>(name));
  std::string out = text != nullptr ? reinterpret_cast<const char*>(text) : "";
  xmlFree(text);
  return out;
}

bool Named(xmlNode* node, std::string_view name) {
  return node->type == XML_ELEMENT_NODE && name == reinterpret_cast<const char*>(node->name);
}

std::string Dump(xmlDoc* doc, xmlNode* node) {
  xmlBufferPtr buffer = xmlBufferCreate();
  xmlNodeDump(buffer, doc, node, 1, 0);
  std::string out(reinterpret_cast<const char*>(xmlBufferContent(buffer)), static_cast<size_t>(xmlBufferLength(buffer)));
  xmlBufferFree(buffer);
  return out;
}

UploadedHolder ParseHolder(xmlDoc* doc, xmlNode* element) {
  UploadedHolder out;
  out.source_line = xmlGetLineNo(element);
  out.action = Attribute(element, "action");
  out.element_xml = Dump(doc, element);
  for (xmlNode* child = element->children; child != nullptr; child = child->next) {
    if (child->type != XML_ELEMENT_NODE) continue;
    const std::string name = reinterpret_cast<const char*>(child->name);
    if (name == "supports") {
      for (xmlNode* item = child->children; item != nullptr; item = item->next) {
        if (!Named(item, "support")) continue;
        SupportInput support{Attribute(item, "number"), Attribute(item, "technology"),
                             Attribute(item, "form") == "virtual"};
        out.holder.supports.push_back(support);
        out.change.supports.push_back(support);
      }
      continue;
    }
    const std::string text = Content(child);
    struct Target {
      std::string_view name;
      std::string* create;
      std::optional<std::string>* update;
    };
    const Target targets[] = {
        {"university_id", &out.holder.university_id, &out.change.university_id},
        {"ine", &out.holder.ine, &out.change.ine},
        {"tariff_profile", &out.holder.tariff_profile, &out.change.tariff_profile},
        {"last_name", &out.holder.last_name, &out.change.last_name},
        {"first_name", &out.holder.first_name, &out.change.first_name},
        {"email", &out.holder.email, &out.change.email},
        {"birth_date", &out.holder.birth_date, &out.change.birth_date},
        {"phone", &out.holder.phone, &out.change.phone},
        {"language", &out.holder.language, &out.change.language},
        {"end_of_validity", &out.holder.end_of_validity, &out.change.end_of_validity}};
    for (const Target& target : targets) {
      if (target.name != name) continue;
      *target.create = text;
      if (name != "university_id") *target.update = text;
    }
  }
  return out;
}

UploadLine LineFromJson(const value& item) {
  const object& o = item.as_object();
  UploadLine line;
  line.line = o.at("line").as_int64();
  line.source_line = o.at("source_line").as_int64();
  line.action = std::string(o.at("action").as_string());
  line.university_id = std::string(o.at("university_id").as_string());
  line.outcome = std::string(o.at("outcome").as_string());
  line.code = std::string(o.at("code").as_string());
  line.message = std::string(o.at("message").as_string());
  if (o.at("holder_id").is_int64()) line.holder_id = o.at("holder_id").as_int64();
  return line;
}

object LineJson(const UploadLine& line) {
  return {{"line", line.line},
          {"source_line", line.source_line},
          {"action", line.action},
          {"university_id", line.university_id},
          {"outcome", line.outcome},
          {"code", line.code},
          {"message", line.message},
          {"holder_id", line.holder_id ? value(*line.holder_id) : value(nullptr)}};
}

constexpr std::string_view kUploadColumns =
    "u.id, u.organisation_id, u.file_name, u.state, u.lines_total, u.lines_done, u.lines_failed, u.report,"
    " u.created_at, u.finished_at";

UploadView UploadFromRow(const Row& row) {
  UploadView upload;
  upload.id = row.Int(0);
  upload.organisation_id = row.Int(1);
  upload.file_name = row.Text(2);
  upload.state = row.Text(3);
  upload.lines_total = row.Int(4);
  upload.lines_done = row.Int(5);
  upload.lines_failed = row.Int(6);
  value report = boost::json::parse(row.Text(7));
  for (const value& item : report.as_array()) upload.report.push_back(LineFromJson(item));
  upload.created_at_ms = row.Int(8);
  upload.finished_at_ms = row.OptionalInt(9);
  return upload;
}

Error UploadNotFound() { return Error::NotFound("upload_not_found", "No such upload."); }

// The uploads the caller may see: those of institutions under its create scope.
Result<UploadView> LoadInScope(Transaction& tx, int64_t upload_id, const std::vector<std::string>& scopes,
                               std::string* content, std::string* error_file) {
  auto row = tx.QueryOne(fmt::format("SELECT {}, o.path, u.content, u.error_file FROM wallet_uploads u"
                                     " JOIN organisations o ON o.id = u.organisation_id WHERE u.id = $1",
                                     kUploadColumns),
                         {upload_id});
  if (!row.ok()) return std::move(row).error();
  if (!row->has_value()) return UploadNotFound();
  const std::string& path = (*row)->Text(10);
  bool visible = false;
  for (const std::string& scope : scopes) visible = visible || orgs::Contains(scope, path);
  if (!visible) return UploadNotFound();
  if (content != nullptr) *content = (*row)->Text(11);
  if (error_file != nullptr) *error_file = (*row)->Text(12);
  return UploadFromRow(**row);
}

// Whoever uploaded, the job acts with exactly the rights the file needs in its institution,
// which the upload's author held when sending it.
identity::Caller JobCaller(int64_t organisation_id, const std::string& path, int64_t upload_id) {
  identity::Caller caller;
  caller.kind = identity::Caller::Kind::kSystem;
  caller.request_id = fmt::format("upload-{}", upload_id);
  identity::Grant grant;
  grant.organisation_id = organisation_id;
  grant.organisation_path = path;
  grant.permissions = std::set<std::string>{std::string(right::kCreate), std::string(right::kUpdate),
                                            std::string(right::kRead)};
  caller.grants.push_back(grant);
  return caller;
}

}  // namespace

std::string_view HoldersXsd() { return kXsd; }

Result<ParsedUpload> ParseHoldersXml(std::string_view xml) {
  xmlSchemaPtr schema = Schema();
  Problems problems;
  xmlSetStructuredErrorFunc(&problems, Collect);
  std::unique_ptr<xmlDoc, DocFree> doc(
      xmlReadMemory(xml.data(), static_cast<int>(xml.size()), "upload.xml", nullptr, XML_PARSE_NONET));
  xmlSetStructuredErrorFunc(nullptr, nullptr);
  if (!doc) return InvalidXml(std::move(problems), "The file is not well-formed XML");
  if (doc->intSubset != nullptr || doc->extSubset != nullptr) {
    Problems dtd;
    dtd.errors.push_back({"/line/1", "a DOCTYPE is not allowed"});
    dtd.total = 1;
    return InvalidXml(std::move(dtd), "The file declares a DOCTYPE");
  }
  xmlSchemaValidCtxtPtr validation = xmlSchemaNewValidCtxt(schema);
  xmlSchemaSetValidStructuredErrors(validation, Collect, &problems);
  const int valid = xmlSchemaValidateDoc(validation, doc.get());
  xmlSchemaFreeValidCtxt(validation);
  if (valid != 0) return InvalidXml(std::move(problems), "The file does not follow the schema wallet-holders.xsd");
  ParsedUpload parsed;
  xmlNode* root = xmlDocGetRootElement(doc.get());
  parsed.institution = std::stoll(Attribute(root, "institution"));
  for (xmlNode* node = root->children; node != nullptr; node = node->next) {
    if (Named(node, "holder")) parsed.holders.push_back(ParseHolder(doc.get(), node));
  }
  return parsed;
}

object UploadJson(const UploadView& upload, bool with_report) {
  object out{{"id", upload.id},
             {"organisation_id", upload.organisation_id},
             {"file_name", upload.file_name},
             {"state", upload.state},
             {"lines_total", upload.lines_total},
             {"lines_done", upload.lines_done},
             {"lines_failed", upload.lines_failed},
             {"created_at_ms", upload.created_at_ms},
             {"finished_at_ms", upload.finished_at_ms ? value(*upload.finished_at_ms) : value(nullptr)}};
  if (with_report) {
    array report;
    for (const UploadLine& line : upload.report) report.push_back(LineJson(line));
    out["report"] = std::move(report);
  }
  return out;
}

Result<UploadView> Uploads::Submit(const identity::Caller& caller, std::string_view file_name, std::string_view xml) {
  if (file_name.empty() || static_cast<int64_t>(file_name.size()) > kUploadFileNameLengthMax) {
    return Error{ErrorKind::kValidation, "validation_failed", "The file name is 1-200 characters.",
                 {{"/file_name", "1-200 characters"}}};
  }
  auto parsed = ParseHoldersXml(xml);
  if (!parsed.ok()) return std::move(parsed).error();
  const int64_t now = wallet_.clock().NowMs();
  return wallet_.database().Transact<UploadView>(TransactionMode::kWrite, [&](Transaction& tx) -> Result<UploadView> {
    auto org = orgs::Find(tx, parsed->institution);
    if (!org.ok()) return std::move(org).error();
    if (!org->has_value()) return Error::NotFound("organisation_not_found", "No such institution.");
    GUICHET_TRY_STATUS(wallet_.authorizer().Require(caller, right::kCreate, (*org)->path));
    const bool updates = std::any_of(parsed->holders.begin(), parsed->holders.end(),
                                     [](const UploadedHolder& h) { return h.action == "update"; });
    if (updates) GUICHET_TRY_STATUS(wallet_.authorizer().Require(caller, right::kUpdate, (*org)->path));
    const std::string actor = caller.kind == identity::Caller::Kind::kUser     ? "user"
                              : caller.kind == identity::Caller::Kind::kApiKey ? "api_key"
                              : caller.kind == identity::Caller::Kind::kDevice ? "device"
                                                                               : "system";
    auto inserted = tx.QueryOne(
        "INSERT INTO wallet_uploads (organisation_id, file_name, content, state, lines_total, created_by_type,"
        " created_by, created_at) VALUES ($1, $2, $3, 'queued', $4, $5, $6, $7) RETURNING id",
        {parsed->institution, std::string(file_name), std::string(xml),
         static_cast<int64_t>(parsed->holders.size()), actor,
         actor == "system" ? storage::Param(nullptr) : storage::Param(caller.id), now});
    if (!inserted.ok()) return std::move(inserted).error();
    const int64_t id = (*inserted)->Int(0);
    jobs::JobRequest job;
    job.kind = std::string(kUploadJobKind);
    job.payload = boost::json::serialize(object{{"upload_id", id}});
    job.dedupe_key = fmt::format("wallet.upload:{}", id);
    auto queued = jobs::Enqueue(tx, job, now);
    if (!queued.ok()) return std::move(queued).error();
    GUICHET_TRY_STATUS(internal::Audit(tx, &caller, "wallet.upload.submit", "wallet_upload", id, parsed->institution,
                                       nullptr,
                                       object{{"file_name", std::string(file_name)},
                                              {"lines", static_cast<int64_t>(parsed->holders.size())}},
                                       caller.request_id, now));
    return LoadInScope(tx, id, {(*org)->path}, nullptr, nullptr);
  });
}

Result<UploadView> Uploads::Get(const identity::Caller& caller, int64_t upload_id) {
  const auto scopes = wallet_.authorizer().Scopes(caller, right::kCreate);
  return wallet_.database().Transact<UploadView>(TransactionMode::kRead, [&](Transaction& tx) {
    return LoadInScope(tx, upload_id, scopes, nullptr, nullptr);
  });
}

Result<std::vector<UploadView>> Uploads::List(const identity::Caller& caller) {
  const auto scopes = wallet_.authorizer().Scopes(caller, right::kCreate);
  return wallet_.database().Transact<std::vector<UploadView>>(
      TransactionMode::kRead, [&](Transaction& tx) -> Result<std::vector<UploadView>> {
        auto rows = tx.Query(fmt::format("SELECT {}, o.path FROM wallet_uploads u JOIN organisations o"
                                         " ON o.id = u.organisation_id ORDER BY u.id DESC LIMIT $1",
                                         kUploadColumns),
                             {kUploadListMax * 10});
        if (!rows.ok()) return std::move(rows).error();
        std::vector<UploadView> out;
        for (const Row& row : rows->rows) {
          bool visible = false;
          for (const std::string& scope : scopes) visible = visible || orgs::Contains(scope, row.Text(10));
          if (!visible) continue;
          UploadView view = UploadFromRow(row);
          view.report.clear();
          out.push_back(std::move(view));
          if (static_cast<int64_t>(out.size()) >= kUploadListMax) break;
        }
        return out;
      });
}

Result<std::string> Uploads::ErrorFile(const identity::Caller& caller, int64_t upload_id) {
  const auto scopes = wallet_.authorizer().Scopes(caller, right::kCreate);
  return wallet_.database().Transact<std::string>(TransactionMode::kRead, [&](Transaction& tx) -> Result<std::string> {
    std::string error_file;
    auto upload = LoadInScope(tx, upload_id, scopes, nullptr, &error_file);
    if (!upload.ok()) return std::move(upload).error();
    return error_file;
  });
}

Status Uploads::Process(int64_t upload_id) {
  std::string content;
  std::string path;
  auto loaded = wallet_.database().Transact<UploadView>(TransactionMode::kWrite, [&](Transaction& tx) -> Result<UploadView> {
    auto row = tx.QueryOne("SELECT o.path FROM wallet_uploads u JOIN organisations o ON o.id = u.organisation_id"
                           " WHERE u.id = $1",
                           {upload_id});
    if (!row.ok()) return std::move(row).error();
    if (!row->has_value()) return UploadNotFound();
    path = (*row)->Text(0);
    auto marked = tx.Execute("UPDATE wallet_uploads SET state = 'running' WHERE id = $1 AND state = 'queued'",
                             {upload_id});
    if (!marked.ok()) return std::move(marked).error();
    return LoadInScope(tx, upload_id, {path}, &content, nullptr);
  });
  if (!loaded.ok()) return std::move(loaded).error();
  if (loaded->state == "done") return OkStatus();
  auto parsed = ParseHoldersXml(content);
  if (!parsed.ok()) return std::move(parsed).error();  // validated at upload: a bug if it happens
  const identity::Caller caller = JobCaller(loaded->organisation_id, path, upload_id);
  std::vector<UploadLine> report = loaded->report;
  int64_t failed = loaded->lines_failed;
  auto save = [&](bool finished) -> Status {
    array items;
    std::string errors;
    for (const UploadLine& line : report) {
      items.push_back(LineJson(line));
      if (line.outcome != "failed") continue;
      const UploadedHolder& holder = parsed->holders[static_cast<size_t>(line.line - 1)];
      std::string comment = fmt::format("line {} (XML line {}): {} {}", line.line, line.source_line, line.code, line.message);
      for (size_t at = comment.find("--"); at != std::string::npos; at = comment.find("--")) comment.replace(at, 2, "- ");
      errors += fmt::format("  <!-- {} -->\n  {}\n", comment, holder.element_xml);
    }
    const std::string error_file =
        errors.empty() ? ""
                       : fmt::format("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<holders xmlns=\"urn:guichet:wallet:holders:1\""
                                     " institution=\"{}\">\n{}</holders>\n",
                                     parsed->institution, errors);
    const int64_t now = wallet_.clock().NowMs();
    return wallet_.database().Transact<Ok>(TransactionMode::kWrite, [&](Transaction& tx) -> Result<Ok> {
      auto updated = tx.Execute(
          "UPDATE wallet_uploads SET lines_done = $1, lines_failed = $2, report = $3, error_file = $4, state = $5,"
          " finished_at = $6 WHERE id = $7",
          {static_cast<int64_t>(report.size()), failed, boost::json::serialize(items), error_file,
           std::string(finished ? "done" : "running"), finished ? storage::Param(now) : storage::Param(nullptr),
           upload_id});
      if (!updated.ok()) return std::move(updated).error();
      return Ok{};
    });
  };
  for (size_t i = report.size(); i < parsed->holders.size(); ++i) {
    const UploadedHolder& item = parsed->holders[i];
    UploadLine line;
    line.line = static_cast<int64_t>(i) + 1;
    line.source_line = item.source_line;
    line.action = item.action;
    line.university_id = item.holder.university_id;
    Status outcome = OkStatus();
    if (item.action == "create") {
      NewHolder request = item.holder;
      request.organisation_id = parsed->institution;
      if (request.language.empty()) request.language = "fr";
      auto created = wallet_.CreateHolder(caller, request, "upload");
      if (created.ok()) {
        line.outcome = "created";
        line.holder_id = created->id;
      } else {
        outcome = std::move(created).error();
      }
    } else {
      auto existing = wallet_.HolderByUniversityId(caller, parsed->institution, item.holder.university_id);
      if (!existing.ok()) {
        outcome = std::move(existing).error();
      } else if (!existing->has_value()) {
        outcome = Error::NotFound(std::string(code::kHolderNotFound),
                                  "No holder of this institution has this university id.");
      } else {
        auto updated = wallet_.UpdateHolder(caller, **existing, item.change, "upload");
        if (updated.ok()) {
          line.outcome = "updated";
          line.holder_id = updated->id;
        } else {
          outcome = std::move(updated).error();
        }
      }
    }
    if (!outcome.ok()) {
      const Error& error = outcome.error();
      if (error.kind == ErrorKind::kInternal || error.kind == ErrorKind::kUnavailable) return error;  // retried
      line.outcome = "failed";
      line.code = error.code;
      line.message = error.message;
      for (const FieldError& field : error.fields) line.message += fmt::format(" {}: {}.", field.pointer, field.message);
      ++failed;
    }
    report.push_back(std::move(line));
    if (static_cast<int64_t>(report.size()) % kUploadProgressEveryLines == 0) GUICHET_TRY_STATUS(save(false));
  }
  return save(true);
}

void Uploads::RegisterJobs(jobs::Runner& runner) {
  runner.Register(std::string(kUploadJobKind), [this](const jobs::JobRecord& job) -> Status {
    value payload = boost::json::parse(job.payload);
    return Process(payload.as_object().at("upload_id").as_int64());
  });
}

}  // namespace guichet::wallet
