#!/usr/bin/env python3
"""Boot guestlan's s390x test guest headless under SDL Hyperion and report.

Writes a Hercules configuration and a list-directed IPL directory (kernel,
initramfs, parameter file) into a run directory, starts `hercules -n -f CFG`
with panel commands on its standard input and its log on its standard output,
IPLs the guest, and reads the guest's "@@ NAME ..." marker lines
(tests/e2e/guest/init.sh) from the log.  Panel commands or host commands can
be tied to a marker (--on READY='glan query').  Prints a JSON summary and
exits 0 when every --expect marker was seen, 1 when not, 77 when Hercules or
the guest is missing (CTest's skip code).

With --config samples/two-glan.cnf it boots a configuration file of the
repository as it is (copied into the run directory with the cfg/ files it
may INCLUDE, Hercules started there) instead of writing one.

It also runs without a guest (--no-ipl) to check that a configuration loads:
the --on commands then run at start (marker START).  START comes once
Hercules has read its configuration (the echo of an `uptime` command
boot.py sends at once), so a START command finds what the configuration
made.

Python 3 standard library only.
"""
import argparse
import json
import os
import queue
import re
import shlex
import shutil
import struct
import subprocess
import sys
import threading
import time

SKIP = 77
# List-directed IPL layout of an s390x Linux kernel (arch/s390 boot
# conventions): kernel at 0, the parameter area at 0x10400 holds the initrd
# start (0x10408) and size (0x10410) as 8-byte big-endian numbers and the
# command line at 0x10480.
INITRD_ADDR = 0x02000000
PARM_INITRD_START = 0x10408
PARM_INITRD_SIZE = 0x10410
PARM_CMDLINE = 0x10480
MARKER = re.compile(r"@@ (\S+)(.*)$")
# A guest that can no longer reach its markers: Hercules reports a CPU in a
# disabled wait (HHC00809I, what a Linux panic ends in on s390x), a failed
# IPL (HHC00810E), a CPU stopped for a disabled wait (HHC00826I); the guest
# kernel itself says it panicked first.  Any of them ends the run at once.
FATAL = re.compile(r"HHC00809I|HHC00810E|HHC00826[IW]|Kernel panic - not syncing")
FATAL_TAIL = 25  # console lines shown with the verdict
START_PROBE = "uptime"  # any command: its echo comes once the configuration is read


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--prefix", default=os.environ.get("HERCULES_PREFIX", ""),
                    help="Hyperion install prefix (default $HERCULES_PREFIX)")
    ap.add_argument("--guest", default=os.environ.get("GLAN_GUEST_DIR", ""),
                    help="folder with kernel.img and initrd.img (build-initramfs.sh)")
    ap.add_argument("--run", default="run/boot", help="run directory (config, log, summary)")
    ap.add_argument("--dev", action="append", default=[],
                    help="device statement, e.g. '0600.3 GLAN LAN1' (repeatable)")
    ap.add_argument("--cfg", action="append", default=[],
                    help="other configuration statement (repeatable, before --dev)")
    ap.add_argument("--config", default="",
                    help="use this configuration file, relative to --root (e.g. "
                         "samples/two-glan.cnf), instead of writing one; --cfg and "
                         "--dev statements are appended to it")
    ap.add_argument("--root", default=os.path.dirname(os.path.dirname(
                        os.path.dirname(os.path.abspath(__file__)))),
                    help="folder --config and its INCLUDEs are relative to "
                         "(default: this checkout)")
    ap.add_argument("--params", default="", help="guest parameters: kernel command line words")
    ap.add_argument("--on", action="append", default=[], metavar="MARK=CMD",
                    help="when marker MARK appears, send panel command CMD "
                         "('!cmd' runs a host shell command instead, which must "
                         "succeed; $HERCULES_PID is Hercules' process id); repeatable")
    ap.add_argument("--expect", action="append", default=[],
                    help="marker that must appear, or MARK~REGEX: a MARK line whose text "
                         "matches REGEX (default DONE, or none with --no-ipl)")
    ap.add_argument("--expect-log", action="append", default=[], metavar="REGEX",
                    help="a log line must match REGEX (repeatable)")
    ap.add_argument("--no-ipl", action="store_true", help="load the configuration only")
    ap.add_argument("--mainsize", default="512")
    ap.add_argument("--numcpu", type=int, default=1, help="emulated CPUs (default 1)")
    ap.add_argument("--timeout", type=float, default=300.0, help="seconds for the whole run")
    ap.add_argument("--netns", default="",
                    help="run Hercules inside this network namespace (ip netns exec)")
    ap.add_argument("--module-dir", default=os.environ.get("GLAN_MODULE_DIR", ""),
                    help="folder of hdtglan.so, put on LD_LIBRARY_PATH")
    return ap.parse_args()


