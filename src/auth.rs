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

/// What a user may do (SPEC.md §7). Every role reads; a `supervisor`
/// also records the contact centre's manual figures and lead notes, a
/// `moderator` rating moderations and lead notes, an `admin` everything
/// (facts, deletes, loads, management). Neither of supervisor and
/// moderator may do all the other may: [`Role::may_insert`] says who
/// writes what; the order (`>=`) only ranks them for reading and managing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Reads tables and reports.
    Viewer,
    /// Also inserts `manual_stats` and `lead_notes`.
    Supervisor,
    /// Also inserts `rating_moderations` and `lead_notes`.
    Moderator,
    /// Also inserts facts, deletes, loads and manages.
    Admin,
}

impl Role {
    pub fn name(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Supervisor => "supervisor",
            Role::Moderator => "moderator",
            Role::Admin => "admin",
        }
    }

    /// Whether this role may `INSERT` into the table named `table`.
    pub fn may_insert(self, table: &str) -> bool {
        match self {
            Role::Admin => true,
            Role::Moderator => matches!(table, "rating_moderations" | "lead_notes"),
            Role::Supervisor => matches!(table, "manual_stats" | "lead_notes"),
            Role::Viewer => false,
        }
    }

    /// The roles that may `INSERT` into `table`, the least first.
    pub fn inserting(table: &str) -> Vec<Role> {
        [Role::Supervisor, Role::Moderator, Role::Admin]
            .into_iter()
            .filter(|r| r.may_insert(table))
            .collect()
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
            "supervisor" => Ok(Role::Supervisor),
            "moderator" => Ok(Role::Moderator),
            "admin" => Ok(Role::Admin),
            other => Err(format!(
                "unknown role `{other}`; the roles are viewer, supervisor, moderator, admin"
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

/// Channel binding (RFC 5802 §6, `tls-server-end-point` of RFC 5929) of
/// one exchange.
#[derive(Debug, Clone, Copy)]
pub enum Binding<'a> {
    /// Plaintext: no binding possible; SCRAM-SHA-256 only.
    Unavailable,
    /// TLS, SCRAM-SHA-256-PLUS offered, the client chose SCRAM-SHA-256:
    /// a client that says it could bind (`y`) was downgraded and is
    /// refused.
    Offered(&'a [u8]),
    /// The client chose SCRAM-SHA-256-PLUS: it must bind to this data
    /// (the hash of the server's certificate).
    Required(&'a [u8]),
}

/// The `tls-server-end-point` binding data of a DER certificate: its hash
/// with the hash function of its signature algorithm, SHA-256 when that is
/// MD5, SHA-1 or SHA-256 (RFC 5929 §4.1), SHA-384/512 for those.
pub fn tls_server_end_point(cert_der: &[u8]) -> Vec<u8> {
    // The OIDs' DER contents: sha384/512WithRSAEncryption, ecdsa-with-
    // SHA384/512.
    const SHA384: [&[u8]; 2] = [
        &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0c],
        &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x03],
    ];
    const SHA512: [&[u8]; 2] = [
        &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0d],
        &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x04],
    ];
    let algorithm = signature_algorithm(cert_der).unwrap_or_default();
    let hash = if SHA384.contains(&algorithm) {
        &digest::SHA384
    } else if SHA512.contains(&algorithm) {
        &digest::SHA512
    } else {
        &digest::SHA256
    };
    digest::digest(hash, cert_der).as_ref().to_vec()
}

/// The signature algorithm OID (its DER contents) of an X.509 certificate:
/// `Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm
/// SEQUENCE { algorithm OID, … }, signature }`.
fn signature_algorithm(der: &[u8]) -> Option<&[u8]> {
    /// One DER element at the start of `data`: (tag, contents, rest).
    fn element(data: &[u8]) -> Option<(u8, &[u8], &[u8])> {
        let (&tag, rest) = data.split_first()?;
        let (&first, rest) = rest.split_first()?;
        let (len, rest) = if first < 0x80 {
            (first as usize, rest)
        } else {
            let n = (first & 0x7f) as usize;
            if n == 0 || n > 4 || rest.len() < n {
                return None;
            }
            let len = rest[..n]
                .iter()
                .fold(0usize, |acc, b| (acc << 8) | *b as usize);
            (len, &rest[n..])
        };
        if rest.len() < len {
            return None;
        }
        Some((tag, &rest[..len], &rest[len..]))
    }
    let (0x30, certificate, _) = element(der)? else {
        return None;
    };
    let (_, _tbs, rest) = element(certificate)?;
    let (0x30, algorithm, _) = element(rest)? else {
        return None;
    };
    let (0x06, oid, _) = element(algorithm)? else {
        return None;
    };
    Some(oid)
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
    /// The GS2 header the client sent and the channel binding data, echoed
    /// (base64) in its final message.
    gs2_header: Vec<u8>,
}

impl ScramExchange {
    /// Answers the client's first message (`n,,n=user,r=nonce`) with the
    /// server's (`r=…,s=…,i=…`). `server_nonce` must be fresh and random.
    pub fn start(
        verifier: Verifier,
        client_first: &str,
        server_nonce: &str,
    ) -> Result<(ScramExchange, String), ScramError> {
        Self::start_bound(verifier, client_first, server_nonce, Binding::Unavailable)
    }

