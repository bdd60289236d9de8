-- Required by pkgsvc/init.lua through the service directory on package.path.
return { name = "pkgmod" }