def write_ipl_dir(run, guest, params):
    """The .ins file Hercules' IPL command reads, and the pieces it names."""
    # The .ins names its pieces relative to its own folder: copy them there.
    for piece in ("kernel.img", "initrd.img"):
        shutil.copyfile(os.path.join(guest, piece), os.path.join(run, piece))
    initrd = os.path.join(run, "initrd.img")
    cmdline = ("rdinit=/init " + params).strip()
    size = os.path.getsize(initrd)
    with open(os.path.join(run, "initrd.start"), "wb") as f:
        f.write(struct.pack(">Q", INITRD_ADDR))
    with open(os.path.join(run, "initrd.size"), "wb") as f:
        f.write(struct.pack(">Q", size))
    with open(os.path.join(run, "parmfile"), "wb") as f:
        f.write(cmdline.encode() + b"\0")
    ins = os.path.join(run, "guest.ins")
    with open(ins, "w") as f:
        f.write("* guestlan e2e guest: list-directed IPL\n")
        f.write("kernel.img 0x00000000\n")
        f.write(f"initrd.img 0x{INITRD_ADDR:08x}\n")
        f.write(f"parmfile 0x{PARM_CMDLINE:08x}\n")
        f.write(f"initrd.start 0x{PARM_INITRD_START:08x}\n")
        f.write(f"initrd.size 0x{PARM_INITRD_SIZE:08x}\n")
    return ins, cmdline


