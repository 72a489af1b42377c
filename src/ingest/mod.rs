//! Loading historical exports into the store (SPEC.md §4).
//!
//! A load reads one or more files of one table, converts every record with a
//! [`RowPlan`], drops rows whose natural key is already stored or was seen
//! earlier in the load, and writes the rest as **one Delta commit**: all good
//! rows or nothing. A parser thread and the Parquet writer run side by side.
//!
//! Loading the same export twice changes nothing, detected twice over:
//! - every row's natural key (`Table::key`) is compared with the stored keys;
//! - the commit carries a Delta application transaction named after the
//!   SHA-256 of the files, the mapping and the options, so a repeated load
//!   (even a concurrent one) is refused by the log itself.
//!
//! Dimension tables (`tenants`, `managers`) are upserted instead: a row with
//! a stored key replaces the stored row, and the table is rewritten in one
//! commit (they are small).
//!
//! `leads` are corrected ([`Table::is_corrected_by_load`], [`correct`]): a
//! row whose key is stored is compared with the stored lead on the columns
//! its file carries. Equal everywhere, it is a duplicate; different, it is
//! a correction — the stored lead is replaced by the new version (columns
//! the file lacks kept as stored, the row rules checked again, a changed
//! `created_at` moving the lead to its new month) in the load's one commit,
//! beside the new rows ([`crate::store::write::commit_replacing`]), and
//! every changed column is recorded in `lead_corrections` (source `load`,
//! by the user running the load). The report counts them as `updated`.
//! The audit is a second commit, into its own table, right after; should
//! it fail, the changes are in the leads commit's `oko.corrections`
//! metadata and the error says so.
//!
//! Bad rows are reported with file, line, column and reason; a load with more
//! bad rows than `max_bad_rows` writes nothing. Otherwise the bad rows go to
//! a rejects file and the good rows are committed.

pub mod correct;
pub mod mapping;
pub mod rows;
pub mod source;
pub mod values;

use std::collections::HashSet;
use std::hash::{BuildHasherDefault, Hasher};
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use datafusion::arrow::array::{ArrayRef, BooleanArray, RecordBatch};
use datafusion::arrow::compute::{cast, filter_record_batch};
use datafusion::arrow::row::{RowConverter, SortField};
use datafusion::prelude::SessionContext;
use deltalake::DeltaTable;
use deltalake::kernel::Transaction;
use deltalake::kernel::transaction::CommitProperties;
use deltalake::protocol::SaveMode;
use deltalake::writer::{DeltaWriter, RecordBatchWriter};
use futures::StreamExt;
use sha2::{Digest, Sha256};

use crate::model::Table;
use crate::store::Store;
use mapping::Mapping;
use rows::{BatchBuilder, Encoding, RowPlan};
use source::{Format, Next, Source, SourceHints};
use values::TimeRules;

/// Rows per record batch handed to the writer.
const BATCH_ROWS: usize = 64 * 1024;
/// Bad rows kept in memory for the report and the rejects file.
const MAX_KEPT_BAD_ROWS: usize = 100_000;
/// Corrections listed in a commit's `oko.corrections` metadata (the audit
/// table has them all).
const MAX_LISTED_CORRECTIONS: usize = 10_000;

/// For every model column of a parsed batch, whether its file carries it
/// ([`rows::RowPlan::carried`]).
type Carried = Arc<Vec<bool>>;

/// What to load and how.
#[derive(Debug, Clone)]
pub struct LoadOptions {
    pub table: Table,
    pub files: Vec<PathBuf>,
    pub mapping: Mapping,
    /// The mapping file's text, part of the load's identity.
    pub mapping_text: String,
    pub format: Option<Format>,
    pub delimiter: Option<u8>,
    pub encoding: Option<Encoding>,
    pub tenant: Option<String>,
    pub timezone: Option<chrono_tz::Tz>,
    pub dry_run: bool,
    pub max_bad_rows: u64,
    /// Where bad rows are written when the load goes on without them.
    pub rejects: Option<PathBuf>,
    pub progress: bool,
}

/// One refused row.
#[derive(Debug, Clone)]
pub struct BadRow {
    pub file: String,
    pub line: u64,
    pub column: String,
    pub reason: String,
    pub raw: String,
}

impl std::fmt::Display for BadRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.column.is_empty() {
            write!(f, "{}:{}: {}", self.file, self.line, self.reason)
        } else {
            write!(
                f,
                "{}:{}: column `{}`: {}",
                self.file, self.line, self.column, self.reason
            )
        }
    }
}

/// The outcome of a load.
#[derive(Debug, Clone, Default)]
pub struct LoadReport {
    pub table: String,
    pub rows_read: u64,
    pub loaded: u64,
    pub updated: u64,
    pub duplicates: u64,
    pub rejected: u64,
    pub seconds: f64,
    /// The table version the load committed, if it committed.
    pub version: Option<i64>,
    /// The same files were loaded before with the same mapping and options.
    pub already_loaded: bool,
    pub dry_run: bool,
    pub bad_rows: Vec<BadRow>,
    pub rejects_file: Option<PathBuf>,
}

