-- Declares response.a, accept.b, response.c in that order and no init or exit: ids 5, 6, 7.
function response.a()
  return "a", 5
end

function accept.b()
end

function response.c()
  return "c", 7
end
