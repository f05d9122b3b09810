/*
 * The link watcher (linkwatch.h): RTNLGRP_LINK membership on a NETLINK_ROUTE
 * socket, and a reader that walks each batch of messages and hands the link
 * messages, name and flags extracted, to the runner that owns the socket.
 */
#include <errno.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "linkwatch.h"

int linkwatch_open(void)
{
    int s = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_ROUTE);
    if (s < 0)
        return -1;
    struct sockaddr_nl sa;
    memset(&sa, 0, sizeof sa);
    sa.nl_family = AF_NETLINK;
    sa.nl_groups = RTMGRP_LINK;
    if (bind(s, (struct sockaddr *)&sa, sizeof sa) < 0) {
        close(s);
        return -1;
    }
    return s;
}

int linkwatch_read(int fd, void (*fn)(void *arg, const struct link_event *ev), void *arg)
{
    uint32_t buf[8192 / sizeof(uint32_t)]; /* aligned for struct nlmsghdr */
    int missed = 0;
    for (;;) {
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n < 0) {
            if (errno == ENOBUFS) { /* the kernel dropped messages for us */
                missed = 1;
                continue;
            }
            break; /* EAGAIN: all read */
        }
        size_t len = (size_t)n;
        for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, len);
             h = NLMSG_NEXT(h, len)) {
            if (h->nlmsg_type != RTM_NEWLINK && h->nlmsg_type != RTM_DELLINK)
                continue;
            struct ifinfomsg *ifi = NLMSG_DATA(h);
            struct link_event ev = {.added = h->nlmsg_type == RTM_NEWLINK,
                                    .index = ifi->ifi_index,
                                    .flags = ifi->ifi_flags};
            int alen = (int)IFLA_PAYLOAD(h);
            for (struct rtattr *a = IFLA_RTA(ifi); RTA_OK(a, alen); a = RTA_NEXT(a, alen))
                if (a->rta_type == IFLA_IFNAME)
                    ev.name = RTA_DATA(a);
                else if (a->rta_type == IFLA_MTU && RTA_PAYLOAD(a) >= sizeof(uint32_t))
                    memcpy(&ev.mtu, RTA_DATA(a), sizeof(uint32_t));
            fn(arg, &ev);
        }
    }
    return missed;
}