impl LoadReport {
    /// One line for people.
    pub fn summary(&self) -> String {
        let rate = if self.seconds > 0.0 {
            self.rows_read as f64 / self.seconds
        } else {
            0.0
        };
        let mut s = format!(
            "{}: read {} rows, loaded {}, updated {}, duplicate {}, rejected {} in {:.2} s ({:.0} rows/s)",
            self.table,
            self.rows_read,
            self.loaded,
            self.updated,
            self.duplicates,
            self.rejected,
            self.seconds,
            rate
        );
        if self.dry_run {
            s.push_str("; dry run, nothing written");
        } else if self.already_loaded {
            s.push_str("; these files were loaded before, nothing written");
        } else if let Some(v) = self.version {
            s.push_str(&format!("; table version {v}"));
        } else {
            s.push_str("; nothing new to write");
        }
        if let Some(r) = &self.rejects_file {
            s.push_str(&format!("; bad rows in {}", r.display()));
        }
        s
    }
}

/// A load that failed because of its input, with every bad row found.
#[derive(Debug)]
pub struct RejectedLoad {
    pub report: LoadReport,
    pub max_bad_rows: u64,
}

impl std::fmt::Display for RejectedLoad {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "{} bad rows (allowed: {}); nothing was written to table {}:",
            self.report.rejected, self.max_bad_rows, self.report.table
        )?;
        for b in self.report.bad_rows.iter().take(20) {
            writeln!(f, "  {b}")?;
        }
        if self.report.rejected > 20 {
            writeln!(f, "  … and {} more", self.report.rejected - 20)?;
        }
        write!(
            f,
            "fix the rows, or pass --max-bad-rows N to load the good rows and write the bad ones to a rejects file"
        )
    }
}

impl std::error::Error for RejectedLoad {}

/// What the parser thread found.
struct Parsed {
    rows_read: u64,
    bad_rows: Vec<BadRow>,
    bad_count: u64,
    hashes: Vec<[u8; 32]>,
}

