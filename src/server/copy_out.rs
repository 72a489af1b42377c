//! `COPY … TO STDOUT`: PostgreSQL 15's options and its three COPY formats
//! (text, CSV, binary), written from the rows the server would send for a
//! `SELECT` of the same data.
//!
//! A value's text is never computed here: rows are encoded by
//! [`super::encode`] exactly as for a query's `DataRow`s (so arrays read
//! `{a,b}`, timestamps, intervals and floats as PostgreSQL writes them), and
//! this module only frames those bytes the way `COPY` does — text format's
//! backslash escapes and `\N`, CSV's quoting and empty NULL, binary's
//! `PGCOPY` header and tuples (a binary tuple is a `DataRow` body behind a
//! field count).
//!
//! The session side (planning the query as the user's `SELECT`, streaming
//! the messages) is [`super::session`]'s; `oko query --format csv` writes its
//! output with [`Writer`] too, so it prints what `psql`'s `\copy … to stdout
//! csv header` prints.
//!
//! Not here: `COPY … FROM` (refused: rows are added with `INSERT`, exports
//! with `oko load`) and `COPY` to or from server files or programs (refused
//! with PostgreSQL's 42501).

use bytes::{BufMut, Bytes, BytesMut};
use datafusion::sql::sqlparser::ast::{CopyLegacyCsvOption, CopyLegacyOption, CopyOption, Ident};
use pgwire::error::PgWireResult;
use pgwire::messages::copy::CopyOutResponse;
use pgwire::messages::data::DataRow;

use super::errors::{code, user_error};

/// The COPY format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Text,
    Csv,
    Binary,
}

/// The options of one `COPY … TO`, checked as PostgreSQL 15 checks them
/// (its `ProcessCopyOptions`, in the same order, with its SQLSTATEs).
#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    pub kind: Kind,
    pub header: bool,
    delimiter: u8,
    null: String,
    quote: u8,
    escape: u8,
    /// `FORCE_QUOTE (a, b)`: the column names, as PostgreSQL folds them.
    force_quote: Vec<String>,
}

/// The options as written, each at most once.
#[derive(Default)]
struct Given {
    format: Option<Kind>,
    freeze: Option<bool>,
    delimiter: Option<char>,
    null: Option<String>,
    header: Option<bool>,
    quote: Option<char>,
    escape: Option<char>,
    force_quote: Option<Vec<String>>,
    force_not_null: Option<()>,
    force_null: Option<()>,
    encoding: Option<String>,
}

/// `conflicting or redundant options` unless `slot` is still empty.
fn once<T>(slot: &mut Option<T>, value: T) -> PgWireResult<()> {
    if slot.is_some() {
        return Err(user_error(
            code::SYNTAX_ERROR,
            "conflicting or redundant options",
        ));
    }
    *slot = Some(value);
    Ok(())
}

/// An identifier as PostgreSQL's parser folds it (unquoted: lower case).
fn folded(ident: &Ident) -> String {
    match ident.quote_style {
        Some('"') => ident.value.clone(),
        _ => ident.value.to_ascii_lowercase(),
    }
}

impl Options {
    /// The defaults of a format: `\t` and `\N` in text, `,` and an empty
    /// string in CSV, `"` quotes, no header.
    pub fn new(kind: Kind, header: bool) -> Options {
        let csv = kind == Kind::Csv;
        Options {
            kind,
            header,
            delimiter: if csv { b',' } else { b'\t' },
            null: if csv { String::new() } else { "\\N".into() },
            quote: b'"',
            escape: b'"',
            force_quote: vec![],
        }
    }

