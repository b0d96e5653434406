#!/usr/bin/env python3
"""bench.py - the scenarios of the pagegrab benchmark.

Run by tests/bench/run.sh, which installs the tools, mounts the tmpfs,
generates the site and starts nginx; see tests/bench/README.md. This file
only measures: every tool run goes into a fresh directory on the tmpfs, is
timed, checked file by file against the site, and removed.

Which pagegrab configurations run in each scenario is a list of
MODE:JOBS:K entries (--mode MODE -j JOBS -K K), taken from the environment
(BENCH_PG_MODES for the small-pages scenario, BENCH_PG_MODES_LARGE,
_GALLERY, _LATENCY, _MEMORY for the others) or from DEFAULT_MODES below.

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
import json
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
WRK_ARGS = ["-t2", "-c256", "-d3s", "--latency"]   # the latency ceiling
WRK_TIMEOUT = 30        # seconds before wrk is killed
SAMPLE_EVERY = 0.1      # seconds between process-tree PSS samples

# pagegrab configurations per scenario, MODE:JOBS:K (--mode MODE -j JOBS
# -K K) or MODE:default (--mode MODE alone: pagegrab picks workers and
# transfers per worker itself, -j auto -K auto; kept as (MODE, 0, 0)).
# The peers run with the scenario's concurrency; keep JOBS x K equal to it
# for a fair comparison (a mismatch is flagged in the output; defaults are
# not). Overridden by the environment variable named in MODES_ENV.
DEFAULT_MODES = {
    "small": "thread:default process:default thread:64:1 process:64:1 "
             "thread:2:32 process:2:32 thread:4:16 process:4:16",
    "large": "thread:default process:default thread:16:1 process:16:1 "
             "thread:2:8 process:2:8",
    "gallery": "thread:default process:default thread:64:1 process:64:1 "
               "thread:4:8 process:4:8",
    "latency": "thread:default process:default thread:256:1 process:256:1 "
               "thread:4:64 process:4:64",
    # run.sh passes --memory-modes
    "memory": "thread:default thread:64:1",
}
MODES_ENV = {
    "small": "BENCH_PG_MODES",
    "large": "BENCH_PG_MODES_LARGE",
    "gallery": "BENCH_PG_MODES_GALLERY",
    "latency": "BENCH_PG_MODES_LATENCY",
    "memory": "BENCH_PG_MODES_MEMORY",
}
# concurrency of each scenario (the peers' -Z/--max-threads/-j)
CONC = {"small": 64, "large": 16, "gallery": 32, "latency": 256,
        "memory": 64}


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
                 "log", "timed_out", "stray", "why")

    def __init__(self):
        self.wall = self.cpu = 0.0
        self.rss_kib = self.pss_kib = 0
        self.rc = 0
        self.ok = False
        self.msg = ""
        self.log = ""
        self.timed_out = False
        self.stray = 0          # processes of the run's group left behind
        self.why = ""           # why the run failed, for the status column


def group_members(pgid):
    """Live (not zombie) processes of process group PGID. A zombie whose
    parent is init is not counted: it is dead, and some inits reap late."""
    out = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % name, "rb") as f:
                st = f.read()
            fields = st[st.rindex(b")") + 2:].split()
            if int(fields[2]) == pgid and fields[0] not in (b"Z", b"X"):
                out.append(int(name))
        except (OSError, ValueError, IndexError):
            continue
    return out


def group_alive(pgid):
    try:
        os.killpg(pgid, 0)
    except OSError:
        return False
    return bool(group_members(pgid))


def group_count(pgid):
    return len(group_members(pgid))


def kill_group(pgid, leader=True):
    """SIGTERM the process group, SIGKILL what is left after 3 s. With
    LEADER, PGID is also our child: return its (status, rusage) once
    reaped (a zombie leader would keep the group "alive")."""
    got = None
    try:
        os.killpg(pgid, signal.SIGTERM)
    except OSError:
        pass
    end = time.monotonic() + 3
    while time.monotonic() < end:
        if leader and got is None:
            pid, st, ru = os.wait4(pgid, os.WNOHANG)
            if pid == pgid:
                got = (st, ru)
        if (got is not None or not leader) and not group_alive(pgid):
            break
        time.sleep(0.02)
    try:
        os.killpg(pgid, signal.SIGKILL)
    except OSError:
        pass
    if leader and got is None:
        _, st, ru = os.wait4(pgid, 0)
        got = (st, ru)
    return got


def measure(argv, cwd, log_path, env, sample, timeout):
    """Run ARGV in a process group of its own; return a Result with wall
    seconds, user+sys seconds of the whole tree, max RSS (GNU time %M: the
    largest single process) and the sampled peak of the tree's summed PSS.
    After TIMEOUT seconds the group is killed and the run marked so. A
    process of the group still alive after the tool exited is counted in
    .stray and killed."""
    use_time = os.access(GNU_TIME, os.X_OK)
    tfile = log_path + ".time"
    full = argv
    if use_time:
        full = [GNU_TIME, "-f", "%U %S %M", "-o", tfile, "--"] + argv
    res = Result()
    res.log = log_path
    with open(log_path, "wb") as log:
        t0 = time.monotonic()
        try:
            p = subprocess.Popen(full, cwd=cwd, env=env,
                                 stdin=subprocess.DEVNULL, stdout=log,
                                 stderr=subprocess.STDOUT,
                                 start_new_session=True)
        except OSError as e:
            log.write(("cannot run %s: %s\n" % (full[0], e)).encode())
            res.rc = 127
            res.why = "cannot run"
            return res
        status = ru = None
        try:
            try:
                fd = os.pidfd_open(p.pid)
            except (AttributeError, OSError):   # Python < 3.9, Linux < 5.3
                fd = -1
            poller = None
            if fd >= 0:
                poller = select.poll()
                poller.register(fd, select.POLLIN)
            deadline = t0 + timeout
            # first samples after 10, 20, 40, 80 ms: most runs are short
            every = 0.01
            next_sample = t0 + every
            try:
                while True:
                    now = time.monotonic()
                    if poller is not None:
                        wait = deadline - now
                        if sample:
                            wait = min(wait, next_sample - now)
                        poller.poll(max(0, wait) * 1000)
                    else:
                        time.sleep(0.005)
                    pid, st, r = os.wait4(p.pid, os.WNOHANG)
                    if pid == p.pid:
                        status, ru = st, r
                        break
                    now = time.monotonic()
                    if now >= deadline:
                        res.timed_out = True
                        status, ru = kill_group(p.pid)
                        break
                    if sample and now >= next_sample:
                        res.pss_kib = max(res.pss_kib,
                                          tree_pss_kib(p.pid, use_time))
                        every = min(every * 2, SAMPLE_EVERY)
                        next_sample = time.monotonic() + every
            finally:
                if fd >= 0:
                    os.close(fd)
            t1 = time.monotonic()
            p.returncode = os.waitstatus_to_exitcode(status)
        except BaseException:
            if status is None:
                kill_group(p.pid)
            else:
                kill_group(p.pid, leader=False)
            raise
    # the tool has exited: nothing of its group may be left running
    if group_alive(p.pid):
        time.sleep(0.5)
        if group_alive(p.pid):
            res.stray = group_count(p.pid)
            kill_group(p.pid, leader=False)
    res.wall = t1 - t0
    res.rc = p.returncode
    res.cpu = ru.ru_utime + ru.ru_stime
    res.rss_kib = ru.ru_maxrss
    if use_time and not res.timed_out:
        try:
            with open(tfile) as f:
                line = f.read().strip().splitlines()[-1]
            # after "Command exited with non-zero status N" if it failed
            u, s, m = line.split()[:3]
            res.cpu = float(u) + float(s)
            res.rss_kib = int(m)
        except (OSError, ValueError, IndexError):
            pass
        # GNU time reports a tool killed by signal N as "exit 128+N"
    try:
        os.unlink(tfile)
    except OSError:
        pass
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

def parse_modes(spec, scen, where):
    """'thread:64:1 process:4:16 process:default' -> [(mode, jobs, k),
    ...]. JOBS defaults to the scenario's concurrency, K to 1;
    MODE:default (and 'default' alone, thread) is (MODE, 0, 0): no -j/-K.
    A bad entry is reported and skipped."""
    out = []
    for item in spec.replace(",", " ").split():
        parts = item.split(":")
        if parts == ["default"]:
            parts = ["thread", "default"]
        try:
            if len(parts) > 3:
                raise ValueError
            mode = parts[0]
            if len(parts) == 2 and parts[1] == "default":
                if mode not in ("thread", "process"):
                    raise ValueError
                out.append((mode, 0, 0))
                continue
            jobs = int(parts[1]) if len(parts) > 1 and parts[1] else CONC[scen]
            k = int(parts[2]) if len(parts) > 2 and parts[2] else 1
            if mode not in ("thread", "process") or jobs < 1 or k < 1:
                raise ValueError
        except ValueError:
            print("  (ignored %r in %s: want MODE:JOBS:K or MODE:default "
                  "with MODE thread or process)" % (item, where))
            continue
        out.append((mode, jobs, k))
    return out


def is_default(m):
    """(mode, 0, 0): pagegrab's own choice of -j and -K."""
    return m is not None and m[1] == 0


