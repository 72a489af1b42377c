//! Values a statement builds are bounded: functions that make big strings
//! or arrays (`repeat`, `lpad`, `range`, `array_repeat`, `||`, …) are
//! counted in the server's memory pool and capped per call.
//!
//! DataFusion's memory pool counts what operators hold (sort buffers, hash
//! tables), not the values expressions compute. `repeat('x', 1000000000)`
//! allocated a gigabyte outside the pool, `cardinality(range(1,
//! 100000000))` 800 MB, and nesting doubles (`s || s` in a chain of CTEs)
//! reach any size. This analyzer rule, which runs after type coercion on
//! every statement of a client session, wraps each call of such a function
//! (and the `||` string operator) in [`Bounded`]:
//! - before the call, the size of its result is estimated from its
//!   arguments (`repeat(s, n)`: `len(s) × n` per row; `range(a, b, s)`:
//!   the element count; concatenations: the sum of their inputs); after
//!   it, the real size is measured;
//! - a call whose result would exceed [`MAX_CALL_BYTES`] fails with 54000
//!   ("program limit exceeded") before anything is allocated;
//! - every call site of the statement keeps its latest result counted in
//!   one reservation of the server's pool, held until the statement's plan
//!   is dropped; when the pool cannot grant it, the statement fails with
//!   53200 (out of memory) — so a statement building many large values at
//!   once (`concat(repeat(…), repeat(…), …)`) is stopped by the pool.
//!
//! Results and names are unchanged: a wrapper has its function's name,
//! signature and behaviour, and `||` keeps its display (`a || b`).

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use datafusion::arrow::array::{Array, ArrayRef, AsArray, Int64Array, StringArray};
use datafusion::arrow::compute::kernels::concat_elements::concat_elements_utf8;
use datafusion::arrow::compute::{cast, kernels::length::length};
use datafusion::arrow::datatypes::{DataType, FieldRef, IntervalMonthDayNanoType};
use datafusion::common::config::ConfigOptions;
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::common::{DFSchema, DataFusionError, Result, ScalarValue};
use datafusion::execution::memory_pool::{MemoryConsumer, MemoryPool, MemoryReservation};
use datafusion::logical_expr::expr::ScalarFunction;
use datafusion::logical_expr::expr_rewriter::NamePreserver;
use datafusion::logical_expr::{
    BinaryExpr, ColumnarValue, Expr, ExprSchemable, LogicalPlan, Operator, ReturnFieldArgs,
    ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};
use datafusion::optimizer::AnalyzerRule;

use super::errors::{code, coded};

/// The most one call of a bounded function may build (all rows of a batch
/// together): PostgreSQL refuses values over 1 GB; a shared server's
/// analysts never need a sixteenth of that in one call, and the optimizer
/// copies a folded constant more than once.
pub const MAX_CALL_BYTES: usize = 64 << 20;

/// How a function's result grows from its arguments.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Growth {
    /// `repeat(s, n)`: `len(s) × n`.
    Repeat,
    /// `lpad`/`rpad(s, n [, fill])`: `n` characters of up to 4 bytes.
    Pad,
    /// `range`/`generate_series([start,] stop [, step])`: one element per
    /// step.
    Series,
    /// `array_repeat(x, n)`: `n` copies of `x`.
    ArrayRepeat,
    /// `array_resize(a, n [, fill])`: `n` elements.
    ArrayResize,
    /// `replace(s, from, to)`: every `from` may become `to`.
    Replace,
    /// `regexp_replace(s, pattern, replacement [, flags])`.
    RegexpReplace,
    /// At most this many times the sum of the inputs (concatenations,
    /// encodings).
    Sum(usize),
}

