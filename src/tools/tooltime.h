/*
 * The clocks the glan tool reads: monotonic seconds to time a measurement or
 * a wait, the calling thread's CPU seconds, and the time of day in
 * nanoseconds since the epoch (a datagram's timestamp).
 */
#ifndef GLAN_TOOLS_TOOLTIME_H
#define GLAN_TOOLS_TOOLTIME_H

#include <stdint.h>
#include <time.h>

static inline double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* CPU time of the calling thread, its system calls included: on a machine
 * shared with other work, datagrams per CPU-second vary less than per
 * wall-clock second. */
static inline double cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The host's time of day in ns since the epoch. */
static inline uint64_t realtime_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

#endif
