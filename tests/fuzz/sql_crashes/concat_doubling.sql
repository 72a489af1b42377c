-- doubling through || reaches any size
SELECT length(((repeat('x', 100000000) || repeat('x', 100000000)) || (repeat('x', 100000000) || repeat('x', 100000000))))
