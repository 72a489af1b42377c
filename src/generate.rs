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

struct Manager {
    id: String,
    volume: f64,
    reaction: f64,
    dialog: f64,
    score_mean: f64,
    response: f64,
}

/// Writes the export set into `out` and returns the row counts.
pub fn generate(out: &Path, opts: &GenerateOptions) -> Result<GenerateReport> {
    std::fs::create_dir_all(out)
        .with_context(|| format!("cannot create the output folder {}", out.display()))?;
    let open = |name: &str| -> Result<csv::Writer<BufWriter<File>>> {
        let path = out.join(format!("{name}.csv"));
        let f = File::create(&path).with_context(|| format!("cannot write {}", path.display()))?;
        Ok(csv::Writer::from_writer(BufWriter::with_capacity(
            1 << 20,
            f,
        )))
    };
    let mut rng = Rng(opts.seed ^ 0x0C0F_FEE0_0BAD_F00D);
    let n_tenants = opts.tenants.max(1);
    let specs: Vec<&TenantSpec> = (0..n_tenants)
        .map(|i| &TENANTS[i % TENANTS.len()])
        .collect();
    let tenant_ids: Vec<String> = (0..n_tenants)
        .map(|i| {
            if i < TENANTS.len() {
                specs[i].id.to_string()
            } else {
                format!("{}{}", specs[i].id, i / TENANTS.len() + 1)
            }
        })
        .collect();

    let mut counts: HashMap<&'static str, u64> = HashMap::new();

    // tenants
    let mut w = open("tenants")?;
    w.write_record([
        "tenant",
        "name",
        "timezone",
        "survey_interval_days",
        "service_level_seconds",
    ])?;
    for (i, s) in specs.iter().enumerate() {
        w.write_record([
            tenant_ids[i].as_str(),
            s.name,
            s.zone,
            &s.survey_interval_days.to_string(),
            &s.service_level_seconds.to_string(),
        ])?;
    }
    w.flush()?;
    counts.insert("tenants", n_tenants as u64);

    // managers: more for bigger tenants
    let share: Vec<f64> = (0..n_tenants)
        .map(|i| 1.0 / (1.0 + i as f64 * 0.35))
        .collect();
    let share_sum: f64 = share.iter().sum();
    let mut managers: Vec<Vec<Manager>> = Vec::new();
    let mut w = open("managers")?;
    w.write_record(["tenant", "manager_id", "name", "department", "active"])?;
    let mut n_managers = 0;
    for (t, tid) in tenant_ids.iter().enumerate() {
        let leads_here = opts.leads as f64 * share[t] / share_sum;
        let count = ((leads_here / 4000.0).sqrt().round() as usize).clamp(4, 40);
        let mut list = Vec::new();
        for m in 0..count {
            let skill = rng.range(-1.0, 1.0);
            let id = format!("m{}", 101 + m);
            let name = format!("{} {}", rng.pick(FIRST_NAMES), rng.pick(LAST_NAMES));
            let dept = if m % 3 == 2 {
                "Сервис"
            } else {
                "Продажи"
            };
            // one weak-volume newcomer and one poorly rated manager per tenant
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
            list.push(Manager {
                id: id.clone(),
                volume,
                reaction: (1.0 - 0.35 * skill) * rng.range(0.8, 1.2),
                dialog: rng.range(0.7, 1.4),
                score_mean,
                response: rng.range(0.2, 0.42),
            });
            let active = if m == 0 && count > 5 { "false" } else { "true" };
            w.write_record([tid.as_str(), &id, &name, dept, active])?;
            n_managers += 1;
        }
        managers.push(list);
    }
    w.flush()?;
    counts.insert("managers", n_managers);

    let mut leads_w = open("leads")?;
    leads_w.write_record([
        "tenant",
        "lead_id",
        "channel",
        "direction",
        "class",
        "manager_id",
        "client_id",
        "created_at",
        "answered_at",
        "ended_at",
        "tags",
        "source",
    ])?;
    let mut req_w = open("rating_requests")?;
    req_w.write_record([
        "tenant",
        "request_id",
        "lead_id",
        "client_id",
        "kind",
        "via",
        "sent_at",
        "cost",
    ])?;
    let mut rat_w = open("ratings")?;
    rat_w.write_record(["tenant", "rating_id", "lead_id", "score_raw", "received_at"])?;
    let mut mod_w = open("rating_moderations")?;
    mod_w.write_record([
        "tenant",
        "rating_id",
        "moderated_at",
        "new_score",
        "previous_score",
        "moderator",
        "reason",
    ])?;
    let mut note_w = open("lead_notes")?;
    note_w.write_record([
        "tenant",
        "lead_id",
        "tag",
        "comment",
        "author",
        "created_at",
    ])?;
    let mut stat_w = open("manual_stats")?;
    stat_w.write_record(["tenant", "hour", "metric", "value", "author", "comment"])?;

    let zones: Vec<chrono_tz::Tz> = specs
        .iter()
        .map(|s| s.zone.parse().unwrap_or(chrono_tz::UTC))
        .collect();
    let start = opts
        .start
        .and_time(chrono::NaiveTime::MIN)
        .and_utc()
        .timestamp();
    let hours = opts.days.max(1) as i64 * 24;

    // Hourly intensity on each tenant's wall clock.
    let hour_profile = [
        0.05, 0.03, 0.02, 0.02, 0.03, 0.08, 0.2, 0.5, 1.0, 1.4, 1.6, 1.6, 1.4, 1.5, 1.6, 1.5, 1.4,
        1.3, 1.0, 0.7, 0.5, 0.35, 0.2, 0.1,
    ];
    let weights: Vec<Vec<f64>> = (0..n_tenants)
        .map(|t| {
            (0..hours)
                .map(|h| {
                    let at = start + h * 3600;
                    let local = zones[t].offset_from_utc_datetime(
                        &chrono::DateTime::from_timestamp(at, 0)
                            .unwrap_or_default()
                            .naive_utc(),
                    );
                    let local_secs = at + local.fix().local_minus_utc() as i64;
                    let hod = local_secs.rem_euclid(86_400) / 3600;
                    let dow = (local_secs.div_euclid(86_400) + 3).rem_euclid(7); // 0 = Monday
                    let week = if dow >= 5 { 0.55 } else { 1.0 };
                    let trend = 0.85 + 0.3 * h as f64 / hours as f64;
                    hour_profile[hod as usize] * week * trend
                })
                .collect()
        })
        .collect();
    let weight_sums: Vec<f64> = weights.iter().map(|w| w.iter().sum()).collect();

    let mut seq = vec![0u64; n_tenants];
    let mut req_seq = 0u64;
    let mut rating_seq = 0u64;
    let mut n = [0u64; 6]; // leads, requests, ratings, moderations, notes, stats
    // per tenant: client -> (last request at, ever messaged)
    let mut clients: Vec<HashMap<u64, i64>> = vec![HashMap::new(); n_tenants];
    let mut hour_leads: Vec<(i64, usize)> = Vec::new();
    // Exactly `opts.leads` leads: each tenant gets its share (largest
    // remainder), spread over the hours by the cumulative intensity.
    let share_total: f64 = share.iter().sum();
    let exact: Vec<f64> = share
        .iter()
        .map(|s| opts.leads as f64 * s / share_total)
        .collect();
    let mut per_tenant: Vec<u64> = exact.iter().map(|e| e.floor() as u64).collect();
    let left = opts.leads - per_tenant.iter().sum::<u64>();
    let mut order: Vec<usize> = (0..n_tenants).collect();
    order.sort_by(|&a, &b| (exact[b] - exact[b].floor()).total_cmp(&(exact[a] - exact[a].floor())));
    for &t in order.iter().cycle().take(left as usize) {
        per_tenant[t] += 1;
    }
    let mut cumulative = vec![0.0f64; n_tenants];
    let mut emitted = vec![0u64; n_tenants];
    for h in 0..hours {
        hour_leads.clear();
        for t in 0..n_tenants {
            cumulative[t] += weights[t][h as usize];
            let target = if h == hours - 1 {
                per_tenant[t]
            } else {
                (per_tenant[t] as f64 * cumulative[t] / weight_sums[t]).round() as u64
            };
            let k = target.saturating_sub(emitted[t]);
            emitted[t] += k;
            for _ in 0..k {
                let at = (start + h * 3600) * 1_000_000 + rng.below(3_600_000_000) as i64;
                hour_leads.push((at, t));
            }
        }
        hour_leads.sort_unstable();
        for &(created, t) in &hour_leads {
            seq[t] += 1;
            n[0] += 1;
            let tid = tenant_ids[t].as_str();
            let lead_id = format!("L{}-{:08}", t + 1, seq[t]);
            let roll = rng.f();
            let channel = match roll {
                x if x < 0.50 => "call",
                x if x < 0.58 => "callback",
                x if x < 0.78 => "chat",
                x if x < 0.84 => "social",
                x if x < 0.94 => "messenger",
                x if x < 0.98 => "email",
                _ => "form",
            };
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
            let pool = (opts.leads * 7 / 10 / n_tenants as u64).max(50);
            let client_n = (rng.f().powf(1.6) * pool as f64) as u64;
            let client_id = format!(
                "79{:09}",
                (client_n * 7919 + t as u64 * 1_000_003) % 1_000_000_000
            );
            let ms = &managers[t];
            let total_volume: f64 = ms.iter().map(|m| m.volume).sum();
            let mut pick = rng.f() * total_volume;
            let mut mi = 0;
            for (i, m) in ms.iter().enumerate() {
                if pick < m.volume {
                    mi = i;
                    break;
                }
                pick -= m.volume;
                mi = i;
            }
            let m = &ms[mi];
            let missed = if is_call {
                rng.chance(0.11)
            } else {
                rng.chance(0.03)
            };
            let no_manager = channel == "email" || channel == "form" || rng.chance(0.03);
            let manager = if no_manager || (missed && !rng.chance(0.3)) {
                ""
            } else {
                m.id.as_str()
            };
            let (answered, ended) = if missed {
                // abandoned after ringing; some within 5 s
                let ring = if rng.chance(0.2) {
                    rng.range(0.5, 4.9)
                } else {
                    rng.range(5.0, 90.0)
                };
                (None, Some(created + (ring * 1e6) as i64))
            } else {
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
            };
            let tags = {
                let k = match rng.f() {
                    x if x < 0.55 => 0,
                    x if x < 0.9 => 1,
                    _ => 2,
                };
                let mut tags: Vec<&str> = Vec::new();
                for _ in 0..k {
                    let tag = *rng.pick(specs[t].tags);
                    if !tags.contains(&tag) {
                        tags.push(tag);
                    }
                }
                tags.join("|")
            };
            leads_w.write_record([
                tid,
                &lead_id,
                channel,
                direction,
                class,
                manager,
                &client_id,
                &iso(created),
                &answered.map(iso).unwrap_or_default(),
                &ended.map(iso).unwrap_or_default(),
                &tags,
                *rng.pick(SOURCES),
            ])?;

            // Rating request: answered, with a manager and a client, ended,
            // and the client not asked within the tenant's interval.
            let counted_channel = !matches!(channel, "email" | "form");
            if let (Some(end), true, true) = (
                ended,
                answered.is_some() && !manager.is_empty(),
                counted_channel,
            ) {
                let interval = specs[t].survey_interval_days as i64 * 86_400 * 1_000_000;
                let last = clients[t].get(&client_n).copied();
                let due = last.is_none_or(|l| end - l >= interval);
                if due && rng.chance(0.93) {
                    let via = if is_call { "sms" } else { "chat" };
                    let cost = if is_call { "3.50" } else { "" };
                    let sent = end + rng.range(30.0, 300.0) as i64 * 1_000_000;
                    if last.is_none() {
                        req_seq += 1;
                        n[1] += 1;
                        req_w.write_record([
                            tid,
                            &format!("Q{req_seq:09}"),
                            &lead_id,
                            &client_id,
                            "welcome",
                            via,
                            &iso(sent - 1_000_000),
                            cost,
                        ])?;
                    }
                    req_seq += 1;
                    n[1] += 1;
                    req_w.write_record([
                        tid,
                        &format!("Q{req_seq:09}"),
                        &lead_id,
                        &client_id,
                        "request",
                        via,
                        &iso(sent),
                        cost,
                    ])?;
                    clients[t].insert(client_n, sent);
                    if rng.chance(m.response) {
                        rating_seq += 1;
                        n[2] += 1;
                        let rating_id = format!("R{rating_seq:09}");
                        let received =
                            sent + (rng.lognormal(600.0, 1.2).min(172_800.0) * 1e6) as i64;
                        let roll = rng.f();
                        let raw = if roll < 0.02 {
                            "7".to_string()
                        } else if roll < 0.025 {
                            "0".to_string()
                        } else if roll < 0.035 {
                            rng.pick(TEXT_ANSWERS).to_string()
                        } else {
                            let s = rng.normal(m.score_mean, 0.9).round().clamp(1.0, 5.0);
                            format!("{}", s as i32)
                        };
                        rat_w.write_record([tid, &rating_id, &lead_id, &raw, &iso(received)])?;
                        if rng.chance(0.5) {
                            req_seq += 1;
                            n[1] += 1;
                            req_w.write_record([
                                tid,
                                &format!("Q{req_seq:09}"),
                                &lead_id,
                                &client_id,
                                "reaction",
                                via,
                                &iso(received + 2_000_000),
                                cost,
                            ])?;
                        }
                        let parsed = oko_udfs::parse_score(&raw);
                        let parsed_text = parsed.map(|p| p.to_string()).unwrap_or_default();
                        let moderation = match parsed {
                            Some(7) | Some(10) if rng.chance(0.6) => {
                                Some(("5", "", "ответ по 10-балльной шкале"))
                            }
                            Some(0) if rng.chance(0.6) => Some(("", "", "случайное сообщение")),
                            Some(s) if (1..=5).contains(&s) && rng.chance(0.003) => {
                                Some(("", parsed_text.as_str(), "оценка не относится к разговору"))
                            }
                            _ => None,
                        };
                        if let Some((new, prev, reason)) = moderation {
                            n[3] += 1;
                            mod_w.write_record([
                                tid,
                                &rating_id,
                                &iso(received + 86_400_000_000),
                                new,
                                prev,
                                "supervisor",
                                reason,
                            ])?;
                        }
                    }
                }
            }
            if rng.chance(0.02) {
                n[4] += 1;
                let at = ended.unwrap_or(created) + rng.range(600.0, 86_400.0) as i64 * 1_000_000;
                note_w.write_record([
                    tid,
                    &lead_id,
                    *rng.pick(specs[t].tags),
                    "разметка супервизора",
                    "supervisor",
                    &iso(at),
                ])?;
            }
        }
        // a supervisor's figures once a day, at 09:00 UTC
        if h % 24 == 9 {
            for tid in &tenant_ids {
                let hour = iso((start + h * 3600) * 1_000_000);
                for (metric, value) in [
                    ("staff_on_shift", format!("{}", 3 + rng.below(6))),
                    ("forecast_offered", format!("{}", 10 + rng.below(40))),
                ] {
                    n[5] += 1;
                    stat_w.write_record([tid.as_str(), &hour, metric, &value, "supervisor", ""])?;
                }
            }
        }
    }
    for w in [
        &mut leads_w,
        &mut req_w,
        &mut rat_w,
        &mut mod_w,
        &mut note_w,
        &mut stat_w,
    ] {
        w.flush()?;
    }
    counts.insert("leads", n[0]);
    counts.insert("rating_requests", n[1]);
    counts.insert("ratings", n[2]);
    counts.insert("rating_moderations", n[3]);
    counts.insert("lead_notes", n[4]);
    counts.insert("manual_stats", n[5]);
    let mut counts: Vec<(&'static str, u64)> = counts.into_iter().collect();
    counts.sort_by_key(|(name, _)| {
        crate::model::Table::from_name(name)
            .map(|t| t as usize)
            .unwrap_or(usize::MAX)
    });
    Ok(GenerateReport { counts })
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
