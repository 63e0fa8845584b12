// Reference solution: passing file descriptors over a Unix socket (SCM_RIGHTS).
//
// An fd number means nothing in another process. sendmsg() with an SCM_RIGHTS
// control message makes the kernel install a copy of each open file in the
// receiver, under the receiver's own numbers, as dup() does within a process.
#include "start_methods_parts.hpp"

#include <kata/errors.hpp>
#include <kata/io.hpp>

#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace kata::detail {

namespace {

// The most fds one message carries: a forkserver request passes two.
constexpr std::size_t max_fds = 2;

// Room for one SCM_RIGHTS message, aligned as a cmsghdr must be (TLPI 61.13.2).
union ControlBuffer {
  cmsghdr align;
  char bytes[CMSG_SPACE(sizeof(int) * max_fds)];
};

// send() with MSG_NOSIGNAL: a peer that is gone is EPIPE, not SIGPIPE.
void send_rest(int socket, std::span<const std::byte> data) {
  while (!data.empty()) {
    const ssize_t sent = ::send(socket, data.data(), data.size(), MSG_NOSIGNAL);
    if (sent == -1) {
      if (errno == EINTR) {
        continue;
      }
      throw_errno("send");
    }
    data = data.subspan(static_cast<std::size_t>(sent));
  }
}

}  // namespace

void send_with_fds(int socket, std::span<const std::byte> data, std::span<const int> fds) {
  // The fds ride on ordinary bytes: a message without data carries nothing.
  if (data.empty() || fds.size() > max_fds) {
    throw std::invalid_argument("send_with_fds: needs 1 or more bytes and at most 2 fds");
  }
  iovec vector{.iov_base = const_cast<std::byte*>(data.data()), .iov_len = data.size()};
  msghdr message{};
  message.msg_iov = &vector;
  message.msg_iovlen = 1;
  ControlBuffer control{};
  if (!fds.empty()) {
    message.msg_control = control.bytes;
    message.msg_controllen = CMSG_SPACE(sizeof(int) * fds.size());
    cmsghdr* header = CMSG_FIRSTHDR(&message);
    header->cmsg_level = SOL_SOCKET;
    header->cmsg_type = SCM_RIGHTS;
    header->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
    std::memcpy(CMSG_DATA(header), fds.data(), sizeof(int) * fds.size());
  }
  ssize_t sent = -1;
  do {
    sent = ::sendmsg(socket, &message, MSG_NOSIGNAL);
  } while (sent == -1 && errno == EINTR);
  if (sent == -1) {
    throw_errno("sendmsg with SCM_RIGHTS");
  }
  // The fds went with the first byte; the rest of a short send follows as plain bytes.
  send_rest(socket, data.subspan(static_cast<std::size_t>(sent)));
}

bool receive_with_fds(int socket, std::span<std::byte> data, std::span<UniqueFd> fds) {
  iovec vector{.iov_base = data.data(), .iov_len = data.size()};
  msghdr message{};
  message.msg_iov = &vector;
  message.msg_iovlen = 1;
  ControlBuffer control{};
  message.msg_control = control.bytes;
  message.msg_controllen = sizeof control.bytes;
  ssize_t received = -1;
  do {
    // MSG_CMSG_CLOEXEC: the new fds must not leak into a program we exec later.
    received = ::recvmsg(socket, &message, MSG_CMSG_CLOEXEC);
  } while (received == -1 && errno == EINTR);
  if (received == -1) {
    throw_errno("recvmsg with SCM_RIGHTS");
  }
  if (received == 0) {
    return false;
  }
  // Own every fd that arrived before anything can throw, so none leaks.
  std::size_t count = 0;
  bool too_many = false;
  for (cmsghdr* header = CMSG_FIRSTHDR(&message); header != nullptr;
       header = CMSG_NXTHDR(&message, header)) {
    if (header->cmsg_level != SOL_SOCKET || header->cmsg_type != SCM_RIGHTS) {
      continue;
    }
    const std::size_t arrived = (header->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (std::size_t i = 0; i < arrived; ++i) {
      int fd = -1;
      std::memcpy(&fd, CMSG_DATA(header) + i * sizeof(int), sizeof fd);
      if (count < fds.size()) {
        fds[count++].reset(fd);
      } else {
        UniqueFd unwanted(fd);
        too_many = true;
      }
    }
  }
  if (too_many || (message.msg_flags & MSG_CTRUNC) != 0) {
    throw std::runtime_error("recvmsg: more file descriptors arrived than expected");
  }
  read_exact(socket, data.subspan(static_cast<std::size_t>(received)));
  return true;
}

}  // namespace kata::detail
