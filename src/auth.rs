//! Who may connect and what they may do (SPEC.md §5).
//!
//! Users live in the configuration file, each with a role, an optional
//! tenant and a SCRAM-SHA-256 *verifier* — never the password:
//!
//! ```toml
//! [[users]]
//! name = "grafana"
//! role = "viewer"
//! tenant = "acme"          # optional: this user sees only acme's rows
//! password = "SCRAM-SHA-256$4096:<salt>$<StoredKey>:<ServerKey>"
//! ```
//!
//! The verifier has PostgreSQL's format (`pg_authid.rolpassword`), so one
//! can be copied from a PostgreSQL server too. `oko user add` makes one.
//!
//! The server side of the SCRAM exchange (RFC 5802 / RFC 7677) is here as
//! plain functions over messages, so it is tested without a network:
//! [`ScramExchange::start`] answers the client's first message,
//! [`ScramExchange::finish`] checks its proof and returns the server's
//! signature. Channel binding (`SCRAM-SHA-256-PLUS`) is not offered.

use std::fmt;

use anyhow::{Context, Result, bail};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use ring::rand::SecureRandom;
use ring::{digest, hmac, pbkdf2};
use serde::{Deserialize, Serialize};

/// Iterations of a new verifier (PostgreSQL's default).
pub const DEFAULT_ITERATIONS: u32 = 4096;

/// What a user may do. Each role may do everything the one before may.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Reads tables and reports.
    Viewer,
    /// Also records rating moderations and lead notes.
    Moderator,
    /// Also inserts facts, deletes, loads and manages.
    Admin,
}

impl Role {
    pub fn name(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Moderator => "moderator",
            Role::Admin => "admin",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Role {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Role, String> {
        match s {
            "viewer" => Ok(Role::Viewer),
            "moderator" => Ok(Role::Moderator),
            "admin" => Ok(Role::Admin),
            other => Err(format!(
                "unknown role `{other}`; the roles are viewer, moderator, admin"
            )),
        }
    }
}

/// One `[[users]]` entry of the configuration.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserConfig {
    pub name: String,
    pub role: Role,
    /// When set, the user sees and writes only this tenant's rows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
    /// A SCRAM-SHA-256 verifier ([`Verifier`]).
    pub password: String,
}

impl UserConfig {
    /// Checks the entry (the verifier parses, the name is usable).
    pub fn check(&self) -> Result<Verifier> {
        if self.name.is_empty() || self.name.chars().any(|c| c.is_control()) {
            bail!("a user needs a name without control characters");
        }
        if let Some(t) = &self.tenant
            && t.trim().is_empty()
        {
            bail!("user {}: the tenant is empty", self.name);
        }
        self.password.parse::<Verifier>().with_context(|| {
            format!(
                "user {}: `password` must be a SCRAM-SHA-256 verifier (make one with `oko user add`)",
                self.name
            )
        })
    }
}

/// The logged-in user of a connection: fixed at login, never changed by
/// `SET`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub user: String,
    pub role: Role,
    /// `Some`: every table shows (and accepts) only this tenant's rows.
    pub tenant: Option<String>,
}

impl Principal {
    /// May this user do what `role` may?
    pub fn can(&self, role: Role) -> bool {
        self.role >= role
    }
}

/// A SCRAM-SHA-256 verifier: what the server keeps instead of a password.
/// Knowing it does not let anyone log in (the client proof needs the
/// client key, which only the password gives).
#[derive(Clone, PartialEq, Eq)]
pub struct Verifier {
    pub iterations: u32,
    pub salt: Vec<u8>,
    pub stored_key: [u8; 32],
    pub server_key: [u8; 32],
}

impl fmt::Debug for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Verifier(SCRAM-SHA-256, …)")
    }
}

impl Verifier {
    /// A verifier for `password` with a fresh random salt.
    pub fn new(password: &str) -> Result<Verifier> {
        let mut salt = vec![0u8; 16];
        ring::rand::SystemRandom::new()
            .fill(&mut salt)
            .map_err(|_| anyhow::anyhow!("no random numbers from the system"))?;
        Ok(Verifier::with_salt(password, salt, DEFAULT_ITERATIONS))
    }

