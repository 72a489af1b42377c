//! One sender among several `oko serve` replicas over one store: a lease
//! kept in the store itself.
//!
//! Replicas share everything through the store, but notifications,
//! scheduled deliveries and the saves of the report parts must happen once,
//! not once per replica. The replica that holds the lease does them; the
//! others serve queries and inserts only, and take over when the holder
//! stops renewing.
//!
//! **How.** The lease is a log of terms, `_oko/lease/<n>.json` at the
//! store's root, each written with put-if-absent (`PutMode::Create`: S3's
//! `If-None-Match: *`, an atomic hard link on a local folder) — the same
//! primitive Delta's own commits rely on, so a store that takes Delta
//! commits safely takes the lease safely; there is no lock service to run.
//! Whoever creates term `n + 1` holds the lease for `ttl`; the holder
//! renews by creating the next term every `ttl / 3`. Another replica takes
//! over when the newest term has stayed the newest for `ttl` of *its own*
//! clock since it first saw it (no clocks are compared between machines),
//! or at once when the newest term says it was released (a graceful stop)
//! or names this replica (a restart of the same replica). Two replicas that
//! try the same next term at once: one create succeeds, the other fails and
//! stays a follower.
//!
//! **What "held" means.** The holder counts its term from *before* its
//! create was sent, a follower from *after* it saw it, so the holder's view
//! ends first. [`Lease::holding`] answers only while at least `ttl / 3` of
//! the term is left: that is how long a post started just before a missed
//! renewal has to finish before another replica may start. A replica that
//! stalls for longer than that in the middle of a post (or whose clock runs
//! much slower than the others') can overlap with the next holder: delivery
//! stays at least once, as it is across a crash.
//!
//! Each holding has an epoch (the term that began it): the senders reload
//! their stored positions when it changes, so a replica that loses the
//! lease and gets it back later does not resend from stale positions.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use futures::TryStreamExt;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutMode, PutOptions};
use serde::{Deserialize, Serialize};

/// The folder of the terms, at the store's root.
const TERMS: &str = "_oko/lease";
/// Terms kept behind the newest (older ones are deleted by the holder).
const KEEP_TERMS: u64 = 8;

/// One term as stored.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
struct Term {
    /// The replica that created it.
    holder: String,
    /// The process that created it (a replica restarted under the same
    /// name is another process).
    #[serde(default)]
    instance: String,
    /// How long it lasts, in milliseconds from its creation.
    ttl_ms: u64,
    /// The holder let it go (a graceful stop): anyone may take the next.
    #[serde(default)]
    released: bool,
}

/// What this replica knows of the lease.
#[derive(Debug, Default)]
struct State {
    /// The term this replica holds, and until when (its own clock).
    held: Option<(u64, Instant)>,
    /// The term that began the current holding.
    epoch: u64,
    /// The newest term another replica holds, and when it was first seen.
    seen: Option<(u64, Instant)>,
    /// This process has looked at the lease before.
    looked: bool,
}

/// The lease of one replica; see the module docs. Cheap to share.
#[derive(Debug)]
pub struct Lease {
    kind: Kind,
    state: Mutex<State>,
}

#[derive(Debug)]
enum Kind {
    /// A lease in the store.
    Stored {
        store: Arc<dyn ObjectStore>,
        replica: String,
        /// This process, among the replica's restarts.
        instance: String,
        ttl: Duration,
    },
    /// Always held: a process that is the only sender by construction
    /// (commands and tests that run one).
    Always,
    /// Never held: a replica configured not to send (`[server] sender =
    /// false`).
    Never,
}

impl Lease {
    /// A lease in `store` (the store's root) for the replica named
    /// `replica`, terms of `ttl`.
    pub fn stored(store: Arc<dyn ObjectStore>, replica: &str, ttl: Duration) -> Arc<Lease> {
        Arc::new(Lease {
            kind: Kind::Stored {
                store,
                replica: replica.to_string(),
                instance: instance_id(),
                ttl,
            },
            state: Mutex::default(),
        })
    }

    /// Always held: this process is the only sender.
    pub fn always() -> Arc<Lease> {
        Arc::new(Lease {
            kind: Kind::Always,
            state: Mutex::default(),
        })
    }

    /// Never held.
    pub fn never() -> Arc<Lease> {
        Arc::new(Lease {
            kind: Kind::Never,
            state: Mutex::default(),
        })
    }

    /// The epoch of the current holding while this replica may send (at
    /// least a third of its term left); `None` otherwise.
    pub fn holding(&self) -> Option<u64> {
        match &self.kind {
            Kind::Always => Some(0),
            Kind::Never => None,
            Kind::Stored { ttl, .. } => {
                let s = lock(&self.state);
                let (_, until) = s.held?;
                (Instant::now() + *ttl / 3 <= until).then_some(s.epoch)
            }
        }
    }

