//! The data model: every table of SPEC.md section 1 as an Arrow schema.
//!
//! This module is the one place in Rust where column names live (the other is
//! `sql/`). Everything else — the loader, the generator, the store — asks a
//! [`Table`] for its schema, key, partitioning and the rules its values obey.
//!
//! Conventions:
//! - every timestamp is `Timestamp(Microsecond, "UTC")` (Delta `timestamp`);
//! - every fact row carries `tenant`; ids from outside systems are text;
//! - `leads` carries one derived column, `created_month` (`YYYY-MM`, the UTC
//!   month of `created_at`), which exists only to partition the table.

use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};

/// Arrow type of every timestamp column.
pub fn timestamp_type() -> DataType {
    DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
}

/// Channels a lead can come through (SPEC.md §1).
pub const CHANNELS: &[&str] = &[
    "call",
    "callback",
    "chat",
    "social",
    "messenger",
    "email",
    "form",
];
/// Directions of a lead: an incoming contact or one the manager started.
/// The id columns that tie a row to one client, from the client down:
/// `client_id` names the client, `lead_id` one of its leads, `rating_id` a
/// rating of one of its leads.
pub const CLIENT_LINKS: [&str; 3] = ["client_id", "lead_id", "rating_id"];

/// The report scopes (SPEC.md §1). Which channels make each one is
/// `lead_base`'s rule (`sql/02_lead_base.sql`), the one place it is written.
pub const SCOPES: &[&str] = &["calls", "chats"];

pub const DIRECTIONS: &[&str] = &["in", "out"];
/// Where a lead correction came from: a load of a re-export, or an
/// admin's `UPDATE` over SQL.
pub const CORRECTION_SOURCES: &[&str] = &["load", "sql"];
/// Kinds of messages sent to a client.
pub const REQUEST_KINDS: &[&str] = &["welcome", "request", "reaction"];
/// Ways a message reaches a client.
pub const REQUEST_VIA: &[&str] = &["sms", "chat"];

/// What a column holds, as far as loading and validation care.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Free text.
    Text,
    /// Text restricted to a fixed set of values.
    Enum(&'static [&'static str]),
    /// A 32-bit integer.
    Int,
    /// A 64-bit float.
    Float,
    /// true/false (also 1/0, yes/no, да/нет).
    Bool,
    /// A UTC instant.
    Timestamp,
    /// A list of text (tags).
    TextList,
}

/// One column of a table.
#[derive(Debug, Clone, Copy)]
pub struct Column {
    pub name: &'static str,
    pub kind: Kind,
    /// A row without a value here is rejected.
    pub required: bool,
    /// Filled by the engine, never read from an input file.
    pub derived: bool,
}

const fn col(name: &'static str, kind: Kind, required: bool) -> Column {
    Column {
        name,
        kind,
        required,
        derived: false,
    }
}

const fn derived(name: &'static str, kind: Kind) -> Column {
    Column {
        name,
        kind,
        required: true,
        derived: true,
    }
}

use Kind::*;

const TENANTS: &[Column] = &[
    col("tenant", Text, true),
    col("name", Text, false),
    col("timezone", Text, true),
    col("survey_interval_days", Int, false),
    col("service_level_seconds", Int, false),
    // Added later (a stored table gains them on open, see
    // `Store::upgrade`): the survey interval of one scope, when the tenant
    // sets one; survey_interval_days otherwise.
    col("survey_interval_calls_days", Int, false),
    col("survey_interval_chats_days", Int, false),
];

const MANAGERS: &[Column] = &[
    col("tenant", Text, true),
    col("manager_id", Text, true),
    col("name", Text, false),
    col("department", Text, false),
    col("active", Bool, false),
];

const LEADS: &[Column] = &[
    col("tenant", Text, true),
    col("lead_id", Text, true),
    col("channel", Enum(CHANNELS), true),
    col("direction", Enum(DIRECTIONS), true),
    col("class", Text, false),
    col("manager_id", Text, false),
    col("client_id", Text, false),
    col("created_at", Timestamp, true),
    col("answered_at", Timestamp, false),
    col("ended_at", Timestamp, false),
    col("tags", TextList, false),
    col("source", Text, false),
    derived("created_month", Text),
];

const RATING_REQUESTS: &[Column] = &[
    col("tenant", Text, true),
    col("request_id", Text, true),
    col("lead_id", Text, true),
    col("client_id", Text, false),
    col("kind", Enum(REQUEST_KINDS), true),
    col("via", Enum(REQUEST_VIA), true),
    col("sent_at", Timestamp, true),
    col("cost", Float, false),
];

