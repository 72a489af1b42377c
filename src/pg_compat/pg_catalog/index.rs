//! What the catalog functions (`pg_get_viewdef`, `pg_table_size`,
//! `pg_type_is_visible`, `pg_get_function_arguments`, …) know of the
//! objects `pg_catalog` lists, by oid.
//!
//! Relations get their oids from datafusion-pg-catalog when `pg_class` is
//! read, so the index notes them then (and once when the catalog is set
//! up); the static tables (functions, types, operators, … exported from a
//! real PostgreSQL) are read once. A function finds the index of its
//! session's catalog through the session's catalog list ([`CatalogIndex::of`]).

use std::collections::HashMap;
use std::sync::{Arc, RwLock, Weak};

use datafusion::arrow::array::{Array, AsArray, RecordBatch};
use datafusion::arrow::datatypes::{DataType, Int32Type};
use datafusion::catalog::{CatalogProviderList, SchemaProvider, Session, TableProvider};
use datafusion::common::Result;

use super::column_as;

/// Row types of relations have oids of their own: the relation's oid plus
/// this, and twice this for the row type's array type. datafusion-pg-catalog
/// hands relation oids out from 16384 up, one per catalog object, so the
/// ranges never meet, and the oids are the same for every connection.
pub const ROW_TYPE_OFFSET: i32 = 1 << 24;

/// The `pg_catalog` namespace's oid, in every PostgreSQL.
pub const PG_CATALOG_OID: i32 = 11;

/// A relation as `pg_class` lists it.
#[derive(Clone, Debug)]
pub struct Relation {
    pub oid: i32,
    pub namespace: i32,
    pub schema: String,
    pub name: String,
    /// `pg_class.relkind`: `r` or `v`.
    pub kind: String,
    /// Its row type (`pg_class.reltype`).
    pub row_type: i32,
    /// The table or view itself (not kept for `pg_catalog`'s own).
    pub table: Option<Arc<dyn TableProvider>>,
}

/// The kinds of objects whose visibility functions answer from their
/// namespace (`pg_function_is_visible`, `pg_type_is_visible`, …).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    Relation,
    Function,
    Type,
    Operator,
    Opclass,
    Opfamily,
    Conversion,
    Collation,
    TsConfig,
    TsDict,
    TsParser,
    TsTemplate,
    StatisticsObject,
}

/// The static tables of each kind, with their namespace column.
const STATIC_OBJECTS: &[(Kind, &str, &str)] = &[
    (Kind::Function, "pg_proc", "pronamespace"),
    (Kind::Type, "pg_type", "typnamespace"),
    (Kind::Operator, "pg_operator", "oprnamespace"),
    (Kind::Opclass, "pg_opclass", "opcnamespace"),
    (Kind::Opfamily, "pg_opfamily", "opfnamespace"),
    (Kind::Conversion, "pg_conversion", "connamespace"),
    (Kind::Collation, "pg_collation", "collnamespace"),
    (Kind::TsConfig, "pg_ts_config", "cfgnamespace"),
    (Kind::TsDict, "pg_ts_dict", "dictnamespace"),
    (Kind::TsParser, "pg_ts_parser", "prsnamespace"),
    (Kind::TsTemplate, "pg_ts_template", "tmplnamespace"),
    (Kind::StatisticsObject, "pg_statistic_ext", "stxnamespace"),
];

/// A type of `pg_type`, as `format_type` names it.
#[derive(Clone, Debug)]
pub struct TypeEntry {
    pub name: String,
    pub namespace: i32,
    /// The element type of an array type, else 0.
    pub element: i32,
}

/// A function of `pg_proc`, as `pg_get_function_arguments` and
/// `pg_get_function_result` describe it.
#[derive(Clone, Debug, Default)]
pub struct FunctionEntry {
    pub name: String,
    pub namespace: i32,
    /// `prokind`: `f`, `p`, `a` or `w`.
    pub kind: String,
    pub result: i32,
    pub returns_set: bool,
    /// The input arguments' types (`proargtypes`).
    pub arguments: Vec<i32>,
    /// Every argument's type, with output ones (`proallargtypes`).
    pub all_arguments: Option<Vec<i32>>,
    /// `i`, `o`, `b`, `v` or `t` per argument of `all_arguments`.
    pub modes: Option<Vec<String>>,
    pub names: Option<Vec<String>>,
    /// `proargdefaults`'s count: the last this many inputs have a default.
    pub defaults: usize,
    /// For an ordered-set aggregate, the count of its direct arguments
    /// (those before `ORDER BY`).
    pub ordered_at: Option<usize>,
}