/// The functions whose results can outgrow their arguments, by name.
fn growth(name: &str) -> Option<Growth> {
    Some(match name {
        "repeat" => Growth::Repeat,
        "lpad" | "rpad" => Growth::Pad,
        "range" | "generate_series" => Growth::Series,
        "array_repeat" => Growth::ArrayRepeat,
        "array_resize" => Growth::ArrayResize,
        "replace" => Growth::Replace,
        "regexp_replace" => Growth::RegexpReplace,
        "||" | "concat" | "concat_ws" | "overlay" | "array_concat" | "array_append"
        | "array_prepend" | "array_union" | "array_to_string" | "format" => Growth::Sum(1),
        "encode" | "quote_ident" | "quote_literal" => Growth::Sum(2),
        "translate" => Growth::Sum(4),
        "string_to_array" | "regexp_split_to_array" => Growth::Sum(16),
        _ => return None,
    })
}

/// The analyzer rule; see the module documentation.
#[derive(Debug)]
pub struct BoundedValues {
    pool: Arc<dyn MemoryPool>,
}

impl BoundedValues {
    pub fn new(pool: Arc<dyn MemoryPool>) -> BoundedValues {
        BoundedValues { pool }
    }
}

impl AnalyzerRule for BoundedValues {
    fn analyze(&self, plan: LogicalPlan, _config: &ConfigOptions) -> Result<LogicalPlan> {
        let budget = Arc::new(Budget::new(&self.pool));
        let sites = AtomicUsize::new(0);
        plan.transform_up_with_subqueries(|node| {
            let mut schema = DFSchema::empty();
            for input in node.inputs() {
                schema.merge(input.schema());
            }
            let names = NamePreserver::new(&node);
            node.map_expressions(|e| {
                let name = names.save(&e);
                let rewritten = e.transform_up(|e| bound(e, &schema, &budget, &sites))?;
                Ok(rewritten.update_data(|e| name.restore(e)))
            })
        })
        .map(|t| t.data)
    }

    fn name(&self) -> &str {
        "oko_bounded_values"
    }
}

/// Wraps `e` when it calls a function that can build large values.
fn bound(
    e: Expr,
    schema: &DFSchema,
    budget: &Arc<Budget>,
    sites: &AtomicUsize,
) -> Result<Transformed<Expr>> {
    let wrap = |inner: Arc<ScalarUDF>, kind: Growth, args: Vec<Expr>| {
        Expr::ScalarFunction(ScalarFunction::new_udf(
            Arc::new(ScalarUDF::new_from_impl(Bounded {
                inner,
                kind,
                budget: budget.clone(),
                site: sites.fetch_add(1, Ordering::Relaxed),
            })),
            args,
        ))
    };
    match e {
        Expr::ScalarFunction(f) if !f.func.inner().is::<Bounded>() => match growth(f.func.name()) {
            Some(kind) => Ok(Transformed::yes(wrap(f.func, kind, f.args))),
            None => Ok(Transformed::no(Expr::ScalarFunction(f))),
        },
        Expr::BinaryExpr(BinaryExpr {
            left,
            op: Operator::StringConcat,
            right,
        }) => {
            let types = (left.get_type(schema), right.get_type(schema));
            match types {
                (Ok(l), Ok(r)) if is_string(&l) && is_string(&r) => {
                    let output = if l == r { l } else { DataType::Utf8 };
                    let op = Arc::new(ScalarUDF::new_from_impl(ConcatOperator::new(output)));
                    Ok(Transformed::yes(wrap(
                        op,
                        Growth::Sum(1),
                        vec![*left, *right],
                    )))
                }
                _ => Ok(Transformed::no(Expr::BinaryExpr(BinaryExpr {
                    left,
                    op: Operator::StringConcat,
                    right,
                }))),
            }
        }
        other => Ok(Transformed::no(other)),
    }
}

fn is_string(t: &DataType) -> bool {
    matches!(t, DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View)
}

/// The values one statement's bounded calls hold, counted in the pool.
#[derive(Debug)]
struct Budget {
    /// Bytes held by each call site (its latest result).
    sites: Mutex<HashMap<usize, usize>>,
    reservation: Mutex<MemoryReservation>,
}

impl Budget {
    fn new(pool: &Arc<dyn MemoryPool>) -> Budget {
        Budget {
            sites: Mutex::default(),
            reservation: Mutex::new(MemoryConsumer::new("expression values").register(pool)),
        }
    }

