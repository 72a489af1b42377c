//! The settings of one connection, as PostgreSQL keeps them: `SET`, `SHOW`,
//! `RESET`, `current_setting()`, `set_config()`, and the `ParameterStatus`
//! messages that tell a driver what changed.
//!
//! Clients lean on these: pgjdbc sets `extra_float_digits` and
//! `application_name`, Metabase asks `SHOW TRANSACTION ISOLATION LEVEL`,
//! Grafana reads `current_setting('server_version_num')` and
//! `current_setting('search_path')`, asyncpg calls `set_config` and resets
//! with `RESET ALL`. Unknown names are kept like custom settings (PostgreSQL
//! accepts `SET a.b = …` the same way) so a tool's harmless `SET` never
//! fails; `SHOW` of a name nobody set is an error, as in PostgreSQL.
//! `datafusion.*` settings go to the connection's own DataFusion session.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use datafusion::arrow::array::{Array, ArrayRef, StringArray, StringBuilder};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{Result, ScalarValue, exec_err, plan_err};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, TypeSignature,
    Volatility,
};
use pgwire::types::format::FormatOptions;

/// The PostgreSQL version we speak like: clients pick their dialect from it.
pub const SERVER_VERSION: &str = "15.8";
/// `server_version_num` for [`SERVER_VERSION`].
pub const SERVER_VERSION_NUM: &str = "150008";

/// `(name, default)` of the settings every connection starts with.
const DEFAULTS: &[(&str, &str)] = &[
    ("application_name", ""),
    ("bytea_output", "hex"),
    ("client_encoding", "UTF8"),
    ("client_min_messages", "notice"),
    ("datestyle", "ISO, MDY"),
    ("default_table_access_method", "heap"),
    ("default_transaction_isolation", "read committed"),
    ("default_transaction_read_only", "off"),
    ("extra_float_digits", "1"),
    ("integer_datetimes", "on"),
    ("intervalstyle", "postgres"),
    ("is_superuser", "off"),
    ("jit", "off"),
    ("lc_collate", "C.UTF-8"),
    ("lc_ctype", "C.UTF-8"),
    ("lc_messages", "C.UTF-8"),
    ("max_identifier_length", "63"),
    ("max_index_keys", "32"),
    // OKO's own switches (`crate::server::fast_path`,
    // `crate::server::result_cache`): on unless a session turns them off.
    ("oko.fast_path", "on"),
    ("oko.result_cache", "on"),
    // Reports from the kept report parts (`crate::engine::parts`).
    ("oko.report_parts", "on"),
    ("search_path", "\"$user\", public"),
    ("server_encoding", "UTF8"),
    ("server_version", SERVER_VERSION),
    ("server_version_num", SERVER_VERSION_NUM),
    ("standard_conforming_strings", "on"),
    ("statement_timeout", "0"),
    ("timezone", "UTC"),
    ("transaction_isolation", "read committed"),
    ("transaction_read_only", "off"),
];

/// Settings a driver is told about (`ParameterStatus`) when they change, by
/// their PostgreSQL display names.
const REPORTED: &[(&str, &str)] = &[
    ("application_name", "application_name"),
    ("client_encoding", "client_encoding"),
    ("datestyle", "DateStyle"),
    (
        "default_transaction_read_only",
        "default_transaction_read_only",
    ),
    ("integer_datetimes", "integer_datetimes"),
    ("intervalstyle", "IntervalStyle"),
    ("is_superuser", "is_superuser"),
    ("server_encoding", "server_encoding"),
    ("server_version", "server_version"),
    ("standard_conforming_strings", "standard_conforming_strings"),
    ("timezone", "TimeZone"),
];

/// Settings a session may not change.
const READ_ONLY: &[&str] = &[
    "server_version",
    "server_version_num",
    "server_encoding",
    "integer_datetimes",
    "is_superuser",
    "lc_collate",
    "lc_ctype",
    "max_identifier_length",
    "max_index_keys",
];

