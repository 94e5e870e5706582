#include "netdev.h"

#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <functional>
#include <thread>
#include <vector>

namespace ocirun {
namespace {

// One rtnetlink request: a header, its fixed part, then attributes.
class Request {
 public:
  Request(uint16_t type, uint16_t flags, const void* fixed, size_t len) {
    buf_.resize(NLMSG_LENGTH(len));
    auto* h = hdr();
    h->nlmsg_type = type;
    h->nlmsg_flags = NLM_F_REQUEST | flags;
    h->nlmsg_len = NLMSG_LENGTH(len);
    memcpy(NLMSG_DATA(h), fixed, len);
  }
  Request& attr(uint16_t type, const void* data, size_t len) {
    size_t at = NLMSG_ALIGN(buf_.size());
    buf_.resize(at + RTA_SPACE(len));
    auto* a = reinterpret_cast<rtattr*>(buf_.data() + at);
    a->rta_type = type;
    a->rta_len = RTA_LENGTH(len);
    memcpy(RTA_DATA(a), data, len);
    hdr()->nlmsg_len = buf_.size();
    return *this;
  }
  Request& str(uint16_t type, const char* s) { return attr(type, s, strlen(s) + 1); }
  nlmsghdr* hdr() { return reinterpret_cast<nlmsghdr*>(buf_.data()); }

