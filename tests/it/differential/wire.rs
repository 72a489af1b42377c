//! A minimal client of PostgreSQL's simple-query protocol, the one psql
//! speaks. The differential test needs what tokio-postgres's simple queries
//! do not give: each column's type OID from the RowDescription, next to the
//! values as text, exactly as the server sent them.

use std::path::Path;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};

use crate::common::startup_packet;

trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// A server to connect to.
#[derive(Clone, Debug)]
pub enum Target {
    /// OKO on loopback TCP.
    Tcp(u16),
    /// PostgreSQL on the Unix socket in this folder (port 5432).
    Unix(std::path::PathBuf),
}

/// An error the server reported.
#[derive(Clone, Debug, PartialEq)]
pub struct DbError {
    pub code: String,
    pub message: String,
}

/// What one statement returned when it did not fail.
#[derive(Clone, Debug, Default)]
pub struct Rows {
    /// `(name, type OID)` per column; `None` for a statement without a
    /// RowDescription (`SET`, …).
    pub columns: Option<Vec<(String, u32)>>,
    /// Each row's values in text format; `None` is SQL NULL.
    pub rows: Vec<Vec<Option<String>>>,
    /// The data of a `COPY … TO STDOUT`, concatenated.
    pub copy: Option<String>,
}

/// A statement's answer: its rows, or the error that ended it.
pub type Answer = Result<Rows, DbError>;

/// One connection speaking the simple-query protocol.
pub struct Wire {
    io: BufReader<Box<dyn Io>>,
}

impl Wire {
    /// Connects as `oko` to `database` with the session time zone UTC
    /// (sent as a startup parameter, so both servers start on the same
    /// clock and `SHOW TimeZone` reads the same). Only trust
    /// authentication is supported: both servers of the test trust.
    pub async fn connect(target: &Target, database: &str) -> std::io::Result<Wire> {
        let io: Box<dyn Io> = match target {
            Target::Tcp(port) => {
                Box::new(tokio::net::TcpStream::connect(("127.0.0.1", *port)).await?)
            }
            Target::Unix(dir) => Box::new(tokio::net::UnixStream::connect(socket(dir)).await?),
        };
        let mut wire = Wire {
            io: BufReader::new(io),
        };
        let packet = startup_packet(&[
            ("user", "oko"),
            ("database", database),
            ("TimeZone", "UTC"),
            ("client_encoding", "UTF8"),
        ]);
        wire.io.get_mut().write_all(&packet).await?;
        loop {
            let (tag, body) = wire.read().await?;
            match tag {
                b'R' if body.get(..4) == Some(&[0, 0, 0, 0]) => {}
                b'R' => return Err(other("the server asks for a password")),
                b'E' => {
                    let e = error_fields(&body);
                    return Err(other(&format!("{}: {}", e.code, e.message)));
                }
                b'Z' => return Ok(wire),
                _ => {}
            }
        }
    }

