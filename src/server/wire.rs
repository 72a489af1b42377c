//! The wire guard: every byte a client sends passes through here before the
//! protocol library (pgwire) decodes it.
//!
//! pgwire's decoders trust the lengths inside a message; a truncated or
//! forged message can make them panic or close the connection without a
//! word. So each connection is served in two halves joined by a local
//! socket pair: this module owns the client's socket (TLS included), checks
//! every message's framing and fields, and passes on only well-formed
//! messages. A malformed one becomes an error the client can read:
//! - inside a session, it is replaced by a marker statement that the
//!   session answers with the error ([`MARKER`]), so the error arrives in
//!   order with the answers to the messages before it, and the extended
//!   protocol's usual recovery (discard until `Sync`) applies;
//! - a message that breaks the framing itself (a length out of bounds, an
//!   unknown type) gets a `FATAL` error and the connection ends.
//!
//! Limits: a message may be at most [`MAX_MESSAGE`] bytes; a startup
//! packet at most 10 000 (PostgreSQL's own limit).

use std::io;
use std::net::SocketAddr;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpStream, UnixStream};

use super::errors::code;

/// Largest message a client may send (a query text, a bind with its
/// parameters).
pub const MAX_MESSAGE: usize = 64 << 20;
const MAX_STARTUP: usize = 10_000;

/// A statement text no client sends: the session answers it with the error
/// it names (`<MARKER><sqlstate> <fatal 0|1> <message>`).
pub const MARKER: &str = "\u{1}oko-wire-error ";

const SSL_REQUEST: i32 = 80_877_103;
const GSSENC_REQUEST: i32 = 80_877_104;
const CANCEL_REQUEST: i32 = 80_877_102;

/// What the guard learned about the client before handing it on.
#[derive(Debug, Clone, Copy)]
pub struct Peer {
    pub addr: Option<SocketAddr>,
    /// The connection is encrypted.
    pub secure: bool,
}

pub type ClientStream = Box<dyn AsyncStream>;
pub trait AsyncStream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> AsyncStream for T {}

/// Takes a new TCP connection through TLS negotiation; returns the stream
/// to serve, what the session should know, and the startup packet.
pub async fn accept(
    mut tcp: TcpStream,
    tls: Option<&pgwire::tokio::TlsAcceptor>,
) -> io::Result<(ClientStream, Peer, Vec<u8>)> {
    let addr = tcp.peer_addr().ok();
    // Direct TLS (PostgreSQL 17's sslnegotiation=direct): a TLS ClientHello.
    let mut first = [0u8; 1];
    if tcp.peek(&mut first).await? == 1
        && first[0] == 0x16
        && let Some(acceptor) = tls
    {
        let mut stream = acceptor.accept(tcp).await?;
        let packet = read_past_requests(&mut stream).await?;
        return Ok((Box::new(stream), Peer { addr, secure: true }, packet));
    }
    loop {
        let packet = read_startup_packet(&mut tcp).await?;
        match (code_of(&packet), packet.len(), tls) {
            (SSL_REQUEST, 8, Some(acceptor)) => {
                tcp.write_all(b"S").await?;
                tcp.flush().await?;
                let mut stream = acceptor.accept(tcp).await?;
                let packet = read_past_requests(&mut stream).await?;
                return Ok((Box::new(stream), Peer { addr, secure: true }, packet));
            }
            (SSL_REQUEST | GSSENC_REQUEST, 8, _) => {
                tcp.write_all(b"N").await?;
                tcp.flush().await?;
            }
            _ => {
                return Ok((
                    Box::new(tcp),
                    Peer {
                        addr,
                        secure: false,
                    },
                    packet,
                ));
            }
        }
    }
}

fn code_of(packet: &[u8]) -> i32 {
    i32::from_be_bytes([packet[4], packet[5], packet[6], packet[7]])
}

/// The startup packet on an encrypted stream (encryption requests again
/// are answered "no").
async fn read_past_requests<S: AsyncRead + AsyncWrite + Unpin>(s: &mut S) -> io::Result<Vec<u8>> {
    loop {
        let packet = read_startup_packet(s).await?;
        if matches!(code_of(&packet), SSL_REQUEST | GSSENC_REQUEST) && packet.len() == 8 {
            s.write_all(b"N").await?;
            s.flush().await?;
            continue;
        }
        return Ok(packet);
    }
}

/// Reads one untyped packet (startup, SSL request, cancel request) whole,
/// with its length; refuses absurd lengths.
async fn read_startup_packet<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
) -> io::Result<Vec<u8>> {
    let mut len = [0u8; 4];
    stream.read_exact(&mut len).await?;
    let n = i32::from_be_bytes(len);
    if n < 8 || n as usize > MAX_STARTUP {
        let _ = stream
            .write_all(&fatal_bytes(
                code::PROTOCOL_VIOLATION,
                &format!("invalid startup packet length {n}"),
            ))
            .await;
        return Err(io::Error::other("invalid startup packet length"));
    }
    let mut packet = vec![0u8; n as usize];
    packet[..4].copy_from_slice(&len);
    stream.read_exact(&mut packet[4..]).await?;
    Ok(packet)
}