const RATINGS: &[Column] = &[
    col("tenant", Text, true),
    col("rating_id", Text, true),
    col("lead_id", Text, true),
    col("score_raw", Text, false),
    col("score", Int, false),
    col("received_at", Timestamp, true),
];

const RATING_MODERATIONS: &[Column] = &[
    col("tenant", Text, true),
    col("rating_id", Text, true),
    col("moderated_at", Timestamp, true),
    col("new_score", Int, false),
    col("previous_score", Int, false),
    col("moderator", Text, true),
    col("reason", Text, false),
];

const LEAD_NOTES: &[Column] = &[
    col("tenant", Text, true),
    col("lead_id", Text, true),
    col("tag", Text, false),
    col("comment", Text, false),
    col("author", Text, false),
    col("created_at", Timestamp, true),
];

const MANUAL_STATS: &[Column] = &[
    col("tenant", Text, true),
    col("hour", Timestamp, true),
    col("metric", Text, true),
    col("value", Float, true),
    col("author", Text, false),
    col("comment", Text, false),
];

/// The audit of lead corrections: one row per changed column of a stored
/// lead, written by OKO (a load that finds a changed lead, or `UPDATE
/// leads`), never by a client. Values are text in PostgreSQL's output form
/// (`previous_value` NULL: the column was empty).
const LEAD_CORRECTIONS: &[Column] = &[
    col("tenant", Text, true),
    col("lead_id", Text, true),
    col("column_name", Text, true),
    col("previous_value", Text, false),
    col("new_value", Text, false),
    col("corrected_by", Text, true),
    col("corrected_at", Timestamp, true),
    col("source", Enum(CORRECTION_SOURCES), true),
];

/// The tables of the model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Table {
    Tenants,
    Managers,
    Leads,
    RatingRequests,
    Ratings,
    RatingModerations,
    LeadNotes,
    ManualStats,
    LeadCorrections,
}

impl Table {
    /// Every table of the store, in the order a full load should run
    /// (dimensions first; the audit OKO writes itself last).
    pub const ALL: [Table; 9] = [
        Table::Tenants,
        Table::Managers,
        Table::Leads,
        Table::RatingRequests,
        Table::Ratings,
        Table::RatingModerations,
        Table::LeadNotes,
        Table::ManualStats,
        Table::LeadCorrections,
    ];

    /// The tables an export set holds (`oko generate` writes, `oko load`
    /// reads): every table but the ones OKO writes itself
    /// ([`Table::is_exported`]).
    pub const EXPORTED: [Table; 8] = [
        Table::Tenants,
        Table::Managers,
        Table::Leads,
        Table::RatingRequests,
        Table::Ratings,
        Table::RatingModerations,
        Table::LeadNotes,
        Table::ManualStats,
    ];

    /// Whether rows of this table come from outside (exports, clients'
    /// `INSERT`s). `lead_corrections` does not: it is OKO's record of what
    /// it changed, so no load, `INSERT` or `DELETE` may write it.
    pub fn is_exported(self) -> bool {
        self != Table::LeadCorrections
    }

    /// Whether a stored row of this table is corrected when a load brings
    /// its key again with other values (see `ingest::correct`). Only
    /// `leads`: the CRM fills a lead in after the first export (the manager
    /// who took it, its class, when it ended), so a re-export carries the
    /// lead's newer state. The other facts are events that do not change
    /// once they happened — a rating is corrected by a moderation, which
    /// keeps the audit — so a stored key stays a duplicate there.
    pub fn is_corrected_by_load(self) -> bool {
        self == Table::Leads
    }

