//! PostgreSQL emulation: what makes DataFusion look like PostgreSQL 15 to
//! drivers, BI tools and psql. Nothing here knows about sockets or
//! sessions' protocol state; the server installs it into each session.
//!
//! | module | what it is for |
//! |---|---|
//! | [`pg_catalog`] | `pg_catalog` with PostgreSQL's column types, `pg_settings` per connection |
//! | [`information_schema`] | `information_schema` with PostgreSQL type names |
//! | [`pg_roles`] | the configured users as `pg_roles`, `pg_user`, `pg_auth_members` (`\du`) |
//! | [`vars`] | per-connection settings: `SET`/`SHOW`/`RESET`, `current_setting()`, `set_config()` |
//! | [`engine_settings`] | the `datafusion.*` settings a session may change, with bounds |
//! | [`pg_functions`] | PostgreSQL functions client catalog queries call (`format`, `pg_typeof`, …) |
//! | [`json`] | `json` and `jsonb`: the types, `->`/`->>`/`@>`/…, `json_build_object`, `json_agg`, `jsonb_each`, … |
//! | [`column_names`] | output columns named as PostgreSQL names them (`?column?`, `count`) |
//! | [`compat`] | client queries rewritten before and after parsing (Grafana, pgjdbc, SQLAlchemy, asyncpg, Metabase idioms) |
//! | [`literals`] | integer constants typed `integer` where PostgreSQL types them so |
//! | [`conditions`] | `CASE WHEN` conditions must be booleans (42804) |
//! | [`lateral`] | sets in `FROM` that read the row before them (`FROM leads, unnest(tags)`) |
//! | [`numeric_scale`] | `x::numeric` with its value's scale (`5::numeric` is `5`) |
//! | [`whole_rows`] | a whole row as a value: `row_to_json(t)`, `json_agg(r)` |
//! | [`join_columns`] | `SELECT *` of a join `USING (…)`/`NATURAL` with PostgreSQL's columns |
//! | [`operators`] | PostgreSQL operators DataFusion does not plan (`interval * 3`) |
//! | [`text_types`] | `name` and `character varying` columns, which are Arrow text like `text` |
//! | [`text_out`] | values written as PostgreSQL writes them (timestamps, intervals, floats) |
//! | [`time_zone`] | `timestamptz` casts to `timestamp`/`date` in the session's `TimeZone` |

pub mod casts;
pub mod column_names;
pub mod compat;
pub mod conditions;
pub mod engine_settings;
pub mod information_schema;
pub mod join_columns;
pub mod json;
pub mod lateral;
pub mod literals;
pub mod numeric_scale;
pub mod operators;
pub mod pg_catalog;
pub mod pg_functions;
pub mod pg_roles;
pub mod result_types;
pub mod text_out;
pub mod text_types;
pub mod vars;
pub mod whole_rows;

use std::sync::Arc;

use anyhow::{Context, Result};
use datafusion::catalog::CatalogProvider;
use datafusion::prelude::SessionContext;
use datafusion_postgres::datafusion_pg_catalog::pg_catalog::setup_pg_catalog;

use vars::Vars;

/// PostgreSQL's functions, type names and session-zone casts, into one
/// connection's session, with the settings functions over that
/// connection's `vars`. The `pg_catalog` schema this leaves in the
/// session's default catalog is a throwaway: register the real catalog
/// after.
pub fn install(ctx: &SessionContext, vars: &Arc<Vars>) -> Result<()> {
    setup_pg_catalog(ctx, crate::engine::CATALOG, pg_roles::NoRoles)
        .map_err(|e| anyhow::anyhow!("cannot set up pg_catalog: {e}"))?;
    install_session_functions(&mut ctx.state_ref().write(), vars)?;
    ctx.register_udf(vars::version_udf());
    ctx.register_udf(vars::advisory_unlock_all_udf());
    ctx.register_udf(vars::serial_sequence_udf());
    ctx.register_udf(vars::to_regtype_udf());
    pg_functions::register(ctx)?;
    // `1.5` is a `numeric`, as in PostgreSQL (the views, planned once in
    // the shared catalog, keep their own types).
    ctx.state_ref()
        .write()
        .config_mut()
        .options_mut()
        .sql_parser
        .parse_float_as_decimal = true;
    // `now()`/`current_timestamp` are `timestamptz` (shown in the session's
    // zone like every `timestamptz`), whatever the engine's zone setting.
    let mut utc = datafusion::config::ConfigOptions::new();
    utc.execution.time_zone = Some("+00:00".into());
    ctx.register_udf(datafusion::logical_expr::ScalarUDF::new_from_impl(
        datafusion::functions::datetime::now::NowFunc::new_with_config(&utc),
    ));
    pg_functions::register_aliases(ctx);
    datafusion::execution::FunctionRegistry::register_expr_planner(
        &mut *ctx.state_ref().write(),
        Arc::new(operators::PgOperators),
    )?;
    ctx.add_analyzer_rule(Arc::new(casts::PgCasts));
    ctx.add_analyzer_rule(Arc::new(result_types::PgResultTypes));
    json::install(ctx)?;
    text_types::install(ctx);
    Ok(())
}

/// The functions that read one connection's settings, bound to `vars`:
/// a session copied from another one's state gets its own
/// ([`crate::server::Shared::session`]).
pub fn install_session_functions(
    state: &mut datafusion::execution::SessionState,
    vars: &Arc<Vars>,
) -> Result<()> {
    use datafusion::execution::FunctionRegistry;
    for f in [
        vars::session_user_udf(vars.clone()),
        vars::CurrentSetting::udf(vars.clone()),
        vars::SetConfig::udf(vars.clone()),
    ] {
        state
            .register_udf(Arc::new(f))
            .map_err(|e| anyhow::anyhow!("cannot register a settings function: {e}"))?;
    }
    // `pg_table_is_visible` and the like read the search path and the
    // catalog list they were registered with.
    pg_functions::catalog::register_in(state);
    Ok(())
}

