//! A deterministic generator of realistic export sets: one `<table>.csv` per
//! table, the same bytes for the same arguments.
//!
//! What makes it realistic: tenants in different time zones (one with
//! daylight saving), managers of different skill (volume, speed, scores,
//! how often their clients answer), a daily and weekly rhythm on each
//! tenant's wall clock, every channel, a spam class, missed calls (some with
//! a manager, some abandoned within seconds), leads with no manager, rating
//! requests that respect the weekly survey cadence with a welcome message
//! before a client's first one, 20–40 % response, scores skewed high with a
//! few invalid answers (7, 0, text) that moderators later fix or void,
//! tags, notes added later and supervisors' hourly figures.
//!
//! Randomness comes from a SplitMix64 generator written here, so the output
//! never changes with a dependency's version.

use std::collections::HashMap;
use std::fs::File;
use std::io::BufWriter;
use std::path::Path;

use anyhow::{Context, Result};

use crate::model::Table;

mod lead;
mod world;

use lead::*;
use world::*;

/// What to generate.
#[derive(Debug, Clone)]
pub struct GenerateOptions {
    pub leads: u64,
    pub tenants: usize,
    pub seed: u64,
    /// First day (UTC) of the generated period.
    pub start: chrono::NaiveDate,
    pub days: u32,
}

impl Default for GenerateOptions {
    fn default() -> Self {
        GenerateOptions {
            leads: 100_000,
            tenants: 3,
            seed: 42,
            start: chrono::NaiveDate::from_ymd_opt(2025, 1, 1).unwrap_or_default(),
            days: 365,
        }
    }
}

