#pragma once
// Helpers shared by the calib commands (calib_cmd.cpp: measuring; calib_fit_cmd.cpp: fit, report).
#include <string>

#include "hw/catalog.h"

namespace fathom::cli {

// The hardware catalog of the data folder.
hw::HardwareCatalog hardware_catalog();
// A file to read: anything that exists and is not a folder (a FIFO or /dev/stdin too; readers
// cap what they read, docs/reliability.md). InputError naming `what` otherwise.
void require_existing(const std::string& path, const std::string& what);

}  // namespace fathom::cli
