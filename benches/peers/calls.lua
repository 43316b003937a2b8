local N = tonumber(arg[1])
local function add(a, b) return a + b end
local function inc(x) return add(x, 1) end
local acc = 0
local i = 0
while i < N do
  acc = add(acc, i % 7)
  acc = inc(acc)
  i = i + 1
end
print(acc)
