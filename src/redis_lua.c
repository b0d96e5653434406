/*
 * redis_lua.c - the Lua scripts of the shared frontier (frontier_redis.c
 * runs them; README "Running on many machines" describes the keys).
 *
 * Every script takes no KEYS and ARGV[1] = the job's key prefix
 * "pagegrab:{NAME}:" (one hash tag: the keys of a job stay together),
 * and reads the time from the server (TIME; Redis 7 replicates a
 * script's effects, so that is allowed).  Times are milliseconds.
 *
 * Keys under the prefix:
 *   config      HASH  shape (the crawl-shaping options), created
 *   seen        SET   16-hex FNV-1a 64 of every normalised URL queued
 *   q:ORIGIN    LIST  records waiting, per origin
 *   hosts       ZSET  origins with records that may be claimed, scored
 *                     by when (not at their --per-host limit)
 *   h:ORIGIN    HASH  inflight, next (the --wait / Crawl-delay /
 *                     Retry-After time)
 *   gap         HASH  ORIGIN -> its robots.txt's Crawl-delay (ms)
 *   leases      ZSET  URL -> deadline
 *   lease       HASH  URL -> INSTANCE \x1f record
 *   att         HASH  URL -> leases taken so far
 *   i:INSTANCE  SET   the URLs it holds (renewed together)
 *   is:INSTANCE HASH  ok, failed (its records)
 *   insts       ZSET  INSTANCE -> last seen
 *   stats       HASH  queued, ok, failed, dead, reclaimed
 *   dead        LIST  URLs that ended failed
 *   seeders     ZSET  INSTANCE -> deadline, while it seeds
 *   seeded      STRING set once a seeding instance read all its input
 *   scope       SET   the input URLs' hosts (pages are followed there)
 *   stop        STRING set by `pagegrab fleet stop`
 *
 * A record: url \x1f origin \x1f kind \x1f depth \x1f flags \x1f line
 * \x1f input_url \x1f referrer.
 */
#include "redis_lua.h"

#define PRELUDE \
"local P = ARGV[1]\n" \
"local function now_ms()\n" \
"  local t = redis.call('TIME')\n" \
"  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n" \
"end\n" \
"local function origin_of(rec)\n" \
"  return string.match(rec, '^[^\\031]*\\031([^\\031]*)')\n" \
"end\n" \
"local function num(v)\n" \
"  return tonumber(v or '0') or 0\n" \
"end\n" \
/* No request to o starts before `at` (ms): next, and the hosts score. */ \
"local function hold(o, at)\n" \
"  local hk = P .. 'h:' .. o\n" \
"  if at > num(redis.call('HGET', hk, 'next')) then\n" \
"    redis.call('HSET', hk, 'next', at)\n" \
"    if redis.call('ZSCORE', P .. 'hosts', o) then\n" \
"      redis.call('ZADD', P .. 'hosts', at, o)\n" \
"    end\n" \
"  end\n" \
"end\n" \
/* o's gap between two starts: --wait (w), at least its Crawl-delay. */ \
"local function gap_of(o, w)\n" \
"  return math.max(w, num(redis.call('HGET', P .. 'gap', o)))\n" \
"end\n" \
/* hosts holds o exactly when o has records and room under --per-host. */ \
"local function place(o, per_host, now)\n" \
"  local hk = P .. 'h:' .. o\n" \
"  local n = redis.call('LLEN', P .. 'q:' .. o)\n" \
"  local inf = num(redis.call('HGET', hk, 'inflight'))\n" \
"  local nx = num(redis.call('HGET', hk, 'next'))\n" \
"  if n == 0 or (per_host > 0 and inf >= per_host) then\n" \
"    redis.call('ZREM', P .. 'hosts', o)\n" \
"    if n == 0 and inf <= 0 and nx <= now then redis.call('DEL', hk) end\n" \
"    return\n" \
"  end\n" \
"  redis.call('ZADD', P .. 'hosts', nx, o)\n" \
"end\n" \
/* Expired leases: queued again at the front, or dead (out: D entries). */ \
"local function reclaim(inst, now, maxc, per_host, out)\n" \
"  local exp = redis.call('ZRANGEBYSCORE', P .. 'leases', '-inf', now,\n" \
"                         'LIMIT', 0, 100)\n" \
"  for _, url in ipairs(exp) do\n" \
"    local v = redis.call('HGET', P .. 'lease', url)\n" \
"    redis.call('ZREM', P .. 'leases', url)\n" \
"    redis.call('HDEL', P .. 'lease', url)\n" \
"    if v then\n" \
"      local owner, rec = string.match(v, '^([^\\031]*)\\031(.*)$')\n" \
"      local o = origin_of(rec)\n" \
"      redis.call('SREM', P .. 'i:' .. owner, url)\n" \
"      redis.call('HINCRBY', P .. 'h:' .. o, 'inflight', -1)\n" \
"      redis.call('HINCRBY', P .. 'stats', 'reclaimed', 1)\n" \
"      local a = num(redis.call('HGET', P .. 'att', url))\n" \
"      if a >= maxc then\n" \
"        redis.call('HDEL', P .. 'att', url)\n" \
"        redis.call('RPUSH', P .. 'dead', url)\n" \
"        redis.call('HINCRBY', P .. 'stats', 'dead', 1)\n" \
"        redis.call('HINCRBY', P .. 'stats', 'failed', 1)\n" \
"        redis.call('HINCRBY', P .. 'is:' .. inst, 'failed', 1)\n" \
"        out[#out + 1] = 'D'; out[#out + 1] = rec; out[#out + 1] = a\n" \
"      else\n" \
"        redis.call('LPUSH', P .. 'q:' .. o, rec)\n" \
"        redis.call('HINCRBY', P .. 'stats', 'queued', 1)\n" \
"      end\n" \
"      place(o, per_host, now)\n" \
"    end\n" \
"  end\n" \
"end\n"

