//! PostgreSQL functions that client catalog queries call and neither
//! DataFusion nor datafusion-pg-catalog provide.
//!
//! | function | who calls it |
//! |---|---|
//! | `pg_array_in(text)` | `CAST(text AS T[])` ([`super::casts`]): PostgreSQL's array input |
//! | `array_dims`, `trim_array`, `array_fill` | analysts: an array's shape as PostgreSQL gives it ([`array_shape`]) |
//! | `format(fmt, …)` | Metabase's field sync |
//! | `percentile_disc(f) WITHIN GROUP (ORDER BY x)`, `mode() WITHIN GROUP (ORDER BY x)` | analysts: PostgreSQL's ordered-set aggregates |
//! | `pg_typeof(x)` | analysts: the value's PostgreSQL type, a `regtype` |
//! | `age(a[, b])` | analysts: years, months and days between two times |
//! | `timezone(zone, ts)` | `ts AT TIME ZONE zone` ([`super::compat`]), PostgreSQL's conversion between `timestamp` and `timestamptz` |
//! | `_pg_expandarray(array)` | pgjdbc's `getPrimaryKeys`/`getIndexInfo` (with [`super::compat`] turning it into a set) |
//! | `generate_subscripts(array, dim)` | SQLAlchemy's constraint reflection (a set, the same way) |
//! | `pg_get_indexdef(…)`, `col_description(…)`, `obj_description(…)` | pgjdbc, Metabase, SQLAlchemy: NULL, as for an object without one |
//! | `pg_collation_is_visible(oid)` | SQLAlchemy: every collation is visible |
//! | `oid_alias(int4, kind)` | [`super::compat`]: `x::regclass`, described as `regclass` |
//! | `oid_array(int4[], kind)` | [`super::compat`]: `x::oid[]`, int4 values described as `oid[]` |
//! | `like_escape(pattern, c)` | [`super::compat`]: a LIKE pattern escaped with `c` → escaped with a backslash |
//! | `pg_get_viewdef`, `pg_table_size`, `pg_size_pretty`, `pg_*_is_visible`, `pg_get_function_arguments`, … | psql's `\d+`, `\dt+`, `\df`, `\dT`, `\l+`, SQLAlchemy: answered from the catalog ([`catalog`]) |
//! | `to_char(value, template)`, `to_timestamp(text, template)`, `to_date(text, template)`, `to_timestamp(seconds)` | analysts, Superset: PostgreSQL's templates (`YYYY-MM-DD HH24`, `FM9,990.00`) in place of DataFusion's chrono formats |
//!
//! OKO declares no indexes, comments or collations, so the lookups answer
//! what PostgreSQL answers for an object that has none.

mod array_shape;
mod arrays;
pub(crate) mod catalog;
mod characters;
mod date_in;
mod datetime;
mod format;
mod interval_aggregates;
mod interval_in;
mod interval_trunc;
mod intervals;
mod like;
mod math;
mod numeric;
mod numeric_math;
mod numeric_series;
mod numeric_stats;
mod oids;
mod ordered_set;
mod overlaps;
mod quantified;
mod series;
mod sets;
pub(crate) mod simple;
mod strings;
mod timetz;
mod to_char;
mod to_number;
mod types;
mod zone_abbrevs;
mod zone_fields;

pub use arrays::PgArrayIn;
pub use catalog::{array_items, view_definition};
pub use datetime::{Age, TimestampIn, Timezone, Zone, timestamp_in};
pub use format::{Format, quote_ident};
pub use interval_in::{canonical as interval_text, interval_in, parse as parse_interval};
pub use like::LikeEscape;
pub use numeric::numeric_division;
pub use numeric_stats::exact_statistic;
pub use oids::{OidAlias, OidArray};
pub use ordered_set::{Kind as OrderedSetKind, OrderedSet};
pub use overlaps::rewrite as overlaps_call;
pub use sets::{GenerateSubscripts, PgExpandArray};
pub use strings::bytea_in;
pub use to_char::{ToChar, ToDate, ToTimestamp};
pub use types::{PgText, PgTypeof, RoundToInteger, type_name};
pub use zone_fields::extract as extract_zone_field;

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{Result, ScalarValue};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, TypeSignature,
    Volatility,
};
use datafusion::prelude::SessionContext;

