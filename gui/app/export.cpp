#include "gui/app/export.h"

#include "common/output.h"

namespace fathom::gui {

void write_output(const std::string& path, const std::string& bytes, const std::string& what) {
  OutputSet out;
  out.add(path, what, bytes);
  out.commit();
}

}  // namespace fathom::gui
