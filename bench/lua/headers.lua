-- Adds the headers named in AGORA_BENCH_HEADERS ("Name: value|Name: value") to every request.
local spec = os.getenv("AGORA_BENCH_HEADERS") or ""
for pair in string.gmatch(spec, "[^|]+") do
  local name, value = string.match(pair, "^%s*([^:]+):%s*(.*)$")
  if name then wrk.headers[name] = value end
end