/// `ctx`'s type planner replaced by the one `wrap` makes of it (each of
/// ours answers for its own type names and asks the one it wraps for the
/// rest).
pub(crate) fn wrap_type_planner(
    ctx: &SessionContext,
    wrap: impl FnOnce(
        Option<Arc<dyn datafusion::logical_expr::planner::TypePlanner>>,
    ) -> Arc<dyn datafusion::logical_expr::planner::TypePlanner>,
) {
    let state = ctx.state_ref();
    let existing = state.read().clone();
    let mut builder = datafusion::execution::SessionStateBuilder::new_from_existing(existing);
    let inner = builder.type_planner().clone();
    let new_state = builder.with_type_planner(wrap(inner)).build();
    *state.write() = new_state;
}

/// DataFusion's default expression planners, with PostgreSQL's operators
/// ([`operators`]) first: the first planner that plans an expression wins,
/// and DataFusion's own would plan `EXTRACT` and `SUBSTRING` its way.
pub fn expr_planners() -> Vec<Arc<dyn datafusion::logical_expr::planner::ExprPlanner>> {
    let mut planners: Vec<Arc<dyn datafusion::logical_expr::planner::ExprPlanner>> =
        vec![Arc::new(operators::PgOperators)];
    planners.extend(datafusion::execution::SessionStateDefaults::default_expr_planners());
    planners
}

/// The analyzer rules of a PostgreSQL session: DataFusion's, after the
/// ones that must see the plan before type coercion ([`literals`]).
pub fn analyzer_rules() -> Vec<Arc<dyn datafusion::optimizer::AnalyzerRule + Send + Sync>> {
    let mut rules: Vec<Arc<dyn datafusion::optimizer::AnalyzerRule + Send + Sync>> = vec![
        Arc::new(literals::IntegerLiterals),
        Arc::new(conditions::BooleanConditions),
        Arc::new(lateral::LateralSets),
        Arc::new(numeric_scale::NumericScale),
        Arc::new(whole_rows::WholeRows),
        Arc::new(join_columns::JoinColumns),
    ];
    rules.extend(datafusion::optimizer::Analyzer::new().rules);
    rules
}

/// `pg_catalog` and `information_schema` over the tables and views already
/// registered in `template`'s catalog `name` — one pair per catalog, so
/// object ids are the same whichever connection asks (DBeaver reads ids on
/// one connection and uses them on another). `users` are the roles this
/// catalog shows. Returns the catalog.
pub async fn add_catalogs(
    template: &SessionContext,
    name: &str,
    users: &[pg_roles::RoleEntry],
) -> Result<Arc<dyn CatalogProvider>> {
    setup_pg_catalog(template, name, pg_roles::NoRoles)
        .map_err(|e| anyhow::anyhow!("cannot set up pg_catalog: {e}"))?;
    let catalog = template
        .catalog(name)
        .context("the session has no default catalog")?;
    // PostgreSQL's column types for the emulated catalog tables.
    let emulated = catalog
        .schema("pg_catalog")
        .context("pg_catalog is missing")?;
    catalog.register_schema(
        "pg_catalog",
        Arc::new(pg_catalog::PgCatalog::new(emulated, template, pg_roles::tables(users)?).await?),
    )?;
    catalog.register_schema(
        information_schema::NAME,
        Arc::new(information_schema::InformationSchema::new(name, &catalog)),
    )?;
    Ok(catalog)
}

#[cfg(test)]
mod tests {
    use datafusion::prelude::{SessionConfig, SessionContext};

    /// Every name of every function reaches that function: a function
    /// another one shadows under one of its names would come back under it
    /// when a later install rebuilds the session state (which registers
    /// every function again, in hash order), and calls would reach
    /// DataFusion's function instead of PostgreSQL's one per process.
    #[test]
    fn no_function_is_shadowed_under_one_of_its_names() {
        let ctx = SessionContext::new_with_config(
            SessionConfig::new().with_default_catalog_and_schema(crate::engine::CATALOG, "public"),
        );
        let vars = std::sync::Arc::new(super::vars::Vars::new(Vec::new()));
        super::install(&ctx, &vars).unwrap();
        let state = ctx.state();
        let mut shadowed = Vec::new();
        for f in state.scalar_functions().values() {
            shadowed.extend(shadows("function", f.name(), f.aliases(), |n| {
                state.scalar_functions().get(n).map(|g| g.name())
            }));
        }
        for f in state.aggregate_functions().values() {
            shadowed.extend(shadows("aggregate", f.name(), f.aliases(), |n| {
                state.aggregate_functions().get(n).map(|g| g.name())
            }));
        }
        for f in state.window_functions().values() {
            shadowed.extend(shadows("window function", f.name(), f.aliases(), |n| {
                state.window_functions().get(n).map(|g| g.name())
            }));
        }
        shadowed.sort();
        shadowed.dedup();
        assert!(shadowed.is_empty(), "{shadowed:#?}");
    }

    /// The names of function `name` under which `reach` finds another.
    fn shadows<'a>(
        kind: &str,
        name: &str,
        aliases: &[String],
        reach: impl Fn(&str) -> Option<&'a str>,
    ) -> Vec<String> {
        std::iter::once(name)
            .chain(aliases.iter().map(String::as_str))
            .filter_map(|n| {
                reach(n)
                    .filter(|r| *r != name)
                    .map(|r| format!("{kind} {n}: {r} over {name}"))
            })
            .collect()
    }
}
