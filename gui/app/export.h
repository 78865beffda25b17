#pragma once
// Writing what the GUI exports (a chart, a table, a scenario, prices) by the rules of every
// Fathom output (common/output.h): a regular file replaced atomically, a FIFO or device written
// in place, a link followed, a folder refused; nothing left behind on failure.
#include <string>

namespace fathom::gui {

// Throws fathom::Error naming `path` and `what` ("PNG file") when it cannot be written.
void write_output(const std::string& path, const std::string& bytes, const std::string& what);

}  // namespace fathom::gui
