// The privacy API: one's own consents and export, the export and erasure of a staff member by
// those who hold privacy.export / privacy.erase over them, and the public register of
// processing. Every route goes through identity's gate (AddGuarded).
#pragma once

#include "platform/http/router.h"
#include "platform/identity/identity_http.h"
#include "platform/privacy/privacy.h"

namespace guichet::privacy {

//   GET  /api/v1/me/consents             any session       current choices and full history
//   POST /api/v1/me/consents             any session       record a choice
//   GET  /api/v1/me/export               any session       everything held on oneself
//   GET  /api/v1/staff/{id}/export       privacy.export    everything held on a staff member
//   POST /api/v1/staff/{id}/erasure      privacy.erase     erase a staff member's data
//   GET  /api/v1/privacy/register        public            the register of processing
// `privacy` must outlive the router.
void AddPrivacyRoutes(http::Router& router, identity::IdentityHttpContext& context,
                      Privacy& privacy);

}  // namespace guichet::privacy
