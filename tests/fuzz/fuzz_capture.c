/*
 * libFuzzer target: the capture reader (src/capture: reader.c through
 * libpcap, linklayer.c), as `glan replay`, the pcap file uplink and every
 * other reader of a capture use it.  Each input is a whole file, pcap or
 * pcapng, handed to glan_pcap_reader_open through a memory file; every
 * record is read to the end, and the reader's books must balance: each
 * record read is a datagram, a skipped frame or a malformed record, and
 * every datagram lies inside what libpcap handed over (AddressSanitizer
 * watches that) and is at least one byte long.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "guestlan/capture.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int fd = -1;
static char path[64];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (fd < 0) {
        fd = memfd_create("fuzz-capture", 0);
        if (fd < 0)
            __builtin_trap();
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    }
    if (ftruncate(fd, 0) < 0 || pwrite(fd, data, size, 0) != (ssize_t)size)
        __builtin_trap();

    char err[256] = "";
    struct glan_pcap_reader *r = glan_pcap_reader_open(path, err, sizeof err);
    if (!r) {
        if (!err[0]) /* a refusal always says why */
            __builtin_trap();
        return 0;
    }
    if (!glan_pcap_reader_linktype(r)[0])
        __builtin_trap();

    uint64_t got = 0, bad = 0, damaged = 0, bytes = 0;
    volatile uint8_t sink = 0;
    for (;;) {
        const uint8_t *dg;
        size_t len;
        uint64_t ts;
        int rc = glan_pcap_reader_next(r, &dg, &len, &ts);
        if (rc == 0)
            break;
        if (rc == 1) {
            if (len < 1)
                __builtin_trap();
            /* touch both ends: outside the record is AddressSanitizer's to see */
            sink ^= dg[0] ^ dg[len - 1];
            got++;
            bytes += len;
        } else if (rc == -EBADMSG) {
            bad++;
            if (!glan_pcap_reader_error(r)[0])
                __builtin_trap();
        } else if (rc == -EIO) {
            damaged++;
            /* reading is over: it says so again, and nothing more comes */
            if (glan_pcap_reader_next(r, &dg, &len, &ts) != -EIO)
                __builtin_trap();
            break;
        } else {
            __builtin_trap(); /* not a value the contract allows */
        }
    }
    (void)sink;

    struct glan_pcap_reader_stats st;
    glan_pcap_reader_stats(r, &st);
    if (st.datagrams != got || st.bytes != bytes || st.errors != bad + damaged ||
        st.records != st.datagrams + st.skipped + bad)
        __builtin_trap();
    glan_pcap_reader_close(r);
    return 0;
}