/// Loads files into one table. Returns the report, or an error; a
/// [`RejectedLoad`] error carries the bad rows when there were too many.
pub async fn load(store: &Store, opts: LoadOptions) -> Result<LoadReport> {
    let started = Instant::now();
    let table = opts.table;
    if !table.is_exported() {
        bail!(
            "table {table} is written by OKO itself (the record of corrections); it is not loaded"
        );
    }
    opts.mapping.check(table)?;
    if opts.files.is_empty() {
        bail!("no files to load");
    }
    let mut delta = if opts.dry_run {
        store.table(table).await?
    } else {
        Some(store.table_or_create(table).await?)
    };

    // What is stored already: keys (facts) or whole rows (dimensions).
    let stored = match &delta {
        Some(t)
            if t.snapshot()
                .map(|s| s.log_data().num_files() > 0)
                .unwrap_or(false) =>
        {
            Some(read_stored(t, table).await?)
        }
        _ => None,
    };
    let stored_keys: KeySet = match &stored {
        Some(s) if !table.is_dimension() => hash_rows(&s.batches, &key_indices(table))?
            .into_iter()
            .collect(),
        _ => KeySet::default(),
    };

    let (tx, mut rx) = tokio::sync::mpsc::channel::<(RecordBatch, Carried)>(4);
    let progress = progress_bar(&opts);
    let parse_opts = opts.clone();
    let pb = progress.clone();
    let parser = std::thread::spawn(move || parse_files(parse_opts, tx, pb));

    // Write as the parser goes (facts), or gather (dimensions, rewritten whole).
    let mut writer = match (&delta, opts.dry_run || table.is_dimension()) {
        (Some(t), false) => Some(
            RecordBatchWriter::for_table(t)
                .with_context(|| format!("cannot write to table {table}"))?
                .with_writer_properties(crate::store::write::writer_properties()),
        ),
        _ => None,
    };
    let mut gathered = Vec::new();
    let mut loaded = 0u64;
    let mut duplicates = 0u64;
    let mut write_error = None;
    // Duplicates are dropped here rather than in the parser thread, which
    // is the busier of the two.
    let key_idx = key_indices(table);
    let mut seen = KeySet::default();
    seen.reserve(expected_rows(&opts.files));
    // Rows whose key is stored, when the table is corrected by loads: held
    // until the parse ends, then compared with the stored rows.
    let corrects = table.is_corrected_by_load();
    let mut candidates: Vec<(RecordBatch, Carried)> = Vec::new();
    while let Some((batch, carried)) = rx.recv().await {
        let (batch, stored_rows) = drop_duplicates(
            batch,
            &key_idx,
            &stored_keys,
            &mut seen,
            &mut duplicates,
            corrects,
        )?;
        if let Some(rows) = stored_rows {
            candidates.push((rows, carried));
        }
        if opts.dry_run || batch.num_rows() == 0 {
            continue;
        }
        loaded += batch.num_rows() as u64;
        if let Some(w) = writer.as_mut() {
            let batch = crate::store::write::sort_batch(batch, table)?;
            if let Err(e) = w.write(batch).await {
                write_error = Some(e);
                break;
            }
        } else if table.is_dimension() {
            gathered.push(batch);
        }
    }
    drop(rx);
    drop(seen);
    let parsed = parser
        .join()
        .map_err(|_| anyhow::anyhow!("the parser thread panicked"))??;
    progress.finish_and_clear();
    if let Some(e) = write_error {
        return Err(e).with_context(|| format!("cannot write to table {table}"));
    }

    let mut report = LoadReport {
        table: table.name().to_string(),
        rows_read: parsed.rows_read,
        loaded,
        duplicates,
        rejected: parsed.bad_count,
        dry_run: opts.dry_run,
        bad_rows: parsed.bad_rows,
        ..Default::default()
    };
    let user = load_user();
    let corrections = match (&delta, candidates.is_empty()) {
        (Some(t), false) => {
            let by = correct::Corrector {
                user: &user,
                at: chrono::Utc::now().timestamp_micros(),
                source: "load",
            };
            let c = resolve_corrections(t, table, candidates, &by).await?;
            report.duplicates += c.unchanged;
            report.updated = c.replacements.num_rows() as u64;
            report.rejected += c.refused.len() as u64;
            for b in &c.refused {
                if report.bad_rows.len() < MAX_KEPT_BAD_ROWS {
                    report.bad_rows.push(b.clone());
                }
            }
            Some(c).filter(|c| c.replacements.num_rows() > 0)
        }
        _ => None,
    };
    if report.rejected > opts.max_bad_rows {
        report.loaded = 0;
        report.updated = 0;
        report.seconds = started.elapsed().as_secs_f64();
        return Err(RejectedLoad {
            report,
            max_bad_rows: opts.max_bad_rows,
        }
        .into());
    }
    if report.rejected > 0 {
        report.rejects_file = Some(write_rejects(&opts, &report.bad_rows)?);
    }

    let app_id = load_id(&opts, &parsed.hashes);
    if let Some(t) = delta.as_mut() {
        if t.snapshot()?
            .transaction_version(t.log_store().as_ref(), &app_id)
            .await?
            .is_some()
        {
            report.already_loaded = true;
            report.duplicates += report.loaded + report.updated;
            report.loaded = 0;
            report.updated = 0;
        } else if !opts.dry_run {
            let mut metadata = vec![(
                "oko.load".to_string(),
                serde_json::json!({
                    "files": opts.files.iter().map(|f| f.display().to_string()).collect::<Vec<_>>(),
                    "rows": report.loaded,
                    "updated": report.updated,
                }),
            )];
            if let Some(c) = &corrections {
                metadata.push(("oko.corrections".to_string(), c.listed()?));
            }
            let props = CommitProperties::default()
                .with_application_transaction(Transaction::new(&app_id, 1))
                .with_metadata(metadata);
            if table.is_dimension() {
                let new_rows = gathered;
                let (merged, updated, identical) = merge_dimension(
                    table,
                    stored.map(|s| s.batches).unwrap_or_default(),
                    new_rows,
                )?;
                report.updated = updated;
                report.duplicates += identical;
                report.loaded = report.loaded.saturating_sub(updated + identical);
                if report.loaded + report.updated > 0 {
                    let t2 = t
                        .clone()
                        .write(merged)
                        .with_save_mode(SaveMode::Overwrite)
                        .with_commit_properties(props)
                        .with_writer_properties(crate::store::write::writer_properties())
                        .await
                        .with_context(|| format!("cannot commit the load to table {table}"))?;
                    report.version = t2.version().map(|v| v as i64);
                }
            } else if let Some(mut w) = writer
                && (report.loaded > 0 || corrections.is_some())
            {
                let version = match &corrections {
                    Some(c) => {
                        crate::store::write::commit_replacing(
                            &mut w,
                            t,
                            table,
                            &c.stored,
                            c.replacements.clone(),
                            props,
                        )
                        .await
                    }
                    None => crate::store::write::commit_with(&mut w, t, props).await,
                }
                .with_context(|| format!("cannot commit the load to table {table}"))?;
                report.version = Some(version);
                if let Some(c) = corrections {
                    write_audit(store, table, version, c.audit)
                        .await
                        .with_context(|| {
                            format!(
                                "table {table} was corrected (version {version}), but the record of \
                                 the corrections could not be written to lead_corrections; the \
                                 changes are in that version's commit metadata (oko.corrections)"
                            )
                        })?;
                }
            }
        }
    }
    report.seconds = started.elapsed().as_secs_f64();
    Ok(report)
}

