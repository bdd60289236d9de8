-- The loader case sets this file as `preload`: it runs in every Lua service created afterwards,
-- before the service's main chunk, with the service name and its arguments.
PRELOAD_ARGS = table.pack(...)
