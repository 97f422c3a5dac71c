// Escaping text for HTML and XML: one function for every page, e-mail part, SVG and SEPA file
// we write. The five special characters become entities valid in both HTML and XML 1.0
// (&#39; rather than &apos;, which HTML 4 lacks).
#pragma once

#include <string>
#include <string_view>

namespace guichet {

std::string EscapeMarkup(std::string_view text);

}  // namespace guichet