    /// Counts `bytes` as what `site` holds now (instead of its earlier
    /// result); fails when the pool cannot grant it.
    fn claim(&self, site: usize, bytes: usize) -> Result<()> {
        let mut sites = self.sites.lock().unwrap_or_else(|p| p.into_inner());
        let before = sites.get(&site).copied().unwrap_or(0);
        let total: usize = sites.values().sum::<usize>() - before + bytes;
        let reservation = self.reservation.lock().unwrap_or_else(|p| p.into_inner());
        reservation.try_resize(total).map_err(|_| {
            DataFusionError::ResourcesExhausted(format!(
                "the values this statement builds need {} MiB; the server's memory pool \
                 cannot hold them",
                total >> 20
            ))
        })?;
        sites.insert(site, bytes);
        Ok(())
    }
}

/// A function call whose result is estimated, capped and counted.
#[derive(Debug)]
struct Bounded {
    inner: Arc<ScalarUDF>,
    kind: Growth,
    budget: Arc<Budget>,
    /// This call's place in its statement.
    site: usize,
}

impl PartialEq for Bounded {
    fn eq(&self, other: &Self) -> bool {
        self.inner == other.inner
            && self.kind == other.kind
            && self.site == other.site
            && Arc::ptr_eq(&self.budget, &other.budget)
    }
}
impl Eq for Bounded {}
impl Hash for Bounded {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.inner.hash(state);
        self.site.hash(state);
    }
}

impl ScalarUDFImpl for Bounded {
    fn name(&self) -> &str {
        self.inner.name()
    }
    fn display_name(&self, args: &[Expr]) -> Result<String> {
        #[expect(deprecated)]
        self.inner.inner().display_name(args)
    }
    fn schema_name(&self, args: &[Expr]) -> Result<String> {
        self.inner.inner().schema_name(args)
    }
    fn signature(&self) -> &Signature {
        self.inner.signature()
    }
    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        self.inner.return_type(arg_types)
    }
    fn return_field_from_args(&self, args: ReturnFieldArgs) -> Result<FieldRef> {
        self.inner.return_field_from_args(args)
    }
    fn is_strict(&self) -> bool {
        self.inner.inner().is_strict()
    }
    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        self.inner.coerce_types(arg_types)
    }
    fn short_circuits(&self) -> bool {
        self.inner.short_circuits()
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let estimate = estimate(self.kind, &args.args, rows)?;
        self.check(estimate)?;
        self.budget.claim(self.site, estimate)?;
        let result = self.inner.invoke_with_args(args)?;
        let size = value_bytes(&result, 1);
        self.check(size)?;
        self.budget.claim(self.site, size)?;
        Ok(result)
    }
}

impl Bounded {
    fn check(&self, bytes: usize) -> Result<()> {
        if bytes > MAX_CALL_BYTES {
            return Err(coded(
                code::PROGRAM_LIMIT_EXCEEDED,
                format!(
                    "{}() would build {} MiB; one call may build at most {} MiB",
                    self.inner.name(),
                    bytes >> 20,
                    MAX_CALL_BYTES >> 20
                ),
            ));
        }
        Ok(())
    }
}

/// Bytes a value takes (a scalar as many times as it stands for rows).
fn value_bytes(v: &ColumnarValue, rows: usize) -> usize {
    match v {
        ColumnarValue::Array(a) => a.get_array_memory_size(),
        ColumnarValue::Scalar(s) => s.size().saturating_mul(rows),
    }
}

/// One argument, row by row, as numbers (NULL as 0).
enum Numbers {
    Same(i64),
    Rows(Int64Array),
}

impl Numbers {
    fn get(&self, i: usize) -> i64 {
        match self {
            Numbers::Same(n) => *n,
            Numbers::Rows(a) if a.is_valid(i) => a.value(i),
            Numbers::Rows(_) => 0,
        }
    }
}

