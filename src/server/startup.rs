//! A connection's start: TLS policy, the connection limit, login, and the
//! session built for the user who logged in.
//!
//! Login is SCRAM-SHA-256 against the verifiers of `[[users]]`
//! ([`crate::auth`]); over TLS SCRAM-SHA-256-PLUS is offered too, bound to
//! the server certificate (`tls-server-end-point`), so clients with
//! `channel_binding=require` connect and a man in the middle cannot relay
//! the exchange. An unknown user goes through the same exchange as a
//! known one and fails at the same step, so the answer does not tell which.
//! Failed logins are logged with the client's address. Attempts are
//! counted per (user name, address) when the client sends its proof —
//! before the proof is checked, so parallel connections get no more
//! guesses — and after `max_failed_logins` in a minute that user is refused
//! from that address until the minute has passed; a success forgets only
//! that user's attempts.
//!
//! With no users configured the server trusts every connection as a
//! read-only `viewer` — only allowed on a loopback address (`oko serve`
//! refuses anything else), and what `--demo` uses.
//!
//! Over `max_connections`, a client gets SQLSTATE 53300 ("too many
//! connections") instead of a dropped socket. `reserved_admin_connections`
//! of them are kept for admins: a client that arrives when the others are
//! taken may log in, and stays only if it is an admin. A client has
//! `authentication_timeout_s` to log in ([`super::serve_connection`]).

use std::collections::HashMap;
use std::fmt::Debug;
use std::net::IpAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use async_trait::async_trait;
use futures::{Sink, SinkExt};
use pgwire::api::auth::{
    StartupHandler, finish_authentication, protocol_negotiation,
    save_startup_parameters_to_metadata,
};
use pgwire::api::{ClientInfo, PgWireConnectionState, PidSecretKeyGenerator};
use pgwire::error::{PgWireError, PgWireResult};
use pgwire::messages::startup::Authentication;
use pgwire::messages::{PgWireBackendMessage, PgWireFrontendMessage};
use tokio::sync::OwnedSemaphorePermit;

use super::errors::{code, fatal};
use super::interrupt::Interrupt;
use super::session::{Login, LoginSlot};
use super::{Parameters, Shared};
use crate::auth::{Binding, Principal, Role, ScramExchange, UserConfig, Verifier};
use crate::config::ServerConfig;
use crate::pg_compat::vars::Vars;

/// How long failed logins are remembered.
const FAILURE_WINDOW: Duration = Duration::from_secs(60);

/// One configured user, checked.
struct User {
    role: Role,
    tenant: Option<String>,
    verifier: Verifier,
}

/// Who may connect, and how: shared by every connection.
pub struct Access {
    /// Empty: trust every connection as a viewer (loopback only).
    users: HashMap<String, User>,
    require_tls: bool,
    max_failed_logins: u32,
    /// Login attempts per (user name, client address) in the current
    /// window: first attempt of the window, count.
    attempts: Mutex<HashMap<(String, IpAddr), (Instant, u32)>>,
    /// Makes the decoy verifiers of unknown users.
    decoy_secret: [u8; 32],
    /// Places anyone may take: `max_connections` less the admins' reserve.
    open: Arc<tokio::sync::Semaphore>,
    /// The admins' reserve; a client waiting for its login holds a
    /// [`Place::Candidate`] until it turns out to be an admin.
    reserved: Arc<tokio::sync::Semaphore>,
    /// Clients that arrived with the open places taken, logging in.
    candidates: Arc<tokio::sync::Semaphore>,
    max_connections: usize,
    /// How long a client has to log in.
    pub authentication_timeout: Duration,
    /// With TLS: the `tls-server-end-point` channel binding data of the
    /// server's certificate, so SCRAM-SHA-256-PLUS is offered.
    tls_binding: Option<Vec<u8>>,
}

/// A connection's place among `max_connections`.
pub enum Place {
    /// One of the places anyone may take.
    Open(OwnedSemaphorePermit),
    /// None was free when it arrived: it may still log in, and keeps the
    /// connection only as an admin, in the reserve.
    Candidate(OwnedSemaphorePermit),
    /// A place of the admins' reserve.
    Reserved(OwnedSemaphorePermit),
}

/// Most (user, address) pairs remembered; beyond it stale ones go first,
/// then those not locked out.
const MAX_REMEMBERED: usize = 100_000;