def main():
    a = parse_args()
    herc = os.path.join(a.prefix, "bin", "hercules") if a.prefix else shutil.which("hercules")
    if not herc or not os.access(herc, os.X_OK):
        print(f"skipped: no hercules (set HERCULES_PREFIX or --prefix; tried {herc})")
        return SKIP
    if not a.no_ipl and not (a.guest and os.path.exists(os.path.join(a.guest, "initrd.img"))):
        print(f"skipped: no guest in '{a.guest}' (tests/e2e/build-initramfs.sh builds one)")
        return SKIP

    run = os.path.abspath(a.run)
    os.makedirs(run, exist_ok=True)
    cfgname = "hercules.cnf"
    if a.config:
        # The file as the repository has it, at the same relative path, with
        # every cfg/*.cnf it may INCLUDE (Hercules opens INCLUDE paths
        # relative to the folder it runs in, the run directory here).
        cfgname = a.config
        os.makedirs(os.path.join(run, os.path.dirname(a.config)), exist_ok=True)
        os.makedirs(os.path.join(run, "cfg"), exist_ok=True)
        for n in os.listdir(os.path.join(a.root, "cfg")):
            if n.endswith(".cnf"):
                shutil.copyfile(os.path.join(a.root, "cfg", n), os.path.join(run, "cfg", n))
        with open(os.path.join(a.root, a.config)) as f:
            cfg = [f"# {a.config}, copied by tests/e2e/boot.py", *f.read().splitlines(),
                   *a.cfg, *a.dev, ""]
    else:
        cfg = ["# written by tests/e2e/boot.py", "ARCHLVL   z/Arch", f"MAINSIZE  {a.mainsize}",
               f"NUMCPU    {a.numcpu}", "OSTAILOR  LINUX", *a.cfg, *a.dev, ""]
    with open(os.path.join(run, cfgname), "w") as f:
        f.write("\n".join(cfg))
    ins = cmdline = None
    if not a.no_ipl:
        ins, cmdline = write_ipl_dir(run, os.path.abspath(a.guest), a.params)

    actions = {}
    for spec in a.on:
        mark, _, cmd = spec.partition("=")
        actions.setdefault(mark, []).append(cmd)
    expect = a.expect or ([] if a.no_ipl else ["DONE"])

    env = dict(os.environ)
    # hercifc (for QETH's TUN devices) must be on PATH even for root.
    env["PATH"] = os.path.dirname(herc) + os.pathsep + env.get("PATH", "")
    if a.module_dir:
        env["LD_LIBRARY_PATH"] = os.path.abspath(a.module_dir) + (
            os.pathsep + env["LD_LIBRARY_PATH"] if env.get("LD_LIBRARY_PATH") else "")
    t0 = time.monotonic()
    argv = [herc, "-n", "-f", cfgname]
    if a.netns:
        argv = ["ip", "netns", "exec", a.netns] + argv
    p = subprocess.Popen(argv, cwd=run, env=env,
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT)
    lines = queue.Queue()

    def reader():
        for raw in iter(p.stdout.readline, b""):
            lines.put(raw.decode("latin-1").rstrip("\r\n"))
        lines.put(None)

    threading.Thread(target=reader, daemon=True).start()
    log = open(os.path.join(run, "console.log"), "w")
    marks, events, host = {}, [], []

    def note(text):
        log.write(f"{time.monotonic() - t0:8.3f} {text}\n")
        log.flush()

    def send(cmd):
        note(f">>> {cmd}")
        try:
            p.stdin.write((cmd + "\n").encode())
            p.stdin.flush()
        except BrokenPipeError:
            pass

    def fire(mark):
        for cmd in actions.get(mark, []):
            if cmd.startswith("!"):
                r = subprocess.run(cmd[1:], shell=True, capture_output=True, text=True,
                                   env=dict(env, HERCULES_PID=str(p.pid)))
                note(f"HOST {cmd[1:]} rc={r.returncode}\n{r.stdout}{r.stderr}")
                host.append({"mark": mark, "cmd": cmd[1:], "rc": r.returncode,
                             "stdout": r.stdout})
            else:
                send(cmd)

    deadline = t0 + a.timeout
    started = probed = False
    fatal = None
    recent = []
    done_at = None
    while True:
        now = time.monotonic()
        if now > deadline:
            if fatal is None:
                note("TIMEOUT")
            break
        try:
            s = lines.get(timeout=0.2)
        except queue.Empty:
            s = ""
        if s is None:
            break
        if s:
            note(s)
            recent = (recent + [s])[-FATAL_TAIL:]
            if (not a.no_ipl and fatal is None and done_at is None and FATAL.search(s)
                    and "HHC01603I" not in s):
                fatal = s
                note("GUEST STOPPED: " + s)
                # A panic message comes before the wait: read a second more
                # of the console for the reason, then stop.
                deadline = min(deadline, time.monotonic() + 1.0)
            m = MARKER.search(s)
            if m and "HHC01603I" not in s:  # not the echo of a panel command
                name, rest = m.group(1), m.group(2).strip()
                t = round(time.monotonic() - t0, 3)
                events.append({"t": t, "mark": name, "text": rest})
                if name not in marks:
                    marks[name] = t
                fire(name)
                if name == "DONE":
                    done_at = time.monotonic()
        # START: once Hercules has read its configuration (it reads stdin
        # only then): a command sent at once comes back as an HHC01603I echo
        # when the configuration is done; after 60 s without it, anyway.
        if not probed:
            probed = True
            send(START_PROBE)
        if not started and ((s and "HHC01603I " + START_PROBE in s)
                            or time.monotonic() - t0 > 60.0):
            started = True
            marks["START"] = round(time.monotonic() - t0, 3)
            fire("START")
            if ins:
                send(f"ipl {ins}")
            else:
                send("# end of --no-ipl run")
                done_at = time.monotonic()
        if done_at and time.monotonic() - done_at > 3.0:
            break
    send("quit force" if not a.no_ipl else "quit")
    try:
        p.wait(30)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
    while True:  # the rest of the log, through shutdown
        try:
            s = lines.get(timeout=1)
        except queue.Empty:
            break
        if s is None:
            break
        note(s)
    log.close()

    def seen(spec):
        name, tilde, rx = spec.partition("~")
        if not tilde:
            return name in marks
        return any(e["mark"] == name and re.search(rx, e["text"]) for e in events)

    missing = [m for m in expect if not seen(m)]
    if fatal is not None:
        missing.insert(0, "guest stopped: " + fatal.strip())
    with open(os.path.join(run, "console.log")) as f:
        text = f.read()
    missing += [f"log~{rx}" for rx in a.expect_log if not re.search(rx, text, re.M)]
    # Every host command tied to a marker must have succeeded.
    missing += [f"host~{h['cmd']} rc={h['rc']}" for h in host if h["rc"] != 0]
    res = {"ok": not missing, "missing": missing, "guest_stopped": fatal, "marks_s": marks, "events": events,
           "host": host, "cmdline": cmdline, "config": cfg[1:-1],
           "wall_s": round(time.monotonic() - t0, 3), "hercules_rc": p.returncode,
           "log": os.path.join(run, "console.log")}
    with open(os.path.join(run, "summary.json"), "w") as f:
        json.dump(res, f, indent=1)
    print(json.dumps(res, indent=1))
    if fatal is not None:
        print(f"boot.py: the guest stopped after {res['wall_s']} s: {fatal.strip()}",
              file=sys.stderr)
        print("boot.py: its last console lines:", file=sys.stderr)
        for line in recent:
            print("    " + line, file=sys.stderr)
    return 0 if res["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
