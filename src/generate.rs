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
use chrono::{Offset, TimeZone};

use crate::model::Table;

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

struct TenantSpec {
    id: &'static str,
    name: &'static str,
    zone: &'static str,
    survey_interval_days: i32,
    service_level_seconds: i32,
    tags: &'static [&'static str],
}

const TENANTS: &[TenantSpec] = &[
    TenantSpec {
        id: "okna",
        name: "Окна Москвы",
        zone: "Europe/Moscow",
        survey_interval_days: 7,
        service_level_seconds: 20,
        tags: &["замер", "монтаж", "гарантия", "цена", "жалоба", "доставка"],
    },
    TenantSpec {
        id: "dostavka",
        name: "Доставка Сибирь",
        zone: "Asia/Novosibirsk",
        survey_interval_days: 7,
        service_level_seconds: 30,
        tags: &[
            "где заказ",
            "возврат",
            "оплата",
            "жалоба",
            "курьер",
            "акция",
        ],
    },
    TenantSpec {
        id: "klinika",
        name: "Клиника Приморье",
        zone: "Asia/Vladivostok",
        survey_interval_days: 14,
        service_level_seconds: 20,
        tags: &["запись", "анализы", "перенос", "жалоба", "цена"],
    },
    TenantSpec {
        id: "hotel",
        name: "Hotel Berlin Mitte",
        zone: "Europe/Berlin",
        survey_interval_days: 7,
        service_level_seconds: 15,
        tags: &["booking", "cancel", "invoice", "complaint", "parking"],
    },
    TenantSpec {
        id: "avto",
        name: "Автосалон Калининград",
        zone: "Europe/Kaliningrad",
        survey_interval_days: 7,
        service_level_seconds: 20,
        tags: &["тест-драйв", "сервис", "кредит", "trade-in", "жалоба"],
    },
];

const FIRST_NAMES: &[&str] = &[
    "Анна",
    "Иван",
    "Мария",
    "Олег",
    "Елена",
    "Сергей",
    "Ольга",
    "Павел",
    "Татьяна",
    "Дмитрий",
    "Наталья",
    "Алексей",
    "Юлия",
    "Максим",
    "Ирина",
    "Артём",
];
const LAST_NAMES: &[&str] = &[
    "Иванова",
    "Петров",
    "Смирнова",
    "Кузнецов",
    "Попова",
    "Соколов",
    "Лебедева",
    "Козлов",
    "Новикова",
    "Морозов",
    "Волкова",
    "Зайцев",
];
const CLASSES: &[&str] = &["Продажа", "Сервис", "Консультация"];
const SOURCES: &[&str] = &["site", "yandex", "google", "avito", "direct", "2gis"];
const TEXT_ANSWERS: &[&str] = &["спасибо", "5 спасибо", "отлично", "4 норм", "ok", "10"];

/// Hourly intensity of leads on each tenant's wall clock, midnight first.
const HOUR_PROFILE: [f64; 24] = [
    0.05, 0.03, 0.02, 0.02, 0.03, 0.08, 0.2, 0.5, 1.0, 1.4, 1.6, 1.6, 1.4, 1.5, 1.6, 1.5, 1.4, 1.3,
    1.0, 0.7, 0.5, 0.35, 0.2, 0.1,
];

/// Model columns the generated exports leave out. `ratings.score` is the
/// loader's to fill: it parses it from `score_raw`, the client's answer as
/// a CRM exports it (either of the two is enough, see `ingest::rows`).
const NOT_EXPORTED: &[(Table, &str)] = &[(Table::Ratings, "score")];

/// The header of a table's export file: the model's columns in schema
/// order, without the derived ones and those in [`NOT_EXPORTED`]. Every
/// record written to the file lists its fields in this order.
fn export_header(table: Table) -> Vec<&'static str> {
    table
        .columns()
        .iter()
        .filter(|c| !c.derived && !NOT_EXPORTED.contains(&(table, c.name)))
        .map(|c| c.name)
        .collect()
}

type CsvWriter = csv::Writer<BufWriter<File>>;

/// The open export files, one per table, and the rows written to each.
struct Writers {
    /// `(table, file, rows written)` in [`Table::ALL`] order.
    files: Vec<(Table, CsvWriter, u64)>,
}

