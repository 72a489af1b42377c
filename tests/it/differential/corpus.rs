//! The corpus (`tests/differential/*.sql`, format in its README.md): how
//! files split into statements with their marks, and how two answers are
//! compared.

use super::wire::{Answer, Rows};

/// What of two successful answers must agree (`-- compare:`).
#[derive(Clone, Debug, PartialEq)]
pub enum Compare {
    /// Column names, type OIDs and every value.
    All,
    /// Column names and type OIDs only (`-- compare: shape`).
    Shape,
    /// Column names, type OIDs and the values of these columns only
    /// (`-- compare: columns a, b`).
    Columns(Vec<String>),
}

/// One statement of the corpus.
#[derive(Clone, Debug)]
pub struct Statement {
    pub file: String,
    pub line: usize,
    pub sql: String,
    /// `-- refused: <SQLSTATE> <reason>`: OKO must fail with this SQLSTATE.
    pub refused: Option<(String, String)>,
    pub compare: Compare,
}

/// Splits a corpus file into statements. A statement ends at a `;` outside
/// quotes, quoted identifiers, dollar quotes and comments; the `-- refused:`
/// and `-- compare:` comment lines before it are its marks.
pub fn split(file: &str, text: &str) -> Result<Vec<Statement>, String> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    let mut line = 1;
    let mut start: Option<(usize, usize)> = None;
    let mut refused = None;
    let mut compare = Compare::All;
    while i < b.len() {
        let c = b[i];
        if start.is_none() {
            if c == b'\n' {
                line += 1;
                i += 1;
                continue;
            }
            if c.is_ascii_whitespace() {
                i += 1;
                continue;
            }
            if text[i..].starts_with("--") {
                let end = text[i..].find('\n').map_or(b.len(), |n| i + n);
                let comment = text[i + 2..end].trim();
                if let Some(rest) = comment.strip_prefix("refused:") {
                    let rest = rest.trim();
                    let (code, reason) = rest.split_once(' ').unwrap_or((rest, ""));
                    if code.len() != 5 || reason.trim().is_empty() {
                        return Err(format!(
                            "{file}:{line}: `-- refused:` wants a SQLSTATE and a reason"
                        ));
                    }
                    refused = Some((code.to_string(), reason.trim().to_string()));
                } else if let Some(rest) = comment.strip_prefix("compare:") {
                    compare = parse_compare(rest.trim())
                        .ok_or_else(|| format!("{file}:{line}: unknown `-- compare: {rest}`"))?;
                }
                i = end;
                continue;
            }
            start = Some((i, line));
        }
        match c {
            b'\'' => {
                // E'…' strings escape with backslashes; standard ones double quotes.
                let escapes = i > 0
                    && matches!(b[i - 1], b'e' | b'E')
                    && (i < 2 || !(b[i - 2].is_ascii_alphanumeric() || b[i - 2] == b'_'));
                i = skip_quoted(b, i, b'\'', escapes, &mut line)
                    .ok_or_else(|| format!("{file}:{line}: an unterminated string"))?;
                continue;
            }
            b'"' => {
                i = skip_quoted(b, i, b'"', false, &mut line)
                    .ok_or_else(|| format!("{file}:{line}: an unterminated identifier"))?;
                continue;
            }
            b'$' => {
                if let Some(end) = skip_dollar(text, i, &mut line) {
                    i = end;
                    continue;
                }
            }
            b'-' if text[i..].starts_with("--") => {
                i = text[i..].find('\n').map_or(b.len(), |n| i + n);
                continue;
            }
            b'/' if text[i..].starts_with("/*") => {
                let end = text[i..]
                    .find("*/")
                    .ok_or_else(|| format!("{file}:{line}: an unterminated comment"))?;
                line += text[i..i + end].matches('\n').count();
                i += end + 2;
                continue;
            }
            b'\n' => line += 1,
            b';' => {
                if let Some((s, l)) = start.take() {
                    out.push(Statement {
                        file: file.to_string(),
                        line: l,
                        sql: text[s..i].trim().to_string(),
                        refused: refused.take(),
                        compare: std::mem::replace(&mut compare, Compare::All),
                    });
                }
            }
            _ => {}
        }
        i += 1;
    }
    if let Some((_, l)) = start {
        return Err(format!("{file}:{l}: a statement without its closing `;`"));
    }
    Ok(out)
}

