#include "common/suggest.h"

#include <algorithm>
#include <cctype>

namespace fathom {

namespace {
std::string lower(std::string_view s) {
  std::string r(s);
  for (char& c : r) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return r;
}
}  // namespace

size_t edit_distance(std::string_view a_in, std::string_view b_in) {
  std::string a = lower(a_in), b = lower(b_in);
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t sub = prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, sub});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::vector<std::string> closest_names(std::string_view query, const std::vector<std::string>& names,
                                       size_t max) {
  std::string q = lower(query);
  std::vector<std::pair<size_t, std::string>> scored;
  for (const auto& n : names) {
    size_t d = edit_distance(q, n);
    std::string ln = lower(n);
    bool contains = !q.empty() && (ln.find(q) != std::string::npos || q.find(ln) != std::string::npos);
    size_t limit = std::max<size_t>(2, q.size() / 3);
    if (d <= limit || contains) scored.emplace_back(d, n);
  }
  std::stable_sort(scored.begin(), scored.end(),
                   [](const auto& x, const auto& y) { return x.first < y.first; });
  std::vector<std::string> out;
  for (const auto& s : scored) {
    if (out.size() >= max) break;
    out.push_back(s.second);
  }
  return out;
}

std::string did_you_mean(std::string_view query, const std::vector<std::string>& names) {
  auto c = closest_names(query, names);
  if (c.empty()) return "";
  std::string r = " (did you mean ";
  for (size_t i = 0; i < c.size(); ++i) r += (i ? ", '" : "'") + c[i] + "'";
  return r + "?)";
}

}  // namespace fathom
