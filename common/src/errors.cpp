#include <kata/errors.hpp>

#include <cerrno>
#include <system_error>

namespace kata {

NotImplemented::NotImplemented(std::string_view function)
    : std::logic_error(std::string(function) +
                       " is not implemented yet: that is your exercise (see its README.md)") {}

void throw_errno(std::string_view what) {
  throw_errno(what, errno);
}

void throw_errno(std::string_view what, int error) {
  throw std::system_error(error, std::generic_category(), std::string(what));
}

}  // namespace kata