/// Relays a client to the protocol handler over `server`, checking every
/// message on the way in. `first` is the startup packet already read.
pub async fn relay(mut client: ClientStream, first: Vec<u8>, server: UnixStream) {
    let code = code_of(&first);
    if let Err(Bad::Fatal(c, m)) = check_startup(&first, code) {
        // Nothing reached the handler yet: answer directly.
        tracing::debug!("refused at startup: {m}");
        let _ = client.write_all(&fatal_bytes(c, &m)).await;
        let _ = client.shutdown().await;
        return;
    }
    let (mut client_read, mut client_write) = tokio::io::split(client);
    let (mut server_read, mut server_write) = server.into_split();
    let outbound = tokio::spawn(async move {
        let _ = tokio::io::copy(&mut server_read, &mut client_write).await;
        let _ = client_write.shutdown().await;
    });
    let inbound = async {
        server_write.write_all(&first).await?;
        if code == CANCEL_REQUEST {
            return Ok::<(), Bad>(());
        }
        let mut passwords = 0usize;
        loop {
            let (kind, body) = match read_message(&mut client_read).await {
                Ok(m) => m,
                Err(Bad::Fatal(c, m)) => {
                    // In order, through the session: it sends the error and
                    // the handler closes the connection.
                    server_write
                        .write_all(&marker_query(b'Q', c, &m, true))
                        .await?;
                    return Ok(());
                }
                Err(other) => return Err(other),
            };
            let forwarded = match check_message(kind, &body, &mut passwords) {
                Ok(()) => frame(kind, &body),
                Err(Bad::Replace(c, m)) => {
                    tracing::debug!("replaced a malformed message: {m}");
                    marker_query(kind, c, &m, false)
                }
                Err(Bad::Fatal(c, m)) => {
                    server_write
                        .write_all(&marker_query(b'Q', c, &m, true))
                        .await?;
                    return Ok(());
                }
                Err(Bad::Gone) => return Err(Bad::Gone),
            };
            server_write.write_all(&forwarded).await?;
            if kind == b'X' {
                return Ok(());
            }
        }
    };
    let _ = inbound.await;
    // The handler sees the end of its input once it has answered.
    let _ = server_write.shutdown().await;
    let _ = outbound.await;
}

/// Why a message is not passed on as it is.
#[derive(Debug)]
enum Bad {
    /// Replace it by an error the session sends (the connection goes on).
    Replace(&'static str, String),
    /// End the connection with this error.
    Fatal(&'static str, String),
    /// The client or the handler went away.
    Gone,
}

impl From<io::Error> for Bad {
    fn from(_: io::Error) -> Self {
        Bad::Gone
    }
}

fn check_startup(packet: &[u8], code: i32) -> Result<(), Bad> {
    let fatal = |m: &str| Bad::Fatal(code::PROTOCOL_VIOLATION, m.to_string());
    if code == CANCEL_REQUEST {
        return if packet.len() >= 16 {
            Ok(())
        } else {
            Err(fatal("invalid cancel request"))
        };
    }
    if code >> 16 != 3 {
        return Err(Bad::Fatal(
            code::FEATURE_NOT_SUPPORTED,
            format!(
                "unsupported frontend protocol {}.{}: only 3.x is spoken",
                code >> 16,
                code & 0xffff
            ),
        ));
    }
    // key\0value\0 … \0
    let body = &packet[8..];
    if body.last() != Some(&0) {
        return Err(fatal("the startup packet does not end with a terminator"));
    }
    let fields: Vec<&[u8]> = body[..body.len() - 1].split(|b| *b == 0).collect();
    let fields = if fields.last().is_some_and(|f| f.is_empty()) {
        &fields[..fields.len() - 1]
    } else {
        &fields[..]
    };
    if fields.len() % 2 != 0 || fields.iter().any(|f| std::str::from_utf8(f).is_err()) {
        return Err(fatal("the startup packet's parameters are malformed"));
    }
    Ok(())
}

async fn read_message<R: AsyncRead + Unpin>(r: &mut R) -> Result<(u8, Vec<u8>), Bad> {
    let mut head = [0u8; 5];
    r.read_exact(&mut head).await?;
    let kind = head[0];
    let len = i32::from_be_bytes([head[1], head[2], head[3], head[4]]);
    if len < 4 {
        return Err(Bad::Fatal(
            code::PROTOCOL_VIOLATION,
            format!("invalid message length {len}"),
        ));
    }
    let n = len as usize - 4;
    if n > MAX_MESSAGE {
        return Err(Bad::Fatal(
            "54000",
            format!("a message of {n} bytes is over the limit of {MAX_MESSAGE}"),
        ));
    }
    if !b"QPBEDCSHXFpdcf".contains(&kind) {
        return Err(Bad::Fatal(
            code::PROTOCOL_VIOLATION,
            format!("invalid frontend message type {}", kind as char),
        ));
    }
    let mut body = vec![0u8; n];
    r.read_exact(&mut body).await?;
    Ok((kind, body))
}

/// A cursor over a message body that never reads past its end.
struct Body<'a>(&'a [u8]);

impl<'a> Body<'a> {
    fn cstr(&mut self) -> Option<&'a str> {
        let end = self.0.iter().position(|b| *b == 0)?;
        let (s, rest) = self.0.split_at(end);
        self.0 = &rest[1..];
        std::str::from_utf8(s).ok()
    }
    fn i16(&mut self) -> Option<i16> {
        let (b, rest) = self.0.split_first_chunk::<2>()?;
        self.0 = rest;
        Some(i16::from_be_bytes(*b))
    }
    fn i32(&mut self) -> Option<i32> {
        let (b, rest) = self.0.split_first_chunk::<4>()?;
        self.0 = rest;
        Some(i32::from_be_bytes(*b))
    }
    fn skip(&mut self, n: usize) -> Option<()> {
        self.0 = self.0.get(n..)?;
        Some(())
    }
    fn done(&self) -> Option<()> {
        self.0.is_empty().then_some(())
    }
}

