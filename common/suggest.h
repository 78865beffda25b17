#pragma once
// "Did you mean" suggestions for unknown names (GPU, model, key), by edit distance.
#include <string>
#include <string_view>
#include <vector>

namespace fathom {

// Levenshtein distance, case-insensitive.
size_t edit_distance(std::string_view a, std::string_view b);

// Up to `max` names closest to `query` (those within a distance that still looks like a typo,
// or that contain the query), closest first.
std::vector<std::string> closest_names(std::string_view query, const std::vector<std::string>& names,
                                       size_t max = 3);

// " (did you mean 'a', 'b'?)" or "" when nothing is close.
std::string did_you_mean(std::string_view query, const std::vector<std::string>& names);

}  // namespace fathom