/// The name of a load in the Delta log.
fn load_id(opts: &LoadOptions, hashes: &[[u8; 32]]) -> String {
    let mut h = Sha256::new();
    for f in hashes {
        h.update(f);
    }
    h.update(opts.mapping_text.as_bytes());
    h.update(format!(
        "|{:?}|{:?}|{:?}|{:?}|{:?}",
        opts.tenant, opts.timezone, opts.format, opts.delimiter, opts.encoding
    ));
    format!("oko-load:{}:{}", opts.table, hex::encode(h.finalize()))
}

fn progress_bar(opts: &LoadOptions) -> indicatif::ProgressBar {
    if !opts.progress {
        return indicatif::ProgressBar::hidden();
    }
    let total: u64 = opts
        .files
        .iter()
        .filter_map(|f| std::fs::metadata(f).ok())
        .map(|m| m.len())
        .sum();
    let pb = indicatif::ProgressBar::new(total);
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
    ) {
        pb.set_style(style.progress_chars("=> "));
    }
    pb.set_message(format!("loading {}", opts.table));
    pb
}

/// The parser thread: every file, every record → batches of new rows.
fn parse_files(
    opts: LoadOptions,
    tx: tokio::sync::mpsc::Sender<(RecordBatch, Carried)>,
    pb: indicatif::ProgressBar,
) -> Result<Parsed> {
    let table = opts.table;
    let mapping = &opts.mapping;
    let time = TimeRules {
        zone: opts
            .timezone
            .or_else(|| mapping.timezone.as_deref().and_then(|z| z.parse().ok()))
            .unwrap_or(chrono_tz::UTC),
        format: mapping.timestamp_format.clone(),
    };
    if let Some(z) = &mapping.timezone
        && z.parse::<chrono_tz::Tz>().is_err()
    {
        bail!("the mapping's timezone `{z}` is not an IANA time zone (e.g. Europe/Moscow)");
    }
    let sep = mapping.tags_separator.clone().unwrap_or_else(|| "|".into());
    let hints = SourceHints {
        format: opts
            .format
            .or_else(|| mapping.format.as_deref().and_then(|f| f.parse().ok())),
        delimiter: opts
            .delimiter
            .or_else(|| mapping.delimiter.as_deref().and_then(|d| d.bytes().next())),
        encoding: opts
            .encoding
            .or_else(|| mapping.encoding.as_deref().and_then(|e| e.parse().ok())),
        json_keys: json_keys(table, mapping),
        list_separator: sep.clone(),
    };
    let tenant = opts.tenant.clone().or_else(|| mapping.tenant.clone());
    let mut parsed = Parsed {
        rows_read: 0,
        bad_rows: Vec::new(),
        bad_count: 0,
        hashes: Vec::new(),
    };
    let mut builder = BatchBuilder::new(table);
    let mut record = csv::ByteRecord::new();
    let mut done_bytes = 0u64;
    // A dry run sends its batches too: the loader counts their duplicates.
    let mut sending = true;

    for path in &opts.files {
        let file_name = path.display().to_string();
        let mut src = Source::open(path, &hints)?;
        let plan = RowPlan::new(
            table,
            &src.header,
            mapping,
            src.encoding,
            time.clone(),
            tenant.clone(),
        )
        .with_context(|| format!("cannot load {file_name}"))?;
        // Batches end with their file, so each carries its file's columns.
        let carried: Carried = Arc::new(plan.carried());
        let width = src.header.len();
        let bad = |parsed: &mut Parsed, line, column: String, reason: String, raw: String| {
            parsed.bad_count += 1;
            if parsed.bad_rows.len() < MAX_KEPT_BAD_ROWS {
                parsed.bad_rows.push(BadRow {
                    file: file_name.clone(),
                    line,
                    column,
                    reason,
                    raw,
                });
            }
        };
        loop {
            let line = match src.next(&mut record, &sep)? {
                Next::End => break,
                Next::Bad(line, e, raw) => {
                    parsed.rows_read += 1;
                    bad(&mut parsed, line, e.column, e.reason, raw);
                    continue;
                }
                Next::Record(line) => line,
            };
            parsed.rows_read += 1;
            if src.format == source::Format::Csv && record.len() != width {
                let reason = if record.len() < width {
                    format!(
                        "{} fields where the header has {width}: the line is cut short (a truncated file?)",
                        record.len()
                    )
                } else {
                    format!(
                        "{} fields where the header has {width}: an unquoted delimiter in a value?",
                        record.len()
                    )
                };
                bad(
                    &mut parsed,
                    line,
                    String::new(),
                    reason,
                    raw_line(&record, src.delimiter),
                );
                continue;
            }
            let mut row = Vec::with_capacity(table.columns().len());
            match plan.convert(&record, &mut row) {
                Ok(()) => builder.append(&row),
                Err(e) => {
                    bad(
                        &mut parsed,
                        line,
                        e.column,
                        e.reason,
                        raw_line(&record, src.delimiter),
                    );
                    continue;
                }
            }
            if builder.len() >= BATCH_ROWS {
                pb.set_position(
                    done_bytes + src.bytes_read.load(std::sync::atomic::Ordering::Relaxed),
                );
                if parsed.bad_count > opts.max_bad_rows {
                    sending = false;
                }
                let batch = builder.finish()?;
                if sending
                    && batch.num_rows() > 0
                    && tx.blocking_send((batch, carried.clone())).is_err()
                {
                    // The writer stopped (it reports why).
                    sending = false;
                }
            }
        }
        if !builder.is_empty() {
            let batch = builder.finish()?;
            if parsed.bad_count > opts.max_bad_rows {
                sending = false;
            }
            if sending && batch.num_rows() > 0 && tx.blocking_send((batch, carried)).is_err() {
                sending = false;
            }
        }
        done_bytes += src.size;
        pb.set_position(done_bytes);
        parsed.hashes.push(src.finish());
    }
    Ok(parsed)
}