def pg_label(mode, jobs, k):
    if jobs == 0:
        return "pg %s default" % mode
    return "pg %s %dx%d" % (mode, jobs, k)


def mode_spec(m):
    if is_default(m):
        return "%s:default" % m[0]
    return "%s:%d:%d" % m


def pg_conc_args(mode, jobs, k):
    if jobs == 0:               # the defaults: -j auto -K auto
        return ["--mode", mode]
    args = ["--mode", mode, "-j", str(jobs)]
    if k != 1:                  # -j N alone is the classic pool, K=1
        args += ["-K", str(k)]
    return args


class Tool:
    def __init__(self, label, argv, prefix="", cwd_out=False,
                 allow_extra=None, peer=True, pg=None):
        self.label = label
        self.argv = argv              # function(outdir) -> argv
        self.prefix = prefix          # where the site's paths start in out
        self.cwd_out = cwd_out        # run inside the output directory
        self.allow_extra = allow_extra
        self.peer = peer              # False for pagegrab itself
        self.pg = pg                  # pagegrab: (mode, jobs, k)


def nan():
    return float("nan")


def isnan(x):
    return x != x


def round_ratios(num, den, attr="wall"):
    """Per-round ratios NUM[r].attr / DEN[r].attr of two rows of one
    scenario, over the rounds where both runs are good. Round r ran every
    tool once, so results[r] of two rows belong to the same round."""
    out = []
    for a, b in zip(num.results, den.results):
        x, y = getattr(a, attr), getattr(b, attr)
        if a.ok and b.ok and y > 0:
            out.append(x / y)
    return out


def spread(vals):
    """(median, min, max) of VALS, None if empty."""
    if not vals:
        return None
    return statistics.median(vals), min(vals), max(vals)


def fmt_spread(vals, unit="x"):
    """'1.31x (1.22-1.40)': the median of the per-round ratios and their
    range; the range is left out with a single round."""
    sp = spread(vals)
    if sp is None:
        return "-"
    if len(vals) == 1:
        return "%.2f%s" % (sp[0], unit)
    return "%.2f%s (%.2f-%.2f)" % (sp[0], unit, sp[1], sp[2])


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
        self.pg = None
        self.ratio = nan()            # median over rounds of best peer
        self.best_peer = ""           # time / this time
        self.ratio_runs = collections.OrderedDict()   # peer -> [ratios]

    def ok_results(self):
        return [r for r in self.results if r.ok]

    @property
    def verified(self):
        return bool(self.results) and all(r.ok for r in self.results)

    def timed(self):
        """The runs the figures come from: the good ones if any."""
        return self.ok_results() or self.results

    def med(self, attr):
        vals = [getattr(r, attr) for r in self.timed()]
        return statistics.median(vals) if vals else nan()

    @property
    def time(self):
        return self.med("wall")

    # no rate for a row without one good run: it did not do the job
    @property
    def files_per_s(self):
        t = self.time
        return self.files / t if t > 0 and self.ok_results() else nan()

    @property
    def mib_per_s(self):
        t = self.time
        return (self.bytes / MiB / t if t > 0 and self.ok_results()
                else nan())

    @property
    def cpu(self):
        return self.med("cpu")

    @property
    def rss_mib(self):
        v = [r.rss_kib for r in self.timed()]
        return max(v) / 1024.0 if v and max(v) else nan()

    @property
    def pss_mib(self):
        v = [r.pss_kib for r in self.timed()]
        return max(v) / 1024.0 if v and max(v) else nan()

    @property
    def mem_mib(self):
        """Peak memory of the tool: the larger of the largest process's
        RSS and the tree's summed PSS."""
        v = [x for x in (self.rss_mib, self.pss_mib) if not isnan(x)]
        return max(v) if v else nan()

    @property
    def status(self):
        n = len(self.results)
        bad = [r for r in self.results if not r.ok]
        if not bad:
            return "ok %d/%d" % (n, n)
        whys = []
        for r in bad:
            if r.why not in whys:
                whys.append(r.why)
        return "FAILED %d/%d (%s)" % (len(bad), n, ", ".join(whys))


