-- wrk script: GETs index.html and app.js of one site in turn and counts every answer that is not
-- 200 or whose body is not exactly one of the two published versions (a torn or mixed file).
local paths = { "/s/swap/index.html", "/s/swap/app.js" }
local expected = {}
local threads = {}
local counter = 0

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  -- args: the four bodies (index A, index B, app A, app B), read from files given by path
  for i = 1, 4 do
    local f = assert(io.open(args[i], "rb"))
    expected[i] = f:read("*a")
    f:close()
  end
  errors, torn, checked = 0, 0, 0
end

function request()
  counter = counter + 1
  return wrk.format("GET", paths[(counter % 2) + 1])
end

function response(status, headers, body)
  checked = checked + 1
  if status ~= 200 then
    errors = errors + 1
  elseif body ~= expected[1] and body ~= expected[2] and body ~= expected[3] and body ~= expected[4] then
    torn = torn + 1
  end
end

function done(summary, latency, requests)
  local e, t, c = 0, 0, 0
  for _, thread in ipairs(threads) do
    e = e + thread:get("errors")
    t = t + thread:get("torn")
    c = c + thread:get("checked")
  end
  io.write(string.format("checked %d responses: %d not 200, %d torn or unknown bodies, %d socket errors\n",
    c, e, t, summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.status + summary.errors.timeout))
end
