-- wrk script of the provisioning benchmark: every request asks for a path
-- drawn at random from the file named by PATHS_FILE (one path per line),
-- and `done` prints one machine-readable RESULT line for bench/provisioning.ts.
--
-- The paths are kept in one string of fixed-width records (padded with
-- spaces), not in a table of strings: LuaJIT's collector traverses a table
-- in one step, and with a million paths its cycles stalled wrk's threads
-- (against a trivial server: p99 229-247 ms with the table, 3.7 ms with
-- this), which counted as the server's latency in the million-device rows
-- and slowed only those rows. A record is cut out with string.sub first:
-- string.match from a start position was slow on a string this long.
local width = 0
local count = 0
local blob
do
  local lines = {}
  for line in io.lines(os.getenv("PATHS_FILE")) do
    count = count + 1
    lines[count] = line
    if #line > width then width = #line end
  end
  for i = 1, count do
    lines[i] = lines[i] .. string.rep(" ", width - #lines[i])
  end
  blob = table.concat(lines)
  lines = nil
  collectgarbage("collect")
end

function init(args)
  -- Each wrk thread has its own Lua state: seed each differently.
  math.randomseed(os.time() + math.floor(os.clock() * 1000000) + #tostring({}))
end

function request()
  local start = (math.random(count) - 1) * width + 1
  local record = string.sub(blob, start, start + width - 1)
  return wrk.format("GET", string.match(record, "^%S+"))
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT requests=%d duration_us=%d p50_us=%d p99_us=%d non2xx=%d socket_errors=%d\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.status, e.connect + e.read + e.write + e.timeout))
end
