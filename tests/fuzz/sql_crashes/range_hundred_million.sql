-- 875 MB outside the pool (issue 11)
SELECT cardinality(range(1, 100000000))
