//! Casts as PostgreSQL casts: those that depend on the session's
//! `TimeZone`, and those whose text PostgreSQL reads or writes differently
//! from Arrow.
//!
//! PostgreSQL converts a `timestamptz` to `timestamp` (wall-clock time) and
//! to `date` in the session's time zone; Metabase buckets days and weeks
//! that way (`date_trunc('week', CAST(created_at AS timestamp))`). Arrow
//! casts `Timestamp(tz)` to a naive timestamp keeping the UTC wall clock,
//! and to a date in the column's own zone (UTC for OKO's tables). This
//! analyzer rule, which runs after type coercion with the connection's
//! configuration (whose `execution.time_zone` follows `TimeZone`, see
//! [`crate::server::session`]), rewrites such casts:
//! - `CAST(x AS timestamp)` → `CAST(to_local_time(CAST(x AS
//!   timestamptz in the session zone)) AS timestamp)`;
//! - `CAST(x AS date)` → `CAST(CAST(x AS timestamptz in the session zone) AS
//!   date)`;
//! - `CAST(text AS date|timestamp[tz])` reads PostgreSQL's input formats, `CAST(x
//!   AS text)` of a timestamp, interval or float writes PostgreSQL's text,
//!   `CAST(fraction AS int)` rounds as PostgreSQL, `CAST(text AS T[])`
//!   reads PostgreSQL's array literal (`'{a,"b c",NULL}'`), `CAST(text AS
//!   bytea)` its hex or escape format, `CAST(text AS interval)` its
//!   interval formats;
//! - `date_trunc`, `date_part` (`extract`), `date_bin` of a `timestamptz`
//!   read it in the session zone (`date_trunc('day', created_at)` is the
//!   session's midnight).

use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType, FieldRef, TimeUnit};
use datafusion::common::config::ConfigOptions;
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::common::{DFSchema, Result};
use datafusion::logical_expr::expr::ScalarFunction;
use datafusion::logical_expr::expr_rewriter::NamePreserver;
use datafusion::logical_expr::{Cast, Expr, ExprSchemable, LogicalPlan};
use datafusion::optimizer::AnalyzerRule;

/// The analyzer rule; see the module documentation.
#[derive(Debug, Default)]
pub struct PgCasts;

