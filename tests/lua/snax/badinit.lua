-- Declaration error: init must be a function.
init = "not a function"
