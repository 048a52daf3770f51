// The two kinds of failure nnjit reports. A UserError means the caller asked for something
// invalid (a shape mismatch, an unknown name, a malformed file): the message names what was
// wrong and the program can carry on. An InternalError means nnjit itself is broken.
#pragma once

#include <stdexcept>
#include <string>

namespace nnjit {

class UserError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

class InternalError : public std::logic_error {
public:
    using std::logic_error::logic_error;
};

}  // namespace nnjit