    /// The options of a `COPY` statement: `WITH (FORMAT csv, HEADER, …)`
    /// and the pre-9.0 forms psql's `\copy` sends (`CSV HEADER`, `BINARY`,
    /// `DELIMITER 'x'`, `NULL 'x'`, `FORCE QUOTE a, b`).
    pub fn parse(options: &[CopyOption], legacy: &[CopyLegacyOption]) -> PgWireResult<Options> {
        let mut given = Given::default();
        for option in options {
            match option {
                CopyOption::Format(name) => once(&mut given.format, format_kind(name)?)?,
                CopyOption::Freeze(on) => once(&mut given.freeze, *on)?,
                CopyOption::Delimiter(c) => once(&mut given.delimiter, *c)?,
                CopyOption::Null(s) => once(&mut given.null, s.clone())?,
                CopyOption::Header(on) => once(&mut given.header, *on)?,
                CopyOption::Quote(c) => once(&mut given.quote, *c)?,
                CopyOption::Escape(c) => once(&mut given.escape, *c)?,
                CopyOption::ForceQuote(columns) => {
                    once(&mut given.force_quote, columns.iter().map(folded).collect())?
                }
                CopyOption::ForceNotNull(_) => once(&mut given.force_not_null, ())?,
                CopyOption::ForceNull(_) => once(&mut given.force_null, ())?,
                CopyOption::Encoding(e) => once(&mut given.encoding, e.clone())?,
            }
        }
        for option in legacy {
            match option {
                CopyLegacyOption::Binary => once(&mut given.format, Kind::Binary)?,
                CopyLegacyOption::Delimiter(c) => once(&mut given.delimiter, *c)?,
                CopyLegacyOption::Null(s) => once(&mut given.null, s.clone())?,
                CopyLegacyOption::Header => once(&mut given.header, true)?,
                CopyLegacyOption::Csv(csv) => {
                    once(&mut given.format, Kind::Csv)?;
                    for option in csv {
                        match option {
                            CopyLegacyCsvOption::Header => once(&mut given.header, true)?,
                            CopyLegacyCsvOption::Quote(c) => once(&mut given.quote, *c)?,
                            CopyLegacyCsvOption::Escape(c) => once(&mut given.escape, *c)?,
                            CopyLegacyCsvOption::ForceQuote(columns) => {
                                once(&mut given.force_quote, columns.iter().map(folded).collect())?
                            }
                            CopyLegacyCsvOption::ForceNotNull(_) => {
                                once(&mut given.force_not_null, ())?
                            }
                        }
                    }
                }
                // Redshift's options, which sqlparser reads too.
                other => {
                    return Err(user_error(
                        code::SYNTAX_ERROR,
                        format!("syntax error at or near \"{other}\": not a COPY option"),
                    ));
                }
            }
        }
        given.check()
    }

    /// Is the output PostgreSQL's binary COPY format?
    pub fn is_binary(&self) -> bool {
        self.kind == Kind::Binary
    }
}

/// `FORMAT text | csv | binary`.
fn format_kind(name: &Ident) -> PgWireResult<Kind> {
    match folded(name).as_str() {
        "text" => Ok(Kind::Text),
        "csv" => Ok(Kind::Csv),
        "binary" => Ok(Kind::Binary),
        other => Err(user_error(
            code::INVALID_PARAMETER_VALUE,
            format!("COPY format \"{other}\" not recognized"),
        )),
    }
}

/// The one byte of a delimiter, quote or escape character, or PostgreSQL's
/// 0A000 for a longer one.
fn one_byte(c: char, what: &str) -> PgWireResult<u8> {
    if c.is_ascii() {
        return Ok(c as u8);
    }
    Err(user_error(
        code::FEATURE_NOT_SUPPORTED,
        format!("COPY {what} must be a single one-byte character"),
    ))
}

fn not_supported(message: &str) -> PgWireResult<Options> {
    Err(user_error(code::FEATURE_NOT_SUPPORTED, message.to_string()))
}

fn invalid(message: impl Into<String>) -> PgWireResult<Options> {
    Err(user_error(code::INVALID_PARAMETER_VALUE, message))
}

