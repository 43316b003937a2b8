local N = tonumber(arg[1])
local acc = 0
local i = 0
while i < N do
  local j = 0
  while j < N do
    acc = (acc + i * j + 7) % 1000003
    j = j + 1
  end
  i = i + 1
end
print(acc)
