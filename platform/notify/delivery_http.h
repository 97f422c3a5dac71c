// The delivery routes: provider reports (signed, public), bad addresses for staff, the sender
// of an organisation, one message's delivery state and log, and resending an uncertain one.
#pragma once

#include <string>

#include "platform/http/router.h"
#include "platform/identity/identity_http.h"
#include "platform/notify/addresses.h"
#include "platform/notify/senders.h"

namespace guichet::notify {

inline constexpr std::string_view kMessagesRead = "notify.messages.read";
inline constexpr std::string_view kMessagesManage = "notify.messages.manage";

struct DeliveryHttpContext {
  BadAddresses& bad_addresses;
  Senders& senders;
  const identity::Authorizer& authorizer;
  std::string report_secret;  // empty: reports refused
};

void DeclarePermissions(identity::RightsCatalog& catalog);
void AddDeliveryRoutes(http::Router& router, identity::IdentityHttpContext& context, DeliveryHttpContext& delivery);
// Diagnostics only (setting `diagnostics`): POST /api/v1/diagnostics/messages queues a message
// as a use case would, for the API tests and smoke checks of the delivery path.
void AddDeliveryDiagnosticsRoutes(http::Router& router, identity::IdentityHttpContext& context);

}  // namespace guichet::notify