impl Given {
    fn check(self) -> PgWireResult<Options> {
        let kind = self.format.unwrap_or(Kind::Text);
        let (csv, binary) = (kind == Kind::Csv, kind == Kind::Binary);
        if let Some(encoding) = &self.encoding {
            // PostgreSQL compares encoding names without case or punctuation.
            let name: String = encoding
                .chars()
                .filter(char::is_ascii_alphanumeric)
                .collect::<String>()
                .to_ascii_lowercase();
            if !matches!(name.as_str(), "utf8" | "unicode") {
                return not_supported(&format!(
                    "COPY ENCODING '{encoding}' is not supported: OKO writes UTF8"
                ));
            }
        }
        if binary {
            for (given, what) in [
                (self.delimiter.is_some(), "DELIMITER"),
                (self.null.is_some(), "NULL"),
            ] {
                if given {
                    return Err(user_error(
                        code::SYNTAX_ERROR,
                        format!("cannot specify {what} in BINARY mode"),
                    ));
                }
            }
        }
        let mut options = Options::new(kind, self.header.unwrap_or(false));
        if let Some(d) = self.delimiter {
            options.delimiter = one_byte(d, "delimiter")?;
        }
        if let Some(null) = self.null {
            options.null = null;
        }
        let delimiter = options.delimiter;
        if delimiter == b'\n' || delimiter == b'\r' {
            return invalid("COPY delimiter cannot be newline or carriage return");
        }
        if options.null.contains(['\n', '\r']) {
            return invalid("COPY null representation cannot use newline or carriage return");
        }
        // Text format: a delimiter that would read as part of an escape.
        if !csv && !binary && b"\\.abcdefghijklmnopqrstuvwxyz0123456789".contains(&delimiter) {
            return invalid(format!(
                "COPY delimiter cannot be \"{}\"",
                delimiter as char
            ));
        }
        if binary && options.header {
            return not_supported("cannot specify HEADER in BINARY mode");
        }
        if let Some(q) = self.quote {
            if !csv {
                return not_supported("COPY quote available only in CSV mode");
            }
            options.quote = one_byte(q, "quote")?;
        }
        options.escape = options.quote;
        if csv && delimiter == options.quote {
            return invalid("COPY delimiter and quote must be different");
        }
        if let Some(e) = self.escape {
            if !csv {
                return not_supported("COPY escape available only in CSV mode");
            }
            options.escape = one_byte(e, "escape")?;
        }
        if let Some(columns) = self.force_quote {
            if !csv {
                return not_supported("COPY force quote available only in CSV mode");
            }
            options.force_quote = columns;
        }
        if self.force_not_null.is_some() {
            if !csv {
                return not_supported("COPY force not null available only in CSV mode");
            }
            return not_supported("COPY force not null only available using COPY FROM");
        }
        if self.force_null.is_some() {
            if !csv {
                return not_supported("COPY force null available only in CSV mode");
            }
            return not_supported("COPY force null only available using COPY FROM");
        }
        if !binary && options.null.as_bytes().contains(&delimiter) {
            return not_supported("COPY delimiter must not appear in the NULL specification");
        }
        if csv && options.null.as_bytes().contains(&options.quote) {
            return not_supported("CSV quote character must not appear in the NULL specification");
        }
        Ok(options)
    }
}

/// Writes the CopyData messages of one `COPY … TO`: header, one message per
/// row (clients such as psycopg read a message as a row), trailer.
#[derive(Debug)]
pub struct Writer {
    options: Options,
    /// The output columns' names (PostgreSQL's: `?column?`, `count`).
    names: Vec<String>,
    /// Per column: quote every non-NULL value (`FORCE_QUOTE`).
    force_quote: Vec<bool>,
    /// The binary signature not sent yet: PostgreSQL sends it in the
    /// message of the first row (or of the trailer), and clients read it
    /// from there.
    signature_due: bool,
}

/// The start of a binary COPY: the signature, no flags, no header
/// extension.
const BINARY_SIGNATURE: &[u8] = b"PGCOPY\n\xff\r\n\0\0\0\0\0\0\0\0\0";

impl Writer {
    /// A writer for columns called `names` (in the order of the rows'
    /// fields); fails as PostgreSQL does on a `FORCE_QUOTE` column that is
    /// not one of them.
    pub fn new(options: Options, names: &[String]) -> PgWireResult<Writer> {
        let mut force_quote = vec![false; names.len()];
        for column in &options.force_quote {
            match names.iter().position(|n| n == column) {
                Some(i) => force_quote[i] = true,
                None => {
                    return Err(user_error(
                        code::UNDEFINED_COLUMN,
                        format!("column \"{column}\" does not exist"),
                    ));
                }
            }
        }
        Ok(Writer {
            signature_due: options.is_binary(),
            options,
            names: names.to_vec(),
            force_quote,
        })
    }

