//! The SQL of `sql/`, compiled in (the build finds every file; no hand-kept
//! list), and splitting a SQL text into its statements.
//!
//! Two kinds of files live in `sql/` (see `sql/README.md`):
//! - `NN_name.sql`, named with a number: `CREATE VIEW` statements run in
//!   file-name order ([`views`]);
//! - `name.sql` without a number: a *template* (read with [`at`]), a SELECT
//!   with `{{placeholders}}` that the reports render.

/// Every file of `sql/` as (file name, text), in name order.
pub const FILES: &[(&str, &str)] = include!(concat!(env!("OUT_DIR"), "/sql_files.rs"));

/// The view files (names that start with a digit), in name order.
pub fn views() -> impl Iterator<Item = (&'static str, &'static str)> {
    FILES
        .iter()
        .copied()
        .filter(|(name, _)| name.starts_with(|c: char| c.is_ascii_digit()))
}

/// The text of `sql/<name>`, looked up while compiling: a name that is
/// not in `sql/` is a build error, not a runtime one. For the building
/// blocks and templates the reports render (`const X: &str = sql::at("…")`).
pub const fn at(name: &str) -> &'static str {
    let mut i = 0;
    while i < FILES.len() {
        if same(FILES[i].0, name) {
            return FILES[i].1;
        }
        i += 1;
    }
    panic!("a file the reports use is missing from sql/")
}

const fn same(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// Splits `sql` into statements at the semicolons that end them, the way
/// PostgreSQL's lexer sees them: not inside `'…'` strings (with `''`, and
/// `E'…'` strings with backslash escapes), `"…"` identifiers, `$$…$$` or
/// `$tag$…$tag$` bodies, `-- …` line comments or `/* … */` block comments
/// (nested, as in PostgreSQL). Comments are kept in the statement text, so
/// a statement's position in an error message matches its file; statements
/// that are only whitespace and comments are dropped.
pub fn split_statements(sql: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut i = 0;
    let bytes = sql.as_bytes();
    let mut has_code = false;
    while i < bytes.len() {
        let rest = &sql[i..];
        let c = bytes[i];
        let skip = match c {
            b'\'' => {
                // E'…' (or e'…') takes backslash escapes.
                let escapes = i > 0
                    && matches!(bytes[i - 1], b'E' | b'e')
                    && (i < 2 || !is_ident_byte(bytes[i - 2]));
                quoted_len(rest, b'\'', escapes)
            }
            b'"' => quoted_len(rest, b'"', false),
            b'-' if rest.starts_with("--") => rest.find('\n').map_or(rest.len(), |n| n + 1),
            b'/' if rest.starts_with("/*") => block_comment_len(rest),
            b'$' if i == 0 || !is_ident_byte(bytes[i - 1]) => dollar_quoted_len(rest).unwrap_or(1),
            b';' => {
                if has_code {
                    out.push(sql[start..i].to_string());
                }
                start = i + 1;
                has_code = false;
                i += 1;
                continue;
            }
            _ => rest.chars().next().map_or(1, char::len_utf8),
        };
        if !(c.is_ascii_whitespace() || rest.starts_with("--") || rest.starts_with("/*")) {
            has_code = true;
        }
        i += skip;
    }
    if has_code {
        out.push(sql[start..].to_string());
    }
    out
}

/// `text` from its first token on: leading whitespace and comments skipped.
pub fn code_start(text: &str) -> &str {
    let mut rest = text.trim_start();
    loop {
        if rest.starts_with("--") {
            rest = rest[rest.find('\n').map_or(rest.len(), |n| n + 1)..].trim_start();
        } else if rest.starts_with("/*") {
            rest = rest[block_comment_len(rest)..].trim_start();
        } else {
            return rest;
        }
    }
}

fn is_ident_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b >= 0x80
}