/// arrow-pg's marker of an oid-alias column (`regclass`, `oid`, …): the
/// field metadata key the wire encoder reads to describe a column.
pub const OID_ALIAS: &str = "pg.oid_alias";

/// Registers every function of this module in `ctx`.
pub fn register(ctx: &SessionContext) -> Result<()> {
    for f in math::functions()
        .into_iter()
        .chain(intervals::functions()?)
        .chain(strings::functions())
        .chain(quantified::functions())
        .chain(characters::functions())
        .chain(numeric::functions())
        .chain(array_shape::functions())
    {
        ctx.register_udf(f);
    }
    ctx.register_udf(ScalarUDF::new_from_impl(math::PgRound::new()));
    for f in math::PgLog::all() {
        ctx.register_udf(f);
    }
    numeric_math::register(ctx);
    numeric_stats::register(ctx);
    ctx.register_udf(ScalarUDF::new_from_impl(strings::PgSubstr::new()));
    ctx.register_udf(ScalarUDF::new_from_impl(Format::new()));
    ctx.register_udf(ScalarUDF::new_from_impl(Timezone::new()));
    ctx.register_udf(ScalarUDF::new_from_impl(Age::new()));
    ctx.register_udf(ScalarUDF::new_from_impl(TimestampIn::new()));
    ctx.register_udf(ScalarUDF::new_from_impl(PgTypeof::new()));
    ctx.register_udf(types::oko_typed());
    ctx.register_udf(timetz::pg_timetz());
    ctx.register_udf(crate::pg_compat::whole_rows::mark());
    ctx.register_udf(crate::pg_compat::join_columns::mark());
    for kind in [OrderedSetKind::PercentileDisc, OrderedSetKind::Mode] {
        ctx.register_udaf(datafusion::logical_expr::AggregateUDF::new_from_impl(
            OrderedSet::new(kind),
        ));
    }
    ctx.register_udf(ScalarUDF::new_from_impl(PgExpandArray::new()));
    ctx.register_udf(ScalarUDF::new_from_impl(GenerateSubscripts::new()));
    ctx.register_udf(ScalarUDF::new_from_impl(LikeEscape::new()));
    ctx.register_udf(ScalarUDF::new_from_impl(OidArray::new()));
    ctx.register_udf(ScalarUDF::new_from_impl(OidAlias::new()));
    // In place of DataFusion's chrono-format functions of the same names.
    ctx.register_udf(ScalarUDF::new_from_impl(ToChar::new()));
    ctx.register_udf(ScalarUDF::new_from_impl(ToTimestamp::new()));
    ctx.register_udf(ScalarUDF::new_from_impl(ToDate::new()));
    ctx.register_udf(ScalarUDF::new_from_impl(to_number::ToNumber::new()));
    catalog::register(ctx);
    series::register(ctx);
    interval_trunc::register(ctx);
    interval_aggregates::register(ctx);
    ctx.register_udf(ScalarUDF::new_from_impl(overlaps::Overlaps::new()));
    ctx.register_udf(null_text("pg_get_indexdef", &[1, 3]));
    ctx.register_udf(null_text("col_description", &[2]));
    ctx.register_udf(null_text("obj_description", &[1, 2]));
    ctx.register_udf(datafusion::logical_expr::create_udf(
        "pg_collation_is_visible",
        vec![DataType::Int32],
        DataType::Boolean,
        Volatility::Stable,
        Arc::new(|_| Ok(ColumnarValue::Scalar(ScalarValue::Boolean(Some(true))))),
    ));
    Ok(())
}

