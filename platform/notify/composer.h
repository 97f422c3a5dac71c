// The content side of the Composer seam (message.h): templates, preferences and consent.
//
// Decide: the person's consent for the row's purpose and channel, again at delivery time
// (an erased person, a withdrawn consent: suppressed). Rows without a person (addresses typed
// by staff, webhooks) and mandatory purposes go out.
// Compose: a row whose code no template declares is composed from its variables as
// VariablesComposer does (diagnostics, free-form rows). Otherwise the effective template of the row's organisation, code and language, rendered with
// its variables; the digest's lines; an inline QR code when the variables carry "qr" (cid:qr);
// attachments from "attachments" ([{filename, content_type, base64, content_id?}]); an
// unsubscribe link (List-Unsubscribe, RFC 8058) for optional purposes; an open pixel for
// campaign e-mails.
#pragma once

#include <string>

#include "platform/base/clock.h"
#include "platform/notify/contacts.h"
#include "platform/notify/message.h"
#include "platform/notify/templates.h"

namespace guichet::notify {

struct ComposerOptions {
  std::string public_url;  // "https://guichet.example": where links in messages point
  std::string secret;      // signs unsubscribe and open links
};

class TemplateComposer final : public Composer {
 public:
  TemplateComposer(const TemplateCatalog& templates, const Clock& clock, ComposerOptions options)
      : templates_(templates), clock_(clock), options_(std::move(options)) {}

  Result<Verdict> Decide(storage::Transaction& tx, const QueuedMessage& message) override;
  Result<ComposedMessage> Compose(storage::Transaction& tx, const QueuedMessage& message) override;

  std::string UnsubscribeUrl(const privacy::PersonRef& person, std::string_view purpose, std::string_view channel) const;

 private:
  const TemplateCatalog& templates_;
  const Clock& clock_;
  const ComposerOptions options_;
};

}  // namespace guichet::notify