/// The argument as whole numbers (dates as days, timestamps in their unit).
fn numbers(v: &ColumnarValue) -> Result<Numbers> {
    let as_i64 = |a: &ArrayRef| -> Result<Int64Array> {
        let a = match a.data_type() {
            DataType::Date32 => cast(a, &DataType::Int32)?,
            DataType::Date64 | DataType::Timestamp(..) => cast(a, &DataType::Int64)?,
            _ => a.clone(),
        };
        Ok(cast(&a, &DataType::Int64)?.as_primitive().clone())
    };
    Ok(match v {
        ColumnarValue::Scalar(s) => {
            let a = as_i64(&s.to_array()?)?;
            Numbers::Same(if a.is_valid(0) { a.value(0) } else { 0 })
        }
        ColumnarValue::Array(a) => Numbers::Rows(as_i64(a)?),
    })
}

/// The argument's byte length per row (an array's element count, a NULL's
/// 0).
fn lengths(v: &ColumnarValue) -> Result<Numbers> {
    let of = |a: &ArrayRef| -> Result<Numbers> {
        match a.data_type() {
            DataType::Utf8
            | DataType::LargeUtf8
            | DataType::Utf8View
            | DataType::Binary
            | DataType::LargeBinary
            | DataType::BinaryView
            | DataType::List(_)
            | DataType::LargeList(_) => Ok(Numbers::Rows(
                cast(&length(a)?, &DataType::Int64)?.as_primitive().clone(),
            )),
            _ => Ok(Numbers::Same(
                (a.get_array_memory_size() / a.len().max(1)) as i64,
            )),
        }
    };
    match v {
        ColumnarValue::Scalar(s) => match of(&s.to_array()?)? {
            Numbers::Rows(a) => Ok(Numbers::Same(if a.is_valid(0) { a.value(0) } else { 0 })),
            same => Ok(same),
        },
        ColumnarValue::Array(a) => of(a),
    }
}

/// Elements of `range`/`generate_series` per row.
fn series_counts(args: &[ColumnarValue], rows: usize) -> Result<Option<u128>> {
    let (start, stop, step) = match args {
        [stop] => (Numbers::Same(0), numbers(stop)?, None),
        [start, stop] => (numbers(start)?, numbers(stop)?, None),
        [start, stop, step] => (numbers(start)?, numbers(stop)?, Some(step)),
        _ => return Ok(None),
    };
    // The step in the unit of start/stop: numbers as they are, intervals
    // in days (dates) or the timestamps' unit, a month counted as 28 days
    // so that the count is never underestimated.
    let unit_nanos: i128 = match args[0].data_type() {
        DataType::Date32 | DataType::Date64 => 86_400_000_000_000,
        DataType::Timestamp(unit, _) => match unit {
            datafusion::arrow::datatypes::TimeUnit::Second => 1_000_000_000,
            datafusion::arrow::datatypes::TimeUnit::Millisecond => 1_000_000,
            datafusion::arrow::datatypes::TimeUnit::Microsecond => 1_000,
            datafusion::arrow::datatypes::TimeUnit::Nanosecond => 1,
        },
        _ => 0,
    };
    let steps: Box<dyn Fn(usize) -> i128> = match step {
        None => Box::new(|_| 1),
        Some(step) if matches!(step.data_type(), DataType::Interval(_)) => {
            let array = step.to_array(rows)?;
            let interval = cast(
                &array,
                &DataType::Interval(datafusion::arrow::datatypes::IntervalUnit::MonthDayNano),
            )?;
            let interval = interval.as_primitive::<IntervalMonthDayNanoType>().clone();
            let unit = unit_nanos.max(1);
            Box::new(move |i| {
                if interval.is_null(i) {
                    return 1;
                }
                let v = interval.value(i);
                let nanos = (v.months as i128 * 28 + v.days as i128) * 86_400_000_000_000
                    + v.nanoseconds as i128;
                (nanos.abs() / unit).max(1)
            })
        }
        Some(step) => {
            let step = numbers(step)?;
            Box::new(move |i| (step.get(i) as i128).abs().max(1))
        }
    };
    let mut total: u128 = 0;
    for i in 0..rows {
        let span = (stop.get(i) as i128 - start.get(i) as i128).unsigned_abs();
        total = total.saturating_add(span / steps(i).unsigned_abs() + 1);
    }
    Ok(Some(total))
}

