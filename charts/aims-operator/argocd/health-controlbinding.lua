-- Argo CD health of an aims.io ControlBinding: Healthy when every control is verified,
-- Degraded with the operator's message when not, Progressing until the operator has
-- evaluated the current generation.
local hs = {}
local function find(conditions, wanted)
  if conditions == nil then return nil end
  for _, c in ipairs(conditions) do
    if c.type == wanted then return c end
  end
  return nil
end
local status = obj.status
local c = find(status and status.conditions, "Verified")
local generation = obj.metadata and obj.metadata.generation
local seen = (status and status.observedGeneration) or (c and c.observedGeneration)
if c == nil or (generation ~= nil and (seen == nil or seen < generation)) then
  hs.status = "Progressing"
  hs.message = "Waiting for aims-operator to evaluate the current generation"
  return hs
end
if c.status == "True" then
  hs.status = "Healthy"
else
  hs.status = "Degraded"
end
hs.message = c.message or c.reason or ""
return hs
