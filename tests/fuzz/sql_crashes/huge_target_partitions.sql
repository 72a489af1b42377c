-- OOM: 10 000 partitions took 24 GB (issue 11)
SET datafusion.execution.target_partitions = 10000; SELECT channel, count(*) FROM leads GROUP BY 1