/// The most bytes a call can build, from its arguments.
fn estimate(kind: Growth, args: &[ColumnarValue], rows: usize) -> Result<usize> {
    let sum_rows = |f: &dyn Fn(usize) -> u128| -> u128 {
        (0..rows).fold(0u128, |acc, i| acc.saturating_add(f(i)))
    };
    let inputs: usize = args.iter().map(|a| value_bytes(a, rows)).sum();
    let bytes: u128 = match (kind, args) {
        (Growth::Repeat, [s, n, ..]) => {
            let (s, n) = (lengths(s)?, numbers(n)?);
            sum_rows(&|i| s.get(i).max(0) as u128 * n.get(i).max(0) as u128)
        }
        (Growth::Pad, [s, n, ..]) => {
            let (s, n) = (lengths(s)?, numbers(n)?);
            sum_rows(&|i| s.get(i).max(0) as u128 + n.get(i).max(0) as u128 * 4)
        }
        (Growth::Series, _) => match series_counts(args, rows)? {
            Some(n) => n.saturating_mul(8),
            None => inputs as u128,
        },
        (Growth::ArrayRepeat, [x, n, ..]) => {
            let (x, n) = (lengths(x)?, numbers(n)?);
            sum_rows(&|i| (x.get(i).max(0) as u128 + 8) * n.get(i).max(0) as u128)
        }
        (Growth::ArrayResize, [_, n, ..]) => {
            let n = numbers(n)?;
            inputs as u128 + sum_rows(&|i| n.get(i).max(0) as u128 * 16)
        }
        (Growth::Replace, [s, from, to, ..]) => {
            let (s, from, to) = (lengths(s)?, lengths(from)?, lengths(to)?);
            sum_rows(&|i| {
                let len = s.get(i).max(0) as u128;
                len + (len + 1) * to.get(i).max(0) as u128 / from.get(i).max(1) as u128
            })
        }
        (Growth::RegexpReplace, [s, _, replacement, ..]) => {
            let (s, r) = (lengths(s)?, lengths(replacement)?);
            sum_rows(&|i| 2 * (s.get(i).max(0) as u128 + 1) * (r.get(i).max(0) as u128 + 1))
        }
        (Growth::Sum(factor), _) => (inputs as u128).saturating_mul(factor as u128),
        _ => inputs as u128,
    };
    Ok(usize::try_from(bytes).unwrap_or(usize::MAX))
}

/// `a || b` for strings as a function, so it can be bounded like the
/// others: NULL when either side is NULL, as the operator is.
#[derive(Debug, PartialEq, Eq, Hash)]
struct ConcatOperator {
    signature: Signature,
    output: DataType,
}

impl ConcatOperator {
    fn new(output: DataType) -> ConcatOperator {
        ConcatOperator {
            signature: Signature::any(2, Volatility::Immutable),
            output,
        }
    }
}