    /// The columns an admin may correct with SQL `UPDATE` (none: the table
    /// takes no `UPDATE`). In `leads`, what the CRM fills in after the
    /// contact: who took it, its class, when it was answered and ended, its
    /// tags. Not the key (`tenant`, `lead_id`), not `created_at` (it places
    /// the lead in its month partition and its report periods; a load of
    /// the corrected export moves it), not the derived `created_month`, and
    /// not `client_id` (erasure follows it), `channel`, `direction` or
    /// `source` (what the contact was; a corrected export changes them).
    pub fn corrected_by_sql(self) -> &'static [&'static str] {
        match self {
            Table::Leads => &["manager_id", "class", "answered_at", "ended_at", "tags"],
            _ => &[],
        }
    }

    /// The SQL name of the table (also its folder in the store).
    pub fn name(self) -> &'static str {
        match self {
            Table::Tenants => "tenants",
            Table::Managers => "managers",
            Table::Leads => "leads",
            Table::RatingRequests => "rating_requests",
            Table::Ratings => "ratings",
            Table::RatingModerations => "rating_moderations",
            Table::LeadNotes => "lead_notes",
            Table::ManualStats => "manual_stats",
            Table::LeadCorrections => "lead_corrections",
        }
    }

    /// Looks a table up by its SQL name.
    pub fn from_name(name: &str) -> Option<Table> {
        Table::ALL.into_iter().find(|t| t.name() == name)
    }

    /// The columns, in schema order.
    pub fn columns(self) -> &'static [Column] {
        match self {
            Table::Tenants => TENANTS,
            Table::Managers => MANAGERS,
            Table::Leads => LEADS,
            Table::RatingRequests => RATING_REQUESTS,
            Table::Ratings => RATINGS,
            Table::RatingModerations => RATING_MODERATIONS,
            Table::LeadNotes => LEAD_NOTES,
            Table::ManualStats => MANUAL_STATS,
            Table::LeadCorrections => LEAD_CORRECTIONS,
        }
    }

    /// The columns that identify a row: loading a row whose key is already
    /// stored is a duplicate. `lead_notes` has no natural key, so the whole
    /// row is its identity.
    pub fn key(self) -> &'static [&'static str] {
        match self {
            Table::Tenants => &["tenant"],
            Table::Managers => &["tenant", "manager_id"],
            Table::Leads => &["tenant", "lead_id"],
            Table::RatingRequests => &["tenant", "request_id"],
            Table::Ratings => &["tenant", "rating_id"],
            Table::RatingModerations => &["tenant", "rating_id", "moderated_at"],
            Table::LeadNotes => &[
                "tenant",
                "lead_id",
                "tag",
                "comment",
                "author",
                "created_at",
            ],
            Table::ManualStats => &["tenant", "hour", "metric"],
            // One commit changes a column of a lead at most once.
            Table::LeadCorrections => &["tenant", "lead_id", "column_name", "corrected_at"],
        }
    }

    /// The columns through which a row belongs to one client, in the order
    /// ids are followed: a row names the client (`client_id`), hangs on one
    /// of the client's leads (`lead_id`), or on a rating of one of them
    /// (`rating_id`). Derived from the columns, so a new table holding
    /// client data is erased with the rest ([`crate::lifecycle::erase`]).
    pub fn client_links(self) -> Vec<&'static str> {
        CLIENT_LINKS
            .iter()
            .copied()
            .filter(|link| self.column(link).is_some())
            .collect()
    }

    /// The link id this table is the source of (`lead_id` for `leads`,
    /// `rating_id` for `ratings`): the rows other tables hang on.
    pub fn link_source(self) -> Option<&'static str> {
        CLIENT_LINKS[1..]
            .iter()
            .copied()
            .find(|link| self.key() == ["tenant", *link])
    }

    /// Dimension tables are small and describe things rather than events: a
    /// load replaces the stored row with the same key (an upsert) instead of
    /// skipping it, so a renamed manager or a new time zone takes effect.
    pub fn is_dimension(self) -> bool {
        matches!(self, Table::Tenants | Table::Managers)
    }

    /// Partition columns. Every table but `tenants` is split by tenant, so a
    /// tenant's report (and a tenant-bound session) reads only its folders;
    /// `leads`, the one big table, is also split by the UTC month of
    /// `created_at`, so a report for a period opens only the months it covers.
    pub fn partition_columns(self) -> &'static [&'static str] {
        match self {
            Table::Tenants => &[],
            Table::Leads => &["tenant", "created_month"],
            _ => &["tenant"],
        }
    }

    /// The column files are sorted by within a partition, so that Parquet
    /// row-group statistics prune a period scan.
    pub fn sort_column(self) -> Option<&'static str> {
        match self {
            Table::Leads | Table::LeadNotes => Some("created_at"),
            Table::RatingRequests => Some("sent_at"),
            Table::Ratings => Some("received_at"),
            Table::RatingModerations => Some("moderated_at"),
            Table::ManualStats => Some("hour"),
            Table::LeadCorrections => Some("corrected_at"),
            Table::Tenants | Table::Managers => None,
        }
    }

    /// The Arrow schema of the table.
    pub fn schema(self) -> SchemaRef {
        let fields: Vec<Field> = self
            .columns()
            .iter()
            .map(|c| Field::new(c.name, arrow_type(c.kind), !c.required))
            .collect();
        Arc::new(Schema::new(fields))
    }

    /// A column by name.
    pub fn column(self, name: &str) -> Option<&'static Column> {
        self.columns().iter().find(|c| c.name == name)
    }
}