fn check_message(kind: u8, body: &[u8], passwords: &mut usize) -> Result<(), Bad> {
    let malformed = || {
        Bad::Replace(
            code::PROTOCOL_VIOLATION,
            format!("malformed {} message", name(kind)),
        )
    };
    let mut b = Body(body);
    let ok = match kind {
        b'Q' => {
            let Some(end) = body.iter().position(|c| *c == 0) else {
                return Err(malformed());
            };
            if end + 1 != body.len() {
                return Err(malformed());
            }
            if std::str::from_utf8(&body[..end]).is_err() {
                return Err(Bad::Replace(
                    "22021",
                    "invalid byte sequence for encoding \"UTF8\" in the query".into(),
                ));
            }
            Some(())
        }
        b'P' => (|| {
            b.cstr()?;
            b.cstr()?;
            let n = b.i16()?;
            if n < 0 {
                return None;
            }
            b.skip(n as usize * 4)?;
            b.done()
        })(),
        b'B' => (|| {
            b.cstr()?;
            b.cstr()?;
            let nf = b.i16()?;
            for _ in 0..nf.max(0) {
                if !matches!(b.i16()?, 0 | 1) {
                    return None;
                }
            }
            let np = b.i16()?;
            for _ in 0..np.max(0) {
                let len = b.i32()?;
                if len >= 0 {
                    b.skip(len as usize)?;
                } else if len != -1 {
                    return None;
                }
            }
            let nr = b.i16()?;
            for _ in 0..nr.max(0) {
                if !matches!(b.i16()?, 0 | 1) {
                    return None;
                }
            }
            (nf >= 0 && np >= 0 && nr >= 0).then_some(())?;
            b.done()
        })(),
        b'D' | b'C' => (|| {
            let (which, rest) = b.0.split_first()?;
            if !matches!(which, b'S' | b'P') {
                return None;
            }
            b.0 = rest;
            b.cstr()?;
            b.done()
        })(),
        b'E' => (|| {
            b.cstr()?;
            b.i32()?;
            b.done()
        })(),
        b'S' | b'H' | b'X' => b.done(),
        b'p' => {
            *passwords += 1;
            if *passwords == 1 {
                // SASLInitialResponse: mechanism\0, length, data.
                (|| {
                    b.cstr()?;
                    let n = b.i32()?;
                    if n >= 0 {
                        b.skip(n as usize)?;
                    } else if n != -1 {
                        return None;
                    }
                    b.done()
                })()
            } else {
                Some(())
            }
        }
        b'F' => {
            return Err(Bad::Replace(
                code::FEATURE_NOT_SUPPORTED,
                "the fastpath function call protocol is not supported".into(),
            ));
        }
        // CopyData/CopyDone/CopyFail outside a COPY (OKO refuses COPY).
        _ => {
            return Err(Bad::Fatal(
                code::PROTOCOL_VIOLATION,
                format!("unexpected {} message", name(kind)),
            ));
        }
    };
    match (ok, kind) {
        (Some(()), _) => Ok(()),
        // A malformed password message ends the login.
        (None, b'p') => Err(Bad::Fatal(
            code::PROTOCOL_VIOLATION,
            "malformed authentication message".into(),
        )),
        (None, b'S' | b'H' | b'X') => Err(Bad::Fatal(
            code::PROTOCOL_VIOLATION,
            format!("malformed {} message", name(kind)),
        )),
        (None, _) => Err(malformed()),
    }
}

