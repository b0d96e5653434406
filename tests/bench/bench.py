#!/usr/bin/env python3
"""bench.py - the scenarios of the pagegrab benchmark.

Run by tests/bench/run.sh, which installs the tools, mounts the tmpfs,
generates the site and starts nginx; see tests/bench/README.md. This file
only measures: every tool run goes into a fresh directory on the tmpfs, is
timed, checked file by file against the site, and removed.

Helper modes used by run.sh:
    bench.py --free-port            print a free TCP port on 127.0.0.1
    bench.py --probe URL            GET URL (no proxy), print the seconds it
                                    took, exit 0 on HTTP 200
Standard library only.
"""
import argparse
import collections
import csv
import hashlib
import os
import random
import re
import resource
import select
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request

MiB = 1 << 20
HOST = "127.0.0.1"
GNU_TIME = "/usr/bin/time"
SAMPLE_EVERY = 0.1      # seconds between process-tree PSS samples


class Stop(Exception):
    """SIGTERM/SIGINT/SIGHUP: stop the current tool run and leave."""


def on_signal(signum, frame):
    raise Stop("signal %d" % signum)


# --------------------------------------------------------------------------
# helper modes for run.sh

def free_port():
    rng = random.Random()
    for _ in range(500):
        port = rng.randint(20000, 32000)   # below the ephemeral range
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            s.bind((HOST, port))
            return port
        except OSError:
            continue
        finally:
            s.close()
    raise SystemExit("bench.py: no free port found")


def probe(url):
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    t0 = time.monotonic()
    try:
        with opener.open(url, timeout=5) as r:
            r.read()
            code = r.status
    except Exception:
        return 1
    print("%.4f" % (time.monotonic() - t0))
    return 0 if code == 200 else 1


# --------------------------------------------------------------------------
# measuring one run

def proc_children_map():
    kids = collections.defaultdict(list)
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % name, "rb") as f:
                s = f.read()
        except OSError:
            continue
        try:
            ppid = int(s[s.rindex(b")") + 2:].split()[1])
        except (ValueError, IndexError):
            continue
        kids[ppid].append(int(name))
    return kids


def tree_pss_kib(root, skip_root):
    """Sum of Pss over ROOT's process tree (kB), 0 if it is gone."""
    kids = proc_children_map()
    total = 0
    stack = [root]
    while stack:
        pid = stack.pop()
        stack.extend(kids.get(pid, ()))
        if pid == root and skip_root:
            continue
        try:
            with open("/proc/%d/smaps_rollup" % pid, "rb") as f:
                data = f.read()
        except OSError:
            continue
        m = re.search(rb"\nPss:\s+(\d+) kB", data)
        if m:
            total += int(m.group(1))
    return total


class Result:
    __slots__ = ("wall", "cpu", "rss_kib", "pss_kib", "rc", "ok", "msg",
                 "log")


def measure(argv, cwd, log_path, env, sample):
    """Run ARGV, return a Result with wall seconds, user+sys seconds of the
    whole tree, max RSS (GNU time %M: the largest single process) and the
    sampled peak of the tree's summed PSS."""
    use_time = os.access(GNU_TIME, os.X_OK)
    tfile = log_path + ".time"
    full = argv
    if use_time:
        full = [GNU_TIME, "-f", "%U %S %M", "-o", tfile, "--"] + argv
    res = Result()
    res.log = log_path
    res.pss_kib = 0
    with open(log_path, "wb") as log:
        t0 = time.monotonic()
        p = subprocess.Popen(full, cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                             stdout=log, stderr=subprocess.STDOUT,
                             start_new_session=True)
        try:
            try:
                fd = os.pidfd_open(p.pid)
            except (AttributeError, OSError):   # Python < 3.9, Linux < 5.3
                fd = -1
            if fd >= 0:
                # wake up at the child's exit, or every SAMPLE_EVERY s to
                # sample the tree's memory
                try:
                    poller = select.poll()
                    poller.register(fd, select.POLLIN)
                    # first samples after 10, 20, 40, 80 ms: most runs are
                    # short
                    every = 0.01
                    while not poller.poll(every * 1000 if sample else None):
                        res.pss_kib = max(res.pss_kib,
                                          tree_pss_kib(p.pid, use_time))
                        every = min(every * 2, SAMPLE_EVERY)
                finally:
                    os.close(fd)
            _, status, ru = os.wait4(p.pid, 0)
            t1 = time.monotonic()
            p.returncode = os.waitstatus_to_exitcode(status)
        except BaseException:
            try:
                os.killpg(p.pid, signal.SIGTERM)
            except OSError:
                pass
            p.wait()
            raise
    res.wall = t1 - t0
    res.rc = p.returncode
    if use_time:
        try:
            with open(tfile) as f:
                line = f.read().strip().splitlines()[-1]
            # after "Command exited with non-zero status N" if it failed
            u, s, m = line.split()[:3]
            res.cpu = float(u) + float(s)
            res.rss_kib = int(m)
        except (OSError, ValueError, IndexError):
            res.cpu = ru.ru_utime + ru.ru_stime
            res.rss_kib = ru.ru_maxrss
    else:
        res.cpu = ru.ru_utime + ru.ru_stime
        res.rss_kib = ru.ru_maxrss
    return res