/// The length of a quoted token at the start of `s` (quote `q`, doubled to
/// escape it; with `escapes`, a backslash escapes the next character). An
/// unterminated one runs to the end.
fn quoted_len(s: &str, q: u8, escapes: bool) -> usize {
    let b = s.as_bytes();
    let mut i = 1;
    while i < b.len() {
        if escapes && b[i] == b'\\' {
            i += 2;
            continue;
        }
        if b[i] == q {
            if b.get(i + 1) == Some(&q) {
                i += 2;
                continue;
            }
            return i + 1;
        }
        i += 1;
    }
    b.len()
}

/// The length of a (nested) block comment at the start of `s`.
fn block_comment_len(s: &str) -> usize {
    let b = s.as_bytes();
    let mut depth = 0;
    let mut i = 0;
    while i < b.len() {
        if b[i..].starts_with(b"/*") {
            depth += 1;
            i += 2;
        } else if b[i..].starts_with(b"*/") {
            depth -= 1;
            i += 2;
            if depth == 0 {
                return i;
            }
        } else {
            i += 1;
        }
    }
    b.len()
}

/// The length of a dollar-quoted string at the start of `s` (`$$…$$` or
/// `$tag$…$tag$`), or `None` when `s` does not start one (`$1` is a
/// parameter).
fn dollar_quoted_len(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    let mut end = 1;
    while end < b.len() && b[end] != b'$' {
        let ok = b[end] == b'_'
            || b[end].is_ascii_alphabetic()
            || b[end] >= 0x80
            || (end > 1 && b[end].is_ascii_digit());
        if !ok {
            return None;
        }
        end += 1;
    }
    if end >= b.len() {
        return None;
    }
    let tag = &s[..=end];
    let body = &s[end + 1..];
    Some(match body.find(tag) {
        Some(at) => end + 1 + at + tag.len(),
        None => s.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(sql: &str) -> Vec<String> {
        split_statements(sql)
            .iter()
            .map(|s| s.trim().to_string())
            .collect()
    }

    #[test]
    fn semicolons_in_strings_and_comments_do_not_split() {
        assert_eq!(
            split("select ';' as a; -- c;\nselect 2;"),
            vec!["select ';' as a", "-- c;\nselect 2"]
        );
        assert_eq!(
            split("select 'it''s; ok'; select \"a;b\""),
            vec!["select 'it''s; ok'", "select \"a;b\""]
        );
        assert_eq!(
            split("select E'a\\'; b'; select 1"),
            vec!["select E'a\\'; b'", "select 1"]
        );
    }

    #[test]
    fn block_comments_nest() {
        assert_eq!(
            split("/* a; /* b; */ c; */ select 1; /* only a comment; */"),
            vec!["/* a; /* b; */ c; */ select 1"]
        );
        assert_eq!(
            split("select 1 /* unterminated; select 2"),
            vec!["select 1 /* unterminated; select 2"]
        );
    }

    #[test]
    fn dollar_quotes_hold_semicolons() {
        assert_eq!(
            split("select $$a; b$$; select $x$ $$; $x$; select $1"),
            vec!["select $$a; b$$", "select $x$ $$; $x$", "select $1"]
        );
        // A `$` inside an identifier is no quote.
        assert_eq!(
            split("select a$b; select 2"),
            vec!["select a$b", "select 2"]
        );
    }

    #[test]
    fn code_starts_after_comments() {
        assert_eq!(
            code_start(" -- a\n /* b /* c */ */ DISCARD ALL"),
            "DISCARD ALL"
        );
        assert_eq!(code_start("-- only"), "");
    }

    #[test]
    fn empty_statements_are_dropped() {
        assert!(split(" ; -- nothing\n ; ").is_empty());
        assert_eq!(
            split("select 'ё;'; ;select 2"),
            vec!["select 'ё;'", "select 2"]
        );
    }

    #[test]
    fn view_files_are_the_numbered_ones() {
        let views: Vec<&str> = views().map(|(n, _)| n).collect();
        assert!(views.contains(&"02_lead_base.sql"));
        assert!(!views.contains(&"manager_report.sql"));
        assert!(views.windows(2).all(|w| w[0] < w[1]));
        assert!(at("manager_report.sql").contains("{{"));
    }
}