    /// The verifier of `password` with a given salt and iteration count.
    pub fn with_salt(password: &str, salt: Vec<u8>, iterations: u32) -> Verifier {
        // SASLprep as PostgreSQL applies it: a password it refuses is used
        // as it is.
        let prepared = stringprep::saslprep(password)
            .map(|p| p.into_owned())
            .unwrap_or_else(|_| password.to_string());
        let mut salted = [0u8; 32];
        pbkdf2::derive(
            pbkdf2::PBKDF2_HMAC_SHA256,
            std::num::NonZeroU32::new(iterations.max(1)).unwrap_or(std::num::NonZeroU32::MIN),
            &salt,
            prepared.as_bytes(),
            &mut salted,
        );
        let client_key = hmac_sha256(&salted, b"Client Key");
        let stored_key = sha256(&client_key);
        let server_key = hmac_sha256(&salted, b"Server Key");
        Verifier {
            iterations,
            salt,
            stored_key,
            server_key,
        }
    }
}

impl fmt::Display for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "SCRAM-SHA-256${}:{}${}:{}",
            self.iterations,
            B64.encode(&self.salt),
            B64.encode(self.stored_key),
            B64.encode(self.server_key)
        )
    }
}

impl std::str::FromStr for Verifier {
    type Err = anyhow::Error;

    fn from_str(s: &str) -> Result<Verifier> {
        let rest = s
            .strip_prefix("SCRAM-SHA-256$")
            .context("a verifier starts with `SCRAM-SHA-256$`")?;
        let (params, keys) = rest
            .split_once('$')
            .context("a verifier is SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>")?;
        let (iterations, salt) = params
            .split_once(':')
            .context("missing `<iterations>:<salt>`")?;
        let (stored, server) = keys
            .split_once(':')
            .context("missing `<StoredKey>:<ServerKey>`")?;
        let iterations: u32 = iterations
            .parse()
            .ok()
            .filter(|i| *i > 0)
            .context("the iteration count is not a positive number")?;
        let salt = B64.decode(salt).context("the salt is not base64")?;
        let key = |text: &str, what: &str| -> Result<[u8; 32]> {
            let bytes = B64
                .decode(text)
                .with_context(|| format!("the {what} is not base64"))?;
            bytes
                .try_into()
                .map_err(|_| anyhow::anyhow!("the {what} is not 32 bytes"))
        };
        Ok(Verifier {
            iterations,
            salt,
            stored_key: key(stored, "StoredKey")?,
            server_key: key(server, "ServerKey")?,
        })
    }
}

fn hmac_sha256(key: &[u8], data: &[u8]) -> [u8; 32] {
    let key = hmac::Key::new(hmac::HMAC_SHA256, key);
    let tag = hmac::sign(&key, data);
    let mut out = [0u8; 32];
    out.copy_from_slice(tag.as_ref());
    out
}

fn sha256(data: &[u8]) -> [u8; 32] {
    let d = digest::digest(&digest::SHA256, data);
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

/// Why a SCRAM exchange failed. `Malformed` is a client bug; `Rejected`
/// is a wrong password (or an unknown user: the two look the same from
/// outside).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScramError {
    Malformed(String),
    Rejected,
}

impl fmt::Display for ScramError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ScramError::Malformed(why) => write!(f, "malformed SCRAM message: {why}"),
            ScramError::Rejected => f.write_str("password authentication failed"),
        }
    }
}

/// The server's half of one SCRAM-SHA-256 exchange, between its first and
/// last message.
#[derive(Debug)]
pub struct ScramExchange {
    verifier: Verifier,
    /// The client's nonce followed by ours.
    nonce: String,
    client_first_bare: String,
    server_first: String,
    /// The GS2 header the client sent, echoed (base64) in its final message.
    gs2_header: String,
}

