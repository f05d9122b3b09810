/*
 * The outputs of `glan replay`: the --out directory, NAME.pcap for every
 * port and uplink.pcap (the pcap file uplink's, or what the host received
 * on a real uplink), all in the format the inputs need (replay_input.c);
 * and the end of a run, which closes them and says what was lost.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "guestlan/pcapfile.h"
#include "replay.h"

char *replay_out_path(const struct replay *rp, const char *name, const char *ext)
{
    size_t n = strlen(rp->out) + strlen(name) + strlen(ext) + 2;
    char *s = malloc(n);

    if (!s) {
        replay_say("out of memory");
        exit(ST_FAILED);
    }
    snprintf(s, n, "%s/%s%s", rp->out, name, ext);
    return s;
}

/* mkdir -p: the output directory may be several levels deep. */
static int make_dir(const char *dir)
{
    char *s = strdup(dir);
    struct stat st;
    int rc = 0;

    for (char *q = s + 1; q && *q; q++) {
        if (*q != '/')
            continue;
        *q = '\0';
        if (mkdir(s, 0777) < 0 && errno != EEXIST)
            rc = -errno;
        *q = '/';
    }
    if (rc == 0 && mkdir(s, 0777) < 0 && errno != EEXIST)
        rc = -errno;
    if (rc == 0 && (stat(s, &st) < 0 || !S_ISDIR(st.st_mode)))
        rc = -ENOTDIR;
    free(s);
    return rc;
}

/* --uplink: the pcap file uplink, writing upath. */
static int open_file_uplink(struct replay *rp, const char *upath)
{
    int rc;

    rp->up = glan_pcapfile_create(NULL, upath);
    if (!rp->up) {
        replay_say("out of memory");
        return -1;
    }
    (void)glan_pcapfile_set_format(rp->up, rp->fmt); /* ours and not open: cannot fail */
    if (rp->ethernet)
        (void)glan_pcapfile_set_ethernet(rp->up);
    rc = glan_uplink_attach(rp->lan, rp->up);
    if (rc < 0) {
        replay_say("--uplink: %s", rp->up->err[0] ? rp->up->err : strerror(-rc));
        return -1;
    }
    return 0;
}

int replay_open_outputs(struct replay *rp)
{
    char err[512];
    int rc = make_dir(rp->out);

    if (rc < 0) {
        replay_say("--out %s: cannot create the directory: %s", rp->out, strerror(-rc));
        return -1;
    }
    for (size_t i = 0; i < rp->nports; i++) {
        char *path = replay_out_path(rp, rp->ports[i].name, ".pcap");
        rp->ports[i].wr = glan_pcap_writer_open_link(path, rp->fmt, rp->ethernet, err, sizeof err);
        free(path);
        if (!rp->ports[i].wr) {
            replay_say("--out %s: %s", rp->out, err);
            return -1;
        }
    }
    char *upath = replay_out_path(rp, "uplink", ".pcap");
    if (rp->uplink_dev)
        rc = replay_open_real_uplink(rp, upath);
    else if (rp->uplink)
        rc = open_file_uplink(rp, upath);
    else
        unlink(upath); /* a stale uplink.pcap would claim this run had an uplink */
    free(upath);
    return rc;
}

/* Take the ports out and close their recordings; -1 when one was lost. */
static int close_ports(struct replay *rp)
{
    int rc = 0;

    for (size_t i = 0; i < rp->nports; i++) {
        struct rport *p = &rp->ports[i];
        char err[512];

        rp->path->detach(p);
        if (p->failed) {
            replay_say("%s", p->err);
            rc = -1;
        }
        if (p->wr && glan_pcap_writer_close(p->wr, err, sizeof err) < 0) {
            replay_say("%s", err);
            rc = -1;
        }
        p->wr = NULL;
    }
    return rc;
}

/* Detach everything and close the recordings; -1 when one was lost. */
int replay_finish(struct replay *rp)
{
    int rc = close_ports(rp);

    if (replay_close_real_uplink(rp) < 0)
        rc = -1;
    if (rp->up) {
        /* Detaching closes uplink.pcap; a failed write, then or before,
         * shows in tx_errors with the message in err. */
        glan_uplink_detach(rp->up);
        if (rp->up->stats.tx_errors) {
            replay_say("--uplink: %s", rp->up->err);
            rc = -1;
        }
        glan_uplink_destroy(rp->up);
        rp->up = NULL;
    }
    for (size_t i = 0; i < rp->nsends; i++) {
        glan_pcap_reader_close(rp->sends[i].rd);
        rp->sends[i].rd = NULL;
    }
    if (rp->lan)
        glan_lan_destroy(rp->lan);
    rp->lan = NULL;
    return rc;
}