impl AnalyzerRule for PgCasts {
    fn analyze(&self, plan: LogicalPlan, config: &ConfigOptions) -> Result<LogicalPlan> {
        let Some(zone) = config.execution.time_zone.clone() else {
            return Ok(plan);
        };
        let zone: Arc<str> = zone.into();
        plan.transform_up_with_subqueries(|node| {
            // The expressions of a node read the columns of its inputs.
            let mut schema = DFSchema::empty();
            for input in node.inputs() {
                schema.merge(input.schema());
            }
            // A VALUES list reads no input, but its literals are cast to
            // the target columns' types there (`INSERT … VALUES ('2026-07-01
            // 10:00+03', …)` into a timestamptz column): PostgreSQL's input
            // formats apply to them as to any cast.
            if node.inputs().is_empty() && !matches!(node, LogicalPlan::Values(_)) {
                return Ok(Transformed::no(node));
            }
            // A changed expression keeps its name: the nodes above refer
            // to it by name (`GROUP BY 1` of a cast, say).
            let names = NamePreserver::new(&node);
            node.map_expressions(|e| {
                let name = names.save(&e);
                let rewritten = e.transform_up(|e| match e {
                    Expr::Cast(Cast { expr, field }) if from_text(&expr, &field, &schema) => {
                        Ok(Transformed::yes(timestamp_in(*expr, &field, &zone)))
                    }
                    Expr::Cast(Cast { expr, field }) if array_from_text(&expr, &field, &schema) => {
                        Ok(Transformed::yes(Expr::Cast(Cast::new(
                            Box::new(pg_udf(
                                crate::pg_compat::pg_functions::PgArrayIn::new(),
                                vec![Expr::Cast(Cast::new(expr, DataType::Utf8))],
                            )),
                            field.data_type().clone(),
                        ))))
                    }
                    Expr::Cast(Cast { expr, field })
                        if interval_from_text(&expr, &field, &schema) =>
                    {
                        Ok(Transformed::yes(Expr::ScalarFunction(
                            ScalarFunction::new_udf(
                                Arc::new(crate::pg_compat::pg_functions::interval_in()),
                                vec![Expr::Cast(Cast::new(expr, DataType::Utf8))],
                            ),
                        )))
                    }
                    Expr::Cast(Cast { expr, field }) if bytea_from_text(&expr, &field, &schema) => {
                        Ok(Transformed::yes(Expr::ScalarFunction(
                            ScalarFunction::new_udf(
                                Arc::new(crate::pg_compat::pg_functions::bytea_in()),
                                vec![Expr::Cast(Cast::new(expr, DataType::Utf8))],
                            ),
                        )))
                    }
                    Expr::Cast(Cast { expr, field }) if to_text(&expr, &field, &schema) => {
                        Ok(Transformed::yes(Expr::Cast(Cast::new(
                            Box::new(pg_udf(
                                crate::pg_compat::pg_functions::PgText::new(),
                                vec![*expr],
                            )),
                            field.data_type().clone(),
                        ))))
                    }
                    Expr::Cast(Cast { expr, field })
                        if rounds_to_integer(&expr, &field, &schema) =>
                    {
                        Ok(Transformed::yes(Expr::Cast(Cast::new(
                            Box::new(pg_udf(
                                crate::pg_compat::pg_functions::RoundToInteger::new(),
                                vec![*expr],
                            )),
                            field.data_type().clone(),
                        ))))
                    }
                    Expr::Cast(Cast { expr, field }) => {
                        in_zone(*expr, field, &schema, &zone).map(|(e, changed)| {
                            if changed {
                                Transformed::yes(e)
                            } else {
                                Transformed::no(e)
                            }
                        })
                    }
                    Expr::ScalarFunction(f) if ZONED_FUNCTIONS.contains(&f.name()) => {
                        Ok(zoned_arguments(f, &schema, &zone))
                    }
                    other => Ok(Transformed::no(other)),
                })?;
                Ok(rewritten.update_data(|e| name.restore(e)))
            })
        })
        .map(|t| t.data)
    }

    fn name(&self) -> &str {
        "oko_pg_casts"
    }
}

/// A call of one of our functions.
fn pg_udf(f: impl datafusion::logical_expr::ScalarUDFImpl + 'static, args: Vec<Expr>) -> Expr {
    Expr::ScalarFunction(ScalarFunction::new_udf(
        Arc::new(datafusion::logical_expr::ScalarUDF::new_from_impl(f)),
        args,
    ))
}

/// Whether a cast writes as text a value PostgreSQL writes differently from
/// Arrow (a timestamp, an interval, a float: [`crate::pg_compat::text_out`]).
fn to_text(expr: &Expr, field: &FieldRef, schema: &DFSchema) -> bool {
    matches!(
        field.data_type(),
        DataType::Utf8 | DataType::Utf8View | DataType::LargeUtf8
    ) && matches!(
        expr.get_type(schema),
        Ok(DataType::Timestamp(..) | DataType::Interval(_) | DataType::Float64 | DataType::Float32)
    )
}

/// Whether a cast turns a fraction into an integer: PostgreSQL rounds
/// (`12.5::int` is 13, `7.5::float8::int` is 8), Arrow truncates.
fn rounds_to_integer(expr: &Expr, field: &FieldRef, schema: &DFSchema) -> bool {
    matches!(
        field.data_type(),
        DataType::Int16 | DataType::Int32 | DataType::Int64
    ) && matches!(
        expr.get_type(schema),
        Ok(DataType::Float64 | DataType::Float32 | DataType::Decimal128(..))
    )
}