impl Writers {
    /// Creates `out` and a `<table>.csv` in it for every table, each
    /// starting with its [`export_header`].
    fn create(out: &Path) -> Result<Writers> {
        std::fs::create_dir_all(out)
            .with_context(|| format!("cannot create the output folder {}", out.display()))?;
        let mut files = Vec::with_capacity(Table::ALL.len());
        for table in Table::ALL {
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
    fn write<I, T>(&mut self, table: Table, record: I) -> Result<()>
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
    fn finish(self) -> Result<GenerateReport> {
        let mut counts = Vec::with_capacity(self.files.len());
        for (table, mut w, rows) in self.files {
            w.flush()?;
            counts.push((table.name(), rows));
        }
        Ok(GenerateReport { counts })
    }
}

/// A manager as `managers.csv` lists them, and how they work.
struct Manager {
    id: String,
    name: String,
    department: &'static str,
    active: bool,
    /// Relative share of the tenant's leads.
    volume: f64,
    /// Multiplier of the median time to answer.
    reaction: f64,
    /// Multiplier of the median dialog length.
    dialog: f64,
    /// Mean score clients give.
    score_mean: f64,
    /// Chance that a client answers a rating request.
    response: f64,
}

/// Draws manager number `m` of a tenant's `count`: a random skill sets
/// speed and scores; the last one is a weak-volume newcomer, the one before
/// is poorly rated, and the first is inactive when there are more than five.
fn draw_manager(rng: &mut Rng, m: usize, count: usize) -> Manager {
    let skill = rng.range(-1.0, 1.0);
    let id = format!("m{}", 101 + m);
    let name = format!("{} {}", rng.pick(FIRST_NAMES), rng.pick(LAST_NAMES));
    let volume = if m == count - 1 {
        0.35
    } else {
        rng.range(0.7, 1.4)
    };
    let score_mean = if m == count - 2 {
        2.6
    } else {
        4.3 + 0.5 * skill
    };
    let reaction = (1.0 - 0.35 * skill) * rng.range(0.8, 1.2);
    let dialog = rng.range(0.7, 1.4);
    let response = rng.range(0.2, 0.42);
    Manager {
        id,
        name,
        department: if m % 3 == 2 {
            "Сервис"
        } else {
            "Продажи"
        },
        active: !(m == 0 && count > 5),
        volume,
        reaction,
        dialog,
        score_mean,
        response,
    }
}

/// What stays fixed while leads are generated: the tenants, their managers
/// and the period.
struct World {
    specs: Vec<&'static TenantSpec>,
    /// Tenant ids: the spec's id, numbered from the second round (`okna2`).
    ids: Vec<String>,
    /// Relative size of each tenant: the first is the biggest.
    share: Vec<f64>,
    managers: Vec<Vec<Manager>>,
    /// First second of the period (Unix time).
    start: i64,
    hours: i64,
    /// How many distinct clients a tenant draws its leads from.
    client_pool: u64,
}

impl World {
    /// Lays out the tenants and draws their managers, more for bigger
    /// tenants (the first random numbers of the set).
    fn new(opts: &GenerateOptions, rng: &mut Rng) -> World {
        let n_tenants = opts.tenants.max(1);
        let specs: Vec<&'static TenantSpec> = (0..n_tenants)
            .map(|i| &TENANTS[i % TENANTS.len()])
            .collect();
        let ids: Vec<String> = (0..n_tenants)
            .map(|i| {
                if i < TENANTS.len() {
                    specs[i].id.to_string()
                } else {
                    format!("{}{}", specs[i].id, i / TENANTS.len() + 1)
                }
            })
            .collect();
        let share: Vec<f64> = (0..n_tenants)
            .map(|i| 1.0 / (1.0 + i as f64 * 0.35))
            .collect();
        let share_sum: f64 = share.iter().sum();
        let managers = share
            .iter()
            .map(|s| {
                let leads_here = opts.leads as f64 * s / share_sum;
                let count = ((leads_here / 4000.0).sqrt().round() as usize).clamp(4, 40);
                (0..count).map(|m| draw_manager(rng, m, count)).collect()
            })
            .collect();
        World {
            specs,
            ids,
            share,
            managers,
            start: opts
                .start
                .and_time(chrono::NaiveTime::MIN)
                .and_utc()
                .timestamp(),
            hours: opts.days.max(1) as i64 * 24,
            client_pool: (opts.leads * 7 / 10 / n_tenants as u64).max(50),
        }
    }

    /// Writes `tenants.csv`.
    fn write_tenants(&self, out: &mut Writers) -> Result<()> {
        for (id, s) in self.ids.iter().zip(&self.specs) {
            out.write(
                Table::Tenants,
                [
                    id.as_str(),
                    s.name,
                    s.zone,
                    &s.survey_interval_days.to_string(),
                    &s.service_level_seconds.to_string(),
                ],
            )?;
        }
        Ok(())
    }

    /// Writes `managers.csv`.
    fn write_managers(&self, out: &mut Writers) -> Result<()> {
        for (id, list) in self.ids.iter().zip(&self.managers) {
            for m in list {
                let active = if m.active { "true" } else { "false" };
                out.write(
                    Table::Managers,
                    [id.as_str(), &m.id, &m.name, m.department, active],
                )?;
            }
        }
        Ok(())
    }

    /// Each tenant's intensity in every hour of the period: the hour of its
    /// wall clock, weekends at 55 % and a 30 % growth over the period.
    fn hourly_weights(&self) -> Vec<Vec<f64>> {
        let hours = self.hours;
        self.specs
            .iter()
            .map(|s| {
                let zone: chrono_tz::Tz = s.zone.parse().unwrap_or(chrono_tz::UTC);
                (0..hours)
                    .map(|h| {
                        let at = self.start + h * 3600;
                        let local = zone.offset_from_utc_datetime(
                            &chrono::DateTime::from_timestamp(at, 0)
                                .unwrap_or_default()
                                .naive_utc(),
                        );
                        let local_secs = at + local.fix().local_minus_utc() as i64;
                        let hod = local_secs.rem_euclid(86_400) / 3600;
                        let dow = (local_secs.div_euclid(86_400) + 3).rem_euclid(7); // 0 = Monday
                        let week = if dow >= 5 { 0.55 } else { 1.0 };
                        let trend = 0.85 + 0.3 * h as f64 / hours as f64;
                        HOUR_PROFILE[hod as usize] * week * trend
                    })
                    .collect()
            })
            .collect()
    }

    /// Exactly `leads` leads split by the tenants' shares, the remainder
    /// going to the largest fractions.
    fn leads_per_tenant(&self, leads: u64) -> Vec<u64> {
        let share_total: f64 = self.share.iter().sum();
        let exact: Vec<f64> = self
            .share
            .iter()
            .map(|s| leads as f64 * s / share_total)
            .collect();
        let mut per_tenant: Vec<u64> = exact.iter().map(|e| e.floor() as u64).collect();
        let left = leads - per_tenant.iter().sum::<u64>();
        let mut order: Vec<usize> = (0..exact.len()).collect();
        order.sort_by(|&a, &b| {
            (exact[b] - exact[b].floor()).total_cmp(&(exact[a] - exact[a].floor()))
        });
        for &t in order.iter().cycle().take(left as usize) {
            per_tenant[t] += 1;
        }
        per_tenant
    }
}

/// When leads arrive: each tenant's count spread over the hours by the
/// cumulative intensity.
struct Schedule {
    per_tenant: Vec<u64>,
    weights: Vec<Vec<f64>>,
    weight_sums: Vec<f64>,
    cumulative: Vec<f64>,
    emitted: Vec<u64>,
}

impl Schedule {
    /// The schedule of `leads` leads over the world's period.
    fn new(world: &World, leads: u64) -> Schedule {
        let weights = world.hourly_weights();
        let weight_sums = weights.iter().map(|w| w.iter().sum()).collect();
        let n = weights.len();
        Schedule {
            per_tenant: world.leads_per_tenant(leads),
            weights,
            weight_sums,
            cumulative: vec![0.0; n],
            emitted: vec![0; n],
        }
    }

    /// Fills `leads` with the leads of hour `h` (of `hours`, starting at
    /// `hour_start`, Unix seconds) as `(created_at µs, tenant)` in time
    /// order: each tenant gets what brings it to its share of the
    /// intensity so far, and whatever is left in the last hour.
    fn hour(
        &mut self,
        rng: &mut Rng,
        h: i64,
        hours: i64,
        hour_start: i64,
        leads: &mut Vec<(i64, usize)>,
    ) {
        leads.clear();
        for t in 0..self.per_tenant.len() {
            self.cumulative[t] += self.weights[t][h as usize];
            let target = if h == hours - 1 {
                self.per_tenant[t]
            } else {
                (self.per_tenant[t] as f64 * self.cumulative[t] / self.weight_sums[t]).round()
                    as u64
            };
            let k = target.saturating_sub(self.emitted[t]);
            self.emitted[t] += k;
            for _ in 0..k {
                let at = hour_start * 1_000_000 + rng.below(3_600_000_000) as i64;
                leads.push((at, t));
            }
        }
        leads.sort_unstable();
    }
}

/// One drawn lead: its row of `leads.csv` and what its follow-ups need.
struct Lead {
    tenant: usize,
    id: String,
    /// The client's number in the tenant's pool.
    client_n: u64,
    client_id: String,
    /// The manager who handled it (index into the tenant's managers); the
    /// row names them only when `attributed`.
    manager: usize,
    attributed: bool,
    channel: &'static str,
    is_call: bool,
    direction: &'static str,
    class: &'static str,
    created: i64,
    answered: Option<i64>,
    ended: Option<i64>,
    tags: String,
    source: &'static str,
}

/// The channel of a uniform `roll`: half are calls.
fn channel_of(roll: f64) -> &'static str {
    match roll {
        x if x < 0.50 => "call",
        x if x < 0.58 => "callback",
        x if x < 0.78 => "chat",
        x if x < 0.84 => "social",
        x if x < 0.94 => "messenger",
        x if x < 0.98 => "email",
        _ => "form",
    }
}

/// A manager picked in proportion to volume (index into `managers`).
fn pick_manager(rng: &mut Rng, managers: &[Manager]) -> usize {
    let total_volume: f64 = managers.iter().map(|m| m.volume).sum();
    let mut pick = rng.f() * total_volume;
    let mut mi = 0;
    for (i, m) in managers.iter().enumerate() {
        if pick < m.volume {
            mi = i;
            break;
        }
        pick -= m.volume;
        mi = i;
    }
    mi
}

/// `(answered_at, ended_at)` of a lead created at `created`: a missed one
/// rang out (a fifth of them within 5 s); an answered one takes the
/// manager's reaction and dialog time, and 1 % never get an end.
fn contact_times(
    rng: &mut Rng,
    m: &Manager,
    created: i64,
    is_call: bool,
    missed: bool,
) -> (Option<i64>, Option<i64>) {
    if missed {
        let ring = if rng.chance(0.2) {
            rng.range(0.5, 4.9)
        } else {
            rng.range(5.0, 90.0)
        };
        return (None, Some(created + (ring * 1e6) as i64));
    }
    let reaction = if is_call {
        rng.lognormal(9.0 * m.reaction, 0.7)
    } else {
        rng.lognormal(60.0 * m.reaction, 0.8)
    }
    .min(3_600.0);
    let dialog = if is_call {
        rng.lognormal(150.0 * m.dialog, 0.6)
    } else {
        rng.lognormal(600.0 * m.dialog, 0.6)
    }
    .min(14_400.0);
    let a = created + (reaction * 1e6) as i64;
    let e = if rng.chance(0.01) {
        None
    } else {
        Some(a + (dialog * 1e6) as i64)
    };
    (Some(a), e)
}

/// Zero to two distinct tags of the tenant's set, `|`-joined.
fn draw_tags(rng: &mut Rng, set: &[&'static str]) -> String {
    let k = match rng.f() {
        x if x < 0.55 => 0,
        x if x < 0.9 => 1,
        _ => 2,
    };
    let mut tags: Vec<&str> = Vec::new();
    for _ in 0..k {
        let tag = *rng.pick(set);
        if !tags.contains(&tag) {
            tags.push(tag);
        }
    }
    tags.join("|")
}

/// A client's answer to a rating request: mostly a score around the
/// manager's mean, a few 7s, 0s and text answers.
fn draw_answer(rng: &mut Rng, score_mean: f64) -> String {
    let roll = rng.f();
    if roll < 0.02 {
        "7".to_string()
    } else if roll < 0.025 {
        "0".to_string()
    } else if roll < 0.035 {
        rng.pick(TEXT_ANSWERS).to_string()
    } else {
        let s = rng.normal(score_mean, 0.9).round().clamp(1.0, 5.0);
        format!("{}", s as i32)
    }
}

/// A supervisor's later fix of a rating, if any, as `(new_score,
/// previous_score, reason)`: most 10-point answers become 5, most zeros are
/// voided, and a rare valid score is voided as off-topic.
fn draw_moderation(rng: &mut Rng, raw: &str) -> Option<(&'static str, String, &'static str)> {
    let parsed = oko_udfs::parse_score(raw);
    match parsed {
        Some(7) | Some(10) if rng.chance(0.6) => {
            Some(("5", String::new(), "ответ по 10-балльной шкале"))
        }
        Some(0) if rng.chance(0.6) => Some(("", String::new(), "случайное сообщение")),
        Some(s) if (1..=5).contains(&s) && rng.chance(0.003) => {
            Some(("", s.to_string(), "оценка не относится к разговору"))
        }
        _ => None,
    }
}

/// The generation under way: the world, the random stream, the open files
/// and the running ids.
struct Generator<'w> {
    world: &'w World,
    rng: Rng,
    out: Writers,
    /// Per tenant: leads so far (the lead id's number).
    lead_seq: Vec<u64>,
    request_seq: u64,
    rating_seq: u64,
    /// Per tenant: client number -> when they were last asked for a rating.
    last_asked: Vec<HashMap<u64, i64>>,
}

impl Generator<'_> {
    /// Draws one lead of tenant `t` created at `created` (µs) and writes it
    /// with its rating requests, rating, moderation and note.
    fn lead(&mut self, created: i64, t: usize) -> Result<()> {
        let lead = self.draw_lead(created, t);
        self.write_lead(&lead)?;
        self.survey(&lead)?;
        self.note(&lead)
    }