    /// The CopyOutResponse that starts the data: the format, once overall
    /// and once per column.
    pub fn response(&self) -> CopyOutResponse {
        let format = i16::from(self.options.is_binary());
        CopyOutResponse::new(
            format as i8,
            self.names.len() as i16,
            vec![format; self.names.len()],
        )
    }

    /// The header line (`HEADER`): the column names, written as values.
    pub fn header(&self) -> Option<Bytes> {
        if !self.options.header || self.options.is_binary() {
            return None;
        }
        let values: Vec<Option<&[u8]>> = self.names.iter().map(|n| Some(n.as_bytes())).collect();
        let mut out = BytesMut::new();
        // A header name is never force-quoted.
        self.line(&mut out, &values, false);
        Some(out.freeze())
    }

    /// One row: the fields of a `DataRow` encoded in the COPY's format
    /// (text fields for text and CSV, binary fields for binary).
    pub fn row(&mut self, row: &DataRow) -> Bytes {
        let mut out = BytesMut::new();
        if self.options.is_binary() {
            self.push_signature(&mut out);
            out.put_i16(row.field_count);
            out.extend_from_slice(&row.data);
        } else {
            self.line(&mut out, &values(row), true);
        }
        out.freeze()
    }

    /// The binary trailer (and the signature, when there was no row);
    /// nothing for text and CSV.
    pub fn finish(&mut self) -> Option<Bytes> {
        if !self.options.is_binary() {
            return None;
        }
        let mut out = BytesMut::new();
        self.push_signature(&mut out);
        out.put_i16(-1);
        Some(out.freeze())
    }

    fn push_signature(&mut self, out: &mut BytesMut) {
        if self.signature_due {
            out.extend_from_slice(BINARY_SIGNATURE);
            self.signature_due = false;
        }
    }

    /// A text or CSV line of `values`, with its newline.
    fn line(&self, out: &mut BytesMut, values: &[Option<&[u8]>], forcing: bool) {
        let single = values.len() == 1;
        for (i, value) in values.iter().enumerate() {
            if i > 0 {
                out.put_u8(self.options.delimiter);
            }
            match value {
                None => out.extend_from_slice(self.options.null.as_bytes()),
                Some(v) if self.options.kind == Kind::Csv => {
                    let force = forcing && self.force_quote.get(i).copied().unwrap_or(false);
                    self.csv_value(out, v, force, single);
                }
                Some(v) => self.text_value(out, v),
            }
        }
        out.put_u8(b'\n');
    }

    /// A value in text format (PostgreSQL's `CopyAttributeOutText`):
    /// backslash escapes for backslash, the delimiter and control
    /// characters.
    fn text_value(&self, out: &mut BytesMut, value: &[u8]) {
        let delimiter = self.options.delimiter;
        for &c in value {
            let escaped = match c {
                b'\x08' => Some(b'b'),
                b'\x0c' => Some(b'f'),
                b'\n' => Some(b'n'),
                b'\r' => Some(b'r'),
                b'\t' => Some(b't'),
                b'\x0b' => Some(b'v'),
                b'\\' => Some(b'\\'),
                c if c == delimiter => Some(c),
                _ => None,
            };
            match escaped {
                Some(e) => {
                    out.put_u8(b'\\');
                    out.put_u8(e);
                }
                None => out.put_u8(c),
            }
        }
    }

    /// A value in CSV (PostgreSQL's `CopyAttributeOutCSV`): quoted when
    /// forced, when it reads as the NULL string, when it holds the
    /// delimiter, the quote or a line break, or when it is `\.` alone on a
    /// line (the end-of-data marker); inside quotes the quote and escape
    /// characters are escaped.
    fn csv_value(&self, out: &mut BytesMut, value: &[u8], force: bool, single: bool) {
        let Options {
            delimiter,
            quote,
            escape,
            ..
        } = self.options;
        let quoted = force
            || value == self.options.null.as_bytes()
            || (single && value == b"\\.")
            || value
                .iter()
                .any(|&c| c == delimiter || c == quote || c == b'\n' || c == b'\r');
        if !quoted {
            out.extend_from_slice(value);
            return;
        }
        out.put_u8(quote);
        for &c in value {
            if c == quote || c == escape {
                out.put_u8(escape);
            }
            out.put_u8(c);
        }
        out.put_u8(quote);
    }
}

