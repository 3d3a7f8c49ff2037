-- wrk script: POST receipts to /dossiers, each for one of N receiving agencies chosen at random per request.
--   wrk -s bench/receipts.lua URL -- AGENCIES TOKEN
-- Prints one JSON line at the end (requests, seconds, p50/p95 in ms, errors) for bench/run.py to read.
local agencies = {}
local token = ""

function init(args)
  local n = tonumber(args[1] or "1")
  token = args[2] or ""
  for i = 0, n - 1 do
    agencies[#agencies + 1] = string.format("000.00.%02d.H56", 10 + i)
  end
  math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16))
end

local template = '{"procedure_code":"1.001193","receiving_agency_code":"%s","receiving_level":"commune",'
  .. '"channel":"online","applicant":{"kind":"person","id_code":"0012040%05d","name":"Nguyễn Văn A"},'
  .. '"components":[{"code":"GKS","form":"electronic","digitised":true}]}'

function request()
  local body = string.format(template, agencies[math.random(#agencies)], math.random(0, 99999))
  local headers = {["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. token}
  return wrk.format("POST", "/dossiers", headers, body)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests":%d,"seconds":%.3f,"p50_ms":%.2f,"p95_ms":%.2f,"non_2xx":%d,"socket_errors":%d}\n',
    summary.requests, summary.duration / 1e6, latency:percentile(50) / 1000, latency:percentile(95) / 1000,
    e.status, e.connect + e.read + e.write + e.timeout))
end