    /// Runs one simple query and collects its answer. A query that does not
    /// finish within `limit` gives an `Err` (the connection is then unusable).
    pub async fn query(&mut self, sql: &str, limit: Duration) -> std::io::Result<Answer> {
        match tokio::time::timeout(limit, self.query_inner(sql)).await {
            Ok(r) => r,
            Err(_) => Err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                format!("no answer within {} s", limit.as_secs()),
            )),
        }
    }

    async fn query_inner(&mut self, sql: &str) -> std::io::Result<Answer> {
        let mut msg = vec![b'Q'];
        msg.extend_from_slice(&((sql.len() + 5) as i32).to_be_bytes());
        msg.extend_from_slice(sql.as_bytes());
        msg.push(0);
        self.io.get_mut().write_all(&msg).await?;
        let mut rows = Rows::default();
        let mut error = None;
        loop {
            let (tag, body) = self.read().await?;
            match tag {
                b'T' => rows.columns = Some(row_description(&body)?),
                b'D' => rows.rows.push(data_row(&body)?),
                b'E' => error = Some(error_fields(&body)),
                b'H' => rows.copy = Some(String::new()),
                b'd' => {
                    if let Some(copy) = rows.copy.as_mut() {
                        copy.push_str(&String::from_utf8_lossy(&body));
                    }
                }
                // COPY FROM STDIN is not part of the corpus: refuse to send
                // data, which ends the statement with an error.
                b'G' => {
                    let reason = b"the differential test sends no COPY data\0";
                    let mut fail = vec![b'f'];
                    fail.extend_from_slice(&((reason.len() + 4) as i32).to_be_bytes());
                    fail.extend_from_slice(reason);
                    self.io.get_mut().write_all(&fail).await?;
                }
                b'Z' => break,
                _ => {}
            }
        }
        Ok(match error {
            Some(e) => Err(e),
            None => Ok(rows),
        })
    }

    /// Loads rows into `table` with `COPY … FROM STDIN` (text format: the
    /// caller escapes the values).
    pub async fn copy_in(&mut self, copy_sql: &str, data: &[u8]) -> std::io::Result<Answer> {
        let mut msg = vec![b'Q'];
        msg.extend_from_slice(&((copy_sql.len() + 5) as i32).to_be_bytes());
        msg.extend_from_slice(copy_sql.as_bytes());
        msg.push(0);
        self.io.get_mut().write_all(&msg).await?;
        let mut error = None;
        loop {
            let (tag, body) = self.read().await?;
            match tag {
                b'G' => {
                    for chunk in data.chunks(1 << 20) {
                        let mut d = vec![b'd'];
                        d.extend_from_slice(&((chunk.len() + 4) as i32).to_be_bytes());
                        d.extend_from_slice(chunk);
                        self.io.get_mut().write_all(&d).await?;
                    }
                    self.io.get_mut().write_all(&[b'c', 0, 0, 0, 4]).await?;
                }
                b'E' => error = Some(error_fields(&body)),
                b'Z' => break,
                _ => {}
            }
        }
        Ok(match error {
            Some(e) => Err(e),
            None => Ok(Rows::default()),
        })
    }

    async fn read(&mut self) -> std::io::Result<(u8, Vec<u8>)> {
        let tag = self.io.read_u8().await?;
        let len = self.io.read_i32().await?;
        if !(4..=(1 << 30)).contains(&len) {
            return Err(other(&format!("a message of length {len}")));
        }
        let mut body = vec![0; len as usize - 4];
        self.io.read_exact(&mut body).await?;
        Ok((tag, body))
    }
}

fn socket(dir: &Path) -> std::path::PathBuf {
    dir.join(".s.PGSQL.5432")
}

fn other(msg: &str) -> std::io::Error {
    std::io::Error::other(msg.to_string())
}

/// Reads the body of a message field by field.
struct Cursor<'a> {
    body: &'a [u8],
    at: usize,
}

impl Cursor<'_> {
    fn take(&mut self, n: usize) -> std::io::Result<&[u8]> {
        let end = self.at + n;
        let s = self
            .body
            .get(self.at..end)
            .ok_or_else(|| other("a truncated message"))?;
        self.at = end;
        Ok(s)
    }
    fn i16(&mut self) -> std::io::Result<i16> {
        let b = self.take(2)?;
        Ok(i16::from_be_bytes([b[0], b[1]]))
    }
    fn i32(&mut self) -> std::io::Result<i32> {
        let b = self.take(4)?;
        Ok(i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn cstr(&mut self) -> std::io::Result<String> {
        let rest = &self.body[self.at.min(self.body.len())..];
        let n = rest
            .iter()
            .position(|&b| b == 0)
            .ok_or_else(|| other("an unterminated string"))?;
        let s = String::from_utf8_lossy(&rest[..n]).into_owned();
        self.at += n + 1;
        Ok(s)
    }
}

fn row_description(body: &[u8]) -> std::io::Result<Vec<(String, u32)>> {
    let mut c = Cursor { body, at: 0 };
    let n = c.i16()?;
    let mut columns = Vec::new();
    for _ in 0..n {
        let name = c.cstr()?;
        c.take(6)?; // table oid, column number
        let oid = c.i32()? as u32;
        c.take(8)?; // type size, modifier, format
        columns.push((name, oid));
    }
    Ok(columns)
}

fn data_row(body: &[u8]) -> std::io::Result<Vec<Option<String>>> {
    let mut c = Cursor { body, at: 0 };
    let n = c.i16()?;
    let mut row = Vec::new();
    for _ in 0..n {
        let len = c.i32()?;
        if len < 0 {
            row.push(None);
        } else {
            row.push(Some(
                String::from_utf8_lossy(c.take(len as usize)?).into_owned(),
            ));
        }
    }
    Ok(row)
}

fn error_fields(body: &[u8]) -> DbError {
    let mut e = DbError {
        code: String::new(),
        message: String::new(),
    };
    let mut c = Cursor { body, at: 0 };
    while let Ok(kind) = c.take(1).map(|b| b[0]) {
        if kind == 0 {
            break;
        }
        let Ok(value) = c.cstr() else { break };
        match kind {
            b'C' => e.code = value,
            b'M' => e.message = value,
            _ => {}
        }
    }
    e
}