class Bench:
    def __init__(self, a):
        self.a = a
        self.fs = a.fs
        self.site = Site(a.site)
        self.port = a.port
        self.dport = a.delay_port
        self.pg = a.pagegrab
        self.runs = a.runs
        self.timeout = a.timeout
        self.rows = []
        self.logdir = os.path.join(a.results, "logs")
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
        self.modes = {}
        self.modes_src = {}
        for scen in DEFAULT_MODES:
            env = MODES_ENV[scen]
            spec = os.environ.get(env, "").strip()
            src = env
            if scen == "memory" and not spec and a.memory_modes:
                spec, src = a.memory_modes, "run.sh default"
            if not spec:
                spec, src = DEFAULT_MODES[scen], "default"
            self.modes[scen] = parse_modes(spec, scen, env)
            self.modes_src[scen] = src
        self.memory_sizes = []        # sizes the memory scenario ran
        self.wrk_rps = None           # wrk's requests/s on the delaying
        self.wrk_why = "latency scenario not run"   # server, or why not
        self.requested = set(x.strip() for x in a.scenarios.split(","))

    def describe_modes(self):
        print("  pagegrab  'pg MODE NxK' = pagegrab --mode MODE -j N -K K; "
              "'pg MODE default' = --mode MODE without -j/-K (-j auto "
              "-K auto); per scenario (peers at the concurrency C):")
        for scen in DEFAULT_MODES:
            ms = self.modes[scen]
            odd = [m for m in ms
                   if not is_default(m) and m[1] * m[2] != CONC[scen]]
            print("    %-8s C=%-3d %-48s (%s)%s"
                  % (scen, CONC[scen],
                     " ".join(mode_spec(m) for m in ms) or "-",
                     self.modes_src[scen],
                     "  <-- N x K != C for %s" % " ".join(
                         mode_spec(m) for m in odd) if odd else ""))

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

    def pg_tools(self, scen, args, prefix):
        """One Tool per configured pagegrab mode; ARGS: the options after
        the concurrency ones (function of the output directory)."""
        tools = []
        for m in self.modes[scen]:
            tools.append(Tool(
                pg_label(*m),
                lambda out, m=m: [self.pg] + pg_conc_args(*m) + args(out),
                prefix=prefix, peer=False, pg=m))
        return tools

    def batch_tools(self, scen, base, port, conc):
        tools = self.pg_tools(
            scen, lambda out: ["-q", "--no-robots", "-i", base + ".txt",
                               "-o", out],
            self.pg_prefix(port))
        if self.have["curl"]:
            tools.append(Tool(
                "curl -Z",
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
    def run_tool(self, scen, tool, row, r, verify, timeout):
        tag = re.sub(r"[^A-Za-z0-9.-]+", "_", "%s-%s-%d"
                     % (scen, tool.label, r + 1))
        out = os.path.join(self.outroot, tag)
        if os.path.exists(out):
            subprocess.run(["rm", "-rf", out])
        os.makedirs(out)
        log = os.path.join(self.fs, "log-%s.txt" % tag)
        res = measure(tool.argv(out), out if tool.cwd_out else self.fs, log,
                      self.env, self.sample, timeout)
        if res.why == "cannot run":
            res.ok, res.msg = False, "FAILED: could not start"
        elif res.timed_out:
            res.ok, res.msg = False, "FAILED: killed after %d s" % timeout
            res.why = "timeout %d s" % timeout
        else:
            vok, res.msg = verify(out, tool)
            res.ok = vok and res.rc == 0 and not res.stray
            if res.rc != 0:
                res.why = "exit %d" % res.rc
            elif res.stray:
                res.why = "left %d processes" % res.stray
            elif not vok:
                res.why = "files wrong"
            if res.stray:
                res.msg += "; %d processes of its group left running " \
                    "(killed)" % res.stray
        row.results.append(res)
        flag = "" if res.ok else "   <-- FAILED (%s)" % res.why
        print("  run %d  %-22s %8.3f s  cpu %6.2f s  rss %7.1f MiB  %s%s"
              % (r + 1, tool.label, res.wall, res.cpu, res.rss_kib / 1024.0,
                 res.msg, flag), flush=True)
        if not res.ok:
            os.makedirs(self.logdir, exist_ok=True)
            keep = os.path.join(self.logdir, os.path.basename(log))
            with open(keep, "w") as k:
                k.write("# %s\n" % " ".join(tool.argv(out)))
                with open(log, "rb") as f:
                    body = f.read()
                k.write(body.decode("utf-8", "replace"))
            tail = body[-600:].decode("utf-8", "replace")
            for line in tail.strip().splitlines()[-4:]:
                print("        | " + line[:150])
            print("        (log kept: %s)" % keep)
        subprocess.run(["rm", "-rf", out])
        os.unlink(log)

    def scenario(self, scen, title, tools, files, nbytes, conc, verify,
                 runs=None, timeout=None):
        runs = runs or self.runs
        timeout = timeout or self.timeout
        print("\n== %s: %s" % (scen, title), flush=True)
        rows = [Row(scen, t.label, files, nbytes, runs, conc) for t in tools]
        for row, t in zip(rows, tools):
            row.peer = t.peer
            row.pg = t.pg
        for r in range(runs):
            k = r % len(tools) if tools else 0   # alternate: rotate the order
            for i in list(range(k, len(tools))) + list(range(0, k)):
                self.run_tool(scen, tools[i], rows[i], r, verify, timeout)
        self.rows.extend(rows)
        self.print_table(rows, scen)
        return rows

    # -- the five scenarios -------------------------------------------------
    def tree_verifier(self, expected):
        def verify(out, tool):
            return verify_tree(out, tool.prefix, expected, tool.allow_extra)
        return verify

    def small(self):
        n, conc = self.a.small, CONC["small"]
        rels = ["small/p%05d.html" % i for i in range(n)]
        base = self.write_lists("small", self.port, rels)
        exp = self.site.expected(rels)
        self.scenario("small", "%d x 4 KiB pages, concurrency %d" % (n, conc),
                      self.batch_tools("small", base, self.port, conc), n,
                      sum(os.path.getsize(os.path.join(self.site.root, r))
                          for r in rels), conc, self.tree_verifier(exp))
        self.missing_peers(["curl", "wget2", "aria2c"])

    def large(self):
        n, conc = self.a.large, CONC["large"]
        rels = ["large/f%03d.bin" % i for i in range(n)]
        base = self.write_lists("large", self.port, rels)
        exp = self.site.expected(rels)
        self.scenario("large", "%d x 1 MiB files, concurrency %d" % (n, conc),
                      self.batch_tools("large", base, self.port, conc), n,
                      n * MiB, conc, self.tree_verifier(exp))
        self.missing_peers(["curl", "wget2", "aria2c"])

    def gallery(self):
        conc = CONC["gallery"]
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
        tools = self.pg_tools(
            "gallery",
            lambda out: ["--follow", '//*[@id="main"]/div[4]/ul/li/a/@href',
                         "--xpath", '//*[@id="img"]/img/@src', "--depth", "1",
                         "--images-only", "-q", "-i", base + ".txt",
                         "-o", out],
            self.pg_prefix(self.port))
        if self.have["wget2"]:
            w = self.have["wget2"]
            tools.append(Tool(
                "wget2 -r -A jpg",
                lambda out: [w, "--no-config", "-q", "-r", "-l", "2",
                             "--max-threads=%d" % conc, "-nH", "-P", out,
                             "-A", "*.jpg", "-i", base + ".txt"]))
            tools.append(Tool(
                "wget2 -r keep-pages",
                lambda out: [w, "--no-config", "-q", "-r", "-l", "2",
                             "--max-threads=%d" % conc, "-nH", "-P", out,
                             "-i", base + ".txt"],
                allow_extra=re.compile(r"^gallery/(list|detail)/[^/]+\.html$")))
        self.scenario(
            "gallery",
            "%d list pages -> %d detail pages -> %d images, concurrency %d "
            "(files/s and MiB/s count the images only)"
            % (len(lists), len(imgs), len(imgs), conc),
            tools, len(imgs), nbytes, conc, self.tree_verifier(exp))
        self.missing_peers(["wget2"])

    def latency(self):
        if not self.dport:
            print("\n== latency: SKIPPED (%s)" % (self.a.delay_why or
                                                 "no delaying nginx"))
            return
        n, conc, delay = self.a.latency, CONC["latency"], self.a.delay
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
            self.batch_tools("latency", base, self.dport, conc), n, n * 4096,
            conc, self.tree_verifier(exp))
        self.missing_peers(["curl", "wget2", "aria2c"])
        url = "http://%s:%d/%s" % (HOST, self.dport, rels[0])
        self.wrk_rps, self.wrk_why = self.wrk_ceiling(url)
        wrk = self.wrk_rps
        if wrk:
            print("  wrk ceiling: %.0f requests/s (wrk %s %s)"
                  % (wrk, " ".join(WRK_ARGS), url))
        else:
            print("  wrk ceiling: not measured (%s)" % self.wrk_why)
        print("  throughput as %% of ideal (%d / (%d/%d x %.3f s) = %.0f "
              "files/s)%s:" % (n, n, conc, delay, ideal,
                               " and of the wrk ceiling (%.0f requests/s)"
                               % wrk if wrk else ""))
        for row in rows:
            pct = 100.0 * row.files_per_s / ideal
            if isnan(pct):
                print("    %-22s      -  FAILED" % row.tool)
                continue
            row.extra["pct_of_ideal"] = round(pct, 1)
            row.note = "%.1f%% of ideal" % pct
            pw = ""
            if wrk:
                pw_ = 100.0 * row.files_per_s / wrk
                row.extra["pct_of_wrk"] = round(pw_, 1)
                row.note += ", %.1f%% of wrk" % pw_
                pw = "  %6.1f%% of wrk" % pw_
            print("    %-22s %6.1f%% of ideal%s%s"
                  % (row.tool, pct, pw, "" if row.verified else "  FAILED"))

    def wrk_ceiling(self, url):
        """The delaying server's ceiling as wrk measures it: (requests/s,
        "") or (None, why). wrk runs in a group of its own and is killed
        after WRK_TIMEOUT seconds."""
        w = shutil.which("wrk")
        if not w:
            return None, "wrk not installed"
        argv = [w] + WRK_ARGS + [url]
        try:
            p = subprocess.Popen(argv, stdout=subprocess.PIPE,
                                 stderr=subprocess.STDOUT, env=self.env,
                                 stdin=subprocess.DEVNULL,
                                 start_new_session=True)
        except OSError as e:
            return None, "cannot run wrk: %s" % e
        try:
            out, _ = p.communicate(timeout=WRK_TIMEOUT)
        except subprocess.TimeoutExpired:
            kill_group(p.pid, leader=False)
            p.communicate()
            return None, "wrk killed after %d s" % WRK_TIMEOUT
        except BaseException:
            kill_group(p.pid, leader=False)
            p.wait()
            raise
        text = out.decode("utf-8", "replace")
        m = re.search(r"^Requests/sec:\s+([0-9.]+)", text, re.M)
        if p.returncode != 0 or not m:
            last = text.strip().splitlines()[-1:] or ["no output"]
            return None, "wrk exit %d: %s" % (p.returncode, last[0][:100])
        errs = re.search(r"Socket errors:.*", text)
        if errs:
            print("  wrk: %s" % errs.group(0).strip())
        return float(m.group(1)), ""

    def memory(self):
        sizes = self.a.memory
        self.memory_sizes = sizes
        npages = self.a.small
        page_hash = self.site.expected(
            ["small/p%05d.html" % i for i in range(npages)])
        prefix = self.pg_prefix(self.port) + "/small"
        got_rows = []
        conc = CONC["memory"]
        for n in sizes:
            path = os.path.join(self.lists, "memory-%d.txt" % n)
            cpath = os.path.join(self.lists, "memory-%d.curl" % n)
            with open(path, "w") as f, open(cpath, "w") as c:
                w = f.write
                wc = c.write
                for i in range(n):
                    url = "http://%s:%d/small/p%05d.html?i=%d" % (
                        HOST, self.port, i % npages, i)
                    w(url + "\n")
                    wc('url = "%s"\noutput = "small/i%07d.html"\n'
                       % (url, i))
            want = collections.Counter()
            for i in range(npages):
                want[page_hash["small/p%05d.html" % i]] += (
                    n // npages + (1 if i < n % npages else 0))
            tools = self.pg_tools(
                "memory", lambda out, path=path: ["-q", "--no-robots", "-i",
                                                  path, "-o", out], prefix)
            # the peers: curl -Z from a config file (run inside OUT, like
            # the small scenario) and wget2 from the list; both write
            # below small/ (wget2 keeps the query: small/p00001.html?i=1)
            if self.have["curl"]:
                tools.append(Tool(
                    "curl -Z",
                    lambda out, cpath=cpath: [
                        self.have["curl"], "-q", "-sS",
                        "--no-progress-meter", "--fail", "-Z",
                        "--parallel-max", str(conc), "--parallel-immediate",
                        "--create-dirs", "-K", cpath],
                    prefix="small", cwd_out=True))
            if self.have["wget2"]:
                tools.append(Tool(
                    "wget2",
                    lambda out, path=path: [
                        self.have["wget2"], "--no-config", "-q",
                        "--max-threads=%d" % conc, "-nH", "-x", "-P", out,
                        "-i", path],
                    prefix="small"))

            def verify(out, tool, want=want):
                return verify_multiset(out, tool.prefix, want)
            scen = "memory-" + short_count(n)
            why = ""
            if self.a.quick and n < 1000000:
                why = " (BENCH_QUICK: %s, not 1M)" % short_count(n)
            rows = self.scenario(
                scen, "%d distinct URLs (?i=N) over the 4 KiB pages, one "
                "run%s" % (n, why), tools, n, n * 4096, conc,
                verify, runs=1,
                timeout=max(self.timeout, 60 + n // 2000))
            self.missing_peers(["curl", "wget2"])
            print("  CPU per URL (user+sys of the whole tree / %d URLs):" % n)
            for row in rows:
                row.extra["urls"] = n
                us = row.cpu * 1e6 / n if row.results else nan()
                row.extra["cpu_us_per_url"] = jnum(us, 1)
                if not isnan(us):
                    row.note = "%.1f us CPU/URL" % us
                print("    %-22s %s%s" % (row.tool, fmt(us, "%8.1f us"),
                                         "" if row.verified else
                                         "  FAILED"))
            got_rows.extend(rows)
            os.unlink(path)
            os.unlink(cpath)
        for m in self.modes["memory"]:
            rs = sorted((r for r in got_rows if r.pg == m and r.verified),
                        key=lambda r: r.extra["urls"])
            if len(rs) >= 2:
                a, b = rs[0], rs[-1]
                slope = ((b.mem_mib - a.mem_mib) * MiB /
                         (b.extra["urls"] - a.extra["urls"]))
                print("  %s peak memory grows %.1f bytes per URL "
                      "(%d -> %d URLs: %.1f -> %.1f MiB)"
                      % (b.tool, slope, a.extra["urls"], b.extra["urls"],
                         a.mem_mib, b.mem_mib))
                b.note += "; +%.0f B/URL vs %s" % (
                    slope, short_count(a.extra["urls"]))

    # -- output ------------------------------------------------------------
    HEAD = ("tool", "time s", "files/s", "MiB/s", "CPU s", "RSS MiB",
            "treePSS MiB", "verified")

    def fmt_row(self, row, with_scen=False):
        cells = [row.tool, fmt(row.time, "%.3f"),
                 fmt(row.files_per_s, "%.0f"), fmt(row.mib_per_s, "%.1f"),
                 fmt(row.cpu, "%.2f"),
                 fmt(row.rss_mib, "%.1f"), fmt(row.pss_mib, "%.1f"),
                 row.status]
        if with_scen:
            cells.insert(1, row.scenario)
        return cells

    TEXT_COLS = ("tool", "scenario", "verified", "pagegrab", "best peer",
                 "ratio", "note", "target", "measured", "result",
                 "vs best peer")

    def table(self, head, body):
        widths = [max(len(str(x)) for x in col) for col in zip(head, *body)]
        fmt_ = "  ".join(("%%-%ds" if h in self.TEXT_COLS else "%%%ds") % w
                         for h, w in zip(head, widths))
        out = [fmt_ % tuple(head), "  ".join("-" * w for w in widths)]
        out += [fmt_ % tuple(b) for b in body]
        return "\n".join("  " + line.rstrip() for line in out)

    def print_table(self, rows, scen):
        print()
        if rows:
            print(self.table(self.HEAD, [self.fmt_row(r) for r in rows]),
                  flush=True)

    def by_scenario(self):
        by = collections.OrderedDict()
        for r in self.rows:
            by.setdefault(r.scenario, []).append(r)
        return by

    def compute_ratios(self):
        """For every pagegrab row and every peer row of its scenario: the
        per-round ratios peer time / pagegrab time (rounds where both runs
        were good); the fastest verified peer (median time) is the best
        peer, and the row's ratio is the median of its per-round ratios."""
        for scen, rows in self.by_scenario().items():
            peers = [r for r in rows if r.peer]
            for p in rows:
                if p.peer:
                    continue
                p.ratio_runs = collections.OrderedDict(
                    (q.tool, [round(x, 4) for x in round_ratios(q, p)])
                    for q in peers)
            peers = [r for r in peers if r.verified]
            if not peers:
                continue
            best = min(peers, key=lambda r: r.time)
            for p in rows:
                if p.peer:
                    continue
                p.best_peer = best.tool
                p.extra["best_peer_time_s"] = round(best.time, 4)
                runs = p.ratio_runs.get(best.tool)
                if p.verified and runs:
                    p.ratio = statistics.median(runs)

    def ratio_cell(self, r):
        if r.peer:
            return ""
        if not r.verified:
            return "n/a: FAILED"
        if not r.best_peer:
            return "no peer"
        runs = r.ratio_runs.get(r.best_peer)
        if not runs:
            return "-"
        return "%s %s" % (fmt_spread(runs),
                          "equal" if 0.995 <= r.ratio < 1.005 else
                          "faster" if r.ratio >= 1 else "slower")

    def summary(self):
        self.compute_ratios()
        print("\n== summary (time: median of %d run%s; memory rows: 1 run; "
              "CPUs %.0f%% busy over 1 s after the last run)"
              % (self.runs, "s" if self.runs > 1 else "", cpu_busy()))
        head = ("tool", "scenario", "time s", "files/s", "MiB/s", "CPU s",
                "RSS MiB", "treePSS MiB", "verified", "vs best peer", "note")
        body = [self.fmt_row(r, True) + [self.ratio_cell(r), r.note]
                for r in self.rows]
        print(self.table(head, body))

        print("\n== pagegrab vs the best peer (ratio = best verified peer's "
              "time / pagegrab's time per round, median (min-max) over the "
              "rounds; >1 = pagegrab faster)")
        body = []
        for scen, rows in self.by_scenario().items():
            for p in rows:
                if p.peer:
                    continue
                body.append((scen, p.tool, fmt(p.time, "%.3f"),
                             p.best_peer or "-",
                             fmt(p.extra.get("best_peer_time_s", nan()),
                                 "%.3f"),
                             self.ratio_cell(p)))
        print(self.table(("scenario", "pagegrab", "time s", "best peer",
                          "peer time s", "ratio"), body))

    # -- targets -----------------------------------------------------------
    def find(self, scen, tool=None, pg=None, mode=None, peer=None):
        out = []
        for r in self.rows:
            if r.scenario != scen:
                continue
            if tool is not None and r.tool != tool:
                continue
            if pg is not None and r.pg != pg:
                continue
            if mode is not None and (r.pg is None or r.pg[0] != mode):
                continue
            if peer is not None and r.peer != peer:
                continue
            out.append(r)
        return out

    def targets(self):
        """The targets of issue 14 ("Fast by default"), measured on the
        rows of pagegrab's defaults (MODE:default), per mode: a list of
        dicts (target, measured, result, value, bound, ratio_runs). A
        ratio is the median of the per-round ratios of the two rows (see
        round_ratios); the text gives its min-max over the rounds."""
        T = []
        modes = ("thread", "process")

        def add(target, measured, ok, value=None, bound=None, runs=None):
            """VALUE: the measured ratio (or %, or MiB) compared with
            BOUND; RUNS: the per-round ratios it is the median of."""
            T.append(collections.OrderedDict([
                ("target", target), ("measured", measured),
                ("result", ("met" if ok else "NOT MET")
                 if ok is not None else "not measured"),
                ("value", jnum(value, 3) if value is not None else None),
                ("bound", bound),
                ("ratio_runs", [round(x, 4) for x in runs]
                 if runs else None)]))

        def nm(target, why):
            add(target, why, None)

        def fastest(rows):
            rows = [r for r in rows if r.verified]
            return min(rows, key=lambda r: r.time) if rows else None

        def ran(scen):
            return scen.split("-")[0] in self.requested

        def pick(t, scen, m):
            """The verified row of configuration M in SCEN, or None after
            recording why T is not measured."""
            base = scen.split("-")[0]
            rows = self.find(scen, pg=m)
            if not ran(scen):
                nm(t, "scenario not run")
            elif base == "latency" and not self.dport:
                nm(t, "skipped: %s" % self.a.delay_why)
            elif not rows:
                nm(t, "%s not in %s" % (mode_spec(m), MODES_ENV[base]))
            elif not rows[0].verified:
                nm(t, "%s %s" % (rows[0].tool, rows[0].status))
            else:
                return rows[0]
            return None

        def ratio(t, runs, bound, text, higher=True, after=""):
            """Record T from the per-round ratios RUNS: met when their
            median is >= BOUND (HIGHER) or <= BOUND."""
            if not runs:
                nm(t, "no round with both runs good")
                return
            med = statistics.median(runs)
            add(t, "%s: %s%s" % (text, fmt_spread(runs), after),
                med >= bound if higher else med <= bound, med, bound, runs)

        def peer_row(scen, tool):
            rows = [r for r in self.find(scen, tool=tool) if r.verified]
            return rows[0] if rows else None

        # small pages: defaults vs curl -Z, files/s and CPU
        curl = peer_row("small", "curl -Z")
        for mode in modes:
            t = "small: pg %s default >= 1.5x curl -Z files/s" % mode
            r = pick(t, "small", (mode, 0, 0))
            if r and not curl:
                nm(t, "no verified curl -Z run")
            elif r:
                ratio(t, round_ratios(curl, r), 1.5,
                      "%.0f vs %.0f files/s" % (r.files_per_s,
                                                curl.files_per_s))
        for mode in modes:
            t = "small: pg %s default CPU <= 1.0x curl -Z's" % mode
            r = pick(t, "small", (mode, 0, 0))
            if r and not curl:
                nm(t, "no verified curl -Z run")
            elif r:
                ratio(t, round_ratios(r, curl, "cpu"), 1.0,
                      "%.2f vs %.2f CPU s" % (r.cpu, curl.cpu), False)
        # process vs thread at equal configurations (the defaults too)
        pairs = sorted(set((r.pg[1], r.pg[2])
                           for r in self.find("small", peer=False)))
        for jobs, k in pairs:
            th = self.find("small", pg=("thread", jobs, k))
            pr = self.find("small", pg=("process", jobs, k))
            if not th or not pr:
                continue
            t = ("small: process within 15%% of thread at %s (>= 0.85x)"
                 % ("the defaults" if jobs == 0 else "%dx%d" % (jobs, k)))
            if not th[0].verified or not pr[0].verified:
                nm(t, "%s FAILED" % (th[0].tool if not th[0].verified
                                     else pr[0].tool))
                continue
            ratio(t, round_ratios(th[0], pr[0]), 0.85,
                  "process %.0f vs thread %.0f files/s"
                  % (pr[0].files_per_s, th[0].files_per_s))

        # large files: defaults vs the best peer
        peer = fastest(self.find("large", peer=True))
        for mode in modes:
            t = "large: pg %s default >= 1.1x the best peer's MiB/s" % mode
            r = pick(t, "large", (mode, 0, 0))
            if r and not peer:
                nm(t, "no verified peer run")
            elif r:
                ratio(t, round_ratios(peer, r), 1.1,
                      "%.0f vs %s %.0f MiB/s" % (r.mib_per_s, peer.tool,
                                                 peer.mib_per_s))

        # gallery crawl: defaults, and the classic 64-worker pools
        wget = fastest([r for r in self.find("gallery", peer=True)
                        if r.tool.startswith("wget2")])
        for m, bound, what in (
                [((mode, 0, 0), 1.3, " >= 1.3x faster than") for mode in modes]
                + [((mode, 64, 1), 1.0, " (classic pool) >= 1.0x")
                   for mode in modes]):
            t = "gallery: %s%s wget2 -r" % (pg_label(*m), what)
            r = pick(t, "gallery", m)
            if r and not wget:
                nm(t, "no verified wget2 -r run")
            elif r:
                ratio(t, round_ratios(wget, r), bound,
                      "%.3f s vs %s %.3f s" % (r.time, wget.tool, wget.time))

        # latency: defaults vs the wrk ceiling
        for mode in modes:
            t = "latency: pg %s default >= 90%% of the wrk ceiling" % mode
            if ran("latency") and self.dport and not self.wrk_rps:
                nm(t, "no wrk ceiling: %s" % self.wrk_why)
                continue
            r = pick(t, "latency", (mode, 0, 0))
            if r:
                pct = [100.0 * r.files / x.wall / self.wrk_rps
                       for x in r.results if x.ok and x.wall > 0]
                med = statistics.median(pct)
                add(t, "%.0f files/s vs wrk %.0f requests/s: %.1f%%%s"
                    % (r.files_per_s, self.wrk_rps, med,
                       " (%.1f-%.1f)" % (min(pct), max(pct))
                       if len(pct) > 1 else ""),
                    med >= 90.0, med, 90.0)

        # memory, the largest list: defaults' peak memory and CPU per URL
        sizes = sorted(self.memory_sizes)
        if not sizes:
            nm("memory: pg default peak memory <= 48 MiB", "scenario not run")
            nm("memory: pg default CPU per URL <= curl -Z's",
               "scenario not run")
        else:
            n = sizes[-1]
            scen = "memory-" + short_count(n)
            at = "" if n >= 1000000 else " (at %s URLs%s)" % (
                short_count(n), ", BENCH_QUICK" if self.a.quick else "")
            curl = peer_row(scen, "curl -Z")
            rows = [r for r in self.find(scen, peer=False)
                    if is_default(r.pg)]
            if not rows:
                nm("memory: pg default peak memory <= 48 MiB",
                   "no MODE:default in %s" % MODES_ENV["memory"])
            for r in rows:
                t = "memory-%s: %s peak memory <= 48 MiB" % (short_count(n),
                                                            r.tool)
                if not r.verified:
                    nm(t, "%s%s" % (r.status, at))
                else:
                    add(t, "%.1f MiB (RSS %s, treePSS %s)%s"
                        % (r.mem_mib, fmt(r.rss_mib, "%.1f"),
                           fmt(r.pss_mib, "%.1f"), at),
                        r.mem_mib <= 48.0, r.mem_mib, 48.0)
                t = "memory-%s: %s CPU per URL <= curl -Z's" % (
                    short_count(n), r.tool)
                if not r.verified:
                    nm(t, "%s%s" % (r.status, at))
                elif not curl:
                    nm(t, "no verified curl -Z run%s" % at)
                else:
                    ratio(t, round_ratios(r, curl, "cpu"), 1.0,
                          "%.1f vs %.1f us/URL"
                          % (r.cpu * 1e6 / n, curl.cpu * 1e6 / n), False,
                          at)

        # every scenario: the defaults vs the best explicit configuration
        for scen, rows in self.by_scenario().items():
            for mode in modes:
                d = [r for r in rows if r.pg and r.pg[0] == mode and
                     is_default(r.pg)]
                if not d:
                    continue
                d = d[0]
                t = ("%s: pg %s default within 5%% of the best explicit %s "
                     "(time <= 1.05x)" % (scen, mode, mode))
                ex = fastest([r for r in rows if r.pg and r.pg[0] == mode and
                              not is_default(r.pg)])
                if not d.verified:
                    nm(t, "%s %s" % (d.tool, d.status))
                elif not ex:
                    nm(t, "no verified explicit %s configuration" % mode)
                else:
                    ratio(t, round_ratios(d, ex), 1.05,
                          "%.3f s vs %s %.3f s"
                          % (d.time, ex.tool, ex.time), False)

        # a memory target at fewer URLs than 1M says so in its result
        for x in T:
            if x["target"].startswith("memory-") and \
                    not x["target"].startswith("memory-1M") and \
                    x["result"] != "not measured":
                x["result"] += " at %s" % x["target"][7:].split(":")[0]
        return T

    def print_targets(self, T):
        print("\n== targets of the issue (figures only: the suite never "
              "fails on them)")
        print(self.table(("target", "measured", "result"),
                         [(x["target"], x["measured"], x["result"])
                          for x in T]))
        met = sum(1 for x in T if x["result"].startswith("met"))
        notm = sum(1 for x in T if x["result"].startswith("NOT MET"))
        print("  %d met, %d not met, %d not measured"
              % (met, notm, len(T) - met - notm))

    # -- files -------------------------------------------------------------
    def row_dict(self, r):
        d = collections.OrderedDict()
        d["scenario"] = r.scenario
        d["tool"] = r.tool
        d["pagegrab"] = None if r.pg is None else {
            "mode": r.pg[0],
            "jobs": "auto" if is_default(r.pg) else r.pg[1],
            "per_worker": "auto" if is_default(r.pg) else r.pg[2]}
        d["concurrency"] = r.conc
        d["runs"] = len(r.results)
        d["files"] = r.files
        d["bytes"] = r.bytes
        d["time_s"] = jnum(r.time, 4)
        d["files_per_s"] = jnum(r.files_per_s, 1)
        d["mib_per_s"] = jnum(r.mib_per_s, 2)
        d["cpu_s"] = jnum(r.cpu, 3)
        d["peak_rss_mib"] = jnum(r.rss_mib, 1)
        d["tree_pss_mib"] = jnum(r.pss_mib, 1)
        d["verified"] = r.verified
        d["status"] = r.status
        d["exit_codes"] = [x.rc for x in r.results]
        d["timed_out"] = [x.timed_out for x in r.results]
        d["run_times_s"] = [round(x.wall, 4) for x in r.results]
        d["pct_of_ideal"] = r.extra.get("pct_of_ideal")
        d["pct_of_wrk"] = r.extra.get("pct_of_wrk")
        d["cpu_us_per_url"] = r.extra.get("cpu_us_per_url")
        d["best_peer"] = r.best_peer or None
        d["ratio_to_best_peer"] = jnum(r.ratio, 3)
        sp = spread(r.ratio_runs.get(r.best_peer) or [])
        d["ratio_to_best_peer_min"] = jnum(sp[1], 3) if sp else None
        d["ratio_to_best_peer_max"] = jnum(sp[2], 3) if sp else None
        # pagegrab rows: {peer: [peer time / this time, per round]}
        d["ratio_runs"] = r.ratio_runs if not r.peer else None
        d["note"] = r.note
        return d

    def write_files(self, meta, T):
        res = self.a.results
        os.makedirs(res, exist_ok=True)
        cols = ["scenario", "tool", "concurrency", "runs", "files", "bytes",
                "time_s", "files_per_s", "mib_per_s", "cpu_s",
                "peak_rss_mib", "tree_pss_mib", "verified", "status",
                "exit_codes", "pct_of_ideal", "pct_of_wrk", "cpu_us_per_url", "best_peer",
                "ratio_to_best_peer", "ratio_to_best_peer_min",
                "ratio_to_best_peer_max", "run_times_s", "note"]
        path = os.path.join(res, "results.csv")
        with open(path, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(cols)
            for r in self.rows:
                d = self.row_dict(r)
                w.writerow([
                    "" if d[c] is None else
                    " ".join(str(x) for x in d[c]) if isinstance(d[c], list)
                    else ("yes" if d[c] else "no") if isinstance(d[c], bool)
                    else d[c] for c in cols])
        jpath = os.path.join(res, "results.json")
        with open(jpath, "w") as f:
            json.dump(collections.OrderedDict(
                [("meta", meta), ("rows", [self.row_dict(r)
                                           for r in self.rows]),
                 ("targets", T)]), f, indent=1)
            f.write("\n")
        print("\nresults: %s" % os.path.join(res, "results.txt"))
        print("         %s" % jpath)
        print("         %s" % path)


def fmt(x, f):
    return "-" if x is None or isnan(x) else f % x


def jnum(x, nd):
    return None if x is None or isnan(x) else round(x, nd)


def short_count(n):
    if n % 1000000 == 0:
        return "%dM" % (n // 1000000)
    if n % 1000 == 0:
        return "%dk" % (n // 1000)
    return str(n)


class Tee:
    def __init__(self, *files):
        self.files = files

    def write(self, s):
        for f in self.files:
            f.write(s)

    def flush(self):
        for f in self.files:
            f.flush()


def first_line(argv, any_rc=False):
    try:
        r = subprocess.run(argv, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=10)
        out = r.stdout.decode("utf-8", "replace").strip().splitlines()
        return out[0] if out and (r.returncode == 0 or any_rc) else "?"
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


def header(a, b):
    """Print the run's circumstances; return them as a dict for the JSON."""
    meta = collections.OrderedDict()
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
    meta["date"] = time.strftime("%Y-%m-%d %H:%M:%S %z")
    meta["cpus"] = os.cpu_count()
    meta["cpu_model"] = cpu
    meta["kernel"] = os.uname().release
    meta["pagegrab"] = a.pagegrab
    meta["pagegrab_version"] = first_line([a.pagegrab, "-V"])
    meta["git"] = rev
    print("pagegrab benchmark, %s%s" % (meta["date"], "  (BENCH_QUICK)"
                                        if a.quick else ""))
    print("  machine   %d CPUs (%s), kernel %s" % (meta["cpus"], cpu,
                                                  meta["kernel"]))
    print("  pagegrab  %s (%s), git %s" % (a.pagegrab,
                                         meta["pagegrab_version"], rev))
    meta["peers"] = {}
    for name, argv in (("curl", ["curl", "--version"]),
                       ("wget2", ["wget2", "--version"]),
                       ("aria2c", ["aria2c", "--version"]),
                       ("nginx", ["nginx", "-v"]),
                       ("wrk", ["wrk", "-v"])):
        # wrk -v prints its version and the usage, and exits 1
        v = (first_line(argv, name == "wrk") if shutil.which(argv[0])
             else "not installed (%s)" % ("no latency ceiling"
                                          if name == "wrk"
                                          else "rows skipped"))
        meta["peers"][name] = v
        print("  %-9s %s" % (name, v))
    print("  server    nginx on 127.0.0.1:%d, 2 workers, sendfile, "
          "keepalive_requests 100000, access_log off" % a.port)
    if a.delay_port:
        print("  latency   second nginx on 127.0.0.1:%d, +%.0f ms per "
              "request (%s)" % (a.delay_port, a.delay * 1000, a.delay_how))
    else:
        print("  latency   no delaying server: %s" % a.delay_why)
    print("  outputs   %s" % (a.fs_type or a.fs))
    meta["outputs"] = a.fs_type or a.fs
    meta["runs"] = a.runs
    meta["quick"] = bool(a.quick)
    meta["timeout_s"] = a.timeout
    print("  timing    wall: median of %d run%s, tools alternating; a run "
          "is killed after %d s (memory: longer)"
          % (a.runs, "s" if a.runs > 1 else "", a.timeout))
    print("  CPU       user+sys of the tool's whole process tree "
          "(getrusage of the waited-for children)")
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
    print("  treePSS   peak of the summed PSS of every process of the tree, "
          "sampled every %.1f s (first after 10 ms)%s" % (SAMPLE_EVERY,
                                      "" if a.sample else " (disabled)"))
    busy = cpu_busy()
    meta["busy_pct_before"] = round(busy, 1)
    print("  busy      CPUs %.0f%% busy over 1 s before the start, load "
          "average %s%s" % (busy, " ".join(open("/proc/loadavg").read()
                                          .split()[:3]),
                            "" if busy < 10 else
                            "  <-- something else is running: figures "
                            "will be noisy"))
    b.describe_modes()
    meta["modes"] = {s: [mode_spec(m) for m in b.modes[s]]
                     for s in DEFAULT_MODES}
    meta["concurrency"] = CONC
    return meta


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
    ap.add_argument("--results", help="directory for results.{txt,json,csv}"
                    " and logs/")
    ap.add_argument("--fs-type", default="")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--timeout", type=int, default=120,
                    help="seconds before a run is killed")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--small", type=int, default=10000)
    ap.add_argument("--large", type=int, default=200)
    ap.add_argument("--latency", type=int, default=2000)
    ap.add_argument("--memory", default="200000")
    ap.add_argument("--memory-modes", default="",
                    help="MODE:JOBS:K list (BENCH_PG_MODES_MEMORY wins)")
    ap.add_argument("--scenarios", default="small,large,gallery,latency,memory")
    ap.add_argument("--no-sample", dest="sample", action="store_false")
    a = ap.parse_args()
    if a.free_port:
        print(free_port())
        return 0
    if a.probe:
        return probe(a.probe)
    a.memory = [int(x) for x in a.memory.split(",") if x.strip()]
    for k in ("fs", "site", "pagegrab", "results"):
        setattr(a, k, os.path.abspath(getattr(a, k)))

    for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(s, on_signal)
    os.makedirs(a.results, exist_ok=True)
    report = open(os.path.join(a.results, "results.txt"), "w")
    sys.stdout = Tee(sys.stdout, report)
    b = Bench(a)
    meta = header(a, b)
    known = ("small", "large", "gallery", "latency", "memory")
    try:
        for scen in a.scenarios.split(","):
            scen = scen.strip()
            if scen in known:
                getattr(b, scen)()
            elif scen:
                print("\n== %s: unknown scenario (known: %s)"
                      % (scen, ", ".join(known)))
    except Stop as e:
        print("\nbench.py: stopped (%s); partial results follow" % e)
    T = []
    if b.rows:
        b.summary()
        T = b.targets()
        b.print_targets(T)
    bad = [r for r in b.rows if not r.verified]
    if bad:
        print("\nFAILED (not used for ratios or targets; logs in %s): %s"
              % (b.logdir, ", ".join("%s/%s [%s]" % (r.scenario, r.tool,
                                                      r.status)
                                     for r in bad)))
    meta["wrk_ceiling_rps"] = jnum(b.wrk_rps, 1) if b.wrk_rps else None
    meta["wrk_args"] = WRK_ARGS
    if not b.wrk_rps:
        meta["wrk_why"] = b.wrk_why
    b.write_files(meta, T)
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
