#include "sim/serve/histogram.h"

namespace fathom::serve {

// Compiled once here; every other file sees the extern declarations in the header.
template class BasicLogHistogram<10>;
template class BasicLogHistogram<7>;

}  // namespace fathom::serve
