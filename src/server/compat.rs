//! Client queries that need a hand before they can be planned.
//!
//! SQLAlchemy writes `LIKE 'pg/_%' ESCAPE '/'`; DataFusion only knows the
//! backslash as escape character, so the pattern is rewritten to escape
//! with a backslash (same matches).
//!
//! pgjdbc and DBeaver compare `pg_type.typinput` (text in the emulated
//! catalog) with literals cast to `regproc` (`'pg_catalog.array_in'::regproc`),
//! which the planner would turn into a number; such a literal is kept as the
//! function's name, which is what the column holds.
//!
//! Grafana's query editor finds the schemas on the `search_path` with a
//! set-returning subquery over `current_setting('search_path')` that
//! DataFusion cannot plan (`generate_series(…) AS i, string_to_array(…) s`).
//! The subquery's answer only depends on the session's settings, so it is
//! replaced by that answer — the list of schemas named on this connection's
//! `search_path`, `"$user"` read as the session user — before parsing.
//! (datafusion-pg-catalog's parser would otherwise replace it with `''` and
//! the table picker would list nothing.)

use std::borrow::Cow;
use std::sync::LazyLock;

use datafusion::sql::sqlparser::dialect::PostgreSqlDialect;
use datafusion::sql::sqlparser::tokenizer::{Token, Tokenizer};

/// The subquery Grafana 10–12 sends, as the tokens to look for.
const GRAFANA_SEARCH_PATH: &str = r#"SELECT
    CASE WHEN trim(s[i]) = '"$user"' THEN user ELSE trim(s[i]) END
FROM
    generate_series(
        array_lower(string_to_array(current_setting('search_path'),','),1),
        array_upper(string_to_array(current_setting('search_path'),','),1)
    ) as i,
    string_to_array(current_setting('search_path'),',') s"#;

static PATTERN: LazyLock<Vec<Token>> = LazyLock::new(|| {
    tokens(GRAFANA_SEARCH_PATH)
        .into_iter()
        .filter(|t| !is_space(t))
        .collect()
});

fn tokens(sql: &str) -> Vec<Token> {
    Tokenizer::new(&PostgreSqlDialect {}, sql)
        .tokenize()
        .unwrap_or_default()
}

fn is_space(t: &Token) -> bool {
    matches!(t, Token::Whitespace(_))
}

/// Every rewrite, in order.
pub fn rewrite_all<'a>(sql: &'a str, search_path: &str, user: &str) -> Cow<'a, str> {
    let sql = match rewrite(sql, search_path, user) {
        Cow::Borrowed(s) => regproc_literals(s),
        Cow::Owned(s) => Cow::Owned(regproc_literals(&s).into_owned()),
    };
    match sql {
        Cow::Borrowed(s) => like_escapes(s),
        Cow::Owned(s) => Cow::Owned(like_escapes(&s).into_owned()),
    }
}

/// `LIKE 'p' ESCAPE 'c'` with `c` not a backslash → the same pattern
/// escaped with backslashes.
pub fn like_escapes(sql: &str) -> Cow<'_, str> {
    if !sql.to_ascii_uppercase().contains("ESCAPE") {
        return Cow::Borrowed(sql);
    }
    let mut all = tokens(sql);
    let solid: Vec<usize> = (0..all.len()).filter(|&i| !is_space(&all[i])).collect();
    let mut changed = false;
    for k in 2..solid.len() {
        let (e, c) = (solid[k - 1], solid[k]);
        let escape = matches!(&all[e], Token::Word(w) if w.value.eq_ignore_ascii_case("escape"));
        let Token::SingleQuotedString(esc) = &all[c] else {
            continue;
        };
        let mut chars = esc.chars();
        let (Some(esc_char), None) = (chars.next(), chars.next()) else {
            continue;
        };
        if !escape || esc_char == '\\' {
            continue;
        }
        // The pattern: one literal, or literals joined by `||`
        // (SQLAlchemy's `'pg/_' || '%'`).
        let mut parts = Vec::new();
        let mut j = k - 1;
        while j >= 1 && matches!(&all[solid[j - 1]], Token::SingleQuotedString(_)) {
            parts.push(solid[j - 1]);
            if j >= 2 && matches!(&all[solid[j - 2]], Token::StringConcat) {
                j -= 2;
            } else {
                break;
            }
        }
        if parts.is_empty() {
            continue;
        }
        for p in parts {
            if let Token::SingleQuotedString(pattern) = &all[p] {
                all[p] = Token::SingleQuotedString(with_backslash(pattern, esc_char));
            }
        }
        all[c] = Token::SingleQuotedString("\\".into());
        changed = true;
    }
    if !changed {
        return Cow::Borrowed(sql);
    }
    Cow::Owned(all.iter().map(|t| t.to_string()).collect())
}

/// A LIKE pattern escaped with `esc` rewritten to escape with a backslash.
fn with_backslash(pattern: &str, esc: char) -> String {
    let mut out = String::with_capacity(pattern.len());
    let mut it = pattern.chars();
    while let Some(ch) = it.next() {
        if ch == esc {
            if let Some(next) = it.next() {
                out.push('\\');
                out.push(next);
            }
        } else if ch == '\\' {
            out.push_str("\\\\");
        } else {
            out.push(ch);
        }
    }
    out
}