/// Whether a cast reads text as an `interval` (PostgreSQL's formats, which
/// Arrow reads only in part).
fn interval_from_text(expr: &Expr, field: &FieldRef, schema: &DFSchema) -> bool {
    matches!(field.data_type(), DataType::Interval(_))
        && matches!(
            expr.get_type(schema),
            Ok(DataType::Utf8 | DataType::Utf8View | DataType::LargeUtf8)
        )
}

/// Whether a cast reads text as `bytea`.
fn bytea_from_text(expr: &Expr, field: &FieldRef, schema: &DFSchema) -> bool {
    matches!(field.data_type(), DataType::Binary)
        && matches!(
            expr.get_type(schema),
            Ok(DataType::Utf8 | DataType::Utf8View | DataType::LargeUtf8)
        )
}

/// Whether a cast reads text as an array.
fn array_from_text(expr: &Expr, field: &FieldRef, schema: &DFSchema) -> bool {
    matches!(
        field.data_type(),
        DataType::List(_) | DataType::LargeList(_)
    ) && matches!(
        expr.get_type(schema),
        Ok(DataType::Utf8 | DataType::Utf8View | DataType::LargeUtf8)
    )
}

/// Whether a cast reads text as a date or timestamp.
fn from_text(expr: &Expr, field: &FieldRef, schema: &DFSchema) -> bool {
    matches!(
        field.data_type(),
        DataType::Timestamp(..) | DataType::Date32 | DataType::Date64
    ) && matches!(
        expr.get_type(schema),
        Ok(DataType::Utf8 | DataType::Utf8View | DataType::LargeUtf8)
    )
}

/// `CAST(text AS date|timestamp[tz])` → `pg_timestamp_in(text, <the
/// type>, <session zone>)`: PostgreSQL's input formats (`2026-07-01
/// 00:00+03`, `July 1, 2026`, which Arrow's parser refuses), an
/// offset-less `timestamptz` in the session's zone.
fn timestamp_in(expr: Expr, field: &FieldRef, zone: &Arc<str>) -> Expr {
    let like = datafusion::common::ScalarValue::try_from(field.data_type())
        .map(|v| Expr::Literal(v, None))
        .unwrap_or_else(|_| Expr::Literal(datafusion::common::ScalarValue::Null, None));
    Expr::ScalarFunction(ScalarFunction::new_udf(
        Arc::new(datafusion::logical_expr::ScalarUDF::new_from_impl(
            crate::pg_compat::pg_functions::TimestampIn::new(),
        )),
        vec![expr, like, datafusion::logical_expr::lit(zone.to_string())],
    ))
}

/// Functions that read a `timestamptz`'s fields (its day, its hour), which
/// PostgreSQL reads in the session's time zone.
const ZONED_FUNCTIONS: &[&str] = &["date_trunc", "date_part", "date_bin"];

/// `f(…)` with its `timestamptz` arguments in `zone` (the same instants),
/// so the fields it reads are the session's wall clock.
fn zoned_arguments(f: ScalarFunction, schema: &DFSchema, zone: &Arc<str>) -> Transformed<Expr> {
    let mut changed = false;
    let args = f
        .args
        .into_iter()
        .map(|a| match a.get_type(schema) {
            // A date truncates as PostgreSQL's `timestamptz` of its local
            // midnight (type coercion made it a naive timestamp).
            _ if f.func.name() == "date_trunc" && coerced_date(&a, schema).is_some() => {
                changed = true;
                let date = coerced_date(&a, schema).unwrap_or(a);
                Expr::Cast(Cast::new(
                    Box::new(date),
                    DataType::Timestamp(TimeUnit::Microsecond, Some(zone.clone())),
                ))
            }
            Ok(DataType::Timestamp(unit, Some(from))) if *from != **zone => {
                changed = true;
                Expr::Cast(Cast::new(
                    Box::new(a),
                    DataType::Timestamp(unit, Some(zone.clone())),
                ))
            }
            _ => a,
        })
        .collect();
    let e = Expr::ScalarFunction(ScalarFunction::new_udf(f.func, args));
    if changed {
        Transformed::yes(e)
    } else {
        Transformed::no(e)
    }
}