# --------------------------------------------------------------------------
# verification

def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while True:
            b = f.read(1 << 20)
            if not b:
                break
            h.update(b)
    return h.hexdigest()


def walk_files(top):
    """Yield (relative path, full path, is_regular) for every non-directory
    below TOP."""
    stack = [("", top)]
    while stack:
        rel, d = stack.pop()
        try:
            it = os.scandir(d)
        except OSError:
            continue
        with it:
            for e in it:
                r = rel + "/" + e.name if rel else e.name
                if e.is_dir(follow_symlinks=False):
                    stack.append((r, e.path))
                else:
                    yield r, e.path, e.is_file(follow_symlinks=False)


def tree_digest(mapping):
    h = hashlib.sha256()
    for rel in sorted(mapping):
        h.update(("%s %s\n" % (mapping[rel], rel)).encode())
    return h.hexdigest()


class Site:
    def __init__(self, root):
        self.root = root
        self.cache = {}

    def expected(self, rels):
        """{rel: sha256} for the given site paths."""
        out = {}
        for rel in rels:
            if rel not in self.cache:
                self.cache[rel] = sha256_file(os.path.join(self.root, rel))
            out[rel] = self.cache[rel]
        return out


def verify_tree(out, prefix, expected, allow_extra=None):
    """OUT/PREFIX must hold exactly the EXPECTED files (relative path ->
    sha256); files matching ALLOW_EXTRA (a regex on the path relative to
    PREFIX) are ignored. Returns (ok, message)."""
    got = {}
    extra = []
    ignored = 0
    for rel_out, full, regular in walk_files(out):
        rel = rel_out
        if prefix:
            if not rel_out.startswith(prefix + "/"):
                extra.append(rel_out)
                continue
            rel = rel_out[len(prefix) + 1:]
        if rel in expected and regular:
            got[rel] = sha256_file(full)
        elif allow_extra is not None and allow_extra.search(rel):
            ignored += 1
        else:
            extra.append(rel_out)
    missing = [r for r in expected if r not in got]
    differ = [r for r in got if got[r] != expected[r]]
    want = tree_digest(expected)
    have = tree_digest(got)
    if not missing and not extra and not differ and want == have:
        msg = "ok: %d files, tree sha256 %s" % (len(got), have[:12])
        if ignored:
            msg += " (+%d other files ignored)" % ignored
        return True, msg
    parts = []
    for name, lst in (("missing", missing), ("extra", extra),
                      ("differ", differ)):
        if lst:
            parts.append("%d %s (e.g. %s)" % (len(lst), name,
                                              sorted(lst)[0]))
    return False, "FAILED: %d of %d files; %s" % (
        len(got) - len(differ), len(expected), "; ".join(parts))


