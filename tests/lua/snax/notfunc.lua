-- Declaration error: a method that is not a function.
accept.value = 42