    /// Draws the row of a lead: channel, class, a repeat-prone client, a
    /// manager by volume, missed or answered, and its times and tags.
    fn draw_lead(&mut self, created: i64, t: usize) -> Lead {
        self.lead_seq[t] += 1;
        let id = format!("L{}-{:08}", t + 1, self.lead_seq[t]);
        let rng = &mut self.rng;
        let channel = channel_of(rng.f());
        let is_call = matches!(channel, "call" | "callback");
        let direction = if channel == "call" && rng.chance(0.15) {
            "out"
        } else {
            "in"
        };
        let class = if rng.chance(0.04) {
            "Спам"
        } else if rng.chance(0.35) {
            ""
        } else {
            *rng.pick(CLASSES)
        };
        // clients repeat: a skewed pick from a pool
        let client_n = (rng.f().powf(1.6) * self.world.client_pool as f64) as u64;
        let client_id = format!(
            "79{:09}",
            (client_n * 7919 + t as u64 * 1_000_003) % 1_000_000_000
        );
        let managers = &self.world.managers[t];
        let manager = pick_manager(rng, managers);
        let missed = if is_call {
            rng.chance(0.11)
        } else {
            rng.chance(0.03)
        };
        let no_manager = channel == "email" || channel == "form" || rng.chance(0.03);
        let attributed = !(no_manager || (missed && !rng.chance(0.3)));
        let (answered, ended) = contact_times(rng, &managers[manager], created, is_call, missed);
        let tags = draw_tags(rng, self.world.specs[t].tags);
        let source = *rng.pick(SOURCES);
        Lead {
            tenant: t,
            id,
            client_n,
            client_id,
            manager,
            attributed,
            channel,
            is_call,
            direction,
            class,
            created,
            answered,
            ended,
            tags,
            source,
        }
    }

