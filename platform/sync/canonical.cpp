// Canonical JSON (RFC 8785 for integer-only documents) and the bytes a device signs for a
// batch. Devices build the same bytes with any JSON library plus a key sort: see
// docs/offline-sync.md.
#include <fmt/format.h>

#include <algorithm>

#include "platform/sync/sync.h"

namespace guichet::sync {
namespace {

// UTF-16 code units of valid UTF-8 text (boost::json has validated it): JCS orders members by
// them, which differs from byte order for characters above U+FFFF.
std::u16string Utf16(std::string_view text) {
  std::u16string out;
  for (size_t i = 0; i < text.size();) {
    const auto byte = static_cast<unsigned char>(text[i]);
    uint32_t point = 0;
    size_t length = 1;
    if (byte < 0x80) {
      point = byte;
    } else if ((byte >> 5) == 0x6) {
      point = byte & 0x1F;
      length = 2;
    } else if ((byte >> 4) == 0xE) {
      point = byte & 0x0F;
      length = 3;
    } else {
      point = byte & 0x07;
      length = 4;
    }
    for (size_t k = 1; k < length && i + k < text.size(); ++k) {
      point = (point << 6) | (static_cast<unsigned char>(text[i + k]) & 0x3F);
    }
    i += length;
    if (point >= 0x10000) {
      point -= 0x10000;
      out.push_back(static_cast<char16_t>(0xD800 + (point >> 10)));
      out.push_back(static_cast<char16_t>(0xDC00 + (point & 0x3FF)));
    } else {
      out.push_back(static_cast<char16_t>(point));
    }
  }
  return out;
}

void AppendString(std::string& out, std::string_view text) {
  out.push_back('"');
  for (const char c : text) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          out += fmt::format("\\u{:04x}", static_cast<unsigned>(c));
        } else {
          out.push_back(c);
        }
    }
  }
  out.push_back('"');
}

bool Append(std::string& out, const boost::json::value& value) {
  switch (value.kind()) {
    case boost::json::kind::null:
      out += "null";
      return true;
    case boost::json::kind::bool_:
      out += value.get_bool() ? "true" : "false";
      return true;
    case boost::json::kind::int64:
      out += std::to_string(value.get_int64());
      return true;
    case boost::json::kind::uint64:
      out += std::to_string(value.get_uint64());
      return true;
    case boost::json::kind::double_:
      return false;  // integers only: no float formatting to agree on
    case boost::json::kind::string:
      AppendString(out, value.get_string());
      return true;
    case boost::json::kind::array: {
      out.push_back('[');
      bool first = true;
      for (const auto& item : value.get_array()) {
        if (!first) out.push_back(',');
        first = false;
        if (!Append(out, item)) return false;
      }
      out.push_back(']');
      return true;
    }
    case boost::json::kind::object: {
      const auto& object = value.get_object();
      std::vector<std::pair<std::u16string, const boost::json::key_value_pair*>> members;
      members.reserve(object.size());
      for (const auto& member : object) members.emplace_back(Utf16(member.key()), &member);
      std::sort(members.begin(), members.end(),
                [](const auto& a, const auto& b) { return a.first < b.first; });
      out.push_back('{');
      bool first = true;
      for (const auto& [unused, member] : members) {
        if (!first) out.push_back(',');
        first = false;
        AppendString(out, member->key());
        out.push_back(':');
        if (!Append(out, member->value())) return false;
      }
      out.push_back('}');
      return true;
    }
  }
  return false;
}

}  // namespace

std::optional<std::string> CanonicalJson(const boost::json::value& value) {
  std::string out;
  if (!Append(out, value)) return std::nullopt;
  return out;
}

std::optional<std::string> BatchSigningString(const Batch& batch) {
  std::string out = fmt::format("{}\n{}\n{}\n{}\n", kBatchSigningPrefix, batch.device_id,
                                batch.batch_id, batch.events.size());
  for (const BatchEvent& event : batch.events) {
    auto payload = CanonicalJson(event.payload);
    if (!payload) return std::nullopt;
    out += fmt::format("{}\n{}\n{}\n{}\n", event.seq, event.kind, event.at_ms, *payload);
  }
  return out;
}

}  // namespace guichet::sync