/// The export keys to read from JSON lines: every mapped or model column.
fn json_keys(table: Table, mapping: &Mapping) -> Vec<String> {
    let mut keys: Vec<String> = table
        .columns()
        .iter()
        .filter(|c| !c.derived)
        .map(|c| mapping.header_for(c.name).to_string())
        .collect();
    for nw in mapping.null_when.values() {
        keys.push(nw.column.clone());
    }
    for (_, secs) in mapping.seconds_after.values() {
        keys.push(secs.clone());
    }
    keys.dedup();
    keys
}

fn raw_line(record: &csv::ByteRecord, delimiter: u8) -> String {
    let d = [delimiter];
    let parts: Vec<String> = record
        .iter()
        .map(|f| String::from_utf8_lossy(f).into_owned())
        .collect();
    parts.join(std::str::from_utf8(&d).unwrap_or(","))
}

/// Removes rows whose key is stored or was seen earlier in this load, and
/// returns the new rows. With `keep_stored`, the first row of each stored
/// key is not a duplicate yet: those rows are returned apart, to be
/// compared with the stored rows ([`resolve_corrections`]).
fn drop_duplicates(
    batch: RecordBatch,
    key_idx: &[usize],
    stored: &KeySet,
    seen: &mut KeySet,
    duplicates: &mut u64,
    keep_stored: bool,
) -> Result<(RecordBatch, Option<RecordBatch>)> {
    let keys = hash_rows(std::slice::from_ref(&batch), key_idx)?;
    let mut keep = Vec::with_capacity(keys.len());
    let mut again = Vec::with_capacity(if keep_stored { keys.len() } else { 0 });
    let mut dropped = 0;
    let mut held = 0;
    for k in keys {
        let is_stored = stored.contains(&k);
        // A stored key is remembered only when it may be a correction.
        let first = (!is_stored || keep_stored) && seen.insert(k);
        let new = !is_stored && first;
        let candidate = keep_stored && is_stored && first;
        if !new && !candidate {
            dropped += 1;
        }
        if candidate {
            held += 1;
        }
        keep.push(new);
        if keep_stored {
            again.push(candidate);
        }
    }
    *duplicates += dropped;
    let held = (held > 0)
        .then(|| filter_record_batch(&batch, &BooleanArray::from(again)))
        .transpose()?;
    if dropped == 0 && held.is_none() {
        return Ok((batch, None));
    }
    Ok((
        filter_record_batch(&batch, &BooleanArray::from(keep))?,
        held,
    ))
}

/// Who runs a load, for the record of its corrections.
fn load_user() -> String {
    std::env::var("USER").unwrap_or_else(|_| "oko-cli".into())
}

/// What a load corrects.
struct Corrections {
    /// The stored rows replaced (the model's columns).
    stored: RecordBatch,
    /// Their new versions, checked, in the table's schema.
    replacements: RecordBatch,
    /// The `lead_corrections` rows.
    audit: RecordBatch,
    /// Rows whose key is stored with the same values: duplicates.
    unchanged: u64,
    /// New versions that break the row rules.
    refused: Vec<BadRow>,
}

impl Corrections {
    /// The changes as the leads commit's metadata lists them.
    fn listed(&self) -> Result<serde_json::Value> {
        let a = &self.audit;
        let mut listed = Vec::new();
        for r in 0..a.num_rows().min(MAX_LISTED_CORRECTIONS) {
            let mut row = Vec::with_capacity(5);
            for name in [
                "tenant",
                "lead_id",
                "column_name",
                "previous_value",
                "new_value",
            ] {
                row.push(correct::text_of(a.column(a.schema().index_of(name)?), r)?);
            }
            listed.push(row);
        }
        Ok(serde_json::json!({
            "rows": self.replacements.num_rows(),
            "changes": a.num_rows(),
            "listed": listed,
        }))
    }
}

