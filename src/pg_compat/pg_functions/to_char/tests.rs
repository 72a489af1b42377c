//! The functions through SQL, in a session with a time zone.

use datafusion::logical_expr::ScalarUDF;
use datafusion::prelude::{SessionConfig, SessionContext};

use super::*;

async fn rows(zone: &str, sql: &str) -> Result<Vec<String>> {
    let mut config = SessionConfig::new();
    config.options_mut().execution.time_zone = Some(zone.into());
    config.options_mut().sql_parser.parse_float_as_decimal = true;
    let ctx = SessionContext::new_with_config(config);
    ctx.register_udf(ScalarUDF::new_from_impl(ToChar::new()));
    ctx.register_udf(ScalarUDF::new_from_impl(ToTimestamp::new()));
    ctx.register_udf(ScalarUDF::new_from_impl(ToDate::new()));
    let batches = ctx.sql(sql).await?.collect().await?;
    let mut out = Vec::new();
    for b in &batches {
        for r in 0..b.num_rows() {
            let cells: Vec<String> = b
                .columns()
                .iter()
                .map(|c| {
                    datafusion::arrow::util::display::array_value_to_string(c, r)
                        .unwrap_or_default()
                })
                .collect();
            out.push(cells.join("|"));
        }
    }
    Ok(out)
}

async fn one(zone: &str, sql: &str) -> String {
    rows(zone, sql).await.unwrap().join("\n")
}

fn sqlstate(e: &datafusion::common::DataFusionError) -> String {
    match e.find_root() {
        datafusion::common::DataFusionError::External(inner) => inner
            .downcast_ref::<crate::sqlstate::Coded>()
            .map(|c| c.code.to_string())
            .unwrap_or_else(|| e.to_string()),
        other => other.to_string(),
    }
}

async fn code(zone: &str, sql: &str) -> String {
    match rows(zone, sql).await {
        Ok(r) => format!("answered {r:?}"),
        Err(e) => sqlstate(&e),
    }
}

// Expected values as PostgreSQL 15 prints them with the same TimeZone.
#[tokio::test]
async fn timestamptz_is_written_on_the_session_clock() {
    let sql = "SELECT to_char(CAST('2026-07-01T12:00:00Z' AS TIMESTAMP WITH TIME ZONE), \
               'YYYY-MM-DD HH24:MI TZ|tz|OF|TZH:TZM')";
    assert_eq!(
        one("Europe/Moscow", sql).await,
        "2026-07-01 15:00 MSK|msk|+03|+03:00"
    );
    assert_eq!(one("UTC", sql).await, "2026-07-01 12:00 UTC|utc|+00|+00:00");
    assert_eq!(
        one("Asia/Kolkata", sql).await,
        "2026-07-01 17:30 IST|ist|+05:30|+05:30"
    );
    assert_eq!(
        one("Asia/Yekaterinburg", sql).await,
        "2026-07-01 17:00 +05|+05|+05|+05:00"
    );
    assert_eq!(
        one("America/New_York", sql).await,
        "2026-07-01 08:00 EDT|edt|-04|-04:00"
    );
    // A date is its midnight in the session's zone.
    assert_eq!(
        one(
            "Europe/Moscow",
            "SELECT to_char(DATE '2026-07-01', 'HH24 TZ OF Day')"
        )
        .await,
        "00 MSK +03 Wednesday"
    );
    // A timestamp has no zone: TZ writes nothing, OF +00.
    assert_eq!(
        one(
            "Europe/Moscow",
            "SELECT to_char(TIMESTAMP '2026-07-01T12:00:00', 'HH24 TZ OF')"
        )
        .await,
        "12  +00"
    );
}

#[tokio::test]
async fn numbers_through_sql() {
    assert_eq!(
        one("UTC", "SELECT to_char(1234.5, '9999.99'), to_char(CAST(-12 AS INT), '999'), to_char(CAST(0.25 AS DOUBLE), 'FM0.00')").await,
        " 1234.50| -12|0.25"
    );
    assert_eq!(
        one("UTC", "SELECT to_char(CAST(NULL AS INT), '999')").await,
        ""
    );
}

#[tokio::test]
async fn to_timestamp_reads_in_the_session_zone() {
    let sql = "SELECT to_timestamp('2026-07-01 12:00', 'YYYY-MM-DD HH24:MI')";
    assert_eq!(one("Europe/Moscow", sql).await, "2026-07-01T09:00:00Z");
    assert_eq!(one("UTC", sql).await, "2026-07-01T12:00:00Z");
    // An offset in the text wins.
    assert_eq!(
        one(
            "Europe/Moscow",
            "SELECT to_timestamp('2026-07-01 12:00 -05', 'YYYY-MM-DD HH24:MI TZH')"
        )
        .await,
        "2026-07-01T17:00:00Z"
    );
    // Superset's template.
    assert_eq!(
        one(
            "UTC",
            "SELECT to_timestamp('2026-07-01 10:00:00.000000', 'YYYY-MM-DD HH24:MI:SS.US')"
        )
        .await,
        "2026-07-01T10:00:00Z"
    );
    assert_eq!(
        one(
            "UTC",
            "SELECT to_timestamp(1782864000), to_timestamp(1782864000.5), to_timestamp('0')"
        )
        .await,
        "2026-07-01T00:00:00Z|2026-07-01T00:00:00.500Z|1970-01-01T00:00:00Z"
    );
    assert_eq!(
        one(
            "UTC",
            "SELECT to_date('01/07/2026', 'DD/MM/YYYY'), to_date('2026-182', 'YYYY-DDD')"
        )
        .await,
        "2026-07-01|2026-07-01"
    );
}

#[tokio::test]
async fn errors_carry_postgresql_codes() {
    for (sql, expected) in [
        ("SELECT to_char('2026-07-01', 'YYYY')", "42725"),
        (
            "SELECT to_char(TIMESTAMP '2026-07-01', 'YYYY-MM-DD', 'extra')",
            "42883",
        ),
        ("SELECT to_char(true, '9')", "42883"),
        ("SELECT to_char(1, '9.9.9')", "42601"),
        ("SELECT to_date('2026-99-99', 'YYYY-MM-DD')", "22008"),
        ("SELECT to_timestamp('garbage', 'YYYY-MM-DD')", "22007"),
        ("SELECT to_timestamp('x')", "22P02"),
        ("SELECT to_timestamp(CAST('NaN' AS DOUBLE))", "22008"),
        ("SELECT to_timestamp(1e20)", "22008"),
        ("SELECT to_timestamp(1, 2)", "42883"),
    ] {
        assert_eq!(code("UTC", sql).await, expected, "{sql}");
    }
}