/// Settings that say who the session is. They are fixed at login: no
/// `SET`, `set_config()` or startup parameter changes them (views and
/// dashboards filter on `current_user`).
const IDENTITY: &[&str] = &["session_authorization", "role", "is_superuser"];

/// One connection's settings.
#[derive(Debug, Default)]
pub struct Vars {
    /// Lower-case name → value; names missing here have their default.
    set: RwLock<BTreeMap<String, String>>,
    /// Who logged in; kept apart from the settings a session may change.
    user: RwLock<String>,
    /// The server's `statement_timeout` (milliseconds, 0 = none): the
    /// session's default and the most a session's own setting can give.
    timeout_ceiling_ms: std::sync::atomic::AtomicU64,
    /// Inside `BEGIN` … `COMMIT`/`ROLLBACK`.
    in_block: std::sync::atomic::AtomicBool,
}

/// A change a client should hear about.
pub type Reported = Option<(&'static str, String)>;

/// Why a setting was not changed, with its SQLSTATE.
pub type SetError = crate::sqlstate::Coded;

fn set_error(code: &'static str, message: String) -> SetError {
    SetError { code, message }
}

impl Vars {
    /// Settings of a new connection, with what the client sent at startup.
    pub fn new(startup: impl IntoIterator<Item = (String, String)>) -> Vars {
        let vars = Vars::default();
        for (k, v) in startup {
            let name = k.to_ascii_lowercase();
            if !matches!(
                name.as_str(),
                "user" | "database" | "options" | "replication"
            ) && !READ_ONLY.contains(&name.as_str())
                && let Err(e) = vars.set(&name, &v)
            {
                tracing::debug!("startup parameter {name} ignored: {e}");
            }
        }
        vars
    }

    /// The value of `name`, if it is known or was set.
    pub fn get(&self, name: &str) -> Option<String> {
        let name = canonical(name);
        if name == "session_authorization" {
            return Some(self.session_user());
        }
        if let Some(v) = self.read().get(&name) {
            return Some(v.clone());
        }
        if name == "statement_timeout" {
            let ceiling = self
                .timeout_ceiling_ms
                .load(std::sync::atomic::Ordering::Relaxed);
            return Some(ceiling.to_string());
        }
        DEFAULTS
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.to_string())
    }

    /// Sets `name`; returns the `ParameterStatus` to send, if any.
    pub fn set(&self, name: &str, value: &str) -> std::result::Result<Reported, SetError> {
        use crate::sqlstate::code;
        let name = canonical(name);
        if IDENTITY.contains(&name.as_str()) {
            return Err(set_error(
                code::INSUFFICIENT_PRIVILEGE,
                format!(
                    "permission denied to set parameter \"{name}\": \
                     a session's identity is fixed at login"
                ),
            ));
        }
        if READ_ONLY.contains(&name.as_str()) {
            return Err(set_error(
                code::CANT_CHANGE_RUNTIME_PARAM,
                format!("parameter \"{name}\" cannot be changed"),
            ));
        }
        if name.starts_with("datafusion.") {
            return Err(set_error(
                code::INSUFFICIENT_PRIVILEGE,
                format!(
                    "{name} is an engine setting: change it with SET, \
                     not set_config() or a startup parameter"
                ),
            ));
        }
        let value = match name.as_str() {
            "statement_timeout" => parse_duration_ms(value)
                .map(|ms| ms.to_string())
                .ok_or_else(|| {
                    set_error(
                        code::INVALID_PARAMETER_VALUE,
                        format!(
                            "invalid value for parameter \"statement_timeout\": \"{value}\" \
                             (use e.g. 5000, '5s', '2min')"
                        ),
                    )
                })?,
            "timezone" => {
                check_time_zone(value).map_err(|m| set_error(code::INVALID_PARAMETER_VALUE, m))?;
                value.to_string()
            }
            _ => value.to_string(),
        };
        self.write().insert(name.clone(), value.clone());
        Ok(reported(&name, value))
    }

    /// Back to the default; returns the `ParameterStatus` to send, if any.
    pub fn reset(&self, name: &str) -> Reported {
        let name = canonical(name);
        if READ_ONLY.contains(&name.as_str()) || IDENTITY.contains(&name.as_str()) {
            return None;
        }
        self.write().remove(&name);
        let value = self.get(&name).unwrap_or_default();
        reported(&name, value)
    }

    /// Every setting back to its default; the changes to report.
    pub fn reset_all(&self) -> Vec<(&'static str, String)> {
        let names: Vec<String> = self.read().keys().cloned().collect();
        names.iter().filter_map(|n| self.reset(n)).collect()
    }

    /// Every setting with its value, by name.
    pub fn all(&self) -> Vec<(String, String)> {
        let mut all: BTreeMap<String, String> = DEFAULTS
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        for (k, v) in self.read().iter() {
            all.insert(k.clone(), v.clone());
        }
        all.insert("session_authorization".into(), self.session_user());
        all.insert(
            "statement_timeout".into(),
            self.get("statement_timeout").unwrap_or_default(),
        );
        all.into_iter().collect()
    }

    /// Records who logged in (`session_user`, `current_user`).
    pub fn set_session_user(&self, user: &str) {
        match self.user.write() {
            Ok(mut g) => *g = user.to_string(),
            Err(poisoned) => *poisoned.into_inner() = user.to_string(),
        }
    }

    /// Who logged in.
    pub fn session_user(&self) -> String {
        match self.user.read() {
            Ok(g) => g.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Sets the server's `statement_timeout` ceiling (0: none), which is
    /// also the session's default.
    pub fn set_timeout_ceiling(&self, ceiling: Option<Duration>) {
        let ms = ceiling.map_or(0, |d| d.as_millis().max(1) as u64);
        self.timeout_ceiling_ms
            .store(ms, std::sync::atomic::Ordering::Relaxed);
    }

    /// Starts a transaction block: `BEGIN READ ONLY` shows in
    /// `transaction_read_only` until it ends.
    pub fn begin(&self, read_only: Option<bool>, isolation: Option<String>) {
        self.in_block
            .store(true, std::sync::atomic::Ordering::Relaxed);
        self.set_transaction(read_only, isolation);
    }

    /// `SET TRANSACTION …`: the modes of the current transaction.
    pub fn set_transaction(&self, read_only: Option<bool>, isolation: Option<String>) {
        let mut set = self.write();
        if let Some(ro) = read_only {
            set.insert("transaction_read_only".into(), on_off(ro).into());
        }
        if let Some(level) = isolation {
            set.insert("transaction_isolation".into(), level);
        }
    }

    /// Ends a transaction block: its settings fall back to the session's
    /// defaults.
    pub fn end(&self) {
        self.in_block
            .store(false, std::sync::atomic::Ordering::Relaxed);
        let read_only = self
            .get("default_transaction_read_only")
            .unwrap_or_default();
        let isolation = self
            .get("default_transaction_isolation")
            .unwrap_or_default();
        let mut set = self.write();
        set.insert("transaction_read_only".into(), read_only);
        set.insert("transaction_isolation".into(), isolation);
    }

    /// Why a write (`INSERT`, `DELETE`) may not run now, if it may not.
    ///
    /// A read-only transaction (`BEGIN READ ONLY`, `SET TRANSACTION READ
    /// ONLY`, `default_transaction_read_only = on`) refuses it with 25006,
    /// as PostgreSQL does. Inside any other transaction block it is refused
    /// with 0A000: OKO commits every write on its own (one Delta commit per
    /// table, acknowledged only once durable), so it could neither undo the
    /// write on `ROLLBACK` nor show it to the block's later statements
    /// before `COMMIT` — and committing it silently would break the block's
    /// promise.
    pub fn write_refusal(&self, what: &str) -> Option<SetError> {
        use crate::sqlstate::code;
        let in_block = self.in_block.load(std::sync::atomic::Ordering::Relaxed);
        let read_only = if in_block {
            self.get("transaction_read_only")
        } else {
            self.get("default_transaction_read_only")
        };
        if read_only
            .as_deref()
            .is_some_and(|v| matches!(v.to_ascii_lowercase().as_str(), "on" | "true" | "1" | "yes"))
        {
            return Some(set_error(
                code::READ_ONLY_SQL_TRANSACTION,
                format!("cannot execute {what} in a read-only transaction"),
            ));
        }
        in_block.then(|| {
            set_error(
                code::FEATURE_NOT_SUPPORTED,
                format!(
                    "{what} inside a transaction block is not supported: OKO commits each \
                     write on its own and could not roll it back; run it outside BEGIN … \
                     COMMIT (autocommit: psycopg `conn.autocommit = True`, JDBC \
                     `setAutoCommit(true)`); nothing was written"
                ),
            )
        })
    }

    /// `SET SESSION CHARACTERISTICS AS TRANSACTION …`.
    pub fn set_defaults(&self, read_only: Option<bool>, isolation: Option<String>) {
        let mut set = self.write();
        if let Some(ro) = read_only {
            set.insert("default_transaction_read_only".into(), on_off(ro).into());
            set.insert("transaction_read_only".into(), on_off(ro).into());
        }
        if let Some(level) = isolation {
            set.insert("default_transaction_isolation".into(), level.clone());
            set.insert("transaction_isolation".into(), level);
        }
    }

    /// The time a statement may take, `None` when unlimited: the session's
    /// `statement_timeout`, never more than the server's (a session's `0`
    /// means the server's).
    pub fn statement_timeout(&self) -> Option<Duration> {
        let ceiling = self
            .timeout_ceiling_ms
            .load(std::sync::atomic::Ordering::Relaxed);
        let own = self
            .read()
            .get("statement_timeout")
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0);
        let ms = match (own, ceiling) {
            (0, c) => c,
            (o, 0) => o,
            (o, c) => o.min(c),
        };
        (ms > 0).then(|| Duration::from_millis(ms))
    }

    /// How values are written in text: date style, float digits, ….
    pub fn format_options(&self) -> FormatOptions {
        let map = [
            "datestyle",
            "intervalstyle",
            "bytea_output",
            "extra_float_digits",
        ]
        .iter()
        .filter_map(|k| self.get(k).map(|v| (k.to_string(), v)))
        .collect();
        FormatOptions::from_client_metadata(&map)
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, BTreeMap<String, String>> {
        match self.set.read() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, BTreeMap<String, String>> {
        match self.set.write() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        }
    }
}

fn on_off(b: bool) -> &'static str {
    if b { "on" } else { "off" }
}

/// Lower case, with PostgreSQL's aliases folded.
fn canonical(name: &str) -> String {
    let name = name.trim().trim_matches('"').to_ascii_lowercase();
    match name.as_str() {
        "time zone" | "time_zone" => "timezone".into(),
        "transaction isolation level" => "transaction_isolation".into(),
        "names" => "client_encoding".into(),
        _ => name,
    }
}

/// A setting's name as PostgreSQL shows it (`pg_settings.name`, `SHOW
/// ALL`): `TimeZone`, `DateStyle`, … for the mixed-case ones.
pub fn display_name(name: &str) -> &str {
    REPORTED
        .iter()
        .find(|(k, _)| *k == name)
        .map_or(name, |(_, display)| display)
}

fn reported(name: &str, value: String) -> Reported {
    REPORTED
        .iter()
        .find(|(k, _)| *k == name)
        .map(|(_, display)| (*display, value))
}

/// `5000`, `'5000ms'`, `'5s'`, `'2min'`, `'1h'` → milliseconds.
fn parse_duration_ms(value: &str) -> Option<u64> {
    let v = value.trim().trim_matches('\'').trim();
    let split = v.find(|c: char| !c.is_ascii_digit()).unwrap_or(v.len());
    let (number, unit) = v.split_at(split);
    let n: u64 = number.parse().ok()?;
    let factor = match unit.trim() {
        "" | "ms" => 1,
        "s" => 1000,
        "min" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => return None,
    };
    n.checked_mul(factor)
}

fn check_time_zone(value: &str) -> std::result::Result<(), String> {
    let v = value.trim();
    let ok = v.eq_ignore_ascii_case("utc")
        || v.eq_ignore_ascii_case("local")
        || v.eq_ignore_ascii_case("default")
        || v.parse::<chrono_tz::Tz>().is_ok()
        || v.parse::<i32>().is_ok_and(|h| (-15..=15).contains(&h))
        || super::pg_functions::Zone::parse(v).is_ok();
    if ok {
        Ok(())
    } else {
        Err(format!("invalid value for parameter \"TimeZone\": \"{v}\""))
    }
}

/// `current_setting(name [, missing_ok])` over one connection's settings.
#[derive(Debug)]
pub struct CurrentSetting {
    vars: Arc<Vars>,
    signature: Signature,
}

impl CurrentSetting {
    pub fn udf(vars: Arc<Vars>) -> ScalarUDF {
        ScalarUDF::new_from_impl(CurrentSetting {
            vars,
            signature: Signature::one_of(
                vec![
                    TypeSignature::Exact(vec![DataType::Utf8]),
                    TypeSignature::Exact(vec![DataType::Utf8, DataType::Boolean]),
                ],
                Volatility::Stable,
            ),
        })
    }
}

impl PartialEq for CurrentSetting {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.vars, &other.vars)
    }
}
impl Eq for CurrentSetting {}
impl std::hash::Hash for CurrentSetting {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        "current_setting".hash(state);
    }
}

