-- 3.9 GB outside the pool (issue 11)
SELECT length(repeat('x', 1000000000))