impl Access {
    pub fn new(users: &[UserConfig], server: &ServerConfig) -> Result<Access> {
        let mut checked = HashMap::new();
        for u in users {
            let verifier = u.check()?;
            let user = User {
                role: u.role,
                tenant: u.tenant.clone(),
                verifier,
            };
            if checked.insert(u.name.clone(), user).is_some() {
                anyhow::bail!("user {} is configured twice", u.name);
            }
        }
        let mut decoy_secret = [0u8; 32];
        ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut decoy_secret)
            .map_err(|_| anyhow::anyhow!("no random numbers from the system"))?;
        let max_connections = server.max_connections.max(1);
        let reserved = server
            .reserved_admin_connections
            .min(max_connections.saturating_sub(1));
        Ok(Access {
            users: checked,
            require_tls: server.require_tls,
            max_failed_logins: server.max_failed_logins.max(1),
            attempts: Mutex::default(),
            decoy_secret,
            open: Arc::new(tokio::sync::Semaphore::new(max_connections - reserved)),
            reserved: Arc::new(tokio::sync::Semaphore::new(reserved)),
            candidates: Arc::new(tokio::sync::Semaphore::new(reserved * 4)),
            max_connections,
            authentication_timeout: Duration::from_secs(server.authentication_timeout_s.max(1)),
            tls_binding: None,
        })
    }

    /// Offers SCRAM-SHA-256-PLUS on TLS connections, bound to the server
    /// certificate (`cert`, a PEM chain: its first certificate).
    pub fn with_tls_binding(mut self, cert: &Path) -> Result<Access> {
        use rustls_pki_types::CertificateDer;
        use rustls_pki_types::pem::PemObject;
        let first = CertificateDer::pem_file_iter(cert)
            .with_context(|| format!("cannot read the TLS certificate {}", cert.display()))?
            .next()
            .with_context(|| format!("the TLS certificate file {} is empty", cert.display()))?
            .with_context(|| format!("the TLS certificate {} is not valid PEM", cert.display()))?;
        self.tls_binding = Some(crate::auth::tls_server_end_point(first.as_ref()));
        Ok(self)
    }

    /// No users: every connection is a trusted viewer.
    pub fn trusts_everyone(&self) -> bool {
        self.users.is_empty()
    }

    /// A place for a new connection, if there is one to try for.
    pub fn admit(&self) -> Option<Place> {
        if let Ok(p) = self.open.clone().try_acquire_owned() {
            return Some(Place::Open(p));
        }
        if self.trusts_everyone() {
            return None;
        }
        self.candidates
            .clone()
            .try_acquire_owned()
            .ok()
            .map(Place::Candidate)
    }

    /// Where a logged-in user's connection stays: an open place, or for an
    /// admin who arrived when they were taken, the reserve. `None`: no
    /// place for this user (53300).
    fn settle(&self, place: Place, role: Role) -> Option<Place> {
        match place {
            Place::Candidate(_) if role == Role::Admin => self
                .reserved
                .clone()
                .try_acquire_owned()
                .ok()
                .map(Place::Reserved),
            Place::Candidate(_) => None,
            other => Some(other),
        }
    }

    fn entries(&self) -> std::sync::MutexGuard<'_, HashMap<(String, IpAddr), (Instant, u32)>> {
        self.attempts.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether `user` from `ip` has used up its attempts for now.
    fn locked_out(&self, user: &str, ip: IpAddr) -> bool {
        let mut attempts = self.entries();
        let key = (user.to_string(), ip);
        match attempts.get(&key) {
            Some((since, _)) if since.elapsed() > FAILURE_WINDOW => {
                attempts.remove(&key);
                false
            }
            Some((_, n)) => *n >= self.max_failed_logins,
            None => false,
        }
    }

    /// Counts one attempt of `user` from `ip` *before* its password is
    /// checked, so parallel connections cannot check more guesses than
    /// the limit; false when it is used up.
    fn attempt(&self, user: &str, ip: IpAddr) -> bool {
        let mut attempts = self.entries();
        if attempts.len() >= MAX_REMEMBERED {
            attempts.retain(|_, (since, _)| since.elapsed() <= FAILURE_WINDOW);
        }
        if attempts.len() >= MAX_REMEMBERED {
            let max = self.max_failed_logins;
            attempts.retain(|_, (_, n)| *n >= max);
        }
        let entry = attempts
            .entry((user.to_string(), ip))
            .or_insert((Instant::now(), 0));
        if entry.0.elapsed() > FAILURE_WINDOW {
            *entry = (Instant::now(), 0);
        }
        if entry.1 >= self.max_failed_logins {
            return false;
        }
        entry.1 += 1;
        true
    }

    /// `user` logged in from `ip`: its own attempts are forgotten (no one
    /// else's).
    fn succeeded(&self, user: &str, ip: IpAddr) {
        self.entries().remove(&(user.to_string(), ip));
    }
}