fn parse_compare(s: &str) -> Option<Compare> {
    if s == "shape" {
        return Some(Compare::Shape);
    }
    let cols = s.strip_prefix("columns")?;
    let cols: Vec<String> = cols
        .split(',')
        .map(|c| c.trim().to_string())
        .filter(|c| !c.is_empty())
        .collect();
    (!cols.is_empty()).then_some(Compare::Columns(cols))
}

/// The index just past a quoted run starting at `b[i] == quote`.
fn skip_quoted(b: &[u8], i: usize, quote: u8, escapes: bool, line: &mut usize) -> Option<usize> {
    let mut j = i + 1;
    while j < b.len() {
        match b[j] {
            b'\\' if escapes => j += 1,
            b'\n' => *line += 1,
            q if q == quote => {
                if b.get(j + 1) == Some(&quote) {
                    j += 1;
                } else {
                    return Some(j + 1);
                }
            }
            _ => {}
        }
        j += 1;
    }
    None
}

/// The index just past a `$tag$ … $tag$` run starting at `i`, or `None`
/// when `$` does not open one here (a parameter `$1`, or inside a word).
fn skip_dollar(text: &str, i: usize, line: &mut usize) -> Option<usize> {
    let b = text.as_bytes();
    if i > 0 && (b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_') {
        return None;
    }
    let tag_len = text[i + 1..]
        .bytes()
        .take_while(|c| c.is_ascii_alphabetic() || *c == b'_')
        .count();
    if b.get(i + 1 + tag_len) != Some(&b'$') {
        return None;
    }
    let tag = &text[i..i + tag_len + 2];
    let body = i + tag.len();
    let end = text[body..].find(tag)? + body;
    *line += text[i..end].matches('\n').count();
    Some(end + tag.len())
}

/// Whether the statement orders its answer: an `ORDER BY` outside every
/// parenthesis (so not one of a window, an aggregate, `WITHIN GROUP` or a
/// subquery). Only then is the order of rows compared.
pub fn top_level_order_by(sql: &str) -> bool {
    let b = sql.as_bytes();
    let mut words: Vec<String> = Vec::new();
    let mut depth = 0i32;
    let mut line = 0;
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        match c {
            b'\'' => {
                let escapes = i > 0 && matches!(b[i - 1], b'e' | b'E');
                i = skip_quoted(b, i, b'\'', escapes, &mut line).unwrap_or(b.len());
                continue;
            }
            b'"' => {
                i = skip_quoted(b, i, b'"', false, &mut line).unwrap_or(b.len());
                continue;
            }
            b'$' => {
                if let Some(end) = skip_dollar(sql, i, &mut line) {
                    i = end;
                    continue;
                }
            }
            b'-' if sql[i..].starts_with("--") => {
                i = sql[i..].find('\n').map_or(b.len(), |n| i + n);
                continue;
            }
            b'(' => depth += 1,
            b')' => depth -= 1,
            c if c.is_ascii_alphabetic() || c == b'_' => {
                let len = sql[i..]
                    .bytes()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == b'_' || *c == b'$')
                    .count();
                if depth == 0 {
                    words.push(sql[i..i + len].to_ascii_uppercase());
                }
                i += len;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    words.windows(2).any(|w| w[0] == "ORDER" && w[1] == "BY")
}

/// Do two float values agree? Equal text, or both plain decimal numbers
/// within a relative 1e-9 of each other (floats printed by different code
/// may differ in the last digit).
pub fn values_agree(a: Option<&str>, b: Option<&str>) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(x), Some(y)) if x == y => true,
        (Some(x), Some(y)) => {
            let numeric = |s: &str| {
                !s.is_empty()
                    && s.bytes().all(|c| {
                        c.is_ascii_digit() || matches!(c, b'+' | b'-' | b'.' | b'e' | b'E')
                    })
            };
            if !(numeric(x) && numeric(y)) {
                return false;
            }
            match (x.parse::<f64>(), y.parse::<f64>()) {
                (Ok(p), Ok(q)) => (p - q).abs() <= 1e-9 * p.abs().max(q.abs()),
                _ => false,
            }
        }
        _ => false,
    }
}

