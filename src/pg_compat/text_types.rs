//! `text`, `character varying` and `name`: PostgreSQL's three string types,
//! one Arrow type here.
//!
//! Every string is Arrow `Utf8`, which arrow-pg describes as `text`. Where
//! PostgreSQL answers with another string type a client can see it in the
//! column's type oid: catalog names (`pg_class.relname`, `current_user`,
//! `information_schema.tables.table_name`) are `name`, `information_schema`
//! texts and `'x'::varchar` are `character varying`. Such a column carries
//! its PostgreSQL type in the field's metadata ([`PG_TYPE`]):
//! - the catalog marks its columns ([`name_column`], [`information_schema_type`]);
//! - a cast to one of the three types marks its result ([`TextTypes`], the
//!   session's type planner: `relname::text` is `text` again,
//!   `'x'::varchar` is `character varying`);
//! - the functions PostgreSQL types `name` are marked by
//!   [`super::result_types`] ([`NAME_FUNCTIONS`]).
//!
//! The server describes a marked text column with its type
//! ([`wire_type`]); the values are the same bytes in text and binary.

use std::collections::HashMap;
use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType, Field, FieldRef};
use datafusion::common::Result;
use datafusion::logical_expr::planner::TypePlanner;
use datafusion::prelude::SessionContext;
use datafusion::sql::sqlparser::ast::{ArrayElemTypeDef, DataType as SqlType, ObjectNamePart};
use pgwire::api::Type;

/// The metadata key of a string column's PostgreSQL type: `text`,
/// `varchar` or `name`.
pub const PG_TYPE: &str = "oko.pg_type";

/// Functions whose answer PostgreSQL types `name`.
pub const NAME_FUNCTIONS: &[&str] = &[
    "current_user",
    "session_user",
    "user",
    "current_database",
    "current_schema",
    "current_catalog",
    "pg_get_userbyid",
];

/// The `pg_catalog` columns PostgreSQL types `name` (every column of that
/// name in every catalog table or view is one).
const NAME_COLUMNS: &[&str] = &[
    "amname",
    "attname",
    "cfgname",
    "collname",
    "conname",
    "datname",
    "dictname",
    "enumlabel",
    "evtevent",
    "evtname",
    "extname",
    "fdwname",
    "funcname",
    "groname",
    "indexname",
    "indexrelname",
    "lanname",
    "matviewname",
    "matviewowner",
    "nspname",
    "opcname",
    "opfname",
    "oprname",
    "owner",
    "policyname",
    "polname",
    "proname",
    "prsname",
    "pubname",
    "relname",
    "rolname",
    "rulename",
    "schemaname",
    "sequencename",
    "sequenceowner",
    "spcname",
    "srvname",
    "stxname",
    "subname",
    "tablename",
    "tableowner",
    "tablespace",
    "tgname",
    "tmplname",
    "typname",
    "usename",
    "viewname",
    "viewowner",
];

/// `field` marked as PostgreSQL type `pg_type`.
pub fn marked(field: Field, pg_type: &str) -> Field {
    let mut metadata = field.metadata().clone();
    metadata.insert(PG_TYPE.to_string(), pg_type.to_string());
    field.with_metadata(metadata)
}

/// Whether `column` of a `pg_catalog` table is a `name`.
pub fn name_column(column: &str) -> bool {
    NAME_COLUMNS.contains(&column)
}

/// The PostgreSQL type of a text column of `information_schema`: its
/// identifiers (`table_name`, `column_name`, …) are `sql_identifier`, a
/// `name`; its other texts `character_data` or `yes_or_no`, both
/// `character varying`.
pub fn information_schema_type(column: &str) -> &'static str {
    if ["_catalog", "_schema", "_name"]
        .iter()
        .any(|s| column.ends_with(s))
    {
        "name"
    } else {
        "varchar"
    }
}

fn is_text(t: &DataType) -> bool {
    matches!(t, DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View)
}

/// The type a text column marked with [`PG_TYPE`] is described as; a list
/// of text marked so is an array of that type (`name[]`: psql's `\du`
/// lists each role's groups as one).
pub fn wire_type(field: &Field) -> Option<Type> {
    let list = match field.data_type() {
        t if is_text(t) => false,
        t if is_text_list(t) => true,
        _ => return None,
    };
    Some(match (field.metadata().get(PG_TYPE)?.as_str(), list) {
        ("name", false) => Type::NAME,
        ("name", true) => Type::NAME_ARRAY,
        ("varchar", false) => Type::VARCHAR,
        ("varchar", true) => Type::VARCHAR_ARRAY,
        ("timetz", false) => Type::TIMETZ,
        _ => return None,
    })
}

/// A list of text: the mark of a list field is its items' type (the items'
/// own fields stay plain: Arrow's casts and DataFusion's array functions
/// build them anew, and a list whose item field differs is another type).
fn is_text_list(t: &DataType) -> bool {
    matches!(t, DataType::List(item) | DataType::LargeList(item) if is_text(item.data_type()))
}