/// Where one connection's login is.
enum Stage {
    /// Waiting for the startup message.
    Start,
    /// `AuthenticationSASL` sent; waiting for the client's first message.
    Sasl { user: String },
    /// Our first message sent; waiting for the client's proof.
    Proof {
        user: String,
        exchange: Box<ScramExchange>,
    },
}

/// The startup of one connection.
pub struct Startup {
    pub shared: Arc<Shared>,
    pub interrupt: Arc<Interrupt>,
    pub vars: Arc<Vars>,
    pub login: Arc<LoginSlot>,
    /// `None`: the connection is over the limit and is refused.
    pub permit: Mutex<Option<Place>>,
    /// The client's address and whether it uses TLS (the handler itself
    /// sees a local socket, see [`super::wire`]).
    peer: super::wire::Peer,
    stage: tokio::sync::Mutex<Stage>,
}

impl Startup {
    pub fn new(
        shared: Arc<Shared>,
        interrupt: Arc<Interrupt>,
        vars: Arc<Vars>,
        login: Arc<LoginSlot>,
        permit: Option<Place>,
        peer: super::wire::Peer,
    ) -> Startup {
        Startup {
            peer,
            shared,
            interrupt,
            vars,
            login,
            permit: Mutex::new(permit),
            stage: tokio::sync::Mutex::new(Stage::Start),
        }
    }

    fn ip(&self) -> IpAddr {
        self.peer
            .addr
            .map(|a| a.ip())
            .unwrap_or(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED))
    }

    fn access(&self) -> &Access {
        &self.shared.access
    }

    /// The channel binding data when this connection uses TLS.
    fn binding(&self) -> Option<&[u8]> {
        self.access()
            .tls_binding
            .as_deref()
            .filter(|_| self.peer.secure)
    }

    /// The user logged in: their session, registration for cancel
    /// requests, and the end of the startup.
    async fn log_in<C>(&self, client: &mut C, principal: Principal) -> PgWireResult<()>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let ctx = self
            .shared
            .session(&self.vars, &principal)
            .await
            .map_err(|e| {
                tracing::error!("cannot open a session for {}: {e:#}", principal.user);
                fatal(
                    code::INTERNAL_ERROR,
                    format!("cannot open a session: {e:#}"),
                )
            })?;
        tracing::info!(
            user = %principal.user,
            role = %principal.role,
            tenant = principal.tenant.as_deref().unwrap_or("*"),
            client = %self.ip(),
            "logged in"
        );
        self.login.set(Login {
            ctx: Arc::new(ctx),
            principal,
        });
        let (pid, key) = self.shared.keys.generate(&*client);
        self.shared.registry.register(pid, &key, &self.interrupt);
        client.set_pid_and_secret_key(pid, key);
        finish_authentication(client, &Parameters(self.vars.clone())).await?;
        client.flush().await?;
        Ok(())
    }

    /// A failed login (its attempt was counted when the client sent its
    /// proof, or is counted now for a broken exchange).
    fn refuse_login(&self, ip: IpAddr, user: &str, why: &str, counted: bool) -> PgWireError {
        if !counted {
            let _ = self.access().attempt(user, ip);
        }
        tracing::warn!(user, client = %ip, "login failed: {why}");
        fatal(
            code::INVALID_PASSWORD,
            format!("password authentication failed for user \"{user}\""),
        )
    }

    fn locked_out(user: &str) -> PgWireError {
        fatal(
            code::INVALID_AUTHORIZATION,
            format!(
                "too many failed logins for user \"{user}\" from this address; \
                 try again in a minute"
            ),
        )
    }

    /// Keeps the connection's place for this user, or refuses it (53300).
    fn settle_place(&self, role: Role) -> PgWireResult<()> {
        let mut slot = self.permit.lock().unwrap_or_else(|p| p.into_inner());
        let settled = slot.take().and_then(|p| self.access().settle(p, role));
        match settled {
            Some(p) => {
                *slot = Some(p);
                Ok(())
            }
            None => Err(fatal(
                code::TOO_MANY_CONNECTIONS,
                format!(
                    "sorry, too many clients already (remaining connection slots of the {} \
                     are reserved for admins)",
                    self.access().max_connections
                ),
            )),
        }
    }
}

