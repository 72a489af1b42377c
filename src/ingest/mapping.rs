//! Mapping files: how an export tool's own columns and values become the
//! model's. A mapping is TOML; every key is optional.
//!
//! ```toml
//! table = "leads"                  # the table this export feeds
//! format = "csv"                   # csv | json | parquet
//! delimiter = ";"
//! encoding = "windows-1251"        # utf-8 | windows-1251
//! timezone = "Europe/Moscow"       # zone of dates written without an offset
//! timestamp_format = "%d.%m.%Y %H:%M"
//! tags_separator = ","
//! tenant = "acme"                  # tenant of rows that have none
//!
//! [columns]                        # model column = export header
//! lead_id = "ID"
//! created_at = "Дата"
//!
//! [values.channel]                 # export value = model value
//! "Звонок" = "call"
//!
//! [constants]                      # model column = fixed value
//! source = "callibri"
//!
//! [seconds_after]                  # model column = [base model column, export header of seconds]
//! answered_at = ["created_at", "Ожидание, сек"]
//!
//! [null_when]                      # model column is empty when an export header has one of these values
//! answered_at = { column = "Статус", equals = ["Пропущенный"] }
//! ```

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result, bail};
use serde::Deserialize;

use crate::model::Table;

/// A parsed mapping file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Mapping {
    pub table: Option<String>,
    pub format: Option<String>,
    pub delimiter: Option<String>,
    pub encoding: Option<String>,
    pub timezone: Option<String>,
    pub timestamp_format: Option<String>,
    pub tags_separator: Option<String>,
    pub tenant: Option<String>,
    pub columns: BTreeMap<String, String>,
    pub values: BTreeMap<String, BTreeMap<String, String>>,
    pub constants: BTreeMap<String, String>,
    pub seconds_after: BTreeMap<String, (String, String)>,
    pub null_when: BTreeMap<String, NullWhen>,
}

/// Empties a model column when an export column holds one of some values.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NullWhen {
    pub column: String,
    pub equals: Vec<String>,
}

impl Mapping {
    /// Reads and checks a mapping file against the table it is used for.
    pub fn load(path: &Path) -> Result<Mapping> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the mapping file {}", path.display()))?;
        let m: Mapping = toml::from_str(&text)
            .with_context(|| format!("the mapping file {} is not valid", path.display()))?;
        Ok(m)
    }

    /// Checks that every model column the mapping names exists in `table`.
    pub fn check(&self, table: Table) -> Result<()> {
        let names = self
            .columns
            .keys()
            .chain(self.values.keys())
            .chain(self.constants.keys())
            .chain(self.seconds_after.keys())
            .chain(self.null_when.keys());
        for name in names {
            match table.column(name) {
                Some(c) if !c.derived => {}
                _ => {
                    let cols: Vec<&str> = table
                        .columns()
                        .iter()
                        .filter(|c| !c.derived)
                        .map(|c| c.name)
                        .collect();
                    bail!(
                        "the mapping names column `{name}`, which table {table} does not have; \
                         its columns are {}",
                        cols.join(", ")
                    )
                }
            }
        }
        for (target, (base, _)) in &self.seconds_after {
            if table.column(base).is_none() {
                bail!("seconds_after.{target}: base column `{base}` is not in table {table}");
            }
        }
        Ok(())
    }

    /// The export header that feeds a model column: the mapped name, or the
    /// model name itself.
    pub fn header_for<'a>(&'a self, column: &'a str) -> &'a str {
        self.columns
            .get(column)
            .map(String::as_str)
            .unwrap_or(column)
    }

    /// A value map for a column, if any.
    pub fn value_map(&self, column: &str) -> Option<&BTreeMap<String, String>> {
        self.values.get(column)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_columns_are_named() {
        let m: Mapping = toml::from_str("[columns]\nlead = \"ID\"\n").unwrap();
        let err = m.check(Table::Leads).unwrap_err().to_string();
        assert!(err.contains("`lead`") && err.contains("lead_id"), "{err}");
    }

    #[test]
    fn full_example_parses() {
        let m: Mapping = toml::from_str(
            r#"
            table = "leads"
            delimiter = ";"
            [columns]
            lead_id = "ID"
            [values.channel]
            "Звонок" = "call"
            [seconds_after]
            answered_at = ["created_at", "Ожидание"]
            [null_when]
            answered_at = { column = "Статус", equals = ["Пропущенный"] }
            "#,
        )
        .unwrap();
        m.check(Table::Leads).unwrap();
        assert_eq!(m.header_for("lead_id"), "ID");
        assert_eq!(m.header_for("channel"), "channel");
    }
}