    /// Keeps the lease — takes it when it is free or expired, renews it
    /// while held — until the task is dropped. A failed step (the store
    /// unreachable) is logged; a lease held meanwhile simply runs out.
    pub async fn run(self: Arc<Self>) {
        let Kind::Stored { ttl, .. } = &self.kind else {
            return std::future::pending().await;
        };
        let pause = (*ttl / 3).max(Duration::from_millis(50));
        loop {
            if let Err(e) = self.step().await {
                tracing::warn!("the sender lease: {e:#}");
            }
            tokio::time::sleep(pause).await;
        }
    }

    /// One look at the lease: renew it, take it, or note who holds it.
    pub async fn step(&self) -> Result<()> {
        let Kind::Stored {
            store,
            replica,
            instance,
            ttl,
        } = &self.kind
        else {
            return Ok(());
        };
        let newest = newest_term(store).await?;
        let first_look = !std::mem::replace(&mut lock(&self.state).looked, true);
        let take = match &newest {
            None => true,
            Some((n, term)) => {
                let mine = term.holder == *replica && term.instance == *instance;
                // The same replica restarted takes its term back at once;
                // a second live process under this name does not (it
                // would take turns with the first).
                let restarted = term.holder == *replica && first_look;
                if term.holder == *replica && !mine && !first_look {
                    tracing::error!(
                        replica,
                        "another live process uses this replica's name: give each replica its own `[server] replica`"
                    );
                }
                if mine || restarted || term.released {
                    true
                } else {
                    let mut s = lock(&self.state);
                    s.held = None;
                    match s.seen {
                        Some((seen, at)) if seen == *n => {
                            at.elapsed() >= Duration::from_millis(term.ttl_ms)
                        }
                        _ => {
                            s.seen = Some((*n, Instant::now()));
                            false
                        }
                    }
                }
            }
        };
        if !take {
            return Ok(());
        }
        let next = newest.as_ref().map_or(1, |(n, _)| n + 1);
        let term = Term {
            holder: replica.clone(),
            instance: instance.clone(),
            ttl_ms: ttl.as_millis() as u64,
            released: false,
        };
        let started = Instant::now();
        match create(store, next, &term).await {
            Ok(true) => {
                {
                    let mut s = lock(&self.state);
                    let continuing = s
                        .held
                        .is_some_and(|(held, until)| held + 1 == next && Instant::now() < until);
                    if !continuing {
                        s.epoch = next;
                        tracing::info!(replica, term = next, "this replica now sends");
                    }
                    s.held = Some((next, started + *ttl));
                    s.seen = None;
                }
                if next > KEEP_TERMS {
                    forget_terms_before(store, next - KEEP_TERMS).await;
                }
            }
            Ok(false) => {
                // Another replica created the term first: it holds it.
                let mut s = lock(&self.state);
                if s.held.take().is_some() {
                    tracing::info!(replica, term = next, "another replica now sends");
                }
                s.seen = None;
            }
            Err(e) => return Err(e),
        }
        Ok(())
    }

    /// Lets the lease go (a graceful stop), when this replica holds it, so
    /// another replica takes it at once instead of after its term.
    pub async fn release(&self) -> Result<()> {
        let Kind::Stored {
            store,
            replica,
            instance,
            ..
        } = &self.kind
        else {
            return Ok(());
        };
        let Some((held, _)) = lock(&self.state).held.take() else {
            return Ok(());
        };
        let term = Term {
            holder: replica.clone(),
            instance: instance.clone(),
            ttl_ms: 0,
            released: true,
        };
        // Lost to another replica: it holds the lease already.
        create(store, held + 1, &term).await?;
        tracing::info!(replica, term = held, "sender lease released");
        Ok(())
    }
}

/// This process among others of the same replica name: its id and when it
/// started.
fn instance_id() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("{}-{nanos}", std::process::id())
}

/// The path of term `n` (zero-padded, so names sort by number).
fn term_path(n: u64) -> Path {
    Path::from(format!("{TERMS}/{n:020}.json"))
}

/// The newest term in the store, if any.
async fn newest_term(store: &Arc<dyn ObjectStore>) -> Result<Option<(u64, Term)>> {
    let listed: Vec<_> = store
        .list(Some(&Path::from(TERMS)))
        .try_collect()
        .await
        .context("cannot list the sender lease")?;
    let newest = listed
        .iter()
        .filter_map(|m| m.location.filename()?.strip_suffix(".json")?.parse().ok())
        .max();
    let Some(n) = newest else { return Ok(None) };
    let got = store
        .get(&term_path(n))
        .await
        .context("cannot read the sender lease")?;
    let term = serde_json::from_slice(&got.bytes().await?)
        .with_context(|| format!("term {n} of the sender lease is damaged"))?;
    Ok(Some((n, term)))
}