/// Compares the rows of a load whose key is stored with the stored rows:
/// the unchanged ones are duplicates, the others corrections
/// ([`correct`]).
async fn resolve_corrections(
    t: &DeltaTable,
    table: Table,
    candidates: Vec<(RecordBatch, Carried)>,
    by: &correct::Corrector<'_>,
) -> Result<Corrections> {
    use datafusion::arrow::array::UInt32Array;
    use datafusion::arrow::compute::{concat_batches, take_record_batch};
    let key_idx = key_indices(table);
    let stored = stored_rows_of(t, table, &candidates, &key_idx).await?;
    let stored_at: std::collections::HashMap<u128, u32> =
        hash_rows(std::slice::from_ref(&stored), &key_idx)?
            .into_iter()
            .enumerate()
            .map(|(i, h)| (h, i as u32))
            .collect();
    let mut before_parts = Vec::new();
    let mut after_parts = Vec::new();
    let mut audit_parts = Vec::new();
    let mut unchanged = 0u64;
    let mut refused = Vec::new();
    for (batch, carried) in candidates {
        let hashes = hash_rows(std::slice::from_ref(&batch), &key_idx)?;
        let idx = hashes
            .iter()
            .map(|h| {
                stored_at.get(h).copied().ok_or_else(|| {
                    anyhow::anyhow!("a stored row of {table} changed during the load; load again")
                })
            })
            .collect::<Result<Vec<u32>>>()?;
        let aligned = take_record_batch(&stored, &UInt32Array::from(idx))?;
        let changes = correct::changes(table, &aligned, &batch, &carried)?;
        let rows = correct::changed_rows(&changes);
        unchanged += (batch.num_rows() - rows.len()) as u64;
        if rows.is_empty() {
            continue;
        }
        let pick = UInt32Array::from(rows.iter().map(|&r| r as u32).collect::<Vec<_>>());
        let before = take_record_batch(&aligned, &pick)?;
        let merged = correct::merge(table, &before, &take_record_batch(&batch, &pick)?, &carried)?;
        let correct::Rebuilt {
            batch: rebuilt,
            kept,
            refused: bad,
        } = correct::rebuild(table, None, &merged)?;
        for (p, e) in bad {
            let key = crate::store::write::row_keys(&before, table.key())?;
            refused.push(BadRow {
                file: format!("correction of {table}"),
                line: 0,
                column: e.column,
                reason: format!(
                    "the stored row ({}) = ({}) with this load's values is invalid: {}",
                    table.key().join(", "),
                    key.get(p)
                        .map(|k| k.replace('\u{1f}', ", "))
                        .unwrap_or_default(),
                    e.reason
                ),
                raw: String::new(),
            });
        }
        // Batch row → position among the changed rows → position among the kept.
        let position: std::collections::HashMap<usize, usize> = kept
            .iter()
            .enumerate()
            .map(|(k, &p)| (rows[p], k))
            .collect();
        let kept_changes: Vec<correct::Change> = changes
            .into_iter()
            .filter_map(|c| {
                position
                    .get(&c.row)
                    .map(|&k| correct::Change { row: k, ..c })
            })
            .collect();
        let kept_idx = UInt32Array::from(kept.iter().map(|&p| p as u32).collect::<Vec<_>>());
        audit_parts.push(correct::audit(&rebuilt, &kept_changes, by)?);
        before_parts.push(take_record_batch(&before, &kept_idx)?);
        after_parts.push(rebuilt);
    }
    let nullable = stored.schema();
    Ok(Corrections {
        stored: concat_batches(&nullable, &before_parts)?,
        replacements: concat_batches(&table.schema(), &after_parts)?,
        audit: concat_batches(&Table::LeadCorrections.schema(), &audit_parts)?,
        unchanged,
        refused,
    })
}

