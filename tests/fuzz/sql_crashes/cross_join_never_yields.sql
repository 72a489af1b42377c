-- ran on for hours after its timeout: joins over collected inputs never yielded
SELECT count(*) FROM leads a, leads b, leads c WHERE a.lead_id <> c.lead_id
