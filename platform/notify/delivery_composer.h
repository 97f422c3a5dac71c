// The composer the delivery engine runs with until the content branch (templates, preferences,
// digests) replaces it in app/main.cpp: it says what the row's variables say, without
// templates. Subject: variables.subject, else the template code. Text: variables.text, else
// one "key: value" line per variable. HTML: variables.html when given. Inline QR code:
// variables.qr (rendered as a PNG, cid:qr). Attachments: variables.attachments, a list of
// {filename, content_type, base64, content_id?}. Consent: messages of a purpose other than
// "transactional" or "alerts" to a person go out only with that person's current consent
// for the purpose and channel.
#pragma once

#include "platform/notify/message.h"

namespace guichet::notify {

class VariablesComposer final : public Composer {
 public:
  Result<Verdict> Decide(storage::Transaction& tx, const QueuedMessage& message) override;
  Result<ComposedMessage> Compose(storage::Transaction& tx, const QueuedMessage& message) override;
};

}  // namespace guichet::notify