/// Creates term `n`; `false` when it exists already (another replica was
/// first).
async fn create(store: &Arc<dyn ObjectStore>, n: u64, term: &Term) -> Result<bool> {
    let body = serde_json::to_vec(term)?;
    let opts = PutOptions {
        mode: PutMode::Create,
        ..Default::default()
    };
    match store.put_opts(&term_path(n), body.into(), opts).await {
        Ok(_) => Ok(true),
        Err(
            object_store::Error::AlreadyExists { .. } | object_store::Error::Precondition { .. },
        ) => Ok(false),
        Err(e) => Err(e).context("cannot write the sender lease"),
    }
}

/// Deletes the terms older than `n` (best effort: a leftover is harmless).
async fn forget_terms_before(store: &Arc<dyn ObjectStore>, n: u64) {
    let Ok(listed) = store
        .list(Some(&Path::from(TERMS)))
        .try_collect::<Vec<_>>()
        .await
    else {
        return;
    };
    for m in listed {
        let old = m
            .location
            .filename()
            .and_then(|f| f.strip_suffix(".json"))
            .and_then(|f| f.parse::<u64>().ok())
            .is_some_and(|t| t < n);
        if old {
            let _ = store.delete(&m.location).await;
        }
    }
}

/// A std mutex's data, also after a panic elsewhere poisoned it.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> (tempfile::TempDir, Arc<dyn ObjectStore>) {
        let dir = tempfile::tempdir().unwrap();
        let fs = object_store::local::LocalFileSystem::new_with_prefix(dir.path()).unwrap();
        (dir, Arc::new(fs))
    }

    #[tokio::test]
    async fn one_replica_holds_the_lease_and_the_other_takes_it_when_it_lapses() {
        let (_dir, store) = store();
        let ttl = Duration::from_millis(600);
        let a = Lease::stored(store.clone(), "a", ttl);
        let b = Lease::stored(store.clone(), "b", ttl);
        a.step().await.unwrap();
        b.step().await.unwrap();
        assert!(a.holding().is_some());
        assert!(b.holding().is_none());
        // A renews: B never takes it.
        for _ in 0..4 {
            tokio::time::sleep(ttl / 3).await;
            a.step().await.unwrap();
            b.step().await.unwrap();
            assert!(a.holding().is_some());
            assert!(b.holding().is_none());
        }
        // A stops renewing: its own view ends first, then B takes over.
        let mut took = None;
        let started = Instant::now();
        while started.elapsed() < ttl * 4 {
            tokio::time::sleep(ttl / 6).await;
            b.step().await.unwrap();
            if b.holding().is_some() {
                took = Some(started.elapsed());
                break;
            }
            assert!(a.holding().is_none() || started.elapsed() < ttl);
        }
        let took = took.expect("B takes the lease");
        assert!(
            took + Duration::from_millis(50) >= ttl,
            "B took it after {took:?}, before the term ran out"
        );
        assert!(a.holding().is_none());
        // A comes back: it sees B's term and stays a follower.
        a.step().await.unwrap();
        assert!(a.holding().is_none());
    }

    #[tokio::test]
    async fn a_released_lease_is_taken_at_once_and_a_restart_resumes_its_own() {
        let (_dir, store) = store();
        let ttl = Duration::from_secs(60);
        let a = Lease::stored(store.clone(), "a", ttl);
        a.step().await.unwrap();
        let first = a.holding().unwrap();
        // The same replica, restarted, takes its own term at once.
        let again = Lease::stored(store.clone(), "a", ttl);
        again.step().await.unwrap();
        assert!(again.holding().is_some_and(|e| e != first));
        again.release().await.unwrap();
        assert!(again.holding().is_none());
        let b = Lease::stored(store.clone(), "b", ttl);
        b.step().await.unwrap();
        assert!(b.holding().is_some());
    }

    #[tokio::test]
    async fn racing_replicas_never_both_hold_the_lease() {
        let (_dir, store) = store();
        let ttl = Duration::from_secs(60);
        let leases: Vec<_> = (0..8)
            .map(|i| Lease::stored(store.clone(), &format!("r{i}"), ttl))
            .collect();
        let steps = leases.iter().map(|l| l.step());
        for r in futures::future::join_all(steps).await {
            r.unwrap();
        }
        let holders = leases.iter().filter(|l| l.holding().is_some()).count();
        assert_eq!(holders, 1);
    }

    #[tokio::test]
    async fn old_terms_are_deleted_by_the_holder() {
        let (_dir, store) = store();
        let a = Lease::stored(store.clone(), "a", Duration::from_secs(60));
        for _ in 0..(KEEP_TERMS * 3) {
            a.step().await.unwrap();
        }
        let listed: Vec<_> = store
            .list(Some(&Path::from(TERMS)))
            .try_collect()
            .await
            .unwrap();
        assert!(listed.len() as u64 <= KEEP_TERMS + 1, "{}", listed.len());
        assert!(a.holding().is_some());
    }
}