    /// Writes a lead's row of `leads.csv`.
    fn write_lead(&mut self, lead: &Lead) -> Result<()> {
        let manager = if lead.attributed {
            self.world.managers[lead.tenant][lead.manager].id.as_str()
        } else {
            ""
        };
        self.out.write(
            Table::Leads,
            [
                self.world.ids[lead.tenant].as_str(),
                &lead.id,
                lead.channel,
                lead.direction,
                lead.class,
                manager,
                &lead.client_id,
                &iso(lead.created),
                &lead.answered.map(iso).unwrap_or_default(),
                &lead.ended.map(iso).unwrap_or_default(),
                &lead.tags,
                lead.source,
            ],
        )
    }

    /// Sends a rating request if the lead qualifies: answered, with a
    /// manager, ended, not email or form, and the client not asked within
    /// the tenant's interval (a welcome message before the first request).
    fn survey(&mut self, lead: &Lead) -> Result<()> {
        let counted_channel = !matches!(lead.channel, "email" | "form");
        let (Some(end), true, true) = (
            lead.ended,
            lead.answered.is_some() && lead.attributed,
            counted_channel,
        ) else {
            return Ok(());
        };
        let t = lead.tenant;
        let interval = self.world.specs[t].survey_interval_days as i64 * 86_400 * 1_000_000;
        let last = self.last_asked[t].get(&lead.client_n).copied();
        let due = last.is_none_or(|l| end - l >= interval);
        if !(due && self.rng.chance(0.93)) {
            return Ok(());
        }
        let sent = end + self.rng.range(30.0, 300.0) as i64 * 1_000_000;
        if last.is_none() {
            self.request(lead, "welcome", sent - 1_000_000)?;
        }
        self.request(lead, "request", sent)?;
        self.last_asked[t].insert(lead.client_n, sent);
        let m = &self.world.managers[t][lead.manager];
        if self.rng.chance(m.response) {
            self.rate(lead, sent)?;
        }
        Ok(())
    }