/// The stored rows (every column, in the model's types) whose keys are
/// among the candidates'.
async fn stored_rows_of(
    t: &DeltaTable,
    table: Table,
    candidates: &[(RecordBatch, Carried)],
    key_idx: &[usize],
) -> Result<RecordBatch> {
    use datafusion::datasource::MemTable;
    let ctx = SessionContext::new();
    t.update_datafusion_session(&ctx.state())?;
    ctx.register_table("t", t.table_provider().await?)?;
    let keys = candidates
        .iter()
        .map(|(b, _)| b.project(key_idx))
        .collect::<std::result::Result<Vec<_>, _>>()?;
    let Some(first) = keys.first() else {
        return Ok(RecordBatch::new_empty(
            crate::store::write::nullable_schema(table),
        ));
    };
    ctx.register_table(
        "k",
        Arc::new(MemTable::try_new(first.schema(), vec![keys.clone()])?),
    )?;
    let quote = |v: &str| format!("'{}'", v.replace('\'', "''"));
    let mut tenants = std::collections::BTreeSet::new();
    for k in &keys {
        let i = k.schema().index_of("tenant")?;
        for r in 0..k.num_rows() {
            if let Some(t) = correct::text_of(k.column(i), r)? {
                tenants.insert(quote(&t));
            }
        }
    }
    let columns: Vec<String> = table
        .columns()
        .iter()
        .map(|c| format!("t.\"{}\"", c.name))
        .collect();
    // Keys are text: compared as text (partition columns come back
    // dictionary-encoded).
    let on: Vec<String> = table
        .key()
        .iter()
        .map(|k| format!("CAST(t.\"{k}\" AS VARCHAR) = k.\"{k}\""))
        .collect();
    let tenants: Vec<String> = tenants.into_iter().collect();
    let sql = format!(
        "SELECT {} FROM t JOIN k ON {} WHERE t.tenant IN ({})",
        columns.join(", "),
        on.join(" AND "),
        tenants.join(", ")
    );
    let found = ctx.sql(&sql).await?.collect().await?;
    let found = found
        .iter()
        .map(|b| crate::store::write::to_model(table, b))
        .collect::<Result<Vec<_>>>()?;
    Ok(datafusion::arrow::compute::concat_batches(
        &crate::store::write::nullable_schema(table),
        &found,
    )?)
}

/// Appends a load's corrections to `lead_corrections`, as one commit
/// named after the corrected table's version (so it is written once).
async fn write_audit(store: &Store, table: Table, version: i64, audit: RecordBatch) -> Result<()> {
    let mut t = store.table_or_create(Table::LeadCorrections).await?;
    let app = format!("oko-corrections:{table}:{version}");
    if t.snapshot()?
        .transaction_version(t.log_store().as_ref(), &app)
        .await?
        .is_some()
    {
        return Ok(());
    }
    let mut w = RecordBatchWriter::for_table(&t)?
        .with_writer_properties(crate::store::write::writer_properties());
    w.write(crate::store::write::sort_batch(
        audit,
        Table::LeadCorrections,
    )?)
    .await?;
    let props = CommitProperties::default()
        .with_application_transaction(Transaction::new(&app, 1))
        .with_metadata([(
            "oko.corrections".to_string(),
            serde_json::json!({ "table": table.name(), "version": version }),
        )]);
    crate::store::write::commit_with(&mut w, &mut t, props).await?;
    Ok(())
}

/// Rows a load is likely to have (for sizing the set of seen keys up front
/// rather than growing it by rehashing): about one per 128 bytes of input.
fn expected_rows(files: &[PathBuf]) -> usize {
    let bytes: u64 = files
        .iter()
        .filter_map(|f| std::fs::metadata(f).ok())
        .map(|m| m.len())
        .sum();
    usize::try_from(bytes / 128)
        .unwrap_or(usize::MAX)
        .min(1 << 26)
}

fn key_indices(table: Table) -> Vec<usize> {
    let cols = table.columns();
    table
        .key()
        .iter()
        .filter_map(|k| cols.iter().position(|c| c.name == *k))
        .collect()
}

/// A set of 128-bit row hashes. The values are already uniform hashes, so
/// the set uses their low bits directly instead of hashing them again.
type KeySet = HashSet<u128, BuildHasherDefault<PassThrough>>;

/// The hasher of [`KeySet`]: takes a `u128` hash as it is.
#[derive(Default)]
struct PassThrough(u64);