/// The index of one catalog's objects.
#[derive(Debug)]
pub struct CatalogIndex {
    relations: RwLock<HashMap<i32, Relation>>,
    namespaces: RwLock<HashMap<i32, String>>,
    /// The namespace of each static object, by kind and oid.
    objects: HashMap<(Kind, i32), i32>,
    types: HashMap<i32, TypeEntry>,
    functions: HashMap<i32, FunctionEntry>,
    /// `pg_catalog`'s own row types by name (`pg_class` → 83), with the
    /// oid of their relation in the PostgreSQL they were exported from.
    catalog_row_types: HashMap<String, (i32, i32)>,
    /// The catalogs `pg_class` lists, to find a relation's table.
    catalogs: Weak<dyn CatalogProviderList>,
}

impl CatalogIndex {
    /// The index of the static tables of `inner` (datafusion-pg-catalog's
    /// `pg_catalog`) and of the relations `pg_class` lists now; `catalogs`
    /// are the catalogs it lists them from.
    pub async fn new(
        inner: &dyn SchemaProvider,
        state: &dyn Session,
        catalogs: &Arc<dyn CatalogProviderList>,
    ) -> Result<CatalogIndex> {
        let mut objects = HashMap::new();
        for (kind, table, column) in STATIC_OBJECTS {
            for b in scan(inner, state, table).await? {
                let (Some(oid), Some(space)) = (
                    column_as(&b, "oid", &DataType::Int32)?,
                    column_as(&b, column, &DataType::Int32)?,
                ) else {
                    continue;
                };
                let (oid, space) = (
                    oid.as_primitive::<Int32Type>(),
                    space.as_primitive::<Int32Type>(),
                );
                for i in 0..b.num_rows() {
                    if oid.is_valid(i) && space.is_valid(i) {
                        objects.insert((*kind, oid.value(i)), space.value(i));
                    }
                }
            }
        }
        let (types, catalog_row_types) = types(&scan(inner, state, "pg_type").await?)?;
        let index = CatalogIndex {
            relations: RwLock::default(),
            namespaces: RwLock::default(),
            objects,
            types,
            functions: functions(
                &scan(inner, state, "pg_proc").await?,
                &ordered_sets(&scan(inner, state, "pg_aggregate").await?)?,
            )?,
            catalog_row_types,
            catalogs: Arc::downgrade(catalogs),
        };
        index.refresh(inner, state).await?;
        Ok(index)
    }

    /// The index of the session's catalog `catalog` in `catalogs`, if its
    /// `pg_catalog` is OKO's.
    pub fn of(catalogs: &dyn CatalogProviderList, catalog: &str) -> Option<Arc<CatalogIndex>> {
        let schema = catalogs.catalog(catalog)?.schema("pg_catalog")?;
        let any: &dyn std::any::Any = schema.as_ref();
        any.downcast_ref::<super::PgCatalog>()
            .map(|c| c.index.clone())
    }

    /// Reads `pg_class` and `pg_namespace` of `inner` and notes what they
    /// list.
    pub async fn refresh(&self, inner: &dyn SchemaProvider, state: &dyn Session) -> Result<()> {
        let classes = scan(inner, state, "pg_class").await?;
        let spaces = scan(inner, state, "pg_namespace").await?;
        self.note(&classes, &spaces).await
    }