/// How two answers differ: a kind (the report counts them) and the detail.
pub type Difference = (&'static str, String);

/// Why two answers to `st` differ, or `None` when they agree. The refusal
/// mark is the caller's business; here both sides are held to the same rule.
pub fn difference(st: &Statement, oko: &Answer, pg: &Answer) -> Option<Difference> {
    compare(st, oko, pg, true)
}

/// Whether two agreeing answers agree only thanks to the float tolerance
/// (`4.0` and `4`, `0.30000000000000004` and `0.3` in a float8 column): the
/// report lists these apart, as text a client shows differently.
pub fn agree_only_within_tolerance(st: &Statement, oko: &Answer, pg: &Answer) -> bool {
    compare(st, oko, pg, true).is_none() && compare(st, oko, pg, false).is_some()
}

/// A numeric's text as its sign, digits and scale (`-12.30` → `(true,
/// 1230, 2)`).
fn decimal(text: &str) -> Option<(bool, i128, usize)> {
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    let value: i128 = format!("{whole}{fraction}").parse().ok()?;
    Some((negative, value, fraction.len()))
}

/// Whether OKO's numeric `oko`, rounded half away from zero to the scale of
/// PostgreSQL's `pg`, is `pg`; a value with fewer decimals than
/// PostgreSQL's never agrees unless equal.
pub fn numerics_agree(oko: Option<&str>, pg: Option<&str>) -> bool {
    let (Some(o), Some(p)) = (oko, pg) else {
        return oko == pg;
    };
    let (Some((on, ov, os)), Some((pn, pv, ps))) = (decimal(o), decimal(p)) else {
        return false;
    };
    if os < ps {
        return false;
    }
    let unit = 10_i128.pow((os - ps) as u32);
    let rounded = (ov + unit / 2) / unit;
    (on == pn || (rounded == 0 && pv == 0)) && rounded == pv
}

fn compare(st: &Statement, oko: &Answer, pg: &Answer, tolerant: bool) -> Option<Difference> {
    let (o, p) = match (oko, pg) {
        (Err(o), Err(p)) if o.code == p.code => return None,
        (Err(o), Err(p)) => {
            return Some((
                "another SQLSTATE",
                format!("SQLSTATE {} instead of {}", o.code, p.code),
            ));
        }
        (Err(o), Ok(_)) => {
            return Some((
                "OKO fails, PostgreSQL answers",
                format!("OKO fails with {}", o.code),
            ));
        }
        (Ok(_), Err(p)) => {
            return Some((
                "OKO answers, PostgreSQL fails",
                format!("PostgreSQL fails with {}", p.code),
            ));
        }
        (Ok(o), Ok(p)) => (o, p),
    };
    let (oc, pc) = match (&o.columns, &p.columns) {
        (None, None) => (Vec::new(), Vec::new()),
        (Some(_), None) => {
            return Some(("rows or none", "OKO returns rows, PostgreSQL none".into()));
        }
        (None, Some(_)) => {
            return Some(("rows or none", "PostgreSQL returns rows, OKO none".into()));
        }
        (Some(o), Some(p)) => (o.clone(), p.clone()),
    };
    let names = |c: &[(String, u32)]| c.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
    if names(&oc) != names(&pc) {
        return Some((
            "column names",
            format!("column names {:?} instead of {:?}", names(&oc), names(&pc)),
        ));
    }
    let types = |c: &[(String, u32)]| c.iter().map(|(_, t)| *t).collect::<Vec<_>>();
    if types(&oc) != types(&pc) {
        let show = |c: &[(String, u32)]| {
            c.iter()
                .map(|(_, t)| type_name(*t))
                .collect::<Vec<_>>()
                .join(", ")
        };
        return Some((
            "column types",
            format!("column types ({}) instead of ({})", show(&oc), show(&pc)),
        ));
    }
    if o.copy != p.copy {
        return Some(("values", "COPY data differs".into()));
    }
    let keep: Vec<usize> = match &st.compare {
        Compare::Shape => return None,
        Compare::All => (0..pc.len()).collect(),
        Compare::Columns(cols) => {
            let mut keep = Vec::new();
            for want in cols {
                match pc.iter().position(|(n, _)| n == want) {
                    Some(i) => keep.push(i),
                    None => {
                        return Some(("corpus", format!("`-- compare:` names no column `{want}`")));
                    }
                }
            }
            keep
        }
    };
    let project = |r: &Rows| -> Vec<Vec<Option<String>>> {
        r.rows
            .iter()
            .map(|row| {
                keep.iter()
                    .map(|&i| row.get(i).cloned().flatten())
                    .collect()
            })
            .collect()
    };
    let (mut orows, mut prows) = (project(o), project(p));
    let ordered = top_level_order_by(&st.sql);
    if !ordered {
        orows.sort();
        prows.sort();
    }
    if orows.len() != prows.len() {
        return Some((
            "values",
            format!("{} rows instead of {}", orows.len(), prows.len()),
        ));
    }
    // The tolerance is for float4/float8 and numeric columns only: text and
    // the rest compare exactly.
    let float: Vec<bool> = keep
        .iter()
        .map(|&i| tolerant && matches!(pc[i].1, 700 | 701))
        .collect();
    // OKO's numeric has one scale per column, PostgreSQL's one per value:
    // with the tolerance a numeric agrees when OKO's value, rounded to
    // PostgreSQL's scale, is PostgreSQL's (OKO never shows fewer digits).
    let numeric: Vec<bool> = keep.iter().map(|&i| tolerant && pc[i].1 == 1700).collect();
    for (n, (a, b)) in orows.iter().zip(&prows).enumerate() {
        let agree = a.len() == b.len()
            && a.iter().zip(b).zip(float.iter().zip(&numeric)).all(
                |((x, y), (&float, &numeric))| {
                    if float {
                        values_agree(x.as_deref(), y.as_deref())
                    } else if numeric {
                        x == y || numerics_agree(x.as_deref(), y.as_deref())
                    } else {
                        x == y
                    }
                },
            );
        if !agree {
            let how = if ordered { "row" } else { "sorted row" };
            return Some((
                "values",
                format!(
                    "values differ at {how} {}: {} instead of {}",
                    n + 1,
                    show_row(a),
                    show_row(b)
                ),
            ));
        }
    }
    None
}

/// A row as the report prints it: NULL for NULL, other values quoted when
/// they hold spaces, commas or nothing.
pub fn show_row(row: &[Option<String>]) -> String {
    let cells: Vec<String> = row
        .iter()
        .map(|v| match v {
            None => "NULL".to_string(),
            Some(s) if s.is_empty() || s.contains([' ', ',', '\n', '|']) => format!("{s:?}"),
            Some(s) => s.clone(),
        })
        .collect();
    format!("({})", cells.join(", "))
}

/// PostgreSQL's name of a built-in type OID, for messages and for the
/// tables the test creates; `None` for a type this test does not know.
pub fn pg_type(oid: u32) -> Option<&'static str> {
    Some(match oid {
        16 => "boolean",
        17 => "bytea",
        18 => "\"char\"",
        19 => "name",
        20 => "bigint",
        21 => "smallint",
        23 => "integer",
        25 => "text",
        22 => "int2vector",
        24 => "regproc",
        26 => "oid",
        30 => "oidvector",
        194 => "pg_node_tree",
        114 => "json",
        199 => "json[]",
        700 => "real",
        701 => "double precision",
        705 => "unknown",
        1000 => "boolean[]",
        1002 => "\"char\"[]",
        1003 => "name[]",
        1005 => "smallint[]",
        1007 => "integer[]",
        1009 => "text[]",
        1015 => "character varying[]",
        1016 => "bigint[]",
        1021 => "real[]",
        1022 => "double precision[]",
        1028 => "oid[]",
        1033 => "aclitem",
        1034 => "aclitem[]",
        1042 => "character",
        1043 => "character varying",
        1082 => "date",
        1083 => "time",
        1114 => "timestamp",
        1115 => "timestamp[]",
        1182 => "date[]",
        1184 => "timestamptz",
        1185 => "timestamptz[]",
        1186 => "interval",
        1187 => "interval[]",
        1231 => "numeric[]",
        1266 => "timetz",
        1700 => "numeric",
        2206 => "regtype",
        2205 => "regclass",
        2249 => "record",
        2278 => "void",
        2950 => "uuid",
        4089 => "regnamespace",
        3802 => "jsonb",
        3807 => "jsonb[]",
        _ => return None,
    })
}