impl ScalarUDFImpl for CurrentSetting {
    fn name(&self) -> &str {
        "current_setting"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let missing_ok = match args.args.get(1) {
            Some(ColumnarValue::Scalar(ScalarValue::Boolean(b))) => b.unwrap_or(false),
            Some(_) => return plan_err!("current_setting: missing_ok must be a constant"),
            None => false,
        };
        let lookup = |name: &str| -> Result<Option<String>> {
            match self.vars.get(name) {
                Some(v) => Ok(Some(v)),
                None if missing_ok => Ok(None),
                None => exec_err!("unrecognized configuration parameter \"{name}\""),
            }
        };
        match &args.args[0] {
            ColumnarValue::Scalar(s) => {
                let name = s.to_string();
                let value = if s.is_null() { None } else { lookup(&name)? };
                Ok(ColumnarValue::Scalar(ScalarValue::Utf8(value)))
            }
            ColumnarValue::Array(a) => {
                let names = strings(a)?;
                let mut out = StringBuilder::new();
                for i in 0..names.len() {
                    if names.is_null(i) {
                        out.append_null();
                    } else {
                        out.append_option(lookup(names.value(i))?);
                    }
                }
                Ok(ColumnarValue::Array(Arc::new(out.finish())))
            }
        }
    }
}

