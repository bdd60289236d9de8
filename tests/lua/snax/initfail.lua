-- init raises: the launcher of the service gets call failed, the service stays alive.
function response.ping()
  return "pong"
end

function init()
  error("init refused")
end
