//! One lead at a time: its channel, manager and times, then what hangs on
//! it — rating requests, ratings, moderations, notes.

use std::collections::HashMap;

use anyhow::Result;

use crate::model::Table;

use super::*;

/// One drawn lead: its row of `leads.csv` and what its follow-ups need.
pub(super) struct Lead {
    pub(super) tenant: usize,
    pub(super) id: String,
    /// The client's number in the tenant's pool.
    pub(super) client_n: u64,
    pub(super) client_id: String,
    /// The manager who handled it (index into the tenant's managers); the
    /// row names them only when `attributed`.
    pub(super) manager: usize,
    pub(super) attributed: bool,
    pub(super) channel: &'static str,
    pub(super) is_call: bool,
    pub(super) direction: &'static str,
    pub(super) class: &'static str,
    pub(super) created: i64,
    pub(super) answered: Option<i64>,
    pub(super) ended: Option<i64>,
    pub(super) tags: String,
    pub(super) source: &'static str,
}

/// The channel of a uniform `roll`: half are calls.
pub(super) fn channel_of(roll: f64) -> &'static str {
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
pub(super) fn pick_manager(rng: &mut Rng, managers: &[Manager]) -> usize {
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
pub(super) fn contact_times(
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
pub(super) fn draw_tags(rng: &mut Rng, set: &[&'static str]) -> String {
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
pub(super) fn draw_answer(rng: &mut Rng, score_mean: f64) -> String {
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
pub(super) fn draw_moderation(
    rng: &mut Rng,
    raw: &str,
) -> Option<(&'static str, String, &'static str)> {
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
pub(super) struct Generator<'w> {
    pub(super) world: &'w World,
    pub(super) rng: Rng,
    pub(super) out: Writers,
    /// Per tenant: leads so far (the lead id's number).
    pub(super) lead_seq: Vec<u64>,
    pub(super) request_seq: u64,
    pub(super) rating_seq: u64,
    /// Per tenant: client number -> when they were last asked for a rating.
    pub(super) last_asked: Vec<HashMap<u64, i64>>,
}

impl Generator<'_> {
    /// Draws one lead of tenant `t` created at `created` (µs) and writes it
    /// with its rating requests, rating, moderation and note.
    pub(super) fn lead(&mut self, created: i64, t: usize) -> Result<()> {
        let lead = self.draw_lead(created, t);
        self.write_lead(&lead)?;
        self.survey(&lead)?;
        self.note(&lead)
    }

    /// Draws the row of a lead: channel, class, a repeat-prone client, a
    /// manager by volume, missed or answered, and its times and tags.
    pub(super) fn draw_lead(&mut self, created: i64, t: usize) -> Lead {
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
    pub(super) fn write_lead(&mut self, lead: &Lead) -> Result<()> {
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
    pub(super) fn survey(&mut self, lead: &Lead) -> Result<()> {
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
    pub(super) fn request(&mut self, lead: &Lead, kind: &str, sent: i64) -> Result<()> {
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
    pub(super) fn rate(&mut self, lead: &Lead, sent: i64) -> Result<()> {
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
    pub(super) fn note(&mut self, lead: &Lead) -> Result<()> {
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
    pub(super) fn manual_stats(&mut self, hour_start: i64) -> Result<()> {
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