/// `set_config(name, value, is_local)`: sets a setting, returns the value.
#[derive(Debug)]
pub struct SetConfig {
    vars: Arc<Vars>,
    signature: Signature,
}

impl SetConfig {
    pub fn udf(vars: Arc<Vars>) -> ScalarUDF {
        ScalarUDF::new_from_impl(SetConfig {
            vars,
            signature: Signature::exact(
                vec![DataType::Utf8, DataType::Utf8, DataType::Boolean],
                Volatility::Volatile,
            ),
        })
    }
}

impl PartialEq for SetConfig {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.vars, &other.vars)
    }
}
impl Eq for SetConfig {}
impl std::hash::Hash for SetConfig {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        "set_config".hash(state);
    }
}

impl ScalarUDFImpl for SetConfig {
    fn name(&self) -> &str {
        "set_config"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let arrays: Vec<ArrayRef> = args.args[..2]
            .iter()
            .map(|a| a.to_array(rows))
            .collect::<Result<_>>()?;
        let names = strings(&arrays[0])?;
        let values = strings(&arrays[1])?;
        let mut out = StringBuilder::new();
        for i in 0..rows {
            if names.is_null(i) {
                return exec_err!("set_config: the setting name must not be NULL");
            }
            let value = if values.is_null(i) {
                ""
            } else {
                values.value(i)
            };
            if let Err(e) = self.vars.set(names.value(i), value) {
                return Err(crate::sqlstate::coded(e.code, e.message));
            }
            out.append_value(value);
        }
        let array: ArrayRef = Arc::new(out.finish());
        if rows == 1
            && args
                .args
                .iter()
                .all(|a| matches!(a, ColumnarValue::Scalar(_)))
        {
            return Ok(ColumnarValue::Scalar(ScalarValue::try_from_array(
                &array, 0,
            )?));
        }
        Ok(ColumnarValue::Array(array))
    }
}