/// Whether `field` carries a [`PG_TYPE`] its Arrow type no longer has
/// (`relname::int`: the cast kept the metadata).
pub fn is_stale(field: &Field) -> bool {
    field.metadata().contains_key(PG_TYPE)
        && !is_text(field.data_type())
        && !is_text_list(field.data_type())
}

/// The session's type planner: casts to `text`, `varchar` and `name` give a
/// text field of that type; every other type is the planner's installed
/// before (the JSON types', then datafusion-pg-catalog's).
#[derive(Debug)]
pub struct TextTypes {
    inner: Option<Arc<dyn TypePlanner>>,
}

impl TextTypes {
    fn pg_type(sql_type: &SqlType) -> Option<&'static str> {
        match sql_type {
            SqlType::Text | SqlType::String(_) => Some("text"),
            SqlType::Varchar(_) | SqlType::CharacterVarying(_) | SqlType::CharVarying(_) => {
                Some("varchar")
            }
            SqlType::Custom(name, args) if args.is_empty() => {
                let last = match name.0.as_slice() {
                    [ObjectNamePart::Identifier(t)] => t,
                    [ObjectNamePart::Identifier(s), ObjectNamePart::Identifier(t)]
                        if s.value.eq_ignore_ascii_case("pg_catalog") =>
                    {
                        t
                    }
                    _ => return None,
                };
                match last.value.to_ascii_lowercase().as_str() {
                    "name" => Some("name"),
                    "text" => Some("text"),
                    "varchar" => Some("varchar"),
                    _ => None,
                }
            }
            _ => None,
        }
    }
}

impl TypePlanner for TextTypes {
    fn plan_type_field(&self, sql_type: &SqlType) -> Result<Option<FieldRef>> {
        if let Some(pg_type) = Self::pg_type(sql_type) {
            let field = Field::new("", DataType::Utf8, true)
                .with_metadata(HashMap::from([(PG_TYPE.to_string(), pg_type.to_string())]));
            return Ok(Some(Arc::new(field)));
        }
        // `name[]`, `varchar[]`: a list of text, marked (`text[]` is the
        // default list of text).
        if let SqlType::Array(
            ArrayElemTypeDef::SquareBracket(item, _) | ArrayElemTypeDef::AngleBracket(item),
        ) = sql_type
            && let Some(pg_type @ ("name" | "varchar")) = Self::pg_type(item)
        {
            let field = marked(
                Field::new("", DataType::new_list(DataType::Utf8, true), true),
                pg_type,
            );
            return Ok(Some(Arc::new(field)));
        }
        match &self.inner {
            Some(inner) => inner.plan_type_field(sql_type),
            None => Ok(None),
        }
    }
}

/// Installs [`TextTypes`] in `ctx`'s session, in front of the type planner
/// it has.
pub fn install(ctx: &SessionContext) {
    super::wrap_type_planner(ctx, |inner| Arc::new(TextTypes { inner }));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn information_schema_identifiers_are_names_and_other_texts_varchar() {
        assert_eq!(information_schema_type("table_name"), "name");
        assert_eq!(information_schema_type("udt_schema"), "name");
        assert_eq!(information_schema_type("is_nullable"), "varchar");
        assert_eq!(information_schema_type("data_type"), "varchar");
    }

    #[test]
    fn marked_text_is_described_with_its_type_and_a_stale_mark_is_seen() {
        let f = marked(Field::new("relname", DataType::Utf8, true), "name");
        assert_eq!(wire_type(&f), Some(Type::NAME));
        let f = marked(Field::new("x", DataType::Utf8, true), "varchar");
        assert_eq!(wire_type(&f), Some(Type::VARCHAR));
        let f = marked(Field::new("x", DataType::Utf8, true), "text");
        assert_eq!(wire_type(&f), None);
        let stale = marked(Field::new("n", DataType::Int32, true), "name");
        assert_eq!(wire_type(&stale), None);
        assert!(is_stale(&stale));
        assert!(name_column("relname") && !name_column("relkind"));
    }

    #[test]
    fn a_marked_list_of_text_is_an_array_of_its_type() {
        let names = marked(
            Field::new("memberof", DataType::new_list(DataType::Utf8, true), true),
            "name",
        );
        assert_eq!(wire_type(&names), Some(Type::NAME_ARRAY));
        assert!(!is_stale(&names));
        let plain = Field::new("x", DataType::new_list(DataType::Utf8, true), true);
        assert_eq!(wire_type(&plain), None);
        let ints = marked(
            Field::new("x", DataType::new_list(DataType::Int32, true), true),
            "name",
        );
        assert_eq!(wire_type(&ints), None);
        assert!(is_stale(&ints));
    }
}
