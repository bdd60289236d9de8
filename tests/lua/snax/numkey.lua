-- Declaration error: a method key that is not a string.
response[1] = function() end