/// What `version()` answers.
pub fn version_text() -> String {
    format!(
        "PostgreSQL {SERVER_VERSION} on x86_64-pc-linux-gnu, served by OKO {} (Apache DataFusion {})",
        env!("CARGO_PKG_VERSION"),
        datafusion::DATAFUSION_VERSION
    )
}

/// `version()` as PostgreSQL words it, so tools that parse it (Grafana,
/// DBeaver) find a version they know; OKO and DataFusion are named after it.
pub fn version_udf() -> ScalarUDF {
    let text = version_text();
    datafusion::logical_expr::create_udf(
        "version",
        vec![],
        DataType::Utf8,
        Volatility::Immutable,
        Arc::new(move |_| Ok(ColumnarValue::Scalar(ScalarValue::Utf8(Some(text.clone()))))),
    )
}

/// `session_user` (and `current_user`, which the Postgres parser maps to
/// it): the user this connection logged in as.
pub fn session_user_udf(vars: Arc<Vars>) -> ScalarUDF {
    datafusion::logical_expr::create_udf(
        "session_user",
        vec![],
        DataType::Utf8,
        Volatility::Stable,
        Arc::new(move |_| {
            Ok(ColumnarValue::Scalar(ScalarValue::Utf8(Some(
                vars.session_user(),
            ))))
        }),
    )
}