impl std::fmt::Display for Table {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Table {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Table::from_name(s).ok_or_else(|| {
            let names: Vec<&str> = Table::ALL.iter().map(|t| t.name()).collect();
            format!("unknown table `{s}`; the tables are {}", names.join(", "))
        })
    }
}

/// The Arrow type that stores a column kind.
pub fn arrow_type(kind: Kind) -> DataType {
    match kind {
        Text | Enum(_) => DataType::Utf8,
        Int => DataType::Int32,
        Float => DataType::Float64,
        Bool => DataType::Boolean,
        Timestamp => timestamp_type(),
        TextList => DataType::List(Arc::new(Field::new("item", DataType::Utf8, true))),
    }
}

/// The partition value of `created_month` for a UTC instant in microseconds.
pub fn month_of_micros(micros: i64) -> Option<String> {
    use chrono::Datelike;
    // Called once per loaded lead: plain arithmetic, not a strftime format.
    let t = chrono::DateTime::from_timestamp_micros(micros)?;
    let (year, month) = (t.year(), t.month());
    if !(0..=9999).contains(&year) {
        return Some(t.format("%Y-%m").to_string());
    }
    let y = year as u32;
    let digits = [
        b'0' + (y / 1000) as u8,
        b'0' + (y / 100 % 10) as u8,
        b'0' + (y / 10 % 10) as u8,
        b'0' + (y % 10) as u8,
        b'-',
        b'0' + (month / 10) as u8,
        b'0' + (month % 10) as u8,
    ];
    Some(digits.iter().map(|&b| b as char).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_links_come_from_the_columns() {
        assert_eq!(Table::Leads.client_links(), ["client_id", "lead_id"]);
        assert_eq!(
            Table::RatingRequests.client_links(),
            ["client_id", "lead_id"]
        );
        assert_eq!(Table::Ratings.client_links(), ["lead_id", "rating_id"]);
        assert_eq!(Table::RatingModerations.client_links(), ["rating_id"]);
        assert_eq!(Table::LeadNotes.client_links(), ["lead_id"]);
        assert!(Table::ManualStats.client_links().is_empty());
        assert!(Table::Managers.client_links().is_empty());
        // A lead's corrections are erased with the lead.
        assert_eq!(Table::LeadCorrections.client_links(), ["lead_id"]);
        assert_eq!(Table::LeadCorrections.link_source(), None);
        assert_eq!(Table::Leads.link_source(), Some("lead_id"));
        assert_eq!(Table::Ratings.link_source(), Some("rating_id"));
        assert_eq!(Table::RatingRequests.link_source(), None);
    }

    #[test]
    fn every_key_and_partition_column_exists() {
        for t in Table::ALL {
            for k in t.key().iter().chain(t.partition_columns()) {
                assert!(t.column(k).is_some(), "{t}: {k}");
            }
            if let Some(s) = t.sort_column() {
                assert!(t.column(s).is_some());
            }
        }
    }

    #[test]
    fn names_round_trip() {
        for t in Table::ALL {
            assert_eq!(t.name().parse::<Table>(), Ok(t));
        }
        let exported: Vec<Table> = Table::ALL.into_iter().filter(|t| t.is_exported()).collect();
        assert_eq!(exported, Table::EXPORTED);
        assert!("lead".parse::<Table>().unwrap_err().contains("leads"));
    }

    #[test]
    fn month_partition_is_utc() {
        // 2024-03-31T23:30:00Z is still March in UTC.
        assert_eq!(month_of_micros(1_711_927_800_000_000).unwrap(), "2024-03");
    }

    #[test]
    fn month_partition_matches_strftime() {
        // Every ~17 days from year -1000 to 12000, and the edges of a month.
        let mut t = -93_000_000_000_000_000i64;
        while t < 316_000_000_000_000_000 {
            for micros in [t, t - 1, t + 1] {
                let want = chrono::DateTime::from_timestamp_micros(micros)
                    .map(|d| d.format("%Y-%m").to_string());
                assert_eq!(month_of_micros(micros), want, "{micros}");
            }
            t += 1_500_000_000_000;
        }
    }
}
