//! The post: Slack's `text` for people, the ratings as data for any
//! other receiver.

use std::collections::HashMap;

use crate::config::Subscription;

use super::*;

/// The post: Slack's `text` (what a person reads), and the same ratings as
/// data for any other receiver.
pub(super) fn message(
    sub: &Subscription,
    ratings: &[&NewRating],
    tenants: &HashMap<String, (String, chrono_tz::Tz)>,
) -> serde_json::Value {
    let n = ratings.len();
    let mut text = format!("OKO · «{}»: {}\n", sub.name, count_ru(n));
    for r in ratings.iter().take(MAX_TEXT_LINES) {
        text.push_str(&line(r, tenants));
        text.push('\n');
    }
    if n > MAX_TEXT_LINES {
        text.push_str(&format!("… и ещё {}\n", n - MAX_TEXT_LINES));
    }
    let shown = &ratings[..n.min(MAX_RATINGS_PER_POST)];
    serde_json::json!({
        "text": text.trim_end(),
        "subscription": sub.name,
        "ratings": shown,
        "omitted": n - shown.len(),
    })
}

/// "новая оценка" in the right form for `n`.
pub(super) fn count_ru(n: usize) -> String {
    let word = match (n % 10, n % 100) {
        (1, r) if r != 11 => "новая оценка",
        (2..=4, r) if !(12..=14).contains(&r) => "новые оценки",
        _ => "новых оценок",
    };
    format!("{n} {word}")
}

/// One rating as a line of text, its time on the tenant's wall clock.
pub(super) fn line(r: &NewRating, tenants: &HashMap<String, (String, chrono_tz::Tz)>) -> String {
    let (tenant, zone) = tenants
        .get(&r.tenant)
        .cloned()
        .unwrap_or_else(|| (r.tenant.clone(), chrono_tz::UTC));
    let what = match r.score {
        Some(s) => format!("{} {s}/5", "★".repeat(s as usize)),
        None => "❓ нужна модерация".to_string(),
    };
    let mut parts = vec![what, tenant];
    match (&r.manager, &r.manager_label) {
        (Some(name), Some(label)) => parts.push(format!("{name} ({label})")),
        (None, Some(label)) => parts.push(label.clone()),
        _ => {}
    }
    if let Some(c) = &r.channel {
        parts.push(c.clone());
    }
    parts.push(format!("лид {}", r.lead_id));
    if let Some(c) = &r.client_id {
        parts.push(format!("клиент {c}"));
    }
    if let Some(raw) = r.score_raw.as_deref().filter(|s| !s.trim().is_empty()) {
        parts.push(format!("«{}»", raw.trim()));
    }
    parts.push(
        r.received_at
            .with_timezone(&zone)
            .format("%d.%m.%Y %H:%M")
            .to_string(),
    );
    parts.join(" · ")
}
