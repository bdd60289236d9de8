-- sproto: schema objects, message encoding and the host/attach RPC layer, on top of the
-- native sproto.core (docs/LIBRARIES.md, "sproto"). Same API as skynet's lualib/sproto.lua.
local core = require "sproto.core"

local assert = assert
local setmetatable = setmetatable
local tonumber = tonumber

local sproto = {}
local host = {}

local method_index = { __index = sproto }
-- A schema made by sproto.new is ours to free; one wrapped by sharenew (a loader slot) is not.
local owning_mt = { __index = sproto, __gc = function(self) core.deleteproto(self.__cobj) end }
local shared_mt = method_index
local host_mt = { __index = host }
local weak = { __mode = "kv" }

local function wrap(cobj, mt)
	return setmetatable({
		__cobj = cobj,
		__tcache = setmetatable({}, weak),
		__pcache = setmetatable({}, weak),
	}, mt)
end

function sproto.new(bin)
	return wrap(assert(core.newproto(bin)), owning_mt)
end

function sproto.sharenew(cobj)
	return wrap(cobj, shared_mt)
end

function sproto.parse(text)
	return sproto.new(require("sprotoparser").parse(text))
end

local function type_of(self, typename)
	local st = self.__tcache[typename]
	if st == nil then
		st = assert(core.querytype(self.__cobj, typename), "type not found")
		self.__tcache[typename] = st
	end
	return st
end

-- { request =, response =, name =, tag = } of a protocol given by name or tag, cached both ways.
local function proto_of(self, key)
	local p = self.__pcache[key]
	if p ~= nil then
		return p
	end
	local other, request, response = core.protocol(self.__cobj, key)
	assert(other, key .. " not found")
	local name, tag = key, other
	if tonumber(key) then
		name, tag = other, key
	end
	p = { request = request, response = response, name = name, tag = tag }
	self.__pcache[name] = p
	self.__pcache[tag] = p
	return p
end
sproto.queryproto = proto_of

function sproto:host(packagename)
	packagename = packagename or "package"
	return setmetatable({
		__proto = self,
		__package = assert(core.querytype(self.__cobj, packagename), "type package not found"),
		__session = {},
	}, host_mt)
end

function sproto:exist_type(typename)
	if self.__tcache[typename] ~= nil then
		return true
	end
	return core.querytype(self.__cobj, typename) ~= nil
end

function sproto:exist_proto(key)
	if self.__pcache[key] ~= nil then
		return true
	end
	return core.protocol(self.__cobj, key) ~= nil
end

function sproto:encode(typename, t)
	return core.encode(type_of(self, typename), t)
end

function sproto:decode(typename, ...)
	return core.decode(type_of(self, typename), ...)
end

function sproto:pencode(typename, t)
	return core.pack(core.encode(type_of(self, typename), t))
end

function sproto:pdecode(typename, ...)
	return core.decode(type_of(self, typename), core.unpack(...))
end

function sproto:request_encode(key, t)
	local p = proto_of(self, key)
	if p.request then
		return core.encode(p.request, t), p.tag
	end
	return "", p.tag
end

function sproto:response_encode(key, t)
	local p = proto_of(self, key)
	if p.response then
		return core.encode(p.response, t)
	end
	return ""
end

function sproto:request_decode(key, ...)
	local p = proto_of(self, key)
	if p.request then
		return core.decode(p.request, ...), p.name
	end
	return nil, p.name
end

function sproto:response_decode(key, ...)
	local p = proto_of(self, key)
	if p.response then
		return core.decode(p.response, ...)
	end
end

sproto.pack = core.pack
sproto.unpack = core.unpack

function sproto:default(typename, which)
	if which == nil then
		return core.default(type_of(self, typename))
	end
	local p = proto_of(self, typename)
	if which == "REQUEST" then
		if p.request then
			return core.default(p.request)
		end
	elseif which == "RESPONSE" then
		if p.response then
			return core.default(p.response)
		end
	else
		error "Invalid type"
	end
end

-- The package header is encoded from one reused table: its fields are all set on every use.
local header = {}

local function responder(self, response, session)
	return function(args, ud)
		header.type, header.session, header.ud = nil, session, ud
		local head = core.encode(self.__package, header)
		if response then
			return core.pack(head .. core.encode(response, args))
		end
		return core.pack(head)
	end
end

function host:dispatch(...)
	local bin = core.unpack(...)
	header.type, header.session, header.ud = nil, nil, nil
	local head, used = core.decode(self.__package, bin, header)
	local body = bin:sub(used + 1)
	if head.type then
		local p = proto_of(self.__proto, head.type)
		local args
		if p.request then
			args = core.decode(p.request, body)
		end
		local respond
		if head.session then
			respond = responder(self, p.response, head.session)
		end
		return "REQUEST", p.name, args, respond, head.ud
	end
	local session = assert(head.session, "session not found")
	local expected = assert(self.__session[session], "Unknown session")
	self.__session[session] = nil
	if expected == true then
		return "RESPONSE", session, nil, head.ud
	end
	return "RESPONSE", session, core.decode(expected, body), head.ud
end

function host:attach(sp)
	return function(name, args, session, ud)
		local p = proto_of(sp, name)
		header.type, header.session, header.ud = p.tag, session, ud
		local head = core.encode(self.__package, header)
		if session then
			self.__session[session] = p.response or true
		end
		if p.request then
			return core.pack(head .. core.encode(p.request, args))
		end
		return core.pack(head)
	end
end

return sproto
