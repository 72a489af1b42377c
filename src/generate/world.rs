//! The world the exports describe: tenants and their clocks, managers and
//! their skill, the hourly rhythm that schedules leads.

use anyhow::Result;
use chrono::{Offset, TimeZone};

use crate::model::Table;

use super::*;

pub(super) struct TenantSpec {
    pub(super) id: &'static str,
    pub(super) name: &'static str,
    pub(super) zone: &'static str,
    pub(super) survey_interval_days: i32,
    pub(super) service_level_seconds: i32,
    pub(super) tags: &'static [&'static str],
}

pub(super) const TENANTS: &[TenantSpec] = &[
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

pub(super) const FIRST_NAMES: &[&str] = &[
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
pub(super) const LAST_NAMES: &[&str] = &[
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
pub(super) const CLASSES: &[&str] = &["Продажа", "Сервис", "Консультация"];
pub(super) const SOURCES: &[&str] = &["site", "yandex", "google", "avito", "direct", "2gis"];
pub(super) const TEXT_ANSWERS: &[&str] = &["спасибо", "5 спасибо", "отлично", "4 норм", "ok", "10"];

/// Hourly intensity of leads on each tenant's wall clock, midnight first.
pub(super) const HOUR_PROFILE: [f64; 24] = [
    0.05, 0.03, 0.02, 0.02, 0.03, 0.08, 0.2, 0.5, 1.0, 1.4, 1.6, 1.6, 1.4, 1.5, 1.6, 1.5, 1.4, 1.3,
    1.0, 0.7, 0.5, 0.35, 0.2, 0.1,
];

/// A manager as `managers.csv` lists them, and how they work.
pub(super) struct Manager {
    pub(super) id: String,
    pub(super) name: String,
    pub(super) department: &'static str,
    pub(super) active: bool,
    /// Relative share of the tenant's leads.
    pub(super) volume: f64,
    /// Multiplier of the median time to answer.
    pub(super) reaction: f64,
    /// Multiplier of the median dialog length.
    pub(super) dialog: f64,
    /// Mean score clients give.
    pub(super) score_mean: f64,
    /// Chance that a client answers a rating request.
    pub(super) response: f64,
}

/// Draws manager number `m` of a tenant's `count`: a random skill sets
/// speed and scores; the last one is a weak-volume newcomer, the one before
/// is poorly rated, and the first is inactive when there are more than five.
pub(super) fn draw_manager(rng: &mut Rng, m: usize, count: usize) -> Manager {
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
pub(super) struct World {
    pub(super) specs: Vec<&'static TenantSpec>,
    /// Tenant ids: the spec's id, numbered from the second round (`okna2`).
    pub(super) ids: Vec<String>,
    /// Relative size of each tenant: the first is the biggest.
    pub(super) share: Vec<f64>,
    pub(super) managers: Vec<Vec<Manager>>,
    /// First second of the period (Unix time).
    pub(super) start: i64,
    pub(super) hours: i64,
    /// How many distinct clients a tenant draws its leads from.
    pub(super) client_pool: u64,
}

impl World {
    /// Lays out the tenants and draws their managers, more for bigger
    /// tenants (the first random numbers of the set).
    pub(super) fn new(opts: &GenerateOptions, rng: &mut Rng) -> World {
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
    pub(super) fn write_tenants(&self, out: &mut Writers) -> Result<()> {
        for (id, s) in self.ids.iter().zip(&self.specs) {
            out.write(
                Table::Tenants,
                [
                    id.as_str(),
                    s.name,
                    s.zone,
                    &s.survey_interval_days.to_string(),
                    &s.service_level_seconds.to_string(),
                    // No per-scope intervals: survey_interval_days for both.
                    "",
                    "",
                ],
            )?;
        }
        Ok(())
    }

    /// Writes `managers.csv`.
    pub(super) fn write_managers(&self, out: &mut Writers) -> Result<()> {
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
    pub(super) fn hourly_weights(&self) -> Vec<Vec<f64>> {
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
    pub(super) fn leads_per_tenant(&self, leads: u64) -> Vec<u64> {
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
pub(super) struct Schedule {
    pub(super) per_tenant: Vec<u64>,
    pub(super) weights: Vec<Vec<f64>>,
    pub(super) weight_sums: Vec<f64>,
    pub(super) cumulative: Vec<f64>,
    pub(super) emitted: Vec<u64>,
}

impl Schedule {
    /// The schedule of `leads` leads over the world's period.
    pub(super) fn new(world: &World, leads: u64) -> Schedule {
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
    pub(super) fn hour(
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
