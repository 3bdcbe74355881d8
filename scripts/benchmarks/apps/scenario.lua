-- wrk script for scripts/bench. Arguments (after `--`): mode [ids_file [order]]
--   mode: plain | get | create | message
--   ids_file: one UUID per line (tickets for get/message, customers for create)
--   order: random (default: any id, any number of times) | walk (each thread walks its own
--     stretch of the file from a random start, so no id repeats until a stretch is used up:
--     reads that must miss a cache)
-- get requests `<url path><id>`, or /api/v1/tickets/<id> when the url path is `/`.
-- The API key comes from the BENCH_TOKEN environment variable (kept out of argv).
-- done() prints one line `BENCH_JSON {...}` that scripts/bench parses.

local mode = "plain"
local ids = {}
local order = "random"
local position = 0
local prefix = "/api/v1/tickets/"
local thread_number = 0

function setup(thread)
  thread:set("thread_index", thread_number)
  thread_number = thread_number + 1
end

function init(args)
  mode = args[1] or "plain"
  if args[2] then
    for line in io.lines(args[2]) do
      if #line > 0 then ids[#ids + 1] = line end
    end
  end
  local token = os.getenv("BENCH_TOKEN")
  if token and #token > 0 then
    wrk.headers["Authorization"] = "Bearer " .. token
  end
  wrk.headers["Accept"] = "application/json"
  if wrk.path ~= "/" then prefix = wrk.path end
  order = args[3] or "random"
  local index = thread_index or 0
  if order == "walk" and #ids > 0 then
    -- the same random start in every thread (seeded by the second), then evenly spaced
    math.randomseed(os.time())
    local threads = tonumber(os.getenv("BENCH_THREADS") or "1")
    position = (math.random(#ids) + index * math.floor(#ids / threads)) % #ids
  end
  math.randomseed(os.time() + index * 7919 + math.floor(os.clock() * 1000000))
end

local function pick()
  if order == "walk" then
    position = position % #ids + 1
    return ids[position]
  end
  return ids[math.random(#ids)]
end

function request()
  if mode == "get" then
    return wrk.format("GET", prefix .. pick())
  elseif mode == "create" then
    wrk.headers["Content-Type"] = "application/json"
    local body = '{"title":"Bench: cannot open the invoice PDF","description":'
      .. '"The download starts but the file is empty.","priority":"normal","customer_id":"'
      .. pick() .. '"}'
    return wrk.format("POST", "/api/v1/tickets", nil, body)
  elseif mode == "message" then
    wrk.headers["Content-Type"] = "application/json"
    local body = '{"message":"Thanks, we are looking into it.","is_internal":false}'
    return wrk.format("POST", "/api/v1/tickets/" .. pick() .. "/conversations", nil, body)
  end
  return wrk.request()
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"status_errors":%d,"connect_errors":%d,'
      .. '"read_errors":%d,"write_errors":%d,"timeouts":%d,"p50_us":%d,"p90_us":%d,'
      .. '"p99_us":%d,"max_us":%d,"mean_us":%.1f}\n',
    summary.requests, summary.duration, e.status, e.connect, e.read, e.write, e.timeout,
    latency:percentile(50.0), latency:percentile(90.0), latency:percentile(99.0),
    latency.max, latency.mean))
end