    /// Notes the relations and namespaces of `pg_class` and `pg_namespace`
    /// batches.
    pub async fn note(&self, classes: &[RecordBatch], spaces: &[RecordBatch]) -> Result<()> {
        let mut namespaces = HashMap::new();
        for b in spaces {
            let (Some(oid), Some(name)) = (
                column_as(b, "oid", &DataType::Int32)?,
                column_as(b, "nspname", &DataType::Utf8)?,
            ) else {
                continue;
            };
            let (oid, name) = (oid.as_primitive::<Int32Type>(), name.as_string::<i32>());
            for i in 0..b.num_rows() {
                if oid.is_valid(i) && name.is_valid(i) {
                    namespaces.insert(oid.value(i), name.value(i).to_string());
                }
            }
        }
        let known = self.relations.read().map(|r| r.clone()).unwrap_or_default();
        let mut relations = HashMap::new();
        for b in classes {
            let (Some(oid), Some(name), Some(space), Some(kind)) = (
                column_as(b, "oid", &DataType::Int32)?,
                column_as(b, "relname", &DataType::Utf8)?,
                column_as(b, "relnamespace", &DataType::Int32)?,
                column_as(b, "relkind", &DataType::Utf8)?,
            ) else {
                continue;
            };
            let oid = oid.as_primitive::<Int32Type>();
            let name = name.as_string::<i32>();
            let space = space.as_primitive::<Int32Type>();
            let kind = kind.as_string::<i32>();
            for i in 0..b.num_rows() {
                if !oid.is_valid(i) || !name.is_valid(i) {
                    continue;
                }
                let (oid, name, space) = (oid.value(i), name.value(i), space.value(i));
                let schema = namespaces.get(&space).cloned().unwrap_or_default();
                if let Some(r) = known.get(&oid)
                    && r.name == name
                    && r.schema == schema
                {
                    relations.insert(oid, r.clone());
                    continue;
                }
                let own = self
                    .catalog_row_types
                    .get(name)
                    .filter(|_| space == PG_CATALOG_OID);
                let row_type = match own {
                    Some((t, _)) => *t,
                    None => oid.saturating_add(ROW_TYPE_OFFSET),
                };
                // datafusion-pg-catalog calls the tables it builds views and
                // some views tables; PostgreSQL's system views are the
                // relations made after its catalogs (oids from 12000,
                // `FirstUnpinnedObjectId`).
                let kind = match own {
                    Some((_, relation)) if *relation >= 12000 => "v".to_string(),
                    Some(_) => "r".to_string(),
                    None if kind.is_valid(i) => kind.value(i).to_string(),
                    None => String::new(),
                };
                let table = if space == PG_CATALOG_OID {
                    None
                } else {
                    self.table(&schema, name).await?
                };
                relations.insert(
                    oid,
                    Relation {
                        oid,
                        namespace: space,
                        schema,
                        name: name.to_string(),
                        kind,
                        row_type,
                        table,
                    },
                );
            }
        }
        if let Ok(mut n) = self.namespaces.write() {
            *n = namespaces;
        }
        if let Ok(mut r) = self.relations.write() {
            *r = relations;
        }
        Ok(())
    }

    /// The table or view `schema.name` of the listed catalogs.
    async fn table(&self, schema: &str, name: &str) -> Result<Option<Arc<dyn TableProvider>>> {
        let Some(catalogs) = self.catalogs.upgrade() else {
            return Ok(None);
        };
        for catalog in catalogs.catalog_names() {
            if let Some(s) = catalogs.catalog(&catalog).and_then(|c| c.schema(schema))
                && let Some(t) = s.table(name).await?
            {
                return Ok(Some(t));
            }
        }
        Ok(None)
    }

    /// The relation of `oid`.
    pub fn relation(&self, oid: i32) -> Option<Relation> {
        self.relations.read().ok()?.get(&oid).cloned()
    }

    /// Every relation, by oid.
    pub fn relations(&self) -> Vec<Relation> {
        let mut all: Vec<Relation> = self
            .relations
            .read()
            .map(|r| r.values().cloned().collect())
            .unwrap_or_default();
        all.sort_by_key(|r| r.oid);
        all
    }

    /// The relation named `name` in `schema`, or in the first schema of
    /// `path` that has one.
    pub fn relation_named(
        &self,
        schema: Option<&str>,
        name: &str,
        path: &[String],
    ) -> Option<Relation> {
        let relations = self.relations.read().ok()?;
        let find = |s: &str| {
            relations
                .values()
                .find(|r| r.schema == s && r.name == name)
                .cloned()
        };
        match schema {
            Some(s) => find(s),
            None => path.iter().find_map(|s| find(s)),
        }
    }

    /// The name of namespace `oid`.
    pub fn namespace(&self, oid: i32) -> Option<String> {
        self.namespaces.read().ok()?.get(&oid).cloned()
    }

    /// The namespace of object `oid` of `kind`; `None` when there is none.
    pub fn namespace_of(&self, kind: Kind, oid: i32) -> Option<i32> {
        match kind {
            Kind::Relation => self.relation(oid).map(|r| r.namespace),
            Kind::Type => self
                .objects
                .get(&(kind, oid))
                .copied()
                .or_else(|| self.row_type(oid).map(|(r, _)| r.namespace)),
            _ => self.objects.get(&(kind, oid)).copied(),
        }
    }

    /// The relation whose row type (`false`) or row type's array type
    /// (`true`) is `oid`, for the row types this index makes up.
    pub fn row_type(&self, oid: i32) -> Option<(Relation, bool)> {
        let relations = self.relations.read().ok()?;
        let of = |relation: i32| {
            relations
                .get(&relation)
                .filter(|r| r.row_type == relation.saturating_add(ROW_TYPE_OFFSET))
                .cloned()
        };
        of(oid.wrapping_sub(ROW_TYPE_OFFSET))
            .map(|r| (r, false))
            .or_else(|| of(oid.wrapping_sub(2 * ROW_TYPE_OFFSET)).map(|r| (r, true)))
    }

