-- abort: a 32 GB allocation for the sort's batch (issue 11)
SET datafusion.execution.batch_size = 4000000000; SELECT lead_id FROM leads ORDER BY created_at LIMIT 3