fn name(kind: u8) -> &'static str {
    match kind {
        b'Q' => "Query",
        b'P' => "Parse",
        b'B' => "Bind",
        b'E' => "Execute",
        b'D' => "Describe",
        b'C' => "Close",
        b'S' => "Sync",
        b'H' => "Flush",
        b'X' => "Terminate",
        b'F' => "FunctionCall",
        b'p' => "password",
        b'd' => "CopyData",
        b'c' => "CopyDone",
        b'f' => "CopyFail",
        _ => "unknown",
    }
}

fn frame(kind: u8, body: &[u8]) -> Vec<u8> {
    let mut m = Vec::with_capacity(body.len() + 5);
    m.push(kind);
    m.extend_from_slice(&((body.len() + 4) as i32).to_be_bytes());
    m.extend_from_slice(body);
    m
}

/// The message that makes the session send an error in place of a
/// malformed one: a simple query for `Q`, a Parse for extended messages
/// (whose error then waits for `Sync`, as PostgreSQL's does).
fn marker_query(kind: u8, code: &str, message: &str, fatal: bool) -> Vec<u8> {
    let text = format!("{MARKER}{code} {} {message}", u8::from(fatal));
    let mut body = Vec::new();
    if kind == b'Q' {
        body.extend_from_slice(text.as_bytes());
        body.push(0);
        frame(b'Q', &body)
    } else {
        body.push(0); // unnamed statement
        body.extend_from_slice(text.as_bytes());
        body.push(0);
        body.extend_from_slice(&0i16.to_be_bytes());
        frame(b'P', &body)
    }
}

/// The error a marker statement stands for: (SQLSTATE, fatal, message).
pub fn marker_error(sql: &str) -> Option<(String, bool, String)> {
    let rest = sql.strip_prefix(MARKER)?;
    let (code, rest) = rest.split_once(' ')?;
    let (fatal, message) = rest.split_once(' ')?;
    Some((code.to_string(), fatal == "1", message.to_string()))
}

/// An ErrorResponse with severity FATAL, as bytes.
fn fatal_bytes(code: &str, message: &str) -> Vec<u8> {
    let mut body = Vec::new();
    for (field, value) in [
        (b'S', "FATAL"),
        (b'V', "FATAL"),
        (b'C', code),
        (b'M', message),
    ] {
        body.push(field);
        body.extend_from_slice(value.as_bytes());
        body.push(0);
    }
    body.push(0);
    frame(b'E', &body)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(kind: u8, body: &[u8]) -> Result<(), Bad> {
        check_message(kind, body, &mut 1)
    }

    #[test]
    fn well_formed_messages_pass() {
        assert!(check(b'Q', b"SELECT 1\0").is_ok());
        assert!(check(b'P', b"s\0SELECT $1\0\x00\x01\x00\x00\x00\x17").is_ok());
        let bind = b"\0s\0\x00\x01\x00\x00\x00\x01\x00\x00\x00\x0242\x00\x01\x00\x01";
        assert!(check(b'B', bind).is_ok());
        assert!(check(b'E', b"\0\0\0\0\0").is_ok());
        assert!(check(b'D', b"Ss\0").is_ok());
        assert!(check(b'S', b"").is_ok());
    }

    #[test]
    fn malformed_messages_are_replaced_or_fatal() {
        assert!(matches!(
            check(b'Q', b"SELECT '\xff'\0"),
            Err(Bad::Replace("22021", _))
        ));
        assert!(matches!(check(b'Q', b"SELECT 1"), Err(Bad::Replace(_, _))));
        assert!(matches!(
            check(b'Q', b"SEL\0ECT\0"),
            Err(Bad::Replace(_, _))
        ));
        // A parameter longer than the message.
        let bind = b"\0s\0\x00\x00\x00\x01\x04\x00\x00\x00ab\x00\x00";
        assert!(matches!(check(b'B', bind), Err(Bad::Replace(_, _))));
        // A negative count.
        assert!(matches!(
            check(b'P', b"s\0q\0\xff\xff"),
            Err(Bad::Replace(_, _))
        ));
        assert!(matches!(check(b'S', b"x"), Err(Bad::Fatal(_, _))));
        assert!(matches!(check(b'd', b"x"), Err(Bad::Fatal(_, _))));
    }

    #[test]
    fn markers_round_trip() {
        let m = marker_query(b'Q', "22021", "bad bytes", false);
        let text = std::str::from_utf8(&m[5..m.len() - 1]).unwrap();
        assert_eq!(
            marker_error(text),
            Some(("22021".into(), false, "bad bytes".into()))
        );
        assert_eq!(marker_error("SELECT 1"), None);
    }
}