    /// The static type `oid`.
    pub fn static_type(&self, oid: i32) -> Option<&TypeEntry> {
        self.types.get(&oid)
    }

    /// The static function `oid`.
    pub fn function(&self, oid: i32) -> Option<&FunctionEntry> {
        self.functions.get(&oid)
    }
}

/// Every batch of `inner`'s table `name` (none when it has no such table).
pub async fn scan(
    inner: &dyn SchemaProvider,
    state: &dyn Session,
    name: &str,
) -> Result<Vec<RecordBatch>> {
    let Some(table) = inner.table(name).await? else {
        return Ok(vec![]);
    };
    let plan = table.scan(state, None, &[], None).await?;
    datafusion::physical_plan::collect(plan, state.task_ctx()).await
}

/// The static types, and `pg_catalog`'s row types (with their relation's
/// oid) by name.
#[allow(clippy::type_complexity)]
fn types(
    batches: &[RecordBatch],
) -> Result<(HashMap<i32, TypeEntry>, HashMap<String, (i32, i32)>)> {
    let mut types = HashMap::new();
    let mut rows = HashMap::new();
    for b in batches {
        let (
            Some(oid),
            Some(name),
            Some(space),
            Some(element),
            Some(category),
            Some(kind),
            Some(storage),
            Some(relation),
        ) = (
            column_as(b, "oid", &DataType::Int32)?,
            column_as(b, "typname", &DataType::Utf8)?,
            column_as(b, "typnamespace", &DataType::Int32)?,
            column_as(b, "typelem", &DataType::Int32)?,
            column_as(b, "typcategory", &DataType::Utf8)?,
            column_as(b, "typtype", &DataType::Utf8)?,
            column_as(b, "typstorage", &DataType::Utf8)?,
            column_as(b, "typrelid", &DataType::Int32)?,
        )
        else {
            continue;
        };
        let oid = oid.as_primitive::<Int32Type>();
        let name = name.as_string::<i32>();
        let space = space.as_primitive::<Int32Type>();
        let element = element.as_primitive::<Int32Type>();
        let category = category.as_string::<i32>();
        let kind = kind.as_string::<i32>();
        let storage = storage.as_string::<i32>();
        let relation = relation.as_primitive::<Int32Type>();
        for i in 0..b.num_rows() {
            if !oid.is_valid(i) || !name.is_valid(i) {
                continue;
            }
            // `int2vector`, `oidvector`: arrays stored plain, named as
            // themselves.
            let array = category.is_valid(i)
                && category.value(i) == "A"
                && !(storage.is_valid(i) && storage.value(i) == "p");
            let namespace = if space.is_valid(i) { space.value(i) } else { 0 };
            if kind.is_valid(i) && kind.value(i) == "c" && namespace == PG_CATALOG_OID {
                let relation = if relation.is_valid(i) {
                    relation.value(i)
                } else {
                    0
                };
                rows.insert(name.value(i).to_string(), (oid.value(i), relation));
            }
            types.insert(
                oid.value(i),
                TypeEntry {
                    name: name.value(i).to_string(),
                    namespace,
                    element: if array && element.is_valid(i) {
                        element.value(i)
                    } else {
                        0
                    },
                },
            );
        }
    }
    Ok((types, rows))
}

/// The ordered-set and hypothetical-set aggregates (`percentile_cont`,
/// `rank`, …) by name, with their count of direct arguments (`pg_aggregate`
/// names its function, not its oid; every aggregate of one name agrees).
fn ordered_sets(batches: &[RecordBatch]) -> Result<HashMap<String, usize>> {
    let mut out = HashMap::new();
    for b in batches {
        let (Some(name), Some(kind), Some(direct)) = (
            column_as(b, "aggfnoid", &DataType::Utf8)?,
            column_as(b, "aggkind", &DataType::Utf8)?,
            column_as(b, "aggnumdirectargs", &DataType::Int32)?,
        ) else {
            continue;
        };
        let (name, kind, direct) = (
            name.as_string::<i32>(),
            kind.as_string::<i32>(),
            direct.as_primitive::<Int32Type>(),
        );
        for i in 0..b.num_rows() {
            if !name.is_valid(i) || !kind.is_valid(i) || !direct.is_valid(i) {
                continue;
            }
            if matches!(kind.value(i), "o" | "h") {
                let name = name.value(i);
                let name = name.strip_prefix("pg_catalog.").unwrap_or(name);
                out.insert(
                    name.to_string(),
                    usize::try_from(direct.value(i)).unwrap_or(0),
                );
            }
        }
    }
    Ok(out)
}