/// PostgreSQL's other names of DataFusion's functions: `variance`
/// (`var_samp`), `every` (`bool_and`), and `statement_timestamp`,
/// `transaction_timestamp`, `clock_timestamp` (`now()`: the statement's
/// start; OKO's transactions are single statements, and a clock read per
/// row is not offered). Run after `now` is registered as `timestamptz`.
pub fn register_aliases(ctx: &SessionContext) {
    let state = ctx.state();
    for (name, aliases) in [
        ("var_samp", &["variance"][..]),
        ("bool_and", &["every"][..]),
    ] {
        if let Some(f) = state.aggregate_functions().get(name) {
            ctx.register_udaf(f.as_ref().clone().with_aliases(aliases.iter().copied()));
        }
    }
    // PostgreSQL's `array_remove` and `array_replace` act on every
    // matching element; DataFusion's of those names on the first only.
    for (all, names) in [
        ("array_remove_all", ["array_remove", "list_remove"]),
        ("array_replace_all", ["array_replace", "list_replace"]),
    ] {
        if let Some(f) = state.scalar_functions().get(all) {
            ctx.register_udf(f.as_ref().clone().with_aliases(names));
        }
    }
    if let Some(now) = state.scalar_functions().get("now") {
        ctx.register_udf(now.as_ref().clone().with_aliases([
            "statement_timestamp",
            "transaction_timestamp",
            "clock_timestamp",
        ]));
    }
}

/// All arguments scalar: the answer is one value.
pub(crate) fn all_scalar(args: &[ColumnarValue]) -> bool {
    args.iter().all(|a| matches!(a, ColumnarValue::Scalar(_)))
}

/// An answer of one row as a scalar, of many as an array.
pub(crate) fn answer(array: ArrayRef, scalar: bool) -> Result<ColumnarValue> {
    if scalar && array.len() == 1 {
        Ok(ColumnarValue::Scalar(ScalarValue::try_from_array(
            &array, 0,
        )?))
    } else {
        Ok(ColumnarValue::Array(array))
    }
}

/// A text function that is always NULL, taking any arguments of the given
/// counts.
fn null_text(name: &'static str, arities: &[usize]) -> ScalarUDF {
    ScalarUDF::new_from_impl(NullText {
        name,
        signature: Signature::one_of(
            arities.iter().map(|n| TypeSignature::Any(*n)).collect(),
            Volatility::Stable,
        ),
    })
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct NullText {
    name: &'static str,
    signature: Signature,
}

impl ScalarUDFImpl for NullText {
    fn name(&self) -> &str {
        self.name
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }
    fn invoke_with_args(&self, _: ScalarFunctionArgs) -> Result<ColumnarValue> {
        Ok(ColumnarValue::Scalar(ScalarValue::Utf8(None)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn one(sql: &str) -> String {
        let ctx = SessionContext::new();
        register(&ctx).unwrap();
        let batches = ctx.sql(sql).await.unwrap().collect().await.unwrap();
        datafusion::arrow::util::pretty::pretty_format_batches(&batches)
            .unwrap()
            .to_string()
    }

    #[tokio::test]
    async fn pg_expandarray_numbers_the_elements() {
        let out = one(
            // (What `(unnest(…)).x` becomes, see compat::rewrite_statement.)
            "SELECT get_field(unnest(_pg_expandarray(make_array(7, 8))), 'x') AS x, \
                    get_field(unnest(_pg_expandarray(make_array(7, 8))), 'n') AS n",
        )
        .await;
        assert!(
            out.contains("| 7 | 1 |") && out.contains("| 8 | 2 |"),
            "{out}"
        );
    }

    #[tokio::test]
    async fn generate_subscripts_numbers_the_positions() {
        let out = one("SELECT unnest(make_array(7, 8, 9)) AS v, \
                    unnest(generate_subscripts(make_array(7, 8, 9), 1)) AS i")
        .await;
        assert!(
            out.contains("| 7 | 1 |") && out.contains("| 9 | 3 |"),
            "{out}"
        );
    }

    #[tokio::test]
    async fn format_and_like_escape() {
        let out = one("SELECT format('%I.%s|%2$L|%-3s|', 'Leads', 'x''y', 7) AS f").await;
        assert!(out.contains("\"Leads\".x'y|'x''y'|7  |"), "{out}");
        let out = one("SELECT 'pg_toast' LIKE like_escape('pg/_%', '/') ESCAPE '\\' AS m").await;
        assert!(out.contains("true"), "{out}");
    }
}
