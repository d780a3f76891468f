-- POST /api/v1/orders as many customers (tokens rotate) for a rotating set of products.
-- AGORA_BENCH_TOKENS and AGORA_BENCH_PRODUCTS are comma-separated lists.
local tokens, products = {}, {}
for token in string.gmatch(os.getenv("AGORA_BENCH_TOKENS") or "", "[^,]+") do tokens[#tokens + 1] = token end
for id in string.gmatch(os.getenv("AGORA_BENCH_PRODUCTS") or "", "[^,]+") do products[#products + 1] = id end
local counter = 0
local address = '"shippingAddress":{"name":"Bench","line1":"1 Load St","city":"Oslo","postalCode":"0150","country":"NO"}'

request = function()
  counter = counter + 1
  local product = products[(counter % #products) + 1]
  local token = tokens[(counter % #tokens) + 1]
  local body = '{"items":[{"productId":"' .. product .. '","quantity":1}],' .. address .. '}'
  return wrk.format("POST", "/api/v1/orders", {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. token,
  }, body)
end

-- Each wrk thread runs its own Lua state: count there, collect the counts in `done`.
local threads = {}
setup = function(thread) threads[#threads + 1] = thread end

statuses = {}
response = function(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

done = function(summary, latency, requests)
  local total = {}
  for _, thread in ipairs(threads) do
    for status, count in pairs(thread:get("statuses")) do total[status] = (total[status] or 0) + count end
  end
  for status, count in pairs(total) do io.write(string.format("status %d %d\n", status, count)) end
end