/// `pg_get_serial_sequence(table, column)`: OKO tables have no sequences
/// (SQLAlchemy asks while reflecting columns).
pub fn serial_sequence_udf() -> ScalarUDF {
    datafusion::logical_expr::create_udf(
        "pg_get_serial_sequence",
        vec![DataType::Utf8, DataType::Utf8],
        DataType::Utf8,
        Volatility::Stable,
        Arc::new(|_| Ok(ColumnarValue::Scalar(ScalarValue::Utf8(None)))),
    )
}

/// `to_regtype(name)`: the oid of a type by name, NULL when unknown
/// (psycopg's `TypeInfo.fetch`).
pub fn to_regtype_udf() -> ScalarUDF {
    datafusion::logical_expr::create_udf(
        "to_regtype",
        vec![DataType::Utf8],
        DataType::Int32,
        Volatility::Stable,
        Arc::new(|args| {
            let arrays = ColumnarValue::values_to_arrays(args)?;
            let names = strings(&arrays[0])?;
            let oids: datafusion::arrow::array::Int32Array = (0..names.len())
                .map(|i| {
                    (!names.is_null(i))
                        .then(|| type_oid(names.value(i)))
                        .flatten()
                })
                .collect();
            let array: ArrayRef = Arc::new(oids);
            if args.iter().all(|a| matches!(a, ColumnarValue::Scalar(_))) {
                return Ok(ColumnarValue::Scalar(ScalarValue::try_from_array(
                    &array, 0,
                )?));
            }
            Ok(ColumnarValue::Array(array))
        }),
    )
}

