// HTTP routes of webhooks (endpoints, secrets, delivery log, replay, test event) and of web
// push (the VAPID public key, a person's subscriptions).
#pragma once

#include <string>

#include "platform/http/router.h"
#include "platform/identity/identity_http.h"
#include "platform/notify/webhooks.h"
#include "platform/notify/webpush.h"

namespace guichet::notify {

void DeclareWebhookPermissions(identity::RightsCatalog& catalog);
void AddWebhookRoutes(http::Router& router, identity::IdentityHttpContext& context,
                      Webhooks& webhooks);
// Diagnostics only: POST /api/v1/diagnostics/webhook-events emits an event as a use case would.
void AddWebhookDiagnosticsRoutes(http::Router& router, identity::IdentityHttpContext& context);

struct PushHttpContext {
  PushSubscriptions& subscriptions;
  std::string vapid_public_key;  // base64url, uncompressed point
};
void AddPushRoutes(http::Router& router, identity::IdentityHttpContext& context,
                   PushHttpContext& push);

}  // namespace guichet::notify
