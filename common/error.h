#pragma once
// Errors. Bad input (a file, a flag, a configuration that cannot run) throws a subclass of
// fathom::Error whose message reads "where: expected ..., found ...". The CLI prints it on one
// line and exits with status 2. Broken internal invariants use FATHOM_CHECK, which aborts.
#include <stdexcept>
#include <string>

namespace fathom {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

// A malformed or invalid input file. `where` is "file:line" (or "file" when no line applies).
class InputError : public Error {
 public:
  InputError(const std::string& where, const std::string& message);
};

// A bad command-line flag or argument.
class FlagError : public Error {
 public:
  FlagError(const std::string& flag, const std::string& message);
};

// A configuration that is well-formed but cannot run (heads not divisible by TP, ...).
class ConfigError : public Error {
 public:
  ConfigError(const std::string& where, const std::string& message);
};

// A long call stopped by its cancellation token (e.g. ServeOptions::cancel) before it finished;
// the message says what was done by then.
class Cancelled : public Error {
 public:
  explicit Cancelled(const std::string& message) : Error(message) {}
};

[[noreturn]] void check_failed(const char* condition, const char* file, int line);

}  // namespace fathom

#define FATHOM_CHECK(cond) \
  ((cond) ? static_cast<void>(0) : ::fathom::check_failed(#cond, __FILE__, __LINE__))
