-- a pool of its own (issue 11)
SET datafusion."runtime".memory_limit = '64G'