def verify_multiset(out, prefix, expected_counter):
    """Content check for the memory scenario: the files below OUT/PREFIX
    (names carry a URL hash) must have exactly the expected multiset of
    sha256 sums."""
    have = collections.Counter()
    extra = 0
    n = 0
    for rel_out, full, regular in walk_files(out):
        if not rel_out.startswith(prefix + "/") or not regular:
            extra += 1
            continue
        have[sha256_file(full)] += 1
        n += 1
    want_n = sum(expected_counter.values())
    if have == expected_counter and extra == 0:
        return True, "ok: %d files, every body equal to its page" % n
    bad = sum((have - expected_counter).values())
    return False, ("FAILED: %d files of %d, %d with unexpected content, "
                   "%d extra" % (n, want_n, bad, extra))


# --------------------------------------------------------------------------
# the scenarios

class Tool:
    def __init__(self, label, argv, prefix="", cwd_out=False,
                 allow_extra=None, peer=True):
        self.label = label
        self.argv = argv              # function(outdir) -> argv
        self.prefix = prefix          # where the site's paths start in out
        self.cwd_out = cwd_out        # run inside the output directory
        self.allow_extra = allow_extra
        self.peer = peer              # False for pagegrab itself


class Row:
    def __init__(self, scenario, tool, files, nbytes, runs, conc):
        self.scenario = scenario
        self.tool = tool
        self.files = files
        self.bytes = nbytes
        self.conc = conc
        self.results = []
        self.runs = runs
        self.note = ""
        self.extra = {}
        self.peer = True

    def ok_results(self):
        return [r for r in self.results if r.ok]

    @property
    def verified(self):
        return bool(self.results) and all(r.ok for r in self.results)

    def med(self, attr):
        vals = [getattr(r, attr) for r in self.results]
        return statistics.median(vals) if vals else float("nan")

    @property
    def time(self):
        return self.med("wall")

    @property
    def files_per_s(self):
        return self.files / self.time if self.results else float("nan")

    @property
    def mib_per_s(self):
        return self.bytes / MiB / self.time if self.results else float("nan")

    @property
    def cpu(self):
        return self.med("cpu")

    @property
    def rss_mib(self):
        return max(r.rss_kib for r in self.results) / 1024.0

    @property
    def pss_mib(self):
        v = max(r.pss_kib for r in self.results)
        return v / 1024.0 if v else float("nan")

    @property
    def status(self):
        n = len(self.results)
        good = len(self.ok_results())
        codes = sorted(set(r.rc for r in self.results))
        s = "ok %d/%d" % (good, n) if good == n else "FAIL %d/%d" % (n - good, n)
        if codes != [0]:
            s += " exit " + ",".join(str(c) for c in codes)
        return s