#[async_trait]
impl StartupHandler for Startup {
    async fn on_startup<C>(
        &self,
        client: &mut C,
        message: PgWireFrontendMessage,
    ) -> PgWireResult<()>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let ip = self.ip();
        let mut stage = self.stage.lock().await;
        match (message, &*stage) {
            (PgWireFrontendMessage::Startup(startup), Stage::Start) => {
                protocol_negotiation(client, &startup).await?;
                save_startup_parameters_to_metadata(client, &startup);
                let over_limit = self.permit.lock().map(|p| p.is_none()).unwrap_or(true);
                if over_limit {
                    tracing::warn!(client = %ip, "connection refused: too many connections");
                    return Err(fatal(
                        code::TOO_MANY_CONNECTIONS,
                        format!(
                            "sorry, too many clients already ({} connections are the limit)",
                            self.access().max_connections
                        ),
                    ));
                }
                if self.access().require_tls && !self.peer.secure {
                    tracing::warn!(client = %ip, "connection refused: TLS is required");
                    return Err(fatal(
                        code::INVALID_AUTHORIZATION,
                        "this server requires TLS (connect with sslmode=require)",
                    ));
                }
                let Some(user) = startup.parameters.get("user").cloned() else {
                    return Err(fatal(
                        code::INVALID_AUTHORIZATION,
                        "no user name in the startup message",
                    ));
                };
                self.vars.set_session_user(&user);
                for (name, value) in &startup.parameters {
                    if !matches!(
                        name.as_str(),
                        "user" | "database" | "options" | "replication"
                    ) {
                        // A bad startup value (an unknown time zone) keeps
                        // the default rather than refusing the connection.
                        let _ = self.vars.set(name, value);
                    }
                }
                if self.access().trusts_everyone() {
                    *stage = Stage::Start;
                    drop(stage);
                    let principal = Principal {
                        user,
                        role: Role::Viewer,
                        tenant: None,
                    };
                    return self.log_in(client, principal).await;
                }
                if self.access().locked_out(&user, ip) {
                    tracing::warn!(user, client = %ip, "login refused: too many failed logins");
                    return Err(Self::locked_out(&user));
                }
                client.set_state(PgWireConnectionState::AuthenticationInProgress);
                let mut mechanisms = vec!["SCRAM-SHA-256".to_string()];
                if self.binding().is_some() {
                    mechanisms.insert(0, "SCRAM-SHA-256-PLUS".to_string());
                }
                client
                    .send(PgWireBackendMessage::Authentication(Authentication::SASL(
                        mechanisms,
                    )))
                    .await?;
                client.flush().await?;
                *stage = Stage::Sasl { user };
                Ok(())
            }
            (PgWireFrontendMessage::PasswordMessageFamily(msg), Stage::Sasl { user }) => {
                let user = user.clone();
                let first = msg.into_sasl_initial_response()?;
                let binding = match (first.auth_method.as_str(), self.binding()) {
                    ("SCRAM-SHA-256-PLUS", Some(data)) => Binding::Required(data),
                    ("SCRAM-SHA-256", Some(data)) => Binding::Offered(data),
                    ("SCRAM-SHA-256", None) => Binding::Unavailable,
                    _ => {
                        return Err(self.refuse_login(
                            ip,
                            &user,
                            "unsupported SASL mechanism",
                            false,
                        ));
                    }
                };
                let data = first.data.unwrap_or_default();
                let text = std::str::from_utf8(&data).map_err(|_| {
                    self.refuse_login(ip, &user, "the SCRAM message is not UTF-8", false)
                })?;
                let verifier = match self.access().users.get(&user) {
                    Some(u) => u.verifier.clone(),
                    None => crate::auth::decoy_verifier(&user, &self.access().decoy_secret),
                };
                let nonce = crate::auth::server_nonce()
                    .map_err(|e| fatal(code::INTERNAL_ERROR, e.to_string()))?;
                let (exchange, server_first) =
                    ScramExchange::start_bound(verifier, text, &nonce, binding)
                        .map_err(|e| self.refuse_login(ip, &user, &e.to_string(), false))?;
                client
                    .send(PgWireBackendMessage::Authentication(
                        Authentication::SASLContinue(server_first.into_bytes().into()),
                    ))
                    .await?;
                client.flush().await?;
                *stage = Stage::Proof {
                    user,
                    exchange: Box::new(exchange),
                };
                Ok(())
            }
            (
                PgWireFrontendMessage::PasswordMessageFamily(msg),
                Stage::Proof { user, exchange },
            ) => {
                let user = user.clone();
                // The attempt counts now, before the proof is checked.
                if !self.access().attempt(&user, ip) {
                    tracing::warn!(user, client = %ip, "login refused: too many failed logins");
                    return Err(Self::locked_out(&user));
                }
                let response = msg.into_sasl_response()?;
                let text = std::str::from_utf8(&response.data).map_err(|_| {
                    self.refuse_login(ip, &user, "the SCRAM message is not UTF-8", true)
                })?;
                let server_final = exchange
                    .finish(text)
                    .map_err(|e| self.refuse_login(ip, &user, &e.to_string(), true))?;
                // The proof matched a decoy only if it matched nothing.
                let Some(u) = self.access().users.get(&user) else {
                    return Err(self.refuse_login(ip, &user, "no such user", true));
                };
                self.settle_place(u.role)?;
                let principal = Principal {
                    user: user.clone(),
                    role: u.role,
                    tenant: u.tenant.clone(),
                };
                *stage = Stage::Start;
                drop(stage);
                self.access().succeeded(&user, ip);
                client
                    .send(PgWireBackendMessage::Authentication(
                        Authentication::SASLFinal(server_final.into_bytes().into()),
                    ))
                    .await?;
                self.log_in(client, principal).await
            }
            (_, _) => Err(fatal(
                code::PROTOCOL_VIOLATION,
                "unexpected message during startup",
            )),
        }
    }
}