/// The static functions.
fn functions(
    batches: &[RecordBatch],
    ordered: &HashMap<String, usize>,
) -> Result<HashMap<i32, FunctionEntry>> {
    let mut functions = HashMap::new();
    for b in batches {
        let text = |name: &str| -> Result<Option<Vec<Option<String>>>> {
            Ok(column_as(b, name, &DataType::Utf8)?.map(|c| {
                c.as_string::<i32>()
                    .iter()
                    .map(|v| v.map(str::to_string))
                    .collect()
            }))
        };
        let (Some(oid), Some(result), Some(set), Some(defaults), Some(space)) = (
            column_as(b, "oid", &DataType::Int32)?,
            column_as(b, "prorettype", &DataType::Int32)?,
            column_as(b, "proretset", &DataType::Boolean)?,
            column_as(b, "pronargdefaults", &DataType::Int32)?,
            column_as(b, "pronamespace", &DataType::Int32)?,
        ) else {
            continue;
        };
        let (oid, result, set, defaults, space) = (
            oid.as_primitive::<Int32Type>(),
            result.as_primitive::<Int32Type>(),
            set.as_boolean(),
            defaults.as_primitive::<Int32Type>(),
            space.as_primitive::<Int32Type>(),
        );
        let arguments = text("proargtypes")?.unwrap_or_default();
        let all = text("proallargtypes")?.unwrap_or_default();
        let modes = text("proargmodes")?.unwrap_or_default();
        let names = text("proargnames")?.unwrap_or_default();
        let kinds = text("prokind")?.unwrap_or_default();
        let names_of = text("proname")?.unwrap_or_default();
        let item =
            |v: &[Option<String>], i: usize| v.get(i).cloned().flatten().map(|t| list_items(&t));
        let oids = |items: Vec<String>| {
            items
                .iter()
                .filter_map(|s| s.parse::<i32>().ok())
                .collect::<Vec<_>>()
        };
        for i in 0..b.num_rows() {
            if !oid.is_valid(i) {
                continue;
            }
            let kind = kinds.get(i).cloned().flatten().unwrap_or_default();
            let name = names_of.get(i).cloned().flatten().unwrap_or_default();
            let ordered_at = match kind.as_str() {
                "a" => ordered.get(&name).copied(),
                _ => None,
            };
            functions.insert(
                oid.value(i),
                FunctionEntry {
                    name,
                    namespace: if space.is_valid(i) { space.value(i) } else { 0 },
                    kind,
                    ordered_at,
                    result: if result.is_valid(i) {
                        result.value(i)
                    } else {
                        0
                    },
                    returns_set: set.is_valid(i) && set.value(i),
                    arguments: item(&arguments, i).map(oids).unwrap_or_default(),
                    all_arguments: item(&all, i).filter(|v| !v.is_empty()).map(oids),
                    modes: item(&modes, i).filter(|v| !v.is_empty()),
                    names: item(&names, i).filter(|v| !v.is_empty()),
                    defaults: usize::try_from(if defaults.is_valid(i) {
                        defaults.value(i)
                    } else {
                        0
                    })
                    .unwrap_or(0),
                },
            );
        }
    }
    Ok(functions)
}

/// The items of an array as the static tables write them: `{a,b}`,
/// `['a', 'b']`, `[1, 2]` or an `oidvector`'s `1 2`.
pub fn list_items(text: &str) -> Vec<String> {
    let inner = text
        .trim()
        .trim_start_matches(['{', '['])
        .trim_end_matches(['}', ']']);
    if inner.trim().is_empty() {
        return vec![];
    }
    let separator = if inner.contains(',') { ',' } else { ' ' };
    inner
        .split(separator)
        .map(|s| s.trim().trim_matches(['\'', '"']).to_string())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn static_arrays_are_read_in_every_spelling() {
        assert_eq!(list_items("['o', 'i']"), vec!["o", "i"]);
        assert_eq!(list_items("[25, 18]"), vec!["25", "18"]);
        assert_eq!(list_items("23 25"), vec!["23", "25"]);
        assert_eq!(list_items("{a,b}"), vec!["a", "b"]);
        assert_eq!(list_items("['', 'b']"), vec!["", "b"]);
        assert!(list_items("").is_empty());
    }
}