/// `'pg_catalog.f'::regproc` (or `::pg_catalog.regproc`) → `'f'`.
pub fn regproc_literals(sql: &str) -> Cow<'_, str> {
    if !sql.to_ascii_lowercase().contains("regproc") {
        return Cow::Borrowed(sql);
    }
    let all = tokens(sql);
    let is_word =
        |t: &Token, w: &str| matches!(t, Token::Word(x) if x.value.eq_ignore_ascii_case(w));
    let mut out = String::with_capacity(sql.len());
    let mut i = 0;
    let mut changed = false;
    while i < all.len() {
        if let Token::SingleQuotedString(name) = &all[i]
            && matches!(all.get(i + 1), Some(Token::DoubleColon))
        {
            let end = if all.get(i + 2).is_some_and(|t| is_word(t, "regproc")) {
                Some(i + 2)
            } else if all.get(i + 2).is_some_and(|t| is_word(t, "pg_catalog"))
                && matches!(all.get(i + 3), Some(Token::Period))
                && all.get(i + 4).is_some_and(|t| is_word(t, "regproc"))
            {
                Some(i + 4)
            } else {
                None
            };
            if let Some(end) = end {
                let bare = name.strip_prefix("pg_catalog.").unwrap_or(name);
                out.push_str(&Token::SingleQuotedString(bare.to_string()).to_string());
                i = end + 1;
                changed = true;
                continue;
            }
        }
        out.push_str(&all[i].to_string());
        i += 1;
    }
    if changed {
        Cow::Owned(out)
    } else {
        Cow::Borrowed(sql)
    }
}

/// `sql` with Grafana's search-path subquery replaced by the schemas of
/// `search_path` (with `"$user"` standing for `user`).
pub fn rewrite<'a>(sql: &'a str, search_path: &str, user: &str) -> Cow<'a, str> {
    if !sql.contains("search_path") || !sql.contains("generate_series") {
        return Cow::Borrowed(sql);
    }
    let all = tokens(sql);
    let solid: Vec<usize> = (0..all.len()).filter(|&i| !is_space(&all[i])).collect();
    let pattern = &*PATTERN;
    let Some(start) = (0..solid.len().saturating_sub(pattern.len() - 1))
        .find(|&k| (0..pattern.len()).all(|j| all[solid[k + j]] == pattern[j]))
    else {
        return Cow::Borrowed(sql);
    };
    let first = solid[start];
    let last = solid[start + pattern.len() - 1];
    let schemas: Vec<String> = search_path
        .split(',')
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
        .map(|s| {
            if s == "\"$user\"" {
                user
            } else {
                s.trim_matches('"')
            }
        })
        .map(|s| format!("'{}'", s.replace('\'', "''")))
        .collect();
    // Grafana writes `IN (<subquery>)`: a list of literals in its place
    // also plans where a subquery cannot (inside CASE, in Grafana 12).
    let answer = if schemas.is_empty() {
        "NULL".to_string()
    } else {
        schemas.join(", ")
    };
    let mut out = String::with_capacity(sql.len());
    for t in &all[..first] {
        out.push_str(&t.to_string());
    }
    out.push_str(&answer);
    for t in &all[last + 1..] {
        out.push_str(&t.to_string());
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grafanas_search_path_subquery_becomes_its_answer() {
        let sql = r#"select quote_ident(table_name) as "table" from information_schema.tables
  where quote_ident(table_schema) not in ('information_schema', 'pg_catalog')
  and quote_ident(table_schema) IN (SELECT CASE WHEN trim(s[i]) = '"$user"' THEN user ELSE trim(s[i]) END
      FROM generate_series(array_lower(string_to_array(current_setting('search_path'),','),1),
                           array_upper(string_to_array(current_setting('search_path'),','),1)) as i,
           string_to_array(current_setting('search_path'),',') s)"#;
        let out = rewrite(sql, "\"$user\", public", "oko");
        assert!(out.contains("IN ('oko', 'public')"), "{out}");
        assert!(out.starts_with("select quote_ident(table_name)"));
        assert_eq!(rewrite("SELECT 1", "public", "oko"), "SELECT 1");
    }

    #[test]
    fn like_escapes_become_backslashes() {
        let out = like_escapes("SELECT 1 WHERE n NOT LIKE 'pg/_%' ESCAPE '/'");
        assert_eq!(out, "SELECT 1 WHERE n NOT LIKE 'pg\\_%' ESCAPE '\\'");
        assert_eq!(like_escapes("SELECT 'ESCAPE'"), "SELECT 'ESCAPE'");
        let out = like_escapes("SELECT 1 WHERE n NOT LIKE 'pg/_' || '%' ESCAPE '/'");
        assert_eq!(out, "SELECT 1 WHERE n NOT LIKE 'pg\\_' || '%' ESCAPE '\\'");
    }

    #[test]
    fn regproc_literals_become_function_names() {
        let sql = "SELECT typinput='pg_catalog.array_in'::regproc AS is_array, \
                   typoutput = 'record_out'::pg_catalog.regproc FROM pg_type";
        let out = regproc_literals(sql);
        assert!(out.contains("typinput='array_in' AS is_array"), "{out}");
        assert!(out.contains("typoutput = 'record_out' FROM"), "{out}");
        assert_eq!(regproc_literals("SELECT 'x'::text"), "SELECT 'x'::text");
    }
}
