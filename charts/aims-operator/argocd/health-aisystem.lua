-- Argo CD health of an aims.io AISystem: Healthy when the operator found it compliant,
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
local function lagging(obj, c)
  local generation = obj.metadata and obj.metadata.generation
  local seen = (obj.status and obj.status.observedGeneration) or (c and c.observedGeneration)
  return generation ~= nil and (seen == nil or seen < generation)
end
local c = find(obj.status and obj.status.conditions, "Compliant")
if c == nil or lagging(obj, c) then
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
