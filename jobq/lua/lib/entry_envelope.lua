-- entry_envelope(fields): the envelope a stream entry holds, from its flat field list
-- (XRANGE / XAUTOCLAIM reply), or nil.
local function entry_envelope(fields)
  local env
  for j = 1, #fields, 2 do
    if fields[j] == {{ENTRY_ENVELOPE}} then env = fields[j + 1] end
  end
  return env
end
