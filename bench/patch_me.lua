-- wrk script: PATCH /api/v1/me with a new phone number each request (one transaction:
-- the profile row and its audit record), signed in with the token given after `--`.
local counter = 0
local token = ""

function init(args)
  token = args[1]
  counter = math.random(0, 9999999)
end

function request()
  counter = counter + 1
  local body = string.format('{"phone":"+1 555 %07d"}', counter % 10000000)
  return wrk.format("PATCH", "/api/v1/me",
    {["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. token}, body)
end
