-- sprotoparser: sproto schema text -> schema bundle (the binary sproto.core.newproto reads).
-- Same API and output as skynet's lualib/sprotoparser.lua (docs/LIBRARIES.md, "sproto"); it
-- needs LPeg (Debian's lua-lpeg).
local lpeg = require "lpeg"

local P, S, R, C, Ct, Cg, Cc, V, Cmt, Carg =
	lpeg.P, lpeg.S, lpeg.R, lpeg.C, lpeg.Ct, lpeg.Cg, lpeg.Cc, lpeg.V, lpeg.Cmt, lpeg.Carg

local concat, insert, sort = table.concat, table.insert, table.sort
local format = string.format

---------------------------------------------------------------------------------------------
-- Grammar. The match state (argument 1) counts lines: the furthest newline the matcher has
-- passed is where a syntax error is reported.

local function passed_newline(_, pos, state)
	if pos > state.pos then
		state.pos = pos
		state.line = state.line + 1
	end
	return pos
end

local newline = Cmt((P "\n" + P "\r\n") * Carg(1), passed_newline)
local comment = P "#" * (1 - newline) ^ 0 * (newline + P(-1))
local blank = S " \t" + newline + comment
local opt_blanks = blank ^ 0
local blanks = blank ^ 1

local ident = (R("az", "AZ") + P "_") * (R("az", "AZ", "09") + P "_") ^ 0
local dotted = ident * (P "." * ident) ^ 0
local number = R "09" ^ 1 / tonumber
-- `(key)`, `()` or `(n)`: the text inside, as written.
local suffix_body = P "(" * opt_blanks * C(R "09" ^ 1 + ident ^ 0) * opt_blanks * P ")"
local suffix_skip = P "(" * opt_blanks * (R "09" ^ 1 + ident ^ 0) * opt_blanks * P ")"

-- Items separated by blanks (none needed after a closing brace), blanks around the list.
local function list_of(item)
	return Ct(opt_blanks * (item * blanks) ^ 0 * item ^ 0 * opt_blanks)
end

local grammar = P {
	"document",
	field = Ct(Cg(Cc "field", "kind") * Cg(C(ident), "name") * blanks * Cg(number, "tag") * opt_blanks
		* P ":" * opt_blanks * Cg(P "*" * Cc(true), "array") ^ -1 * Cg(C(dotted), "typename")
		* (Cg(suffix_body, "suffix") * suffix_skip ^ 0) ^ -1),
	body = P "{" * list_of(V "field" + V "struct") * P "}",
	struct = Ct(Cg(Cc "type", "kind") * P "." * Cg(C(ident), "name") * opt_blanks * Cg(V "body", "items")),
	part = Ct(Cg(C(P "request" + P "response"), "which") * blanks
		* (Cg(C(dotted), "typename") + Cg(V "body", "items"))),
	protocol = Ct(Cg(Cc "protocol", "kind") * Cg(C(ident), "name") * blanks * Cg(number, "tag")
		* opt_blanks * P "{" * Cg(list_of(V "part"), "parts") * P "}"),
	document = list_of(V "struct" + V "protocol"),
}

local syntax_error = Cmt(Carg(1), function(_, _, state)
	error(format("syntax error at [%s] line (%d)", state.file or "", state.line))
end)

local document = opt_blanks * grammar * opt_blanks * P(-1) + syntax_error

---------------------------------------------------------------------------------------------
-- From the syntax tree to tables of types (full name -> fields sorted by tag) and protocols.

local builtin = { integer = 0, boolean = 1, string = 2, binary = 2, double = 3 }

local add_type

local function make_fields(types, fullname, items)
	local fields, names, tags = {}, {}, {}
	for _, item in ipairs(items) do
		if item.kind == "field" then
			if names[item.name] then
				error(format("redefine %s in type %s", item.name, fullname))
			end
			names[item.name] = true
			if tags[item.tag] then
				error(format("redefine tag %d in type %s", item.tag, fullname))
			end
			tags[item.tag] = true
			local f = { name = item.name, tag = item.tag, array = item.array, typename = item.typename }
			local suffix = item.suffix
			if suffix and f.array then
				if item.typename == "integer" then
					f.decimal = suffix
				else
					f.key = suffix
				end
			elseif suffix and suffix:match "^%d" then
				-- Without `*`, only a precision counts: on an integer; anything else fails as
				-- skynet's parser does. A `(key)` there is ignored.
				if item.typename ~= "integer" then
					assert(f.array)
				end
				f.decimal = suffix
			end
			insert(fields, f)
		else
			local nested = fullname .. "." .. item.name
			assert(types[nested] == nil, "redefined " .. nested)
			add_type(types, nested, item.items)
		end
	end
	sort(fields, function(a, b) return a.tag < b.tag end)
	return fields
end

function add_type(types, fullname, items)
	types[fullname] = make_fields(types, fullname, items)
end

local function make_protocol(types, node)
	local p = { tag = node.tag }
	for _, part in ipairs(node.parts) do
		local which = part.which
		if p[which] ~= nil then
			error(format("redefine %s in protocol %s", which, node.name))
		end
		local typename = part.typename
		if typename == nil then
			typename = node.name .. "." .. which
			add_type(types, typename, part.items)
		end
		if typename == "nil" then
			if which == "response" then
				p.confirm = true
			end
		else
			p[which] = typename
		end
	end
	return p
end

local function collect(tree)
	local types, protocols = {}, {}
	for _, node in ipairs(tree) do
		local set = node.kind == "type" and types or protocols
		assert(set[node.name] == nil, "redefined " .. node.name)
		if node.kind == "type" then
			add_type(types, node.name, node.items)
		else
			protocols[node.name] = make_protocol(types, node)
		end
	end
	return types, protocols
end

local function check_protocols(types, protocols)
	local by_tag = {}
	for name, p in pairs(protocols) do
		if by_tag[p.tag] then
			error(format("redefined protocol tag %d at %s", p.tag, name))
		end
		if p.request and not types[p.request] then
			error(format("Undefined request type %s in protocol %s", p.request, name))
		end
		if p.response and not types[p.response] then
			error(format("Undefined response type %s in protocol %s", p.response, name))
		end
		by_tag[p.tag] = true
	end
end

-- A field's type name, looked up from the innermost enclosing type outwards, then globally.
local function resolve(types, scope, name)
	if builtin[name] then
		return name
	end
	while scope do
		local candidate = scope .. "." .. name
		if types[candidate] then
			return candidate
		end
		scope = scope:match "^(.+)%.[^.]+$"
	end
	if types[name] then
		return name
	end
end

local function resolve_fields(types)
	for typename, fields in pairs(types) do
		for _, f in ipairs(fields) do
			local full = resolve(types, typename, f.typename)
			if full == nil then
				error(format("Undefined type %s in type %s", f.typename, typename))
			end
			f.typename = full
		end
	end
end

---------------------------------------------------------------------------------------------
-- The bundle: itself a sproto message (docs/LIBRARIES.md, "Schema bundle"). Every record writes
-- one entry per tag up to its last field, a one-tag skip standing for an absent one.

local SKIP = "\1\0"
local DATA = "\0\0"

-- string.pack is called by that name: a tag past 32766 fails as skynet's parser does,
-- "bad argument #2 to 'pack' (unsigned overflow)".
local function inline(v)
	return string.pack("<I2", (v + 1) * 2)
end

local function block(s)
	return string.pack("<s4", s)
end

local function entries(list)
	return string.pack("<I2", #list) .. concat(list)
end

-- `info` maps a type's full name to { index =, fields = { name -> { tag =, builtin = } } }.
local function pack_field(f, info)
	local e = { DATA }
	local code = builtin[f.typename]
	local target = code == nil and info[f.typename] or nil
	if code then
		insert(e, inline(code))
		local extra = f.decimal
		if f.typename == "binary" then
			extra = 1
		end
		insert(e, extra and inline(extra) or SKIP)
	else
		insert(e, SKIP)
		insert(e, inline(target.index))
	end
	insert(e, inline(f.tag))
	if f.array then
		insert(e, inline(1))
		if f.key then
			local key, map = f.key, false
			local members = target and target.fields or {}
			if key == "" then
				map = true
				local count, lowest = 0, nil
				for name, m in pairs(members) do
					count = count + 1
					if lowest == nil or m.tag < members[lowest].tag then
						lowest = name
					end
				end
				if count ~= 2 then
					error(format("Invalid map definition: %s, must only have two fields", f.name))
				end
				key = lowest
			end
			local member = members[key]
			if not member or not member.builtin then
				error("Invalid map index :" .. key)
			end
			insert(e, inline(member.tag))
			if map then
				insert(e, inline(1))
			end
		end
	end
	return block(entries(e) .. block(f.name))
end

local function pack_type(name, fields, info)
	if #fields == 0 then
		return block(entries { DATA } .. block(name))
	end
	local packed = {}
	for i, f in ipairs(fields) do
		packed[i] = pack_field(f, info)
	end
	return block(entries { DATA, DATA } .. block(name) .. block(concat(packed)))
end

local function pack_protocol(p, info)
	local e = { DATA, inline(p.tag) }
	if p.request or p.response or p.confirm then
		insert(e, p.request and inline(info[p.request].index) or SKIP)
		if p.response then
			insert(e, inline(info[p.response].index))
		elseif p.confirm then
			insert(e, SKIP)
			insert(e, inline(1))
		end
	end
	return block(entries(e) .. block(p.name))
end

local function pack_bundle(types, protocols)
	local names = {}
	for name in pairs(types) do
		insert(names, name)
	end
	if #names == 0 then
		assert(next(protocols) == nil)  -- protocols need at least one type
		return "\0\0"
	end
	sort(names)
	local info = {}
	for i, name in ipairs(names) do
		local members = {}
		for _, f in ipairs(types[name]) do
			members[f.name] = { tag = f.tag, builtin = builtin[f.typename] }
		end
		info[name] = { index = i - 1, fields = members }
	end
	local packed_types = {}
	for i, name in ipairs(names) do
		packed_types[i] = pack_type(name, types[name], info)
	end
	local type_array = block(concat(packed_types))
	if next(protocols) == nil then
		return entries { DATA } .. type_array
	end
	local list = {}
	for name, p in pairs(protocols) do
		p.name = name
		insert(list, p)
	end
	sort(list, function(a, b) return a.tag < b.tag end)
	local packed_protocols = {}
	for i, p in ipairs(list) do
		packed_protocols[i] = pack_protocol(p, info)
	end
	return entries { DATA, DATA } .. type_array .. block(concat(packed_protocols))
end

---------------------------------------------------------------------------------------------

local parser = {}

function parser.parse(text, filename)
	local state = { file = filename or "=text", pos = 0, line = 1 }
	local tree = lpeg.match(document, text, 1, state)
	local types, protocols = collect(tree)
	check_protocols(types, protocols)
	resolve_fields(types)
	return pack_bundle(types, protocols)
end

-- Prints a bundle in hex, 16 bytes a line.
function parser.dump(bin)
	for at = 1, #bin, 16 do
		local line = {}
		for i = at, math.min(at + 15, #bin) do
			insert(line, format("%02X", bin:byte(i)))
		end
		print(concat(line, " "))
	end
end

return parser