    /// Writes a message of `kind` about `lead` sent at `sent` (µs) to
    /// `rating_requests.csv`: an SMS costing 3.50 after a call, else a chat.
    fn request(&mut self, lead: &Lead, kind: &str, sent: i64) -> Result<()> {
        let via = if lead.is_call { "sms" } else { "chat" };
        let cost = if lead.is_call { "3.50" } else { "" };
        self.request_seq += 1;
        self.out.write(
            Table::RatingRequests,
            [
                self.world.ids[lead.tenant].as_str(),
                &format!("Q{:09}", self.request_seq),
                &lead.id,
                &lead.client_id,
                kind,
                via,
                &iso(sent),
                cost,
            ],
        )
    }

    /// The client's answer to the request sent at `sent`: the rating, half
    /// the time a reaction message, and maybe a moderation.
    fn rate(&mut self, lead: &Lead, sent: i64) -> Result<()> {
        let world = self.world;
        let tid = world.ids[lead.tenant].as_str();
        let m = &world.managers[lead.tenant][lead.manager];
        self.rating_seq += 1;
        let rating_id = format!("R{:09}", self.rating_seq);
        let received = sent + (self.rng.lognormal(600.0, 1.2).min(172_800.0) * 1e6) as i64;
        let raw = draw_answer(&mut self.rng, m.score_mean);
        self.out.write(
            Table::Ratings,
            [tid, &rating_id, &lead.id, &raw, &iso(received)],
        )?;
        if self.rng.chance(0.5) {
            self.request(lead, "reaction", received + 2_000_000)?;
        }
        if let Some((new, prev, reason)) = draw_moderation(&mut self.rng, &raw) {
            self.out.write(
                Table::RatingModerations,
                [
                    tid,
                    &rating_id,
                    &iso(received + 86_400_000_000),
                    new,
                    &prev,
                    "supervisor",
                    reason,
                ],
            )?;
        }
        Ok(())
    }

