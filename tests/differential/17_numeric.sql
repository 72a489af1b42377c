-- numeric sqrt, exp, ln, log: a numeric argument gives a numeric with
-- PostgreSQL's scale (at least 16 significant digits); integers and floats
-- give double precision.
SELECT sqrt(2.0), sqrt(16.00), sqrt(0.25), exp(1.0), exp(0.0), ln(2.0), log(100.0), log(2.0, 8.0), log10(1000.0);
SELECT sqrt(2), exp(1), ln(10), log(1000), log10(1000);
SELECT sqrt(NULL::numeric), ln(NULL::numeric), log(2.0, NULL::numeric);
SELECT sqrt(-1.0);
SELECT ln(0.0);
SELECT ln(-2.5);
SELECT log(-10.0);
SELECT log(1.0, 10.0);
SELECT sqrt(-4::float8);

-- stddev and variance of integers and numerics: exact numeric arithmetic.
SELECT stddev(x), variance(x), stddev_pop(x), var_pop(x), stddev_samp(x), var_samp(x) FROM (VALUES (1), (2), (4), (5), (5)) v(x);
SELECT stddev(x::float8), variance(x::float8) FROM (VALUES (1), (2), (4), (5), (5)) v(x);
SELECT variance(x), stddev(x) FROM (VALUES (1.5), (2.5), (4.5)) v(x);
SELECT stddev(x), var_samp(x) FROM (VALUES (7), (NULL::int)) v(x);
SELECT tenant, stddev(score), variance(score) FROM ratings GROUP BY tenant ORDER BY tenant;

-- to_number with PostgreSQL's templates.
SELECT to_number('12,454.8-', '99G999D9S'), to_number('<564646.654564>', '999999.999999PR'), to_number('5.01-', 'FM9.99MI');
SELECT to_number('$1,234.56', 'L99,999.99'), to_number('42nd', '99th'), to_number('1234.5678', '9999.99');
SELECT to_number(NULL, '999'), to_number('12', '');
SELECT to_number('abc', '999');
SELECT to_number('1.2e3', '9.9EEEE');

-- generate_series of numerics, in FROM and in a select list.
SELECT * FROM generate_series(1.00, 2.0, 0.25) AS g ORDER BY 1;
SELECT * FROM generate_series(3.0, 1.0, -0.5) AS g ORDER BY 1 DESC;
SELECT * FROM generate_series(1.5, 3) AS g ORDER BY 1;
SELECT count(*) FROM generate_series(1.0, NULL, 0.5) AS g;
SELECT * FROM generate_series(1.0, 2.0, 0) AS g;
SELECT generate_series(0.10, 0.30, 0.10) AS s ORDER BY 1;
