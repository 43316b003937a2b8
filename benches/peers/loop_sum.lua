local N = tonumber(arg[1])
local sum = 0
local i = 0
while i < N do
  sum = sum + i
  i = i + 1
end
print(sum)