impl ScramExchange {
    /// Answers the client's first message (`n,,n=user,r=nonce`) with the
    /// server's (`r=…,s=…,i=…`). `server_nonce` must be fresh and random.
    pub fn start(
        verifier: Verifier,
        client_first: &str,
        server_nonce: &str,
    ) -> Result<(ScramExchange, String), ScramError> {
        let malformed = |why: &str| ScramError::Malformed(why.to_string());
        // gs2-header: cbind-flag "," [authzid] ","
        let mut parts = client_first.splitn(3, ',');
        let flag = parts.next().ok_or_else(|| malformed("empty message"))?;
        let authzid = parts.next().ok_or_else(|| malformed("no GS2 header"))?;
        let bare = parts
            .next()
            .ok_or_else(|| malformed("no client-first-bare"))?;
        match flag {
            // "y": the client could bind but thinks we cannot — we cannot.
            "n" | "y" => {}
            f if f.starts_with("p=") => {
                return Err(malformed(
                    "channel binding was requested but only SCRAM-SHA-256 is offered",
                ));
            }
            _ => return Err(malformed("bad channel-binding flag")),
        }
        if !authzid.is_empty() && !authzid.starts_with("a=") {
            return Err(malformed("bad authorization identity"));
        }
        let gs2_header = format!("{flag},{authzid},");
        let mut client_nonce = None;
        for attr in bare.split(',') {
            if let Some(r) = attr.strip_prefix("r=") {
                client_nonce = Some(r);
            } else if attr.starts_with("m=") {
                return Err(malformed("mandatory extensions are not supported"));
            }
        }
        let client_nonce = client_nonce
            .filter(|n| !n.is_empty() && n.bytes().all(|b| (0x21..=0x7e).contains(&b) && b != b','))
            .ok_or_else(|| malformed("no client nonce"))?;
        let nonce = format!("{client_nonce}{server_nonce}");
        let server_first = format!(
            "r={nonce},s={},i={}",
            B64.encode(&verifier.salt),
            verifier.iterations
        );
        Ok((
            ScramExchange {
                verifier,
                nonce,
                client_first_bare: bare.to_string(),
                server_first: server_first.clone(),
                gs2_header,
            },
            server_first,
        ))
    }

    /// Checks the client's final message (`c=…,r=…,p=proof`) and returns
    /// the server's final message (`v=signature`).
    pub fn finish(&self, client_final: &str) -> Result<String, ScramError> {
        let malformed = |why: &str| ScramError::Malformed(why.to_string());
        let (without_proof, proof) = client_final
            .rsplit_once(",p=")
            .ok_or_else(|| malformed("no proof"))?;
        let mut binding = None;
        let mut nonce = None;
        for attr in without_proof.split(',') {
            if let Some(c) = attr.strip_prefix("c=") {
                binding = Some(c);
            } else if let Some(r) = attr.strip_prefix("r=") {
                nonce = Some(r);
            }
        }
        let binding = binding.ok_or_else(|| malformed("no channel binding attribute"))?;
        if B64.decode(binding).ok().as_deref() != Some(self.gs2_header.as_bytes()) {
            return Err(malformed("the channel binding does not match"));
        }
        if nonce != Some(self.nonce.as_str()) {
            return Err(malformed("the nonce does not match"));
        }
        let proof = B64
            .decode(proof)
            .map_err(|_| malformed("the proof is not base64"))?;
        if proof.len() != 32 {
            return Err(ScramError::Rejected);
        }
        let auth_message = format!(
            "{},{},{}",
            self.client_first_bare, self.server_first, without_proof
        );
        let signature = hmac_sha256(&self.verifier.stored_key, auth_message.as_bytes());
        let mut client_key = [0u8; 32];
        for (i, k) in client_key.iter_mut().enumerate() {
            *k = proof[i] ^ signature[i];
        }
        // Constant-time comparison of H(ClientKey) with StoredKey.
        let differs = sha256(&client_key)
            .iter()
            .zip(self.verifier.stored_key.iter())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b));
        if differs != 0 {
            return Err(ScramError::Rejected);
        }
        let server_signature = hmac_sha256(&self.verifier.server_key, auth_message.as_bytes());
        Ok(format!("v={}", B64.encode(server_signature)))
    }
}

/// A fresh random nonce for the server's first message.
pub fn server_nonce() -> Result<String> {
    let mut bytes = [0u8; 18];
    ring::rand::SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| anyhow::anyhow!("no random numbers from the system"))?;
    Ok(B64.encode(bytes))
}