    /// [`ScramExchange::start`] with the connection's channel binding.
    pub fn start_bound(
        verifier: Verifier,
        client_first: &str,
        server_nonce: &str,
        binding: Binding,
    ) -> Result<(ScramExchange, String), ScramError> {
        let malformed = |why: &str| ScramError::Malformed(why.to_string());
        // gs2-header: cbind-flag "," [authzid] ","
        let mut parts = client_first.splitn(3, ',');
        let flag = parts.next().ok_or_else(|| malformed("empty message"))?;
        let authzid = parts.next().ok_or_else(|| malformed("no GS2 header"))?;
        let bare = parts
            .next()
            .ok_or_else(|| malformed("no client-first-bare"))?;
        let bound: &[u8] = match (flag, binding) {
            ("p=tls-server-end-point", Binding::Required(data)) => data,
            (_, Binding::Required(_)) => {
                return Err(malformed(
                    "SCRAM-SHA-256-PLUS needs channel binding p=tls-server-end-point",
                ));
            }
            // The client could bind and thinks the server cannot, but the
            // server offered binding: someone in between removed it.
            ("y", Binding::Offered(_)) => {
                return Err(malformed(
                    "the client supports channel binding, which the server offered \
                     (SCRAM-SHA-256-PLUS): a downgrade",
                ));
            }
            ("n" | "y", _) => &[],
            (f, _) if f.starts_with("p=") => {
                return Err(malformed(
                    "channel binding needs the SCRAM-SHA-256-PLUS mechanism over TLS",
                ));
            }
            _ => return Err(malformed("bad channel-binding flag")),
        };
        if !authzid.is_empty() && !authzid.starts_with("a=") {
            return Err(malformed("bad authorization identity"));
        }
        let mut gs2_header = format!("{flag},{authzid},").into_bytes();
        gs2_header.extend_from_slice(bound);
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
        if B64.decode(binding).ok().as_deref() != Some(self.gs2_header.as_slice()) {
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
    fn channel_binding_is_checked_and_downgrades_refused() {
        let v = Verifier::new("pw").unwrap();
        let cert = b"certificate hash";
        // PLUS: the client must bind to exactly the server's data.
        let (ex, _) = ScramExchange::start_bound(
            v.clone(),
            "p=tls-server-end-point,,n=,r=abc",
            "def",
            Binding::Required(cert),
        )
        .unwrap();
        let mut header = b"p=tls-server-end-point,,".to_vec();
        header.extend_from_slice(cert);
        let good = format!("c={},r=abcdef,p=AAAA", B64.encode(&header));
        // (A wrong proof is rejected only after the binding matched.)
        assert_eq!(ex.finish(&good), Err(ScramError::Rejected));
        let other = format!(
            "c={},r=abcdef,p=AAAA",
            B64.encode(b"p=tls-server-end-point,,other")
        );
        assert!(matches!(ex.finish(&other), Err(ScramError::Malformed(_))));
        // PLUS without binding, or binding without PLUS.
        for (first, binding) in [
            ("n,,n=,r=abc", Binding::Required(cert)),
            ("y,,n=,r=abc", Binding::Required(cert)),
            ("p=tls-server-end-point,,n=,r=abc", Binding::Offered(cert)),
            ("p=tls-server-end-point,,n=,r=abc", Binding::Unavailable),
            ("p=tls-unique,,n=,r=abc", Binding::Required(cert)),
            // A client that could bind, told binding is not offered: a
            // downgrade when it was.
            ("y,,n=,r=abc", Binding::Offered(cert)),
        ] {
            assert!(
                ScramExchange::start_bound(v.clone(), first, "def", binding).is_err(),
                "{first}"
            );
        }
        for (first, binding) in [
            ("n,,n=,r=abc", Binding::Offered(cert)),
            ("y,,n=,r=abc", Binding::Unavailable),
        ] {
            assert!(
                ScramExchange::start_bound(v.clone(), first, "def", binding).is_ok(),
                "{first}"
            );
        }
    }

    #[test]
    fn certificate_hashes_follow_the_signature_algorithm() {
        // A minimal certificate shape: SEQUENCE { SEQUENCE {}, SEQUENCE {
        // OID }, BIT STRING }.
        let cert = |oid: &[u8]| {
            let mut alg = vec![0x06, oid.len() as u8];
            alg.extend_from_slice(oid);
            let mut body = vec![0x30, 0x00, 0x30, alg.len() as u8];
            body.extend_from_slice(&alg);
            body.extend_from_slice(&[0x03, 0x01, 0x00]);
            let mut der = vec![0x30, body.len() as u8];
            der.extend_from_slice(&body);
            der
        };
        let sha256_rsa = cert(&[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b]);
        let sha384_ec = cert(&[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x03]);
        let sha512_rsa = cert(&[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0d]);
        assert_eq!(tls_server_end_point(&sha256_rsa).len(), 32);
        assert_eq!(tls_server_end_point(&sha384_ec).len(), 48);
        assert_eq!(tls_server_end_point(&sha512_rsa).len(), 64);
        // Not a certificate: SHA-256, no panic.
        assert_eq!(tls_server_end_point(b"\x30\xff\xff").len(), 32);
        assert_eq!(tls_server_end_point(&[]).len(), 32);
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