/// The oid of a built-in type by any of its names.
fn type_oid(name: &str) -> Option<i32> {
    let name = name
        .trim()
        .trim_start_matches("pg_catalog.")
        .to_ascii_lowercase();
    let (base, array) = match name.strip_suffix("[]") {
        Some(b) => (b.to_string(), true),
        None => (name.clone(), false),
    };
    let base = match base.as_str() {
        "int" | "integer" => "int4",
        "bigint" => "int8",
        "smallint" => "int2",
        "double precision" | "float" => "float8",
        "real" => "float4",
        "boolean" => "bool",
        "timestamp with time zone" => "timestamptz",
        "timestamp without time zone" => "timestamp",
        "character varying" => "varchar",
        "decimal" => "numeric",
        other => other,
    };
    let ty = pgwire::api::Type::from_oid(
        (1..=5000u32)
            .find(|&oid| pgwire::api::Type::from_oid(oid).is_some_and(|t| t.name() == base))?,
    )?;
    if !array {
        return i32::try_from(ty.oid()).ok();
    }
    let wanted = format!("_{}", ty.name());
    (1..=5000u32)
        .filter_map(pgwire::api::Type::from_oid)
        .find(|t| t.name() == wanted)
        .and_then(|t| i32::try_from(t.oid()).ok())
}

/// `pg_advisory_unlock_all()`: OKO takes no advisory locks, so there is
/// nothing to release (asyncpg's pool calls it when a connection returns).
pub fn advisory_unlock_all_udf() -> ScalarUDF {
    datafusion::logical_expr::create_udf(
        "pg_advisory_unlock_all",
        vec![],
        DataType::Utf8,
        Volatility::Volatile,
        Arc::new(|_| Ok(ColumnarValue::Scalar(ScalarValue::Utf8(None)))),
    )
}

fn strings(a: &ArrayRef) -> Result<StringArray> {
    let a = datafusion::arrow::compute::cast(a, &DataType::Utf8)?;
    match a.as_any().downcast_ref::<StringArray>() {
        Some(s) => Ok(s.clone()),
        None => exec_err!("expected text"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_settings_and_resets() {
        let vars = Vars::new([("application_name".to_string(), "psql".to_string())]);
        assert_eq!(vars.get("application_name").unwrap(), "psql");
        assert_eq!(vars.get("server_version_num").unwrap(), SERVER_VERSION_NUM);
        assert_eq!(vars.get("TimeZone").unwrap(), "UTC");
        assert!(vars.get("no_such_thing").is_none());

        let reported = vars.set("DateStyle", "ISO, DMY").unwrap();
        assert_eq!(reported, Some(("DateStyle", "ISO, DMY".to_string())));
        assert!(vars.set("server_version", "9.0").is_err());
        assert!(vars.set("TimeZone", "Mars/Olympus").is_err());
        vars.set("TimeZone", "Europe/Moscow").unwrap();
        vars.set("myapp.tenant", "x").unwrap();
        assert_eq!(vars.get("myapp.tenant").unwrap(), "x");

        assert_eq!(type_oid("timestamptz"), Some(1184));
        assert_eq!(type_oid("pg_catalog.text[]"), Some(1009));
        assert_eq!(type_oid("hstore"), None);
        vars.set("statement_timeout", "'2s'").unwrap();
        assert_eq!(vars.statement_timeout(), Some(Duration::from_secs(2)));
        assert!(vars.set("statement_timeout", "soon").is_err());

        let changes = vars.reset_all();
        assert!(changes.contains(&("TimeZone", "UTC".to_string())));
        assert_eq!(vars.statement_timeout(), None);
    }
}