/*
 * The end of a script that leases URLs or records results (claim, state,
 * complete): body() runs once per call.  The caller's sequence number is the last ARGV; a call
 * whose reply was lost (Redis went away after running it) is sent again
 * with the same number and gets the stored answer, not new leases: a
 * lease nobody knows of would be renewed forever and the job would
 * never end.
 */
#define ONCE(tag) \
"local lk = P .. '" tag ":' .. ARGV[2]\n" \
"local seq = ARGV[#ARGV]\n" \
"if redis.call('HGET', lk, 'seq') == seq then\n" \
"  return cjson.decode(redis.call('HGET', lk, 'out'))\n" \
"end\n" \
"local out = body()\n" \
"redis.call('HSET', lk, 'seq', seq, 'out', cjson.encode(out))\n" \
"return out\n"

/* ARGV: P, inst, shape, seeding (0/1), lease_ms.
 * -> {"ok"|"shape"|"stop", the job's shape} */
const char pg__lua_join[] = PRELUDE
"local inst, shape, seeding, lease = ARGV[2], ARGV[3], ARGV[4],\n"
"  tonumber(ARGV[5])\n"
"local now = now_ms()\n"
"local cur = redis.call('HGET', P .. 'config', 'shape')\n"
"if cur and cur ~= shape then return {'shape', cur} end\n"
"if redis.call('EXISTS', P .. 'stop') == 1 then return {'stop', ''} end\n"
"if not cur then\n"
"  redis.call('HSET', P .. 'config', 'shape', shape, 'created', now)\n"
"end\n"
"if seeding == '1' then\n"
"  redis.call('ZADD', P .. 'seeders', now + lease, inst)\n"
"end\n"
"redis.call('ZADD', P .. 'insts', now, inst)\n"
"return {'ok', ''}\n";

/* ARGV: P, per_host, k, k hosts in scope (the input URLs' hosts), then
 * (hash, origin, record)... -> how many new */
const char pg__lua_seed[] = PRELUDE
"local per_host, k = tonumber(ARGV[2]), tonumber(ARGV[3])\n"
"local now = now_ms()\n"
"for j = 4, 3 + k do redis.call('SADD', P .. 'scope', ARGV[j]) end\n"
"local n, i, touched = 0, 4 + k, {}\n"
"while i + 2 <= #ARGV do\n"
"  if redis.call('SADD', P .. 'seen', ARGV[i]) == 1 then\n"
"    redis.call('RPUSH', P .. 'q:' .. ARGV[i + 1], ARGV[i + 2])\n"
"    touched[ARGV[i + 1]] = true\n"
"    n = n + 1\n"
"  end\n"
"  i = i + 3\n"
"end\n"
"if n > 0 then redis.call('HINCRBY', P .. 'stats', 'queued', n) end\n"
"for o in pairs(touched) do place(o, per_host, now) end\n"
"return n\n";

/* ARGV: P, inst, n, lease_ms, per_host, wait_ms, max_claims, seq
 * -> {stopped, ms until a host is due (0 = none), hosts in scope, then
 *    (kind "L"|"D", record, leases taken)...} */