    /// One lead in fifty gets a supervisor's note with a tag, added 10
    /// minutes to a day after the lead ended.
    fn note(&mut self, lead: &Lead) -> Result<()> {
        if !self.rng.chance(0.02) {
            return Ok(());
        }
        let at =
            lead.ended.unwrap_or(lead.created) + self.rng.range(600.0, 86_400.0) as i64 * 1_000_000;
        self.out.write(
            Table::LeadNotes,
            [
                self.world.ids[lead.tenant].as_str(),
                &lead.id,
                *self.rng.pick(self.world.specs[lead.tenant].tags),
                "разметка супервизора",
                "supervisor",
                &iso(at),
            ],
        )
    }

    /// A supervisor's figures for every tenant, filed for the hour starting
    /// at `hour_start` (Unix seconds).
    fn manual_stats(&mut self, hour_start: i64) -> Result<()> {
        let hour = iso(hour_start * 1_000_000);
        for tid in &self.world.ids {
            for (metric, value) in [
                ("staff_on_shift", format!("{}", 3 + self.rng.below(6))),
                ("forecast_offered", format!("{}", 10 + self.rng.below(40))),
            ] {
                self.out.write(
                    Table::ManualStats,
                    [tid.as_str(), &hour, metric, &value, "supervisor", ""],
                )?;
            }
        }
        Ok(())
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
        for t in crate::model::Table::ALL {
            let name = format!("{}.csv", t.name());
            let x = std::fs::read(a.path().join(&name)).unwrap();
            let y = std::fs::read(b.path().join(&name)).unwrap();
            assert_eq!(x, y, "{name}");
            assert!(x.len() > 40, "{name} is empty");
        }
    }
}