class Bench:
    def __init__(self, a):
        self.a = a
        self.fs = a.fs
        self.site = Site(a.site)
        self.port = a.port
        self.dport = a.delay_port
        self.pg = a.pagegrab
        self.runs = a.runs
        self.rows = []
        self.logdir = os.path.join(os.path.dirname(a.csv), "logs")
        self.lists = os.path.join(self.fs, "lists")
        self.outroot = os.path.join(self.fs, "out")
        self.home = os.path.join(self.fs, "home")
        for d in (self.lists, self.outroot, self.home):
            os.makedirs(d, exist_ok=True)
        shutil.rmtree(self.logdir, ignore_errors=True)
        self.env = {k: v for k, v in os.environ.items()
                    if "proxy" not in k.lower()}
        self.env["HOME"] = self.home       # no ~/.curlrc, ~/.wget2rc, ...
        self.env["LC_ALL"] = "C"
        self.sample = a.sample
        self.have = {t: shutil.which(t) for t in ("curl", "wget2", "aria2c")}

    # -- lists -------------------------------------------------------------
    def write_lists(self, name, port, rels):
        """NAME.txt (URLs), NAME.curl (curl -K config, relative outputs),
        NAME.aria (aria2c -i with out=)."""
        base = os.path.join(self.lists, name)
        with open(base + ".txt", "w") as u, open(base + ".curl", "w") as c, \
                open(base + ".aria", "w") as r:
            for rel in rels:
                url = "http://%s:%d/%s" % (HOST, port, rel)
                u.write(url + "\n")
                c.write('url = "%s"\noutput = "%s"\n' % (url, rel))
                r.write("%s\n  out=%s\n" % (url, rel))
        return base

    # -- tools -------------------------------------------------------------
    def pg_prefix(self, port):
        return "%s:%d" % (HOST, port)

    def batch_tools(self, base, port, conc):
        pg = self.pg
        tools = []
        for mode in ("thread", "process"):
            tools.append(Tool(
                "pagegrab-" + mode,
                lambda out, mode=mode: [pg, "--mode", mode, "-j", str(conc),
                                        "-q", "--no-robots",
                                        "-i", base + ".txt", "-o", out],
                prefix=self.pg_prefix(port), peer=False))
        if self.have["curl"]:
            tools.append(Tool(
                "curl",
                lambda out: [self.have["curl"], "-q", "-sS",
                             "--no-progress-meter", "--fail", "-Z",
                             "--parallel-max", str(conc),
                             "--parallel-immediate", "--create-dirs",
                             "-K", base + ".curl"],
                cwd_out=True))
        if self.have["wget2"]:
            tools.append(Tool(
                "wget2",
                lambda out: [self.have["wget2"], "--no-config", "-q",
                             "--max-threads=%d" % conc, "-nH", "-x",
                             "-P", out, "-i", base + ".txt"]))
        if self.have["aria2c"]:
            tools.append(Tool(
                "aria2c",
                lambda out: [self.have["aria2c"], "--no-conf", "-j", str(conc),
                             "-x1", "-q", "--auto-file-renaming=false",
                             "--allow-overwrite=true", "-d", out,
                             "-i", base + ".aria"]))
        return tools

    def missing_peers(self, wanted):
        gone = [t for t in wanted if not self.have.get(t)]
        if gone:
            print("  (skipped, not installed: %s)" % ", ".join(gone))

    # -- running -----------------------------------------------------------
    def run_tool(self, scen, tool, row, r, verify):
        out = os.path.join(self.outroot, "%s-%s-%d" % (scen, tool.label, r))
        if os.path.exists(out):
            subprocess.run(["rm", "-rf", out])
        os.makedirs(out)
        log = os.path.join(self.fs, "log-%s-%s-%d.txt" % (scen, tool.label, r))
        res = measure(tool.argv(out), out if tool.cwd_out else self.fs, log,
                      self.env, self.sample)
        res.ok, res.msg = verify(out, tool)
        row.results.append(res)
        flag = "" if res.ok and res.rc == 0 else "   <-- exit %d" % res.rc
        print("  run %d  %-18s %8.3f s  cpu %6.2f s  rss %7.1f MiB  %s%s"
              % (r + 1, tool.label, res.wall, res.cpu, res.rss_kib / 1024.0,
                 res.msg, flag), flush=True)
        if not res.ok or res.rc != 0:
            os.makedirs(self.logdir, exist_ok=True)
            keep = os.path.join(self.logdir, os.path.basename(log))
            shutil.copyfile(log, keep)
            with open(log, "rb") as f:
                tail = f.read()[-600:].decode("utf-8", "replace")
            for line in tail.strip().splitlines()[-4:]:
                print("        | " + line[:150])
            print("        (log kept: %s)" % keep)
        subprocess.run(["rm", "-rf", out])
        os.unlink(log)

    def scenario(self, scen, title, tools, files, nbytes, conc, verify,
                 runs=None):
        runs = runs or self.runs
        print("\n== %s: %s" % (scen, title), flush=True)
        rows = [Row(scen, t.label, files, nbytes, runs, conc) for t in tools]
        for r in range(runs):
            k = r % len(tools)            # alternate: rotate the order
            for i in list(range(k, len(tools))) + list(range(0, k)):
                self.run_tool(scen, tools[i], rows[i], r, verify)
        for row, t in zip(rows, tools):
            row.peer = t.peer
        self.rows.extend(rows)
        self.print_table(rows, scen)
        return rows

    # -- the five scenarios -------------------------------------------------
    def tree_verifier(self, expected):
        def verify(out, tool):
            return verify_tree(out, tool.prefix, expected, tool.allow_extra)
        return verify

    def small(self):
        n, conc = self.a.small, 64
        rels = ["small/p%05d.html" % i for i in range(n)]
        base = self.write_lists("small", self.port, rels)
        exp = self.site.expected(rels)
        self.scenario("small", "%d x 4 KiB pages, concurrency %d" % (n, conc),
                      self.batch_tools(base, self.port, conc), n,
                      sum(os.path.getsize(os.path.join(self.site.root, r))
                          for r in rels), conc, self.tree_verifier(exp))
        self.missing_peers(["curl", "wget2", "aria2c"])

    def large(self):
        n, conc = self.a.large, 16
        rels = ["large/f%03d.bin" % i for i in range(n)]
        base = self.write_lists("large", self.port, rels)
        exp = self.site.expected(rels)
        self.scenario("large", "%d x 1 MiB files, concurrency %d" % (n, conc),
                      self.batch_tools(base, self.port, conc), n, n * MiB,
                      conc, self.tree_verifier(exp))
        self.missing_peers(["curl", "wget2", "aria2c"])

    def gallery(self):
        conc = 32
        lists = sorted(os.listdir(os.path.join(self.site.root,
                                               "gallery", "list")))
        imgs = sorted(os.listdir(os.path.join(self.site.root,
                                              "gallery", "img")))
        rels = ["gallery/img/" + f for f in imgs]
        exp = self.site.expected(rels)
        nbytes = sum(os.path.getsize(os.path.join(self.site.root, r))
                     for r in rels)
        base = os.path.join(self.lists, "gallery")
        with open(base + ".txt", "w") as f:
            for name in lists:
                f.write("http://%s:%d/gallery/list/%s\n"
                        % (HOST, self.port, name))
        pg = self.pg
        tools = []
        for mode in ("thread", "process"):
            tools.append(Tool(
                "pagegrab-" + mode,
                lambda out, mode=mode: [
                    pg, "--follow", '//*[@id="main"]/div[4]/ul/li/a/@href',
                    "--xpath", '//*[@id="img"]/img/@src', "--depth", "1",
                    "--images-only", "-j", str(conc), "--mode", mode, "-q",
                    "-i", base + ".txt", "-o", out],
                prefix=self.pg_prefix(self.port), peer=False))
        if self.have["wget2"]:
            w = self.have["wget2"]
            tools.append(Tool(
                "wget2 -A jpg",
                lambda out: [w, "--no-config", "-q", "-r", "-l", "2",
                             "--max-threads=%d" % conc, "-nH", "-P", out,
                             "-A", "*.jpg", "-i", base + ".txt"]))
            tools.append(Tool(
                "wget2 keep-pages",
                lambda out: [w, "--no-config", "-q", "-r", "-l", "2",
                             "--max-threads=%d" % conc, "-nH", "-P", out,
                             "-i", base + ".txt"],
                allow_extra=re.compile(r"^gallery/(list|detail)/[^/]+\.html$")))
        pages = len(lists) + len(imgs)
        self.scenario(
            "gallery",
            "%d list pages -> %d detail pages -> %d images, concurrency %d "
            "(files/s and MiB/s count the images only)"
            % (len(lists), len(imgs), len(imgs), conc),
            tools, len(imgs), nbytes, conc, self.tree_verifier(exp))
        self.missing_peers(["wget2"])
        return pages

    def latency(self):
        if not self.dport:
            print("\n== latency: SKIPPED (%s)" % (self.a.delay_why or
                                                 "no delaying nginx"))
            return
        n, conc, delay = self.a.latency, 256, self.a.delay
        rels = ["small/p%05d.html" % (i % self.a.small) for i in range(n)]
        rels = sorted(set(rels))
        n = len(rels)
        base = self.write_lists("latency", self.dport, rels)
        exp = self.site.expected(rels)
        ideal = conc / delay
        rows = self.scenario(
            "latency",
            "%d x 4 KiB pages, +%d ms per request (%s), concurrency %d; "
            "ideal %.0f files/s = %.3f s" % (n, delay * 1000, self.a.delay_how,
                                             conc, ideal, n / ideal),
            self.batch_tools(base, self.dport, conc), n, n * 4096, conc,
            self.tree_verifier(exp))
        self.missing_peers(["curl", "wget2", "aria2c"])
        print("  throughput as %% of ideal (%d / (%d/%d x %.3f s) = %.0f "
              "files/s):" % (n, n, conc, delay, ideal))
        for row in rows:
            pct = 100.0 * row.files_per_s / ideal
            row.extra["pct_of_ideal"] = "%.1f" % pct
            row.note = "%.1f%% of ideal" % pct
            print("    %-18s %6.1f%%" % (row.tool, pct))

    def memory(self):
        sizes = self.a.memory
        modes = ["thread"] + (["process"] if self.a.memory_process else [])
        npages = self.a.small
        page_hash = self.site.expected(
            ["small/p%05d.html" % i for i in range(npages)])
        prefix = self.pg_prefix(self.port) + "/small"
        got_rows = []
        for n in sizes:
            path = os.path.join(self.lists, "memory-%d.txt" % n)
            with open(path, "w") as f:
                w = f.write
                for i in range(n):
                    w("http://%s:%d/small/p%05d.html?i=%d\n"
                      % (HOST, self.port, i % npages, i))
            want = collections.Counter()
            for i in range(npages):
                want[page_hash["small/p%05d.html" % i]] += (
                    n // npages + (1 if i < n % npages else 0))
            tools = [Tool("pagegrab-" + m,
                          lambda out, m=m: [self.pg, "--mode", m, "-j", "64",
                                            "-q", "--no-robots", "-i", path,
                                            "-o", out],
                          prefix=prefix, peer=False) for m in modes]

            def verify(out, tool, want=want):
                return verify_multiset(out, tool.prefix, want)
            if n % 1000000 == 0:
                scen = "memory-%dM" % (n // 1000000)
            elif n % 1000 == 0:
                scen = "memory-%dk" % (n // 1000)
            else:
                scen = "memory-%d" % n
            rows = self.scenario(
                scen, "%d distinct URLs (?i=N) over the 4 KiB pages, -j 64, "
                "one run" % n, tools, n, n * 4096, 64, verify, runs=1)
            for row in rows:
                row.extra["urls"] = n
            got_rows.extend(rows)
            os.unlink(path)
        for m in modes:
            rs = sorted((r for r in got_rows if r.tool == "pagegrab-" + m),
                        key=lambda r: r.extra["urls"])
            if len(rs) >= 2:
                a, b = rs[0], rs[-1]
                slope = ((b.rss_mib - a.rss_mib) * MiB /
                         (b.extra["urls"] - a.extra["urls"]))
                print("  pagegrab-%s peak RSS grows %.1f bytes per URL "
                      "(%d -> %d URLs: %.1f -> %.1f MiB)"
                      % (m, slope, a.extra["urls"], b.extra["urls"],
                         a.rss_mib, b.rss_mib))
                b.note = "RSS +%.0f B/URL vs %dk" % (slope,
                                                     a.extra["urls"] // 1000)

    # -- output ------------------------------------------------------------
    HEAD = ("tool", "time s", "files/s", "MiB/s", "CPU s", "RSS MiB",
            "treePSS MiB", "verified")

    def fmt_row(self, row, with_scen=False):
        cells = [row.tool, "%.3f" % row.time, "%.0f" % row.files_per_s,
                 "%.1f" % row.mib_per_s, "%.2f" % row.cpu,
                 "%.1f" % row.rss_mib,
                 "-" if row.pss_mib != row.pss_mib else "%.1f" % row.pss_mib,
                 row.status]
        if with_scen:
            cells.insert(1, row.scenario)
        return cells

    TEXT_COLS = ("tool", "scenario", "verified", "pagegrab", "best peer",
                 "ratio", "note")

    def table(self, head, body):
        widths = [max(len(str(x)) for x in col) for col in zip(head, *body)]
        fmt = "  ".join(("%%-%ds" if h in self.TEXT_COLS else "%%%ds") % w
                        for h, w in zip(head, widths))
        out = [fmt % tuple(head), "  ".join("-" * w for w in widths)]
        out += [fmt % tuple(b) for b in body]
        return "\n".join("  " + l.rstrip() for l in out)

    def print_table(self, rows, scen):
        print()
        print(self.table(self.HEAD, [self.fmt_row(r) for r in rows]),
              flush=True)

    def summary(self):
        print("\n== summary (time: median of %d run%s; memory rows: 1 run; "
              "CPUs %.0f%% busy over 1 s after the last run)"
              % (self.runs, "s" if self.runs > 1 else "", cpu_busy()))
        head = ("tool", "scenario", "time s", "files/s", "MiB/s", "CPU s",
                "RSS MiB", "treePSS MiB", "verified", "note")
        body = [self.fmt_row(r, True) + [r.note] for r in self.rows]
        print(self.table(head, body))

        print("\n== pagegrab vs the best peer (speed ratio = peer time / "
              "pagegrab time; >1 = pagegrab faster)")
        body = []
        by_scen = collections.OrderedDict()
        for r in self.rows:
            by_scen.setdefault(r.scenario, []).append(r)
        for scen, rows in by_scen.items():
            peers = [r for r in rows if r.peer and r.results]
            ok_peers = [r for r in peers if r.verified] or peers
            pgs = [r for r in rows if not r.peer]
            if not ok_peers:
                for p in pgs:
                    body.append((scen, p.tool, "%.3f" % p.time, "-", "-",
                                 "no peer"))
                continue
            best = min(ok_peers, key=lambda r: r.time)
            for p in pgs:
                if not p.verified:
                    body.append((scen, p.tool, "%.3f" % p.time, best.tool,
                                 "%.3f" % best.time, "n/a: failed"))
                    continue
                ratio = best.time / p.time
                p.extra["best_peer"] = best.tool
                p.extra["ratio_to_best_peer"] = "%.3f" % ratio
                body.append((scen, p.tool, "%.3f" % p.time, best.tool,
                             "%.3f" % best.time,
                             "%.2fx %s" % (ratio, "faster" if ratio >= 1
                                           else "slower")))
        print(self.table(("scenario", "pagegrab", "time s", "best peer",
                          "peer time s", "ratio"), body))

    def write_csv(self):
        path = self.a.csv
        os.makedirs(os.path.dirname(path), exist_ok=True)
        cols = ["scenario", "tool", "concurrency", "runs", "files", "bytes",
                "time_s", "files_per_s", "mib_per_s", "cpu_s",
                "peak_rss_mib", "tree_pss_mib", "verified", "exit_codes",
                "pct_of_ideal", "best_peer", "ratio_to_best_peer",
                "run_times_s", "note"]
        with open(path, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(cols)
            for r in self.rows:
                w.writerow([
                    r.scenario, r.tool, r.conc, len(r.results), r.files,
                    r.bytes, "%.4f" % r.time, "%.1f" % r.files_per_s,
                    "%.2f" % r.mib_per_s, "%.3f" % r.cpu,
                    "%.1f" % r.rss_mib,
                    "" if r.pss_mib != r.pss_mib else "%.1f" % r.pss_mib,
                    "yes" if r.verified else "no",
                    " ".join(str(x.rc) for x in r.results),
                    r.extra.get("pct_of_ideal", ""),
                    r.extra.get("best_peer", ""),
                    r.extra.get("ratio_to_best_peer", ""),
                    " ".join("%.4f" % x.wall for x in r.results),
                    r.note])
        print("\nresults: %s" % path)
        if self.a.report:
            print("report:  %s" % os.path.abspath(self.a.report))


class Tee:
    def __init__(self, *files):
        self.files = files

    def write(self, s):
        for f in self.files:
            f.write(s)

    def flush(self):
        for f in self.files:
            f.flush()


def first_line(argv):
    try:
        r = subprocess.run(argv, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=10)
        out = r.stdout.decode("utf-8", "replace").strip().splitlines()
        return out[0] if out and r.returncode == 0 else "?"
    except (OSError, subprocess.SubprocessError):
        return "not available"


def cpu_busy(seconds=1.0):
    """Percentage of all CPUs' time spent busy over SECONDS."""
    def snap():
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:]]
        idle = v[3] + (v[4] if len(v) > 4 else 0)
        return sum(v), idle
    t0, i0 = snap()
    time.sleep(seconds)
    t1, i1 = snap()
    return 100.0 * (1 - (i1 - i0) / max(1, t1 - t0))


def header(a):
    cpu = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    src = os.path.dirname(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__))))
    rev = first_line(["git", "-C", src, "describe", "--always", "--dirty"])
    print("pagegrab benchmark, %s" % time.strftime("%Y-%m-%d %H:%M:%S %z"))
    print("  machine   %d CPUs (%s), kernel %s" % (os.cpu_count(), cpu,
                                                  os.uname().release))
    print("  pagegrab  %s (%s), git %s" % (a.pagegrab,
                                         first_line([a.pagegrab, "-V"]), rev))
    for name, argv in (("curl", ["curl", "--version"]),
                       ("wget2", ["wget2", "--version"]),
                       ("aria2c", ["aria2c", "--version"]),
                       ("nginx", ["nginx", "-v"])):
        print("  %-9s %s" % (name, first_line(argv) if shutil.which(argv[0])
                             else "not installed (rows skipped)"))
    print("  server    nginx on 127.0.0.1:%d, 2 workers, sendfile, "
          "keepalive_requests 100000, access_log off" % a.port)
    print("  outputs   %s" % (a.fs_type or a.fs))
    print("  timing    wall: median of %d run%s, tools alternating; CPU: "
          "user+sys of the tool's whole process tree"
          % (a.runs, "s" if a.runs > 1 else ""))
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    print("  limits    open files %s soft, %s hard (tools inherit them)"
          % (soft if soft >= 0 else "unlimited",
             hard if hard >= 0 else "unlimited"))
    if os.access(GNU_TIME, os.X_OK):
        print("  RSS       GNU time %M: max RSS of the largest single process "
              "of the tree")
    else:
        print("  RSS       wait4() ru_maxrss: max RSS of the largest single "
              "process of the tree (no /usr/bin/time)")
    busy = cpu_busy()
    print("  busy      CPUs %.0f%% busy over 1 s before the start, load "
          "average %s%s" % (busy, " ".join(open("/proc/loadavg").read()
                                          .split()[:3]),
                            "" if busy < 10 else
                            "  <-- something else is running: figures "
                            "will be noisy"))
    print("  treePSS   peak of the summed PSS of every process of the tree, "
          "sampled every %.1f s (first after 10 ms)%s" % (SAMPLE_EVERY,
                                      "" if a.sample else " (disabled)"))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--free-port", action="store_true")
    ap.add_argument("--probe")
    ap.add_argument("--fs")
    ap.add_argument("--site")
    ap.add_argument("--port", type=int)
    ap.add_argument("--delay-port", type=int, default=0)
    ap.add_argument("--delay", type=float, default=0.05)
    ap.add_argument("--delay-how", default="")
    ap.add_argument("--delay-why", default="")
    ap.add_argument("--pagegrab")
    ap.add_argument("--csv")
    ap.add_argument("--report")
    ap.add_argument("--fs-type", default="")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--small", type=int, default=10000)
    ap.add_argument("--large", type=int, default=200)
    ap.add_argument("--latency", type=int, default=2000)
    ap.add_argument("--memory", default="200000")
    ap.add_argument("--memory-process", action="store_true")
    ap.add_argument("--scenarios", default="small,large,gallery,latency,memory")
    ap.add_argument("--no-sample", dest="sample", action="store_false")
    a = ap.parse_args()
    if a.free_port:
        print(free_port())
        return 0
    if a.probe:
        return probe(a.probe)
    a.memory = [int(x) for x in a.memory.split(",") if x.strip()]
    for k in ("fs", "site", "pagegrab", "csv"):
        setattr(a, k, os.path.abspath(getattr(a, k)))

    for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(s, on_signal)
    if a.report:
        os.makedirs(os.path.dirname(os.path.abspath(a.report)), exist_ok=True)
        sys.stdout = Tee(sys.stdout, open(a.report, "w"))
    header(a)
    b = Bench(a)
    try:
        for scen in a.scenarios.split(","):
            scen = scen.strip()
            if scen:
                getattr(b, scen)()
    except Stop as e:
        print("\nbench.py: stopped (%s); partial results follow" % e)
    if b.rows:
        b.summary()
        b.write_csv()
    bad = [r for r in b.rows if not r.verified]
    if bad:
        print("\nverification failed for: %s" % ", ".join(
            "%s/%s" % (r.scenario, r.tool) for r in bad))
    return 0


if __name__ == "__main__":
    sys.exit(main())