/// The date a type coercion cast to a naive timestamp, if `e` is one.
fn coerced_date(e: &Expr, schema: &DFSchema) -> Option<Expr> {
    match e {
        Expr::Cast(c)
            if matches!(c.field.data_type(), DataType::Timestamp(_, None))
                && matches!(c.expr.get_type(schema), Ok(DataType::Date32)) =>
        {
            Some(c.expr.as_ref().clone())
        }
        _ => None,
    }
}

/// `CAST(expr AS field)`, converted in `zone` when it casts a `timestamptz`
/// to a naive timestamp or a date; whether it was changed.
fn in_zone(
    expr: Expr,
    field: FieldRef,
    schema: &DFSchema,
    zone: &Arc<str>,
) -> Result<(Expr, bool)> {
    let to_timestamp = matches!(field.data_type(), DataType::Timestamp(_, None));
    let to_date = matches!(field.data_type(), DataType::Date32 | DataType::Date64);
    // (An expression not typed against these inputs, an outer reference,
    // stays as it is.)
    let source = expr.get_type(schema).ok();
    let Some(DataType::Timestamp(unit, Some(from))) = source.filter(|_| to_timestamp || to_date)
    else {
        return Ok((
            Expr::Cast(Cast {
                expr: Box::new(expr),
                field,
            }),
            false,
        ));
    };
    let zoned = if *from == **zone {
        expr
    } else {
        Expr::Cast(Cast::new(
            Box::new(expr),
            DataType::Timestamp(unit, Some(zone.clone())),
        ))
    };
    let converted = if to_timestamp {
        Expr::ScalarFunction(ScalarFunction::new_udf(
            datafusion::functions::datetime::to_local_time(),
            vec![zoned],
        ))
    } else {
        zoned
    };
    Ok((
        Expr::Cast(Cast {
            expr: Box::new(converted),
            field,
        }),
        true,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::prelude::{SessionConfig, SessionContext};

    #[tokio::test]
    async fn a_grouped_cast_keeps_its_name() {
        let mut config = SessionConfig::new();
        config.options_mut().execution.time_zone = Some("Asia/Yekaterinburg".into());
        let ctx = SessionContext::new_with_config(config);
        ctx.add_analyzer_rule(Arc::new(PgCasts));
        let batches = ctx
            .sql(
                "SELECT date_trunc('day', CAST(t AS TIMESTAMP)) AS d, count(*) AS n FROM \
                 (SELECT CAST('2026-06-01T22:30:00Z' AS TIMESTAMP WITH TIME ZONE) AS t) \
                 GROUP BY 1 ORDER BY 1",
            )
            .await
            .unwrap()
            .collect()
            .await
            .unwrap();
        let out = datafusion::arrow::util::pretty::pretty_format_batches(&batches)
            .unwrap()
            .to_string();
        assert!(out.contains("2026-06-02T00:00:00"), "{out}");
    }

    #[tokio::test]
    async fn timestamptz_casts_follow_the_session_zone() {
        let mut config = SessionConfig::new();
        config.options_mut().execution.time_zone = Some("Asia/Yekaterinburg".into());
        let ctx = SessionContext::new_with_config(config);
        ctx.add_analyzer_rule(Arc::new(PgCasts));
        let batches = ctx
            .sql(
                "SELECT CAST(t AS TIMESTAMP) AS wall, CAST(t AS DATE) AS day FROM \
                 (SELECT CAST('2026-06-01T22:30:00Z' AS TIMESTAMP WITH TIME ZONE) AS t)",
            )
            .await
            .unwrap()
            .collect()
            .await
            .unwrap();
        let out = datafusion::arrow::util::pretty::pretty_format_batches(&batches)
            .unwrap()
            .to_string();
        assert!(out.contains("2026-06-02T03:30:00"), "{out}");
        assert!(out.contains("2026-06-02 "), "{out}");
    }
}