const char pg__lua_claim[] = PRELUDE
"local function body()\n"
"local inst = ARGV[2]\n"
"local n, lease, per_host = tonumber(ARGV[3]), tonumber(ARGV[4]),\n"
"  tonumber(ARGV[5])\n"
"local wait, maxc = tonumber(ARGV[6]), tonumber(ARGV[7])\n"
"local now = now_ms()\n"
"local out = {0, 0, redis.call('SCARD', P .. 'scope')}\n"
"reclaim(inst, now, maxc, per_host, out)\n"
"redis.call('ZADD', P .. 'insts', now, inst)\n"
"if redis.call('EXISTS', P .. 'stop') == 1 then out[1] = 1; return out end\n"
"local got = 0\n"
"local hosts = redis.call('ZRANGEBYSCORE', P .. 'hosts', '-inf', now,\n"
"                         'LIMIT', 0, 64)\n"
"for _, o in ipairs(hosts) do\n"
"  if got >= n then break end\n"
"  local hk = P .. 'h:' .. o\n"
"  local inf = num(redis.call('HGET', hk, 'inflight'))\n"
"  local w = gap_of(o, wait)\n"
"  local take = n - got\n"
"  if w > 0 then take = 1 end\n"
"  if per_host > 0 and per_host - inf < take then take = per_host - inf end\n"
"  local k = 0\n"
"  while k < take do\n"
"    local rec = redis.call('LPOP', P .. 'q:' .. o)\n"
"    if not rec then break end\n"
"    local url = string.match(rec, '^([^\\031]*)')\n"
"    local a = redis.call('HINCRBY', P .. 'att', url, 1)\n"
"    redis.call('ZADD', P .. 'leases', now + lease, url)\n"
"    redis.call('HSET', P .. 'lease', url, inst .. '\\031' .. rec)\n"
"    redis.call('SADD', P .. 'i:' .. inst, url)\n"
"    out[#out + 1] = 'L'; out[#out + 1] = rec; out[#out + 1] = a\n"
"    k = k + 1\n"
"  end\n"
"  if k > 0 then\n"
"    got = got + k\n"
"    redis.call('HINCRBY', hk, 'inflight', k)\n"
"    redis.call('HINCRBY', P .. 'stats', 'queued', -k)\n"
"    if w > 0 then redis.call('HSET', hk, 'next', now + w) end\n"
"  end\n"
"  place(o, per_host, now)\n"
"end\n"
"if got == 0 then\n"
"  local e = redis.call('ZRANGE', P .. 'hosts', 0, 0, 'WITHSCORES')\n"
"  if e[2] then out[2] = math.max(1, tonumber(e[2]) - now) end\n"
"end\n"
"return out\n"
"end\n"
ONCE("lc");

/* ARGV: P, inst, per_host, wait_ms, then per completion: url,
 * "ok"|"failed"|"release", n, and n links (mode "q"|"r", hash, origin,
 * record); seq.  A page's result and its links are recorded together;
 * its host's next start is also no earlier than wait_ms (or the origin's
 * Crawl-delay if larger, as in claim) after this end (so the gap holds
 * at the server whatever the instances' dispatch times).  The hosts a
 * batch touched are placed once, at its end.
 * -> per completion: 1 if the lease was ours, then per link 1 if new */