 private:
  std::vector<char> buf_;
};

// Sends `req` and reads until its ACK, error or end of dump; each data message goes to `each`.
int talk(int sock, Request& req, const std::function<void(nlmsghdr*)>& each, const char* what, SysError& e) {
  static unsigned seq = 0;
  req.hdr()->nlmsg_seq = ++seq;
  if (send(sock, req.hdr(), req.hdr()->nlmsg_len, 0) < 0) return fail(e, "send(netlink)", what);
  std::vector<char> buf(32768);
  for (;;) {
    ssize_t n = recv(sock, buf.data(), buf.size(), 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail(e, "recv(netlink)", what);
    }
    for (auto* h = reinterpret_cast<nlmsghdr*>(buf.data()); NLMSG_OK(h, n); h = NLMSG_NEXT(h, n)) {
      if (h->nlmsg_seq != req.hdr()->nlmsg_seq) continue;
      if (h->nlmsg_type == NLMSG_DONE) return 0;
      if (h->nlmsg_type == NLMSG_ERROR) {
        int err = -static_cast<nlmsgerr*>(NLMSG_DATA(h))->error;
        return err ? fail(e, what, "", err) : 0;  // error 0 is the ACK
      }
      each(h);
      if (!(h->nlmsg_flags & NLM_F_MULTI)) return 0;
    }
  }
}

const auto kIgnore = [](nlmsghdr*) {};

// An rtnetlink socket of network namespace `ns` (-1: ours). A socket belongs to the namespace it was made
// in: a short-lived thread joins `ns`, makes it and ends, and no other thread of the runtime moves.
int socket_in(int ns, SysError& e) {
  int fd = -1, err = 0;
  auto make = [&] {
    if (ns >= 0 && setns(ns, CLONE_NEWNET) < 0) {
      err = errno;
      return;
    }
    fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    if (fd < 0) err = errno;
  };
  if (ns < 0)
    make();
  else
    std::thread(make).join();
  if (fd < 0) return fail(e, ns < 0 ? "socket(NETLINK_ROUTE)" : "setns(CLONE_NEWNET)", "", err);
  return fd;
}

// The device's index and flags by name, in the socket's namespace.
int find_link(int sock, const char* name, int* index, unsigned* flags, SysError& e) {
  ifinfomsg ifi = {};
  Request req(RTM_GETLINK, 0, &ifi, sizeof ifi);
  req.str(IFLA_IFNAME, name);
  *index = 0;
  if (talk(sock, req, [&](nlmsghdr* h) {
        auto* got = static_cast<ifinfomsg*>(NLMSG_DATA(h));
        *index = got->ifi_index;
        *flags = got->ifi_flags;
      }, "RTM_GETLINK", e) < 0) {
    copy_str(e.path, sizeof e.path, name);
    return -1;
  }
  return *index ? 0 : fail(e, "RTM_GETLINK", name, ENODEV);
}

// A permanent address of global scope, as the kernel gave it, to be added again after the move.
struct Address {
  ifaddrmsg head;
  std::vector<std::pair<uint16_t, std::vector<char>>> attrs;  // IFA_LOCAL, IFA_ADDRESS, IFA_BROADCAST
};

int addresses_of(int sock, int index, std::vector<Address>& out, SysError& e) {
  ifaddrmsg ifa = {};
  Request req(RTM_GETADDR, NLM_F_DUMP, &ifa, sizeof ifa);
  return talk(sock, req, [&](nlmsghdr* h) {
    auto* got = static_cast<ifaddrmsg*>(NLMSG_DATA(h));
    if (h->nlmsg_type != RTM_NEWADDR || static_cast<int>(got->ifa_index) != index || got->ifa_scope != RT_SCOPE_UNIVERSE) return;
    Address a{*got, {}};
    unsigned flags = got->ifa_flags;
    int len = IFA_PAYLOAD(h);
    for (auto* at = IFA_RTA(got); RTA_OK(at, len); at = RTA_NEXT(at, len)) {
      if (at->rta_type == IFA_FLAGS) memcpy(&flags, RTA_DATA(at), sizeof flags);
      if (at->rta_type == IFA_LOCAL || at->rta_type == IFA_ADDRESS || at->rta_type == IFA_BROADCAST)
        a.attrs.push_back({at->rta_type, std::vector<char>(static_cast<char*>(RTA_DATA(at)), static_cast<char*>(RTA_DATA(at)) + RTA_PAYLOAD(at))});
    }
    if (flags & IFA_F_PERMANENT) out.push_back(std::move(a));
  }, "RTM_GETADDR", e);
}

int set_up(int sock, int index, SysError& e) {
  ifinfomsg ifi = {};
  ifi.ifi_index = index;
  ifi.ifi_flags = IFF_UP;
  ifi.ifi_change = IFF_UP;
  Request req(RTM_NEWLINK, NLM_F_ACK, &ifi, sizeof ifi);
  return talk(sock, req, kIgnore, "RTM_NEWLINK(IFF_UP)", e);
}

int move_with(int from, int to, const char* name, int to_ns, const char* new_name, SysError& e) {
  int index = 0;
  unsigned flags = 0;
  std::vector<Address> addrs;
  if (find_link(from, name, &index, &flags, e) < 0 || addresses_of(from, index, addrs, e) < 0) return -1;
  // The kernel moves the device first and renames it after: a name taken on the other side would fail the
  // rename with the device already moved. Refused before anything moves.
  const char* there = *new_name ? new_name : name;
  int taken = 0;
  unsigned ignored = 0;
  SysError probe;
  if (find_link(to, there, &taken, &ignored, probe) == 0) return fail(e, "RTM_GETLINK", there, EEXIST);
  if (probe.err != ENODEV) {
    e = probe;
    return -1;
  }
  // The move and the new name in one request: the device never exists under a clashing name.
  ifinfomsg ifi = {};
  ifi.ifi_index = index;
  Request move(RTM_NEWLINK, NLM_F_ACK, &ifi, sizeof ifi);
  uint32_t fd = to_ns;
  move.attr(IFLA_NET_NS_FD, &fd, sizeof fd);
  if (*new_name) move.str(IFLA_IFNAME, new_name);
  if (talk(from, move, kIgnore, "RTM_NEWLINK(IFLA_NET_NS_FD)", e) < 0) {
    copy_str(e.path, sizeof e.path, name);
    return -1;
  }
  int moved = 0;
  if (find_link(to, there, &moved, &ignored, e) < 0) return -1;
  for (auto& a : addrs) {
    a.head.ifa_index = moved;
    Request add(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL | NLM_F_ACK, &a.head, sizeof a.head);
    for (auto& [type, bytes] : a.attrs) add.attr(type, bytes.data(), bytes.size());
    if (talk(to, add, kIgnore, "RTM_NEWADDR", e) < 0) {
      copy_str(e.path, sizeof e.path, there);
      return -1;
    }
  }
  return (flags & IFF_UP) ? set_up(to, moved, e) : 0;
}

}  // namespace

int move_net_device(int from_ns, const char* name, int to_ns, const char* new_name, SysError& e) {
  int from = socket_in(from_ns, e);
  if (from < 0) return -1;
  int to = socket_in(to_ns, e);
  int rc = to < 0 ? -1 : move_with(from, to, name, to_ns, new_name, e);
  close(from);
  if (to >= 0) close(to);
  return rc;
}

int move_net_device(const char* from_ns, const char* name, const char* to_ns, const char* new_name, SysError& e) {
  int from = *from_ns ? open(from_ns, O_RDONLY | O_CLOEXEC) : -1;
  if (*from_ns && from < 0) return fail(e, "open", from_ns);
  int to = open(to_ns, O_RDONLY | O_CLOEXEC);
  int rc = to < 0 ? fail(e, "open", to_ns) : move_net_device(from, name, to, new_name, e);
  if (from >= 0) close(from);
  if (to >= 0) close(to);
  return rc;
}

}  // namespace ocirun
