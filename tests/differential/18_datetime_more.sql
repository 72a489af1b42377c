-- More dates and times: PostgreSQL's free-form date/time input (DateStyle
-- ISO, MDY), zones given as intervals, EXTRACT of the session's offset,
-- date_trunc of an interval, OVERLAPS, series of dates, avg(interval).

SELECT 'July 1, 2026'::date, '1 July 2026'::date, 'Jul 1 2026'::date, '2026-Jul-01'::date, '01-Jul-2026'::date;
SELECT '20260701'::date, '2026.07.01'::date, '01/07/26'::date, '2026.182'::date, 'J2461222'::date;
SELECT DATE 'July 4, 2026', TIMESTAMP 'July 1, 2026 10:00 pm', TIMESTAMPTZ '2026-07-01 10:00 EST';
SELECT '2026-07-01T10:30:00+0530'::timestamptz, '20260701T103000Z'::timestamptz, '2026-07-01 10:00 Europe/Moscow'::timestamptz, '2026-07-01 10:00 MSK'::timestamptz;
SELECT '2026-07-01 24:00'::date, '2026-07-01 24:00'::timestamp, '2026-07-01 10:00:60'::timestamp, '2026-07-01 12:00 am'::timestamp;
SELECT 'Wed Jul 01 10:00:00 2026 UTC'::timestamptz, '2026-07-01 at 10:00'::timestamp, '2026-07-01 10:00+03'::timestamp, '2026-07-01 23:30-05'::date;
SELECT CAST(NULL AS text)::date, CAST(NULL AS text)::timestamptz;
SELECT v::date FROM (VALUES ('July 1, 2026'), ('2026-07-02'), ('03/07/2026'), (NULL)) t(v) ORDER BY 1;
SELECT '2026-02-30'::date;
SELECT '2026-13-01'::date;
SELECT '13/01/2026'::date;
SELECT 'July 32, 2026'::date;
SELECT '10:00 2026-07-01'::timestamp;
SELECT 'x'::date;
SELECT '2026-07-01 13:00 pm'::timestamp;
SELECT '2026-07-01 10:00 +16'::timestamptz;
SELECT '2026-07-01 10:00 Mars/Olympus'::timestamptz;
SELECT TIMESTAMPTZ '2026-07-01 12:00+00' AT TIME ZONE INTERVAL '-03:30', TIMESTAMP '2026-07-01 12:00' AT TIME ZONE INTERVAL '+05:00', timezone(interval '2 hours', TIMESTAMPTZ '2026-07-01 12:00+00');
SELECT TIMESTAMPTZ '2026-07-01 12:00+00' AT TIME ZONE CAST(NULL AS interval);
SELECT TIMESTAMPTZ '2026-07-01 12:00+00' AT TIME ZONE INTERVAL '1 day';
SELECT date_trunc('hour', interval '3 days 04:35:00'), date_trunc('year', interval '2 years 5 months'), date_trunc('quarter', interval '1 year 5 months 3 days');
SELECT date_trunc('minute', interval '-1 days -04:35:30.5'), date_trunc('millisecond', interval '1.234567 seconds'), date_trunc('decade', interval '27 years'), date_trunc('day', CAST(NULL AS interval));
SELECT date_trunc('week', interval '1 day');
SELECT date_trunc('fortnight', interval '1 day');
SELECT (DATE '2026-07-01', DATE '2026-07-05') OVERLAPS (DATE '2026-07-04', DATE '2026-07-10'), (DATE '2026-07-01', DATE '2026-07-04') OVERLAPS (DATE '2026-07-04', DATE '2026-07-10');
SELECT (TIMESTAMP '2026-07-01 12:00', TIMESTAMP '2026-07-01 10:00') OVERLAPS (TIMESTAMP '2026-07-01 11:00', TIMESTAMP '2026-07-01 13:00'), (TIMESTAMP '2026-07-01 10:00', TIMESTAMP '2026-07-01 10:00') OVERLAPS (TIMESTAMP '2026-07-01 10:00', TIMESTAMP '2026-07-01 10:00');
SELECT (TIMESTAMP '2026-07-01 10:00', CAST(NULL AS timestamp)) OVERLAPS (TIMESTAMP '2026-07-01 09:00', TIMESTAMP '2026-07-01 13:00'), (TIMESTAMP '2026-07-01 10:00', CAST(NULL AS timestamp)) OVERLAPS (TIMESTAMP '2026-07-01 11:00', TIMESTAMP '2026-07-01 13:00'), (CAST(NULL AS timestamp), CAST(NULL AS timestamp)) OVERLAPS (TIMESTAMP '2026-07-01 11:00', TIMESTAMP '2026-07-01 13:00');
SELECT (TIMESTAMP '2026-07-01 10:00', interval '2 hours') OVERLAPS (TIMESTAMP '2026-07-01 11:59', interval '1 hour'), (TIMESTAMPTZ '2026-07-01 10:00+00', interval '1 day') OVERLAPS (TIMESTAMPTZ '2026-07-02 09:00+00', interval '-1 hour');
SELECT count(*) FROM leads WHERE (created_at, answered_at) OVERLAPS (TIMESTAMPTZ '2026-06-01 00:00+00', interval '1 day');
SELECT * FROM generate_series(DATE '2026-01-31', DATE '2026-05-01', interval '1 month') AS d;
SELECT avg(x) FROM (VALUES (interval '1 mon'), (interval '1 day'), (NULL)) v(x);
SELECT avg(x), sum(x) FROM (VALUES (interval '-1 mon'), (interval '0'), (interval '0'), (interval '0'), (interval '0'), (interval '0'), (interval '0')) v(x);
SELECT avg(x) FROM (VALUES (CAST(NULL AS interval))) v(x);
SELECT tenant, avg(answered_at - created_at) FROM leads GROUP BY tenant ORDER BY tenant;
SELECT lead_id, avg(answered_at - created_at) OVER (ORDER BY lead_id ROWS BETWEEN 2 PRECEDING AND CURRENT ROW) FROM leads WHERE tenant = 'okna' ORDER BY lead_id LIMIT 5;
SET TIME ZONE 'America/New_York';
SELECT '2024-03-10 02:30'::timestamptz, '2024-11-03 01:30'::timestamptz, '2026-07-01'::timestamptz, 'July 1, 2026 10:00'::timestamptz;
SELECT * FROM generate_series(DATE '2026-03-07', DATE '2026-03-09', interval '12 hours') AS d;
SET TIME ZONE 'America/St_Johns';
SELECT EXTRACT(TIMEZONE FROM TIMESTAMPTZ '2026-01-15 12:00+00'), EXTRACT(TIMEZONE_HOUR FROM TIMESTAMPTZ '2026-01-15 12:00+00'), EXTRACT(TIMEZONE_MINUTE FROM TIMESTAMPTZ '2026-01-15 12:00+00'), EXTRACT(TIMEZONE FROM TIMESTAMPTZ '2026-07-15 12:00+00');
SELECT EXTRACT(TIMEZONE FROM TIMESTAMP '2026-01-01');