/// A type OID as the report names it.
pub fn type_name(oid: u32) -> String {
    pg_type(oid).map_or_else(|| format!("oid {oid}"), str::to_string)
}

#[test]
fn the_splitter_keeps_quotes_comments_and_marks() {
    let text = "-- a file comment\nSELECT ';' AS x;\n-- refused: 0A000 not here\n\
                SELECT $$a;b$$, E'it\\'s;', \"c;d\" -- c;\nFROM t;\n-- compare: columns a, b c\nSELECT 1;\n";
    let st = split("f.sql", text).unwrap();
    assert_eq!(st.len(), 3, "{st:?}");
    assert_eq!(st[0].sql, "SELECT ';' AS x");
    assert_eq!(st[0].line, 2);
    assert_eq!(st[1].refused, Some(("0A000".into(), "not here".into())));
    assert!(st[1].sql.ends_with("FROM t"));
    assert_eq!(st[1].line, 4);
    assert_eq!(
        st[2].compare,
        Compare::Columns(vec!["a".into(), "b c".into()])
    );
    assert_eq!(st[2].refused, None);
    assert!(split("f.sql", "SELECT 1").is_err());
    assert!(split("f.sql", "-- compare: rows\nSELECT 1;").is_err());
}

#[test]
fn only_an_outer_order_by_orders_the_answer() {
    assert!(top_level_order_by("SELECT a FROM t ORDER BY a"));
    assert!(top_level_order_by("SELECT 1 UNION SELECT 2 order by 1"));
    assert!(!top_level_order_by(
        "SELECT rank() OVER (ORDER BY a) FROM t"
    ));
    assert!(!top_level_order_by(
        "SELECT string_agg(a, ',' ORDER BY a) FROM t"
    ));
    assert!(!top_level_order_by(
        "SELECT * FROM (SELECT a FROM t ORDER BY a) s"
    ));
    assert!(!top_level_order_by("SELECT 'ORDER BY x' FROM t"));
    assert!(!top_level_order_by("SELECT \"order\", by FROM t"));
}

#[test]
fn floats_agree_within_a_relative_tolerance_and_nothing_else_does() {
    assert!(values_agree(Some("0.30000000000000004"), Some("0.3")));
    assert!(values_agree(Some("1e+20"), Some("100000000000000000000")));
    assert!(!values_agree(Some("0.31"), Some("0.3")));
    assert!(!values_agree(Some("1.0"), None));
    assert!(!values_agree(Some("inf"), Some("Infinity")));
    assert!(!values_agree(
        Some("2026-06-01"),
        Some("2026-06-01 00:00:00")
    ));
}