impl ScalarUDFImpl for ConcatOperator {
    fn name(&self) -> &str {
        "||"
    }
    fn display_name(&self, args: &[Expr]) -> Result<String> {
        Ok(match args {
            [l, r] => format!("{l} || {r}"),
            _ => "||".into(),
        })
    }
    fn schema_name(&self, args: &[Expr]) -> Result<String> {
        Ok(match args {
            [l, r] => format!("{} || {}", l.schema_name(), r.schema_name()),
            _ => "||".into(),
        })
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(self.output.clone())
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let scalar = args
            .args
            .iter()
            .all(|a| matches!(a, ColumnarValue::Scalar(_)));
        let rows = if scalar { 1 } else { args.number_rows };
        let text = |v: &ColumnarValue| -> Result<StringArray> {
            Ok(cast(&v.to_array(rows)?, &DataType::Utf8)?
                .as_string::<i32>()
                .clone())
        };
        let [l, r] = args.args.as_slice() else {
            return datafusion::common::exec_err!("|| takes two operands");
        };
        let joined: ArrayRef = Arc::new(concat_elements_utf8(&text(l)?, &text(r)?)?);
        let joined = cast(&joined, &self.output)?;
        if scalar {
            Ok(ColumnarValue::Scalar(ScalarValue::try_from_array(
                &joined, 0,
            )?))
        } else {
            Ok(ColumnarValue::Array(joined))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::execution::memory_pool::GreedyMemoryPool;
    use datafusion::execution::runtime_env::RuntimeEnvBuilder;
    use datafusion::prelude::{SessionConfig, SessionContext};

    fn context(pool_mb: usize) -> SessionContext {
        let pool: Arc<dyn MemoryPool> = Arc::new(GreedyMemoryPool::new(pool_mb << 20));
        let runtime = RuntimeEnvBuilder::new()
            .with_memory_pool(pool.clone())
            .build_arc()
            .unwrap();
        let ctx = SessionContext::new_with_config_rt(SessionConfig::new(), runtime);
        ctx.add_analyzer_rule(Arc::new(BoundedValues::new(pool)));
        ctx
    }

    async fn run(ctx: &SessionContext, sql: &str) -> Result<String> {
        let batches = ctx.sql(sql).await?.collect().await?;
        Ok(datafusion::arrow::util::pretty::pretty_format_batches(&batches)?.to_string())
    }

    fn code_of(e: DataFusionError) -> String {
        super::super::errors::datafusion_info(&e).code
    }

    #[tokio::test]
    async fn ordinary_calls_answer_as_before_with_their_names() {
        let ctx = context(64);
        let text = run(
            &ctx,
            "SELECT repeat('ab', 3), lpad('x', 4, '-'), 'a' || 'b' || NULL IS NULL AS n, \
             'a' || 'b' AS ab, cardinality(range(1, 11)), concat('a', NULL, 'c')",
        )
        .await
        .unwrap();
        assert!(text.contains("ababab"), "{text}");
        assert!(text.contains("---x"), "{text}");
        assert!(text.contains("| true"), "{text}");
        assert!(text.contains("| ab "), "{text}");
        assert!(text.contains("| 10 "), "{text}");
        assert!(text.contains("| ac "), "{text}");
        assert!(text.contains("repeat(Utf8(\"ab\"),Int64(3))"), "{text}");
    }

    #[tokio::test]
    async fn huge_values_are_refused_before_they_are_built() {
        let ctx = context(512);
        for sql in [
            "SELECT length(repeat('x', 1000000000))",
            "SELECT cardinality(range(1, 100000000))",
            "SELECT length(lpad('x', 2000000000))",
            "SELECT cardinality(array_repeat(1, 1000000000))",
            "SELECT cardinality(generate_series(TIMESTAMP '2000-01-01', TIMESTAMP '2100-01-01', INTERVAL '1 second'))",
        ] {
            let e = run(&ctx, sql).await.unwrap_err();
            let message = e.to_string();
            assert_eq!(code_of(e), "54000", "{sql}: {message}");
        }
    }

    #[tokio::test]
    async fn many_large_values_at_once_are_stopped_by_the_pool() {
        let ctx = context(100);
        let call = "repeat('x', 50000000)";
        let sql = format!("SELECT length(concat({call}, {call}, {call}))");
        let e = run(&ctx, &sql).await.unwrap_err();
        assert_eq!(code_of(e), "53200");
        // Doubling through `||` stops at the cap too.
        let mut nested = "repeat('x', 1000000)".to_string();
        for _ in 0..12 {
            nested = format!("({nested} || {nested})");
        }
        let e = run(&ctx, &format!("SELECT length({nested})"))
            .await
            .unwrap_err();
        assert!(["53200", "54000"].contains(&code_of(e).as_str()));
    }
}