/// A TLS acceptor from a PEM certificate chain and key (PKCS#8, RSA or EC).
/// Any problem is an error: the server never falls back to plaintext.
pub fn tls_acceptor(cert: &Path, key: &Path) -> Result<pgwire::tokio::TlsAcceptor> {
    use pgwire::tokio::tokio_rustls::rustls;
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};

    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .with_context(|| format!("cannot read the TLS certificate {}", cert.display()))?
        .collect::<std::result::Result<_, _>>()
        .with_context(|| format!("the TLS certificate {} is not valid PEM", cert.display()))?;
    if certs.is_empty() {
        anyhow::bail!(
            "the TLS certificate file {} has no certificate",
            cert.display()
        );
    }
    let key = PrivateKeyDer::from_pem_file(key).with_context(|| {
        format!(
            "cannot read the TLS key {} (PEM: PKCS#8, RSA or EC)",
            key.display()
        )
    })?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("cannot set up TLS")?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .context("the TLS certificate and key do not form a usable pair")?;
    Ok(pgwire::tokio::TlsAcceptor::from(Arc::new(config)))
}

/// The users as the catalog's role tables show them ([`crate::pg_compat::pg_roles`]).
impl Access {
    /// Every configured user.
    pub fn role_entries(&self) -> Vec<crate::pg_compat::pg_roles::RoleEntry> {
        self.users
            .iter()
            .map(|(name, u)| crate::pg_compat::pg_roles::RoleEntry {
                name: name.clone(),
                role: u.role,
                tenant: u.tenant.clone(),
            })
            .collect()
    }

    /// The users a session of `tenant` may see: that tenant's and the
    /// users bound to no tenant.
    pub fn role_entries_of(&self, tenant: &str) -> Vec<crate::pg_compat::pg_roles::RoleEntry> {
        self.role_entries()
            .into_iter()
            .filter(|u| u.tenant.as_deref().is_none_or(|t| t == tenant))
            .collect()
    }
}