/// Row counts of what was written.
#[derive(Debug, Default, Clone)]
pub struct GenerateReport {
    pub counts: Vec<(&'static str, u64)>,
}

/// SplitMix64: small, fast, and stable forever.
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    fn f(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next_u64() % n }
    }
    fn chance(&mut self, p: f64) -> bool {
        self.f() < p
    }
    fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.f()
    }
    /// A log-normal value with the given median and spread.
    fn lognormal(&mut self, median: f64, sigma: f64) -> f64 {
        // Box-Muller
        let u1 = self.f().max(1e-12);
        let u2 = self.f();
        let z = (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos();
        median * (sigma * z).exp()
    }
    fn normal(&mut self, mean: f64, sd: f64) -> f64 {
        let u1 = self.f().max(1e-12);
        let u2 = self.f();
        mean + sd * (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

/// Model columns the generated exports leave out. `ratings.score` is the
/// loader's to fill: it parses it from `score_raw`, the client's answer as
/// a CRM exports it (either of the two is enough, see `ingest::rows`).
pub(super) const NOT_EXPORTED: &[(Table, &str)] = &[(Table::Ratings, "score")];

/// The header of a table's export file: the model's columns in schema
/// order, without the derived ones and those in [`NOT_EXPORTED`]. Every
/// record written to the file lists its fields in this order.
pub(super) fn export_header(table: Table) -> Vec<&'static str> {
    table
        .columns()
        .iter()
        .filter(|c| !c.derived && !NOT_EXPORTED.contains(&(table, c.name)))
        .map(|c| c.name)
        .collect()
}

pub(super) type CsvWriter = csv::Writer<BufWriter<File>>;

/// The open export files, one per table, and the rows written to each.
pub(super) struct Writers {
    /// `(table, file, rows written)` in [`Table::EXPORTED`] order.
    pub(super) files: Vec<(Table, CsvWriter, u64)>,
}

impl Writers {
    /// Creates `out` and a `<table>.csv` in it for every table, each
    /// starting with its [`export_header`].
    pub(super) fn create(out: &Path) -> Result<Writers> {
        std::fs::create_dir_all(out)
            .with_context(|| format!("cannot create the output folder {}", out.display()))?;
        let mut files = Vec::with_capacity(Table::EXPORTED.len());
        for table in Table::EXPORTED {
            let path = out.join(format!("{}.csv", table.name()));
            let f =
                File::create(&path).with_context(|| format!("cannot write {}", path.display()))?;
            let mut w = csv::Writer::from_writer(BufWriter::with_capacity(1 << 20, f));
            w.write_record(export_header(table))?;
            files.push((table, w, 0));
        }
        Ok(Writers { files })
    }

    /// Writes one row of `table`, its fields in [`export_header`] order (the
    /// writer refuses a record whose length differs from the header's).
    pub(super) fn write<I, T>(&mut self, table: Table, record: I) -> Result<()>
    where
        I: IntoIterator<Item = T>,
        T: AsRef<[u8]>,
    {
        let Some((_, w, rows)) = self.files.iter_mut().find(|(t, _, _)| *t == table) else {
            anyhow::bail!("no export file is open for table {table}");
        };
        w.write_record(record)?;
        *rows += 1;
        Ok(())
    }

    /// Flushes every file and returns the row counts in model order.
    pub(super) fn finish(self) -> Result<GenerateReport> {
        let mut counts = Vec::with_capacity(self.files.len());
        for (table, mut w, rows) in self.files {
            w.flush()?;
            counts.push((table.name(), rows));
        }
        Ok(GenerateReport { counts })
    }
}

/// Writes the export set into `out` and returns the row counts.
pub fn generate(out: &Path, opts: &GenerateOptions) -> Result<GenerateReport> {
    let mut writers = Writers::create(out)?;
    let mut rng = Rng(opts.seed ^ 0x0C0F_FEE0_0BAD_F00D);
    let world = World::new(opts, &mut rng);
    world.write_tenants(&mut writers)?;
    world.write_managers(&mut writers)?;
    let mut schedule = Schedule::new(&world, opts.leads);
    let mut g = Generator {
        world: &world,
        rng,
        out: writers,
        lead_seq: vec![0; world.ids.len()],
        request_seq: 0,
        rating_seq: 0,
        last_asked: vec![HashMap::new(); world.ids.len()],
    };
    let mut hour_leads = Vec::new();
    for h in 0..world.hours {
        let hour_start = world.start + h * 3600;
        schedule.hour(&mut g.rng, h, world.hours, hour_start, &mut hour_leads);
        for &(created, t) in &hour_leads {
            g.lead(created, t)?;
        }
        // a supervisor's figures once a day, at 09:00 UTC
        if h % 24 == 9 {
            g.manual_stats(hour_start)?;
        }
    }
    g.out.finish()
}

/// `2025-01-01T10:15:32.123456Z` (fraction only when non-zero).
fn iso(micros: i64) -> String {
    let secs = micros.div_euclid(1_000_000);
    let frac = micros.rem_euclid(1_000_000);
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    let (hh, mm, ss) = (sod / 3600, sod % 3600 / 60, sod % 60);
    if frac == 0 {
        format!("{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}Z")
    } else {
        format!("{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}.{frac:06}Z")
    }
}

/// Days since 1970-01-01 to (year, month, day) — H. Hinnant's algorithm.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_matches_chrono() {
        for micros in [
            0i64,
            1_709_251_200_000_000,
            1_709_251_200_123_456,
            4_102_444_799_000_000,
        ] {
            let c = chrono::DateTime::from_timestamp_micros(micros).unwrap();
            let want = if micros % 1_000_000 == 0 {
                c.format("%Y-%m-%dT%H:%M:%SZ").to_string()
            } else {
                c.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
            };
            assert_eq!(iso(micros), want);
        }
    }

    #[test]
    fn left_out_columns_are_in_the_model() {
        for &(table, name) in NOT_EXPORTED {
            let column = table.column(name);
            assert!(column.is_some_and(|c| !c.derived), "{table}.{name}");
        }
    }

    #[test]
    fn same_seed_same_bytes() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        let opts = GenerateOptions {
            leads: 2_000,
            days: 30,
            ..Default::default()
        };
        generate(a.path(), &opts).unwrap();
        generate(b.path(), &opts).unwrap();
        for t in crate::model::Table::EXPORTED {
            let name = format!("{}.csv", t.name());
            let x = std::fs::read(a.path().join(&name)).unwrap();
            let y = std::fs::read(b.path().join(&name)).unwrap();
            assert_eq!(x, y, "{name}");
            assert!(x.len() > 40, "{name} is empty");
        }
    }
}