/// A verifier that no password matches, the same for every call with the
/// same name: an unknown user goes through the whole exchange and fails at
/// the end like a wrong password, so the answer does not tell which.
pub fn decoy_verifier(user: &str, secret: &[u8]) -> Verifier {
    let salt = hmac_sha256(secret, user.as_bytes())[..16].to_vec();
    Verifier {
        iterations: DEFAULT_ITERATIONS,
        salt,
        stored_key: hmac_sha256(secret, b"no stored key"),
        server_key: hmac_sha256(secret, b"no server key"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The client's side, as a driver computes it.
    fn client_proof(password: &str, salt: &[u8], iterations: u32, auth_message: &str) -> String {
        let v = Verifier::with_salt(password, salt.to_vec(), iterations);
        let prepared = password;
        let mut salted = [0u8; 32];
        pbkdf2::derive(
            pbkdf2::PBKDF2_HMAC_SHA256,
            std::num::NonZeroU32::new(iterations).unwrap(),
            salt,
            prepared.as_bytes(),
            &mut salted,
        );
        let client_key = hmac_sha256(&salted, b"Client Key");
        let signature = hmac_sha256(&v.stored_key, auth_message.as_bytes());
        let proof: Vec<u8> = client_key
            .iter()
            .zip(signature.iter())
            .map(|(a, b)| a ^ b)
            .collect();
        B64.encode(proof)
    }

    /// RFC 7677 section 3: user "user", password "pencil".
    #[test]
    fn rfc7677_example() {
        let salt = B64.decode("W22ZaJ0SNY7soEsUEjb6gQ==").unwrap();
        let v = Verifier::with_salt("pencil", salt, 4096);
        let (ex, server_first) = ScramExchange::start(
            v,
            "n,,n=user,r=rOprNGfwEbeRWgbNEkqO",
            "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0",
        )
        .unwrap();
        assert_eq!(
            server_first,
            "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"
        );
        let server_final = ex
            .finish(
                "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,\
                 p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
            )
            .unwrap();
        assert_eq!(
            server_final,
            "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="
        );
    }

    #[test]
    fn wrong_password_is_rejected() {
        let v = Verifier::new("right").unwrap();
        let salt = v.salt.clone();
        let (ex, server_first) = ScramExchange::start(v, "n,,n=,r=abc", "def").unwrap();
        let without_proof = "c=biws,r=abcdef";
        let auth = format!("n=,r=abc,{server_first},{without_proof}");
        let bad = client_proof("wrong", &salt, DEFAULT_ITERATIONS, &auth);
        assert_eq!(
            ex.finish(&format!("{without_proof},p={bad}")),
            Err(ScramError::Rejected)
        );
        let good = client_proof("right", &salt, DEFAULT_ITERATIONS, &auth);
        assert!(ex.finish(&format!("{without_proof},p={good}")).is_ok());
        // A replayed final message with another nonce is refused.
        assert!(matches!(
            ex.finish(&format!("c=biws,r=abcXYZ,p={good}")),
            Err(ScramError::Malformed(_))
        ));
    }

    #[test]
    fn verifier_round_trips_and_keeps_no_password() {
        let v = Verifier::new("s3cret").unwrap();
        let text = v.to_string();
        assert!(text.starts_with("SCRAM-SHA-256$4096:"));
        assert!(!text.contains("s3cret"));
        assert_eq!(text.parse::<Verifier>().unwrap(), v);
        for bad in [
            "s3cret",
            "SCRAM-SHA-256$x:AAAA$AAAA:AAAA",
            "SCRAM-SHA-256$4096:AAAA$AAAA:AAAA",
            "md5abcdef",
        ] {
            assert!(bad.parse::<Verifier>().is_err(), "{bad}");
        }
    }

    #[test]
    fn malformed_first_messages_are_refused() {
        let v = Verifier::new("x").unwrap();
        for msg in [
            "",
            "n",
            "n,,",
            "q,,n=,r=a",
            "p=tls-server-end-point,,n=,r=a",
            "n,,n=,r=a,m=ext",
        ] {
            assert!(
                ScramExchange::start(v.clone(), msg, "b").is_err(),
                "{msg:?}"
            );
        }
    }

    #[test]
    fn decoys_are_stable_per_user() {
        let a = decoy_verifier("nobody", b"k");
        assert_eq!(a, decoy_verifier("nobody", b"k"));
        assert_ne!(a.salt, decoy_verifier("other", b"k").salt);
    }

    #[test]
    fn roles_are_ordered() {
        let p = Principal {
            user: "m".into(),
            role: Role::Moderator,
            tenant: None,
        };
        assert!(p.can(Role::Viewer) && p.can(Role::Moderator) && !p.can(Role::Admin));
        assert_eq!("admin".parse::<Role>(), Ok(Role::Admin));
        assert!("root".parse::<Role>().is_err());
    }
}