impl Hasher for PassThrough {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        // Only reached for types other than u128; fold them in.
        for chunk in bytes.chunks(8) {
            let mut b = [0u8; 8];
            b[..chunk.len()].copy_from_slice(chunk);
            self.0 =
                (self.0.rotate_left(5) ^ u64::from_le_bytes(b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }
    fn write_u128(&mut self, v: u128) {
        self.0 = (v as u64) ^ ((v >> 64) as u64);
    }
}

/// 128-bit hashes (two seeded XXH64) of the given columns of every row, in order.
/// Values are encoded with Arrow's row format (so every type hashes the
/// same way whether it came from a file or from the store). The hashes only
/// live for one load: nothing stores them.
fn hash_rows(batches: &[RecordBatch], columns: &[usize]) -> Result<Vec<u128>> {
    let Some(first) = batches.first() else {
        return Ok(Vec::new());
    };
    let fields: Vec<SortField> = columns
        .iter()
        .map(|&i| SortField::new(first.schema().field(i).data_type().clone()))
        .collect();
    let converter = RowConverter::new(fields)?;
    let mut out = Vec::with_capacity(batches.iter().map(|b| b.num_rows()).sum());
    for b in batches {
        let arrays: Vec<ArrayRef> = columns.iter().map(|&i| b.column(i).clone()).collect();
        let rows = converter.convert_columns(&arrays)?;
        out.extend(rows.iter().map(|r| {
            let bytes = r.as_ref();
            let h1 = twox_hash::XxHash64::oneshot(0x9E37_79B9_7F4A_7C15, bytes);
            let h2 = twox_hash::XxHash64::oneshot(0xC2B2_AE3D_27D4_EB4F, bytes);
            ((h1 as u128) << 64) | h2 as u128
        }));
    }
    Ok(out)
}

/// Rows stored in a table, cast to the model's schema.
struct Stored {
    batches: Vec<RecordBatch>,
}

async fn read_stored(t: &DeltaTable, table: Table) -> Result<Stored> {
    let ctx = SessionContext::new();
    t.update_datafusion_session(&ctx.state())?;
    let provider = t.table_provider().await?;
    ctx.register_table("t", provider)?;
    let cols: Vec<&str> = if table.is_dimension() {
        table.columns().iter().map(|c| c.name).collect()
    } else {
        table.key().to_vec()
    };
    let select: Vec<String> = cols.iter().map(|c| format!("\"{c}\"")).collect();
    let df = ctx
        .sql(&format!("SELECT {} FROM t", select.join(", ")))
        .await?;
    let mut stream = df.execute_stream().await?;
    let schema = table.schema();
    let mut batches = Vec::new();
    while let Some(b) = stream.next().await {
        let b = b?;
        // Put every column back in its model position and type, so hashes
        // match rows parsed from files (partition columns may come back
        // dictionary-encoded).
        let mut arrays: Vec<ArrayRef> = Vec::with_capacity(schema.fields().len());
        for (i, f) in schema.fields().iter().enumerate() {
            match cols.iter().position(|c| *c == f.name()) {
                Some(p) => arrays.push(cast(b.column(p), f.data_type())?),
                None => arrays.push(datafusion::arrow::array::new_null_array(
                    schema.field(i).data_type(),
                    b.num_rows(),
                )),
            }
        }
        let nullable_schema = Arc::new(datafusion::arrow::datatypes::Schema::new(
            schema
                .fields()
                .iter()
                .map(|f| f.as_ref().clone().with_nullable(true))
                .collect::<Vec<_>>(),
        ));
        batches.push(RecordBatch::try_new(nullable_schema, arrays)?);
    }
    Ok(Stored { batches })
}

/// Upsert for a dimension table: the stored rows whose key is not in the
/// new rows, plus the new rows that differ from what is stored. Returns the
/// merged table and the counts of updated and identical rows.
fn merge_dimension(
    table: Table,
    stored: Vec<RecordBatch>,
    new: Vec<RecordBatch>,
) -> Result<(Vec<RecordBatch>, u64, u64)> {
    let all: Vec<usize> = (0..table.columns().len()).collect();
    let key_idx = key_indices(table);
    let schema = table.schema();
    let stored: Vec<RecordBatch> = stored
        .into_iter()
        .map(|b| RecordBatch::try_new(schema.clone(), b.columns().to_vec()))
        .collect::<std::result::Result<_, _>>()?;
    let stored_full: KeySet = hash_rows(&stored, &all)?.into_iter().collect();
    let new_keys = hash_rows(&new, &key_idx)?;
    let new_full = hash_rows(&new, &all)?;
    let stored_keys: KeySet = hash_rows(&stored, &key_idx)?.into_iter().collect();
    let mut updated = 0;
    let mut identical = 0;
    for (k, f) in new_keys.iter().zip(&new_full) {
        if stored_full.contains(f) {
            identical += 1;
        } else if stored_keys.contains(k) {
            updated += 1;
        }
    }
    let replaced: KeySet = new_keys.into_iter().collect();
    let mut merged = Vec::new();
    for b in &stored {
        let keys = hash_rows(std::slice::from_ref(b), &key_idx)?;
        let keep: BooleanArray = keys.iter().map(|k| Some(!replaced.contains(k))).collect();
        merged.push(filter_record_batch(b, &keep)?);
    }
    merged.extend(new);
    Ok((merged, updated, identical))
}

fn write_rejects(opts: &LoadOptions, bad: &[BadRow]) -> Result<PathBuf> {
    let path = opts.rejects.clone().unwrap_or_else(|| {
        let stem = opts
            .files
            .first()
            .and_then(|f| f.file_stem())
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| opts.table.name().to_string());
        PathBuf::from(format!("{stem}.rejects.csv"))
    });
    let file = std::fs::File::create(&path)
        .with_context(|| format!("cannot write the rejects file {}", path.display()))?;
    let mut w = csv::Writer::from_writer(std::io::BufWriter::new(file));
    w.write_record(["file", "line", "column", "reason", "record"])?;
    for b in bad {
        w.write_record([
            b.file.as_str(),
            &b.line.to_string(),
            &b.column,
            &b.reason,
            &b.raw,
        ])?;
    }
    w.flush()?;
    let mut inner = w
        .into_inner()
        .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
    inner.flush()?;
    Ok(path)
}
