//! PostgreSQL's `json` and `jsonb`: the types, their operators and the
//! functions analysts use.
//!
//! A value of either type is text (`Utf8`) whose field carries an Arrow
//! extension type name ([`Kind`]): the wire describes such a column as
//! `json` (oid 114) or `jsonb` (3802), see
//! [`crate::server::encode::fields`]. An extension name, rather than a key
//! of our own, because DataFusion drops it on a cast to a plain type, as
//! PostgreSQL's `j::text` is text again. A `json` value is the text as
//! given (validated); a `jsonb` value is always written in PostgreSQL's
//! canonical form ([`value::write_jsonb`]), so equal text is equal `jsonb`
//! except for numbers of different scale (`1` and `1.0`), which `=` and
//! `@>` compare by value.
//!
//! | module | what it holds |
//! |---|---|
//! | [`value`] | the parser, the canonical form, PostgreSQL's order and containment |
//! | [`types`] | `json`/`jsonb` as SQL types: the type planner, casts to and from them |
//! | [`operators`] | `->`, `->>`, `#>`, `#>>`, `@>`, `<@`, `?`, `?\|`, `?&`, `\|\|`, `-`, `#-`, comparisons |
//! | [`functions`] | `jsonb_typeof`, `json_build_object`, `to_json`, `jsonb_set`, … |
//! | [`to_json`] | SQL values as JSON (numbers, text, times, arrays, records) |
//! | [`aggregates`] | `json_agg`, `jsonb_agg`, `json_object_agg`, `jsonb_object_agg` |
//! | [`sets`] | `json_each`, `jsonb_array_elements`, `json_object_keys`, `jsonb_path_query`, … in `FROM` |
//! | [`path`] | the SQL/JSON path language: `jsonb_path_query`, `jsonb_path_exists`, `@?`, `@@`, … |

pub mod aggregates;
pub mod functions;
pub mod operators;
pub mod path;
pub mod sets;
pub mod to_json;
pub mod types;
pub mod value;

#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, StringArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, FieldRef};
use datafusion::common::Result;
use datafusion::logical_expr::{ColumnarValue, Expr};
use datafusion::prelude::SessionContext;

use crate::sqlstate::{code, coded};

/// Arrow's field metadata key of an extension type's name.
pub const EXTENSION_NAME: &str = "ARROW:extension:name";

/// Which of PostgreSQL's two JSON types a text value is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// `json`: the text as given.
    Json,
    /// `jsonb`: the canonical text.
    Jsonb,
}

impl Kind {
    /// The extension type name that marks it (Arrow's canonical JSON
    /// extension for `json`).
    pub fn extension_name(self) -> &'static str {
        match self {
            Kind::Json => "arrow.json",
            Kind::Jsonb => "oko.jsonb",
        }
    }

    /// Its SQL name.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Json => "json",
            Kind::Jsonb => "jsonb",
        }
    }

    /// The kind a field holds: text marked with one of the two names.
    pub fn of(field: &Field) -> Option<Kind> {
        if !is_text(field.data_type()) {
            return None;
        }
        match field.metadata().get(EXTENSION_NAME).map(String::as_str) {
            Some("arrow.json") => Some(Kind::Json),
            Some("oko.jsonb") => Some(Kind::Jsonb),
            _ => None,
        }
    }

    /// The kind of an expression's value in `schema`.
    pub fn of_expr(expr: &Expr, schema: &datafusion::common::DFSchema) -> Option<Kind> {
        use datafusion::logical_expr::ExprSchemable;
        expr.to_field(schema).ok().and_then(|(_, f)| Kind::of(&f))
    }

    /// A field of this kind.
    pub fn field(self, name: &str, nullable: bool) -> FieldRef {
        Arc::new(
            Field::new(name, DataType::Utf8, nullable).with_metadata(HashMap::from([(
                EXTENSION_NAME.to_string(),
                self.extension_name().to_string(),
            )])),
        )
    }
}

/// Text of any Arrow string type.
pub fn is_text(t: &DataType) -> bool {
    matches!(t, DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View)
}

/// The PostgreSQL name of a value's type, for messages
/// (`operator does not exist: text -> unknown`).
pub fn pg_type_name(t: &DataType) -> String {
    match t {
        DataType::Null => "unknown".into(),
        other => datafusion_postgres::arrow_pg::datatypes::into_pg_type(other)
            .map_or_else(|_| other.to_string(), |t| t.name().to_string()),
    }
}

/// An argument as one text value per row (`None` for NULL).
pub fn text_array(value: &ColumnarValue, rows: usize) -> Result<StringArray> {
    let array = value.to_array(rows)?;
    let array = match array.data_type() {
        DataType::Utf8 => array,
        _ => cast(&array, &DataType::Utf8)?,
    };
    Ok(array.as_string::<i32>().clone())
}

/// An argument as one integer per row.
pub fn int_array(value: &ColumnarValue, rows: usize) -> Result<ArrayRef> {
    let array = value.to_array(rows)?;
    Ok(cast(&array, &DataType::Int64)?)
}

/// A function argument PostgreSQL would not take.
pub fn no_function(name: &str, args: &[FieldRef]) -> datafusion::common::DataFusionError {
    let types: Vec<String> = args.iter().map(|f| type_of_field(f)).collect();
    coded(
        code::UNDEFINED_FUNCTION,
        format!("function {name}({}) does not exist", types.join(", ")),
    )
}

/// A field's PostgreSQL type name (`json`, `jsonb`, or by its Arrow type).
pub fn type_of_field(f: &Field) -> String {
    match Kind::of(f) {
        Some(k) => k.name().to_string(),
        None => pg_type_name(f.data_type()),
    }
}

/// Everything of this module into one session: the functions, the
/// operators' planner, the type planner (wrapping the one already
/// installed, datafusion-pg-catalog's) and the cast rewrite. Call after
/// `setup_pg_catalog`, which sets the session's type planner.
pub fn install(ctx: &SessionContext) -> Result<()> {
    types::install_type_planner(ctx);
    functions::register(ctx);
    aggregates::register(ctx);
    sets::register(ctx);
    datafusion::execution::FunctionRegistry::register_expr_planner(
        &mut *ctx.state_ref().write(),
        Arc::new(operators::JsonOperators),
    )?;
    ctx.add_analyzer_rule(Arc::new(types::JsonCasts));
    ctx.add_optimizer_rule(Arc::new(types::UnnestedJson));
    Ok(())
}

/// Whether any argument is an array (the answer is then one too).
pub fn rows_of(args: &[ColumnarValue], number_rows: usize) -> usize {
    if args.iter().any(|a| matches!(a, ColumnarValue::Array(_))) {
        number_rows
    } else {
        1
    }
}

/// An answer: a scalar when every argument was one.
pub fn answer(array: ArrayRef, args: &[ColumnarValue]) -> Result<ColumnarValue> {
    crate::pg_compat::pg_functions::answer(array, crate::pg_compat::pg_functions::all_scalar(args))
}
