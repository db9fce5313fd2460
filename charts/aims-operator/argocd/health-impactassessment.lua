-- Argo CD health of an aims.io ImpactAssessment: Healthy when approved and current,
-- Suspended while it waits for an approver, Degraded (with the operator's message) when it
-- was rejected, expired or its approval was voided, Progressing until the operator has
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
local generation = obj.metadata and obj.metadata.generation
if status == nil or status.phase == nil or
   (generation ~= nil and (status.observedGeneration == nil or status.observedGeneration < generation)) then
  hs.status = "Progressing"
  hs.message = "Waiting for aims-operator to evaluate the current generation"
  return hs
end
local approved = find(status.conditions, "Approved")
local current = find(status.conditions, "Current")
if status.phase == "Approved" then
  hs.status = "Healthy"
  hs.message = (current and current.message) or "Approved"
  return hs
end
if status.phase == "PendingApproval" or status.phase == "Draft" then
  hs.status = "Suspended"
else
  hs.status = "Degraded"
end
local failing = approved
if current ~= nil and current.status ~= "True" and status.phase == "Expired" then
  failing = current
end
hs.message = status.phase .. ": " .. ((failing and failing.message) or "")
return hs
