-- The tally of an interop service's checks, in the lines the interop scripts read: each check
-- prints `INTEROP PASS <prefix><name>` or `INTEROP FAIL <prefix><name>: <why>`, done(word)
-- prints `INTEROP <word> <passed>/<checks>`. Printed, not logged: abort may retire the
-- logger before it wrote what was queued for it.
local checks = {}

function checks.new(prefix)
  prefix = prefix or ""
  local tally = { checks = 0, passed = 0 }
  -- record(name, ok, err): one check's outcome.
  function tally.record(name, ok, err)
    tally.checks = tally.checks + 1
    if ok then
      tally.passed = tally.passed + 1
      print("INTEROP PASS " .. prefix .. name)
    else
      print("INTEROP FAIL " .. prefix .. name .. ": " .. tostring(err))
    end
  end
  function tally.check(name, f)
    tally.record(name, pcall(f))
  end
  function tally.done(word)
    print(string.format("INTEROP %s %d/%d", word, tally.passed, tally.checks))
  end
  return tally
end

return checks