/// The fields of a `DataRow`, NULL as `None` (the row's own framing: a
/// length, -1 for NULL, then the bytes).
pub fn values(row: &DataRow) -> Vec<Option<&[u8]>> {
    let data = &row.data[..];
    let mut out = Vec::with_capacity(row.field_count.max(0) as usize);
    let mut at = 0;
    for _ in 0..row.field_count {
        let Some(len) = data.get(at..at + 4) else {
            break;
        };
        let len = i32::from_be_bytes([len[0], len[1], len[2], len[3]]);
        at += 4;
        if len < 0 {
            out.push(None);
            continue;
        }
        let end = at + len as usize;
        out.push(data.get(at..end));
        at = end;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::sql::sqlparser::ast::Statement;

    fn options(sql: &str) -> PgWireResult<Options> {
        let parser = crate::pg_compat::compat::StatementParser::default();
        let statement = parser.parse(sql).unwrap().remove(0);
        let Statement::Copy {
            options,
            legacy_options,
            ..
        } = statement
        else {
            panic!("not a COPY: {statement:?}");
        };
        Options::parse(&options, &legacy_options)
    }

    fn code_of(r: PgWireResult<Options>) -> String {
        match r {
            Err(pgwire::error::PgWireError::UserError(info)) => info.code,
            other => panic!("not a user error: {other:?}"),
        }
    }

    fn row(values: &[Option<&str>]) -> DataRow {
        let mut data = BytesMut::new();
        for v in values {
            match v {
                None => data.put_i32(-1),
                Some(v) => {
                    data.put_i32(v.len() as i32);
                    data.extend_from_slice(v.as_bytes());
                }
            }
        }
        DataRow::new(data, values.len() as i16)
    }

    fn lines(options: Options, names: &[&str], rows: &[&[Option<&str>]]) -> String {
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let mut w = Writer::new(options, &names).unwrap();
        let mut out = String::new();
        if let Some(h) = w.header() {
            out.push_str(std::str::from_utf8(&h).unwrap());
        }
        for r in rows {
            out.push_str(std::str::from_utf8(&w.row(&row(r))).unwrap());
        }
        out
    }

    #[test]
    fn psql_copy_and_the_with_list_read_the_same() {
        let psql = options("COPY ( select 1 ) TO STDOUT csv header").unwrap();
        let with = options("COPY (SELECT 1) TO STDOUT WITH (FORMAT csv, HEADER true)").unwrap();
        assert_eq!(psql, with);
        assert_eq!(psql.kind, Kind::Csv);
        assert!(psql.header);
        let text = options("COPY t TO STDOUT").unwrap();
        assert_eq!(text, Options::new(Kind::Text, false));
        let legacy = options("COPY t TO STDOUT WITH DELIMITER '|' NULL 'nil'").unwrap();
        assert_eq!((legacy.delimiter, legacy.null.as_str()), (b'|', "nil"));
        assert!(options("COPY t TO STDOUT BINARY").unwrap().is_binary());
        assert!(!options("COPY t TO STDOUT (HEADER false)").unwrap().header);
    }

    #[test]
    fn options_postgresql_refuses_are_refused_with_its_codes() {
        for (sql, code) in [
            ("COPY t TO STDOUT (FORMAT xml)", "22023"),
            ("COPY t TO STDOUT (FORMAT csv, FORMAT text)", "42601"),
            ("COPY t TO STDOUT (DELIMITER ',', DELIMITER ';')", "42601"),
            ("COPY t TO STDOUT (QUOTE '''')", "0A000"),
            ("COPY t TO STDOUT (ESCAPE '\\')", "0A000"),
            ("COPY t TO STDOUT (FORCE_QUOTE (a))", "0A000"),
            ("COPY t TO STDOUT (FORMAT csv, FORCE_NOT_NULL (a))", "0A000"),
            ("COPY t TO STDOUT (FORMAT csv, DELIMITER '\"')", "22023"),
            ("COPY t TO STDOUT (DELIMITER 'a')", "22023"),
            ("COPY t TO STDOUT (DELIMITER '\\')", "22023"),
            ("COPY t TO STDOUT (NULL 'a,b', FORMAT csv)", "0A000"),
            ("COPY t TO STDOUT (FORMAT binary, HEADER)", "0A000"),
            ("COPY t TO STDOUT (FORMAT binary, NULL 'x')", "42601"),
            ("COPY t TO STDOUT (ENCODING 'LATIN1')", "0A000"),
        ] {
            assert_eq!(code_of(options(sql)), code, "{sql}");
        }
        assert!(options("COPY t TO STDOUT (ENCODING 'utf-8')").is_ok());
    }

    #[test]
    fn text_format_escapes_as_postgresql_does() {
        // Expected bytes are PostgreSQL 15's for the same values.
        let out = lines(
            Options::new(Kind::Text, true),
            &["a", "b c"],
            &[
                &[Some("x\ty"), None],
                &[Some("back\\slash\nline\r\x08\x0c\x0b"), Some("{a,b}")],
                &[Some(""), Some("\\N")],
            ],
        );
        assert_eq!(
            out,
            "a\tb c\nx\\ty\t\\N\nback\\\\slash\\nline\\r\\b\\f\\v\t{a,b}\n\t\\\\N\n"
        );
        let piped = options("COPY t TO STDOUT (DELIMITER '|')").unwrap();
        assert_eq!(lines(piped, &["a"], &[&[Some("1|2")]]), "1\\|2\n");
    }

    #[test]
    fn csv_quotes_what_would_read_back_differently() {
        let csv = options("COPY t TO STDOUT CSV HEADER").unwrap();
        let out = lines(
            csv,
            &["id", "tags"],
            &[
                &[Some("1"), Some("{a,b}")],
                &[Some(""), None],
                &[Some("say \"hi\""), Some("two\nlines")],
                &[Some("plain"), Some("back\\slash")],
            ],
        );
        assert_eq!(
            out,
            "id,tags\n1,\"{a,b}\"\n\"\",\n\"say \"\"hi\"\"\",\"two\nlines\"\nplain,back\\slash\n"
        );
        // The end-of-data marker alone on a line is quoted.
        let single = options("COPY t TO STDOUT (FORMAT csv)").unwrap();
        assert_eq!(lines(single, &["a"], &[&[Some("\\.")]]), "\"\\.\"\n");
        // ESCAPE, QUOTE, FORCE_QUOTE and a NULL string.
        let custom = options(
            "COPY t TO STDOUT (FORMAT csv, QUOTE '''', ESCAPE '\\', FORCE_QUOTE (b), NULL 'NULL')",
        )
        .unwrap();
        assert_eq!(
            lines(
                custom,
                &["a", "b"],
                &[&[Some("it's"), Some("x")], &[Some("NULL"), None]]
            ),
            "'it\\'s','x'\n'NULL',NULL\n"
        );
    }

    #[test]
    fn force_quote_names_an_output_column() {
        let o = options("COPY t TO STDOUT (FORMAT csv, FORCE_QUOTE (\"Nope\"))").unwrap();
        let e = Writer::new(o, &["nope".into()]).unwrap_err();
        assert!(e.to_string().contains("Nope"), "{e}");
        let folded = options("COPY t TO STDOUT (FORMAT csv, FORCE_QUOTE (NAME))").unwrap();
        assert!(Writer::new(folded, &["name".into()]).is_ok());
    }

    #[test]
    fn binary_rows_are_tuples_behind_the_signature() {
        let mut w = Writer::new(Options::new(Kind::Binary, false), &["a".into()]).unwrap();
        let first = w.row(&row(&[Some("\0\0\0\x01")]));
        let mut expected = BINARY_SIGNATURE.to_vec();
        expected.extend_from_slice(&[0, 1, 0, 0, 0, 4, 0, 0, 0, 1]);
        assert_eq!(&first[..], &expected[..]);
        let second = w.row(&row(&[None]));
        assert_eq!(&second[..], &[0, 1, 0xff, 0xff, 0xff, 0xff]);
        assert_eq!(&w.finish().unwrap()[..], &[0xff, 0xff]);
        // Without rows the signature travels with the trailer.
        let mut empty = Writer::new(Options::new(Kind::Binary, false), &["a".into()]).unwrap();
        assert_eq!(empty.finish().unwrap().len(), BINARY_SIGNATURE.len() + 2);
    }
}