const char pg__lua_complete[] = PRELUDE
"local function finish(inst, url, res, wait, now, touched)\n"
"  local v = redis.call('HGET', P .. 'lease', url)\n"
"  if not v or string.sub(v, 1, #inst + 1) ~= inst .. '\\031' then\n"
"    return 0\n"
"  end\n"
"  local rec = string.sub(v, #inst + 2)\n"
"  local o = origin_of(rec)\n"
"  redis.call('ZREM', P .. 'leases', url)\n"
"  redis.call('HDEL', P .. 'lease', url)\n"
"  redis.call('SREM', P .. 'i:' .. inst, url)\n"
"  redis.call('HINCRBY', P .. 'h:' .. o, 'inflight', -1)\n"
"  local w = gap_of(o, wait)\n"
"  if w > 0 and now + w > num(redis.call('HGET', P .. 'h:' .. o,\n"
"                                        'next')) then\n"
"    redis.call('HSET', P .. 'h:' .. o, 'next', now + w)\n"
"  end\n"
"  if res == 'release' then\n"
"    redis.call('LPUSH', P .. 'q:' .. o, rec)\n"
"    redis.call('HINCRBY', P .. 'stats', 'queued', 1)\n"
"    redis.call('HINCRBY', P .. 'att', url, -1)\n"
"  else\n"
"    redis.call('HDEL', P .. 'att', url)\n"
"    redis.call('HINCRBY', P .. 'stats', res, 1)\n"
"    redis.call('HINCRBY', P .. 'is:' .. inst, res, 1)\n"
"    if res == 'failed' then\n"
"      redis.call('RPUSH', P .. 'dead', url)\n"
"      redis.call('HINCRBY', P .. 'stats', 'dead', 1)\n"
"    end\n"
"  end\n"
"  touched[o] = true\n"
"  return 1\n"
"end\n"
"local function body()\n"
"local inst = ARGV[2]\n"
"local per_host, wait = tonumber(ARGV[3]), tonumber(ARGV[4])\n"
"local now = now_ms()\n"
"local out, touched, nq = {}, {}, 0\n"
"local i = 5\n"
"while i + 2 < #ARGV do\n"
"  local own = finish(inst, ARGV[i], ARGV[i + 1], wait, now, touched)\n"
"  local nl = tonumber(ARGV[i + 2])\n"
"  out[#out + 1] = own\n"
"  i = i + 3\n"
"  for _ = 1, nl do\n"
"    local new = 0\n"
"    if own == 1 and redis.call('SADD', P .. 'seen', ARGV[i + 1]) == 1 then\n"
"      new = 1\n"
"      if ARGV[i] == 'q' then\n"
"        redis.call('RPUSH', P .. 'q:' .. ARGV[i + 2], ARGV[i + 3])\n"
"        touched[ARGV[i + 2]] = true\n"
"        nq = nq + 1\n"
"      end\n"
"    end\n"
"    out[#out + 1] = new\n"
"    i = i + 4\n"
"  end\n"
"end\n"
"if nq > 0 then redis.call('HINCRBY', P .. 'stats', 'queued', nq) end\n"
"for o in pairs(touched) do place(o, per_host, now) end\n"
"return out\n"
"end\n"
ONCE("lq");

/* ARGV: P, inst, lease_ms, seeding -> leases renewed */
const char pg__lua_renew[] = PRELUDE
"local inst, lease, seeding = ARGV[2], tonumber(ARGV[3]), ARGV[4]\n"
"local now = now_ms()\n"
"local urls = redis.call('SMEMBERS', P .. 'i:' .. inst)\n"
"for _, u in ipairs(urls) do\n"
"  redis.call('ZADD', P .. 'leases', 'XX', now + lease, u)\n"
"end\n"
"if seeding == '1' then\n"
"  redis.call('ZADD', P .. 'seeders', now + lease, inst)\n"
"end\n"
"redis.call('ZADD', P .. 'insts', now, inst)\n"
"return #urls\n";

/* ARGV: P, inst -> 1 */
const char pg__lua_seeded[] = PRELUDE
"redis.call('ZREM', P .. 'seeders', ARGV[2])\n"
"redis.call('SET', P .. 'seeded', '1')\n"
"return 1\n";

/* ARGV: P, inst, max_claims, per_host, seq
 * -> {queued, leased, seeded, seeders, stopped, then D entries} */
const char pg__lua_state[] = PRELUDE
"local function body()\n"
"local inst, maxc, per_host = ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])\n"
"local now = now_ms()\n"
"local out = {0, 0, 0, 0, 0}\n"
"reclaim(inst, now, maxc, per_host, out)\n"
"redis.call('ZREMRANGEBYSCORE', P .. 'seeders', '-inf', now)\n"
"redis.call('ZADD', P .. 'insts', now, inst)\n"
"out[1] = num(redis.call('HGET', P .. 'stats', 'queued'))\n"
"out[2] = redis.call('ZCARD', P .. 'leases')\n"
"out[3] = redis.call('EXISTS', P .. 'seeded')\n"
"out[4] = redis.call('ZCARD', P .. 'seeders')\n"
"out[5] = redis.call('EXISTS', P .. 'stop')\n"
"return out\n"
"end\n"
ONCE("ls");

/* ARGV: P, origin, ms[, "gap"]: no instance starts a request there
 * before ms from now (with "gap": a request started here now, after its
 * claim; ms is --wait, and the origin's Crawl-delay if larger). */
const char pg__lua_hold[] = PRELUDE
"local ms = tonumber(ARGV[3])\n"
"if ARGV[4] == 'gap' then ms = gap_of(ARGV[2], ms) end\n"
"hold(ARGV[2], now_ms() + ms)\n"
"return 1\n";

/* ARGV: P, origin, ms: its robots.txt's Crawl-delay, for every
 * instance's claims from now on (and the next one ms from now). */
const char pg__lua_gap[] = PRELUDE
"local o, ms = ARGV[2], tonumber(ARGV[3])\n"
"redis.call('HSET', P .. 'gap', o, ms)\n"
"hold(o, now_ms() + ms)\n"
"return 1\n";
