//! Rewrites of the query text, before parsing: whole client queries that
//! match a known text (Grafana's search path, asyncpg's domain lookup),
//! and token-level rewrites (LIKE escapes, `regclass`/`regproc` literals,
//! set-returning functions over arrays).

use std::borrow::Cow;
use std::sync::LazyLock;

use datafusion::sql::sqlparser::dialect::PostgreSqlDialect;
use datafusion::sql::sqlparser::tokenizer::{Token, Tokenizer};

/// The subquery Grafana 10–12 sends, as the tokens to look for.
pub(super) const GRAFANA_SEARCH_PATH: &str = r#"SELECT
    CASE WHEN trim(s[i]) = '"$user"' THEN user ELSE trim(s[i]) END
FROM
    generate_series(
        array_lower(string_to_array(current_setting('search_path'),','),1),
        array_upper(string_to_array(current_setting('search_path'),','),1)
    ) as i,
    string_to_array(current_setting('search_path'),',') s"#;

pub(super) static PATTERN: LazyLock<Vec<Token>> =
    LazyLock::new(|| solid_tokens(GRAFANA_SEARCH_PATH));

/// The subquery asyncpg's type introspection uses to find a domain's base
/// type, following domains over domains with a correlated recursive CTE,
/// which DataFusion cannot plan. OKO declares no domains, and the emulated
/// catalog's (`information_schema.cardinal_number`, …) are all over base
/// types, so the first step — the domain's own `typbasetype` — is the whole
/// answer.
pub(super) const ASYNCPG_DOMAIN_BASE: &str = "(WITH RECURSIVE typebases(oid, depth) AS (
    SELECT t2.typbasetype AS oid, 0 AS depth FROM pg_type t2 WHERE t2.oid = t.oid
    UNION ALL
    SELECT t2.typbasetype AS oid, tb.depth + 1 AS depth FROM pg_type t2, typebases tb
    WHERE tb.oid = t2.oid AND t2.typbasetype != 0
) SELECT oid FROM typebases ORDER BY depth DESC LIMIT 1)";

pub(super) static ASYNCPG_PATTERN: LazyLock<Vec<Token>> =
    LazyLock::new(|| solid_tokens(ASYNCPG_DOMAIN_BASE));

pub(super) fn solid_tokens(sql: &str) -> Vec<Token> {
    tokens(sql).into_iter().filter(|t| !is_space(t)).collect()
}

/// Every occurrence of `pattern` (compared token by token, whitespace
/// aside) in `sql` replaced by `answer`; `None` when there is none.
pub(super) fn replace_pattern(sql: &str, pattern: &[Token], answer: &str) -> Option<String> {
    let all = tokens(sql);
    let solid: Vec<usize> = (0..all.len()).filter(|&i| !is_space(&all[i])).collect();
    let mut out = String::with_capacity(sql.len());
    let (mut k, mut copied, mut found) = (0, 0, false);
    while k + pattern.len() <= solid.len() {
        if (0..pattern.len()).all(|j| all[solid[k + j]] == pattern[j]) {
            let (first, last) = (solid[k], solid[k + pattern.len() - 1]);
            all[copied..first]
                .iter()
                .for_each(|t| out.push_str(&t.to_string()));
            out.push_str(answer);
            copied = last + 1;
            k += pattern.len();
            found = true;
        } else {
            k += 1;
        }
    }
    all[copied..]
        .iter()
        .for_each(|t| out.push_str(&t.to_string()));
    found.then_some(out)
}

/// The type oids of a composite type's attributes in asyncpg's type
/// introspection: `oid[]` in PostgreSQL; DataFusion's `array_agg` would make
/// it `int4[]`, a type asyncpg needs this very query to learn.
pub(super) const ASYNCPG_ATTRIBUTE_TYPES: &str = "array_agg(ia.atttypid ORDER BY ia.attnum)";

pub(super) static ASYNCPG_ATTRIBUTES: LazyLock<Vec<Token>> =
    LazyLock::new(|| solid_tokens(ASYNCPG_ATTRIBUTE_TYPES));

/// asyncpg's type introspection: the domain base-type subquery →
/// `t.typbasetype` (`ASYNCPG_DOMAIN_BASE`), the attribute types cast to
/// `oid[]` (`ASYNCPG_ATTRIBUTE_TYPES`).
pub fn asyncpg_domain_bases(sql: &str) -> Cow<'_, str> {
    if !sql.contains("typebases") {
        return Cow::Borrowed(sql);
    }
    let Some(out) = replace_pattern(sql, &ASYNCPG_PATTERN, "t.typbasetype") else {
        return Cow::Borrowed(sql);
    };
    let cast = format!("CAST({ASYNCPG_ATTRIBUTE_TYPES} AS oid[])");
    Cow::Owned(replace_pattern(&out, &ASYNCPG_ATTRIBUTES, &cast).unwrap_or(out))
}

pub(super) fn tokens(sql: &str) -> Vec<Token> {
    Tokenizer::new(&PostgreSqlDialect {}, sql)
        .tokenize()
        .unwrap_or_default()
}

pub(super) fn is_space(t: &Token) -> bool {
    matches!(t, Token::Whitespace(_))
}

/// psql 15's `\d <table>` queries over catalog tables that are empty in
/// OKO (no row-level security policies, extended statistics or
/// publications), which DataFusion cannot plan as written (`array(select
/// … where oid = any(pol.polroles))`, `pg_get_statisticsobjdef_columns`,
/// `generate_series(0, array_upper(pr.prattrs::int2[], 1))`): each (the
/// table's oid literal, `$1` here, is any) and its answer, no rows with
/// PostgreSQL's column names and types. (datafusion-pg-catalog replaces
/// them too, with every column `text`.)
const PSQL_EMPTY_TABLES: &[(&str, &str)] = &[
    (
        "SELECT pol.polname, pol.polpermissive,
          CASE WHEN pol.polroles = '{0}' THEN NULL ELSE pg_catalog.array_to_string(array(select rolname from pg_catalog.pg_roles where oid = any (pol.polroles) order by 1),',') END,
          pg_catalog.pg_get_expr(pol.polqual, pol.polrelid),
          pg_catalog.pg_get_expr(pol.polwithcheck, pol.polrelid),
          CASE pol.polcmd
            WHEN 'r' THEN 'SELECT'
            WHEN 'a' THEN 'INSERT'
            WHEN 'w' THEN 'UPDATE'
            WHEN 'd' THEN 'DELETE'
            END AS cmd
        FROM pg_catalog.pg_policy pol
        WHERE pol.polrelid = $1 ORDER BY 1",
        "SELECT NULL::name AS polname, NULL::boolean AS polpermissive, \
         NULL::text AS array_to_string, NULL::text AS pg_get_expr, NULL::text AS pg_get_expr, \
         NULL::text AS cmd WHERE false",
    ),
    (
        "SELECT oid, stxrelid::pg_catalog.regclass, stxnamespace::pg_catalog.regnamespace::pg_catalog.text AS nsp, stxname,
        pg_catalog.pg_get_statisticsobjdef_columns(oid) AS columns,
          'd' = any(stxkind) AS ndist_enabled,
          'f' = any(stxkind) AS deps_enabled,
          'm' = any(stxkind) AS mcv_enabled,
        stxstattarget
        FROM pg_catalog.pg_statistic_ext
        WHERE stxrelid = $1
        ORDER BY nsp, stxname",
        "SELECT NULL::oid AS oid, NULL::regclass AS stxrelid, NULL::text AS nsp, \
         NULL::name AS stxname, NULL::text AS columns, NULL::boolean AS ndist_enabled, \
         NULL::boolean AS deps_enabled, NULL::boolean AS mcv_enabled, \
         NULL::integer AS stxstattarget WHERE false",
    ),
    (
        "SELECT pubname
             , NULL
             , NULL
        FROM pg_catalog.pg_publication p
             JOIN pg_catalog.pg_publication_namespace pn ON p.oid = pn.pnpubid
             JOIN pg_catalog.pg_class pc ON pc.relnamespace = pn.pnnspid
        WHERE pc.oid = $1 and pg_catalog.pg_relation_is_publishable($1)
        UNION
        SELECT pubname
             , pg_get_expr(pr.prqual, c.oid)
             , (CASE WHEN pr.prattrs IS NOT NULL THEN
                 (SELECT string_agg(attname, ', ')
                   FROM pg_catalog.generate_series(0, pg_catalog.array_upper(pr.prattrs::pg_catalog.int2[], 1)) s,
                        pg_catalog.pg_attribute
                  WHERE attrelid = pr.prrelid AND attnum = prattrs[s])
                ELSE NULL END) FROM pg_catalog.pg_publication p
             JOIN pg_catalog.pg_publication_rel pr ON p.oid = pr.prpubid
             JOIN pg_catalog.pg_class c ON c.oid = pr.prrelid
        WHERE pr.prrelid = $1
        UNION
        SELECT pubname
             , NULL
             , NULL
        FROM pg_catalog.pg_publication p
        WHERE p.puballtables AND pg_catalog.pg_relation_is_publishable($1)
        ORDER BY 1",
        "SELECT NULL::name AS pubname, NULL::text AS \"?column?\", NULL::text AS \"?column?\" \
         WHERE false",
    ),
];

static PSQL_EMPTY_PATTERNS: LazyLock<Vec<(Vec<Token>, &'static str)>> = LazyLock::new(|| {
    PSQL_EMPTY_TABLES
        .iter()
        .map(|(query, answer)| (solid_tokens(query), *answer))
        .collect()
});

/// One of psql's queries over tables empty in OKO ([`PSQL_EMPTY_TABLES`]),
/// sent alone (a `;` after it aside), → its answer.
fn psql_empty_tables(sql: &str) -> Cow<'_, str> {
    if !sql.contains("pol.polname") && !sql.contains("stxrelid") && !sql.contains("pubname") {
        return Cow::Borrowed(sql);
    }
    let mut solid = solid_tokens(sql);
    while solid.last() == Some(&Token::SemiColon) {
        solid.pop();
    }
    let found = PSQL_EMPTY_PATTERNS.iter().find(|(pattern, _)| {
        pattern.len() == solid.len()
            && pattern
                .iter()
                .zip(&solid)
                .all(|(p, t)| matches!(p, Token::Placeholder(_)) || p == t)
    });
    match found {
        Some((_, answer)) => Cow::Owned(answer.to_string()),
        None => Cow::Borrowed(sql),
    }
}

/// Every rewrite, in order.
pub fn rewrite_all<'a>(sql: &'a str, search_path: &str, user: &str) -> Cow<'a, str> {
    let mut sql = rewrite(sql, search_path, user);
    let steps: [fn(&str) -> Cow<'_, str>; 8] = [
        psql_empty_tables,
        reset_time_zone,
        trim_spaces,
        typed_regclass_literals,
        regproc_literals,
        like_escapes,
        expand_arrays,
        asyncpg_domain_bases,
    ];
    for step in steps {
        if let Cow::Owned(s) = step(&sql) {
            sql = Cow::Owned(s);
        }
    }
    sql
}

/// `RESET TIME ZONE` (PostgreSQL's spelling, which sqlparser does not
/// read) → `RESET timezone`, for a statement that is only that.
fn reset_time_zone(sql: &str) -> Cow<'_, str> {
    let words: Vec<&str> = sql
        .trim()
        .trim_end_matches(';')
        .split_whitespace()
        .collect();
    let is_reset = words.len() == 3
        && words[0].eq_ignore_ascii_case("reset")
        && words[1].eq_ignore_ascii_case("time")
        && words[2].eq_ignore_ascii_case("zone");
    if is_reset {
        Cow::Owned("RESET timezone".into())
    } else {
        Cow::Borrowed(sql)
    }
}

/// `trim(LEADING FROM x)` (also `TRAILING`, `BOTH`): PostgreSQL trims
/// spaces when no characters are given; sqlparser wants them → `trim(LEADING
/// ' ' FROM x)`.
fn trim_spaces(sql: &str) -> Cow<'_, str> {
    let all = tokens(sql);
    let solid: Vec<usize> = (0..all.len()).filter(|&i| !is_space(&all[i])).collect();
    let word =
        |i: usize, w: &str| matches!(&all[i], Token::Word(x) if x.value.eq_ignore_ascii_case(w));
    let mut spaces_before = vec![];
    for k in 3..solid.len() {
        let [trim, open, side, from] = [solid[k - 3], solid[k - 2], solid[k - 1], solid[k]];
        if word(trim, "trim")
            && all[open] == Token::LParen
            && ["leading", "trailing", "both"]
                .iter()
                .any(|w| word(side, w))
            && word(from, "from")
        {
            spaces_before.push(from);
        }
    }
    if spaces_before.is_empty() {
        return Cow::Borrowed(sql);
    }
    let mut out = String::with_capacity(sql.len() + 4 * spaces_before.len());
    for (i, t) in all.iter().enumerate() {
        if spaces_before.contains(&i) {
            out.push_str("' ' ");
        }
        out.push_str(&t.to_string());
    }
    Cow::Owned(out)
}

/// Set-returning functions over arrays that [`super::pg_functions`]
/// implements as functions returning the set as an array.
pub(super) const ARRAY_SETS: &[&str] = &["_pg_expandarray", "generate_subscripts"];

/// `information_schema._pg_expandarray(a)` → `unnest(_pg_expandarray(a))`,
/// `generate_subscripts(a, 1)` → `unnest(generate_subscripts(a, 1))`:
/// PostgreSQL's set-returning functions as DataFusion can plan them (the
/// functions return the set as an array, of `(x, n)` records or of
/// subscripts). Two of them in one select list are unnested side by side,
/// as PostgreSQL runs them.
pub fn expand_arrays(sql: &str) -> Cow<'_, str> {
    let lower = sql.to_ascii_lowercase();
    if !ARRAY_SETS.iter().any(|f| lower.contains(f)) {
        return Cow::Borrowed(sql);
    }
    let all = tokens(sql);
    let is_word =
        |t: &Token, w: &str| matches!(t, Token::Word(x) if x.value.eq_ignore_ascii_case(w));
    // (first token of the call, the function's name, its closing parenthesis)
    let mut calls: Vec<(usize, usize, usize)> = Vec::new();
    for i in 0..all.len() {
        let set_function = ARRAY_SETS.iter().any(|f| is_word(&all[i], f));
        if !set_function || !matches!(all.get(i + 1), Some(Token::LParen)) {
            continue;
        }
        let mut depth = 0;
        let Some(close) = (i + 1..all.len()).find(|&j| {
            match all[j] {
                Token::LParen => depth += 1,
                Token::RParen => depth -= 1,
                _ => {}
            }
            depth == 0
        }) else {
            continue;
        };
        let qualified = i >= 2
            && matches!(all[i - 1], Token::Period)
            && (is_word(&all[i - 2], "information_schema") || is_word(&all[i - 2], "pg_catalog"));
        calls.push((if qualified { i - 2 } else { i }, i, close));
    }
    if calls.is_empty() {
        return Cow::Borrowed(sql);
    }
    let mut out = String::with_capacity(sql.len() + 16 * calls.len());
    for (i, t) in all.iter().enumerate() {
        if calls.iter().any(|(start, _, _)| *start == i) {
            out.push_str("unnest(");
        }
        // The qualifier goes: the function lives in no schema here.
        if !calls
            .iter()
            .any(|(start, name, _)| *start <= i && i < *name)
        {
            out.push_str(&t.to_string());
        }
        if calls.iter().any(|(_, _, close)| *close == i) {
            out.push(')');
        }
    }
    Cow::Owned(out)
}

/// `LIKE p ESCAPE 'c'` with `c` not a backslash → the same pattern escaped
/// with backslashes: a literal pattern (or literals joined by `||`, as
/// SQLAlchemy writes `'pg/_' || '%'`) is rewritten in place, any other
/// (`$1::VARCHAR || '%'`, psycopg 3) when it has its value,
/// `LIKE like_escape(p, 'c') ESCAPE '\'`.
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
        let Some(like) = like_keyword_before(&all, &solid, k - 1) else {
            continue;
        };
        let pattern = &solid[like + 1..k - 1];
        if pattern.is_empty() {
            continue;
        }
        let literal = pattern
            .iter()
            .all(|&i| matches!(all[i], Token::SingleQuotedString(_) | Token::StringConcat));
        if literal {
            for &i in pattern {
                if let Token::SingleQuotedString(p) = &all[i] {
                    all[i] = Token::SingleQuotedString(with_backslash(p, esc_char));
                }
            }
        } else {
            let (first, end) = (pattern[0], e);
            let text: String = all[first..end].iter().map(|t| t.to_string()).collect();
            let call = format!(
                "like_escape({}, {}) ",
                text.trim(),
                Token::SingleQuotedString(esc_char.to_string())
            );
            // The call takes the place of the pattern's tokens (a word is
            // written out as it is).
            all[first] = Token::make_word(&call, None);
            for t in &mut all[first + 1..end] {
                *t = Token::make_word("", None);
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

/// The solid-token index of the `LIKE`/`ILIKE` whose pattern ends just
/// before solid token `escape` (the `ESCAPE` keyword), looking back at the
/// same parenthesis depth; `None` when there is none.
pub(super) fn like_keyword_before(all: &[Token], solid: &[usize], escape: usize) -> Option<usize> {
    let mut depth = 0i32;
    for j in (0..escape).rev() {
        match &all[solid[j]] {
            Token::RParen | Token::RBracket => depth += 1,
            Token::LParen | Token::LBracket => {
                depth -= 1;
                if depth < 0 {
                    return None;
                }
            }
            Token::Word(w) if depth == 0 => {
                let word = w.value.to_ascii_uppercase();
                match word.as_str() {
                    "LIKE" | "ILIKE" if w.quote_style.is_none() => return Some(j),
                    "WHERE" | "AND" | "OR" | "SELECT" | "ON" | "WHEN" | "THEN" | "ELSE"
                        if w.quote_style.is_none() =>
                    {
                        return None;
                    }
                    _ => {}
                }
            }
            Token::Comma | Token::SemiColon if depth == 0 => return None,
            _ => {}
        }
    }
    None
}

/// A LIKE pattern escaped with `esc` rewritten to escape with a backslash.
pub fn with_backslash(pattern: &str, esc: char) -> String {
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

/// `'leads'::regclass` and `CAST('leads' AS regclass)` →
/// `oid_alias(…, 'regclass')`, so the value (the oid that
/// datafusion-pg-catalog looks up) is described as `regclass`.
pub fn typed_regclass_literals(sql: &str) -> Cow<'_, str> {
    if !sql.to_ascii_lowercase().contains("regclass") {
        return Cow::Borrowed(sql);
    }
    let all = tokens(sql);
    let solid: Vec<usize> = (0..all.len()).filter(|&i| !is_space(&all[i])).collect();
    let is_word = |k: usize, w: &str| matches!(solid.get(k).map(|&i| &all[i]), Some(Token::Word(x)) if x.value.eq_ignore_ascii_case(w));
    let is = |k: usize, t: &Token| solid.get(k).map(|&i| &all[i]) == Some(t);
    // `[pg_catalog .] regclass` at solid index k: the index after it.
    let regclass_at = |k: usize| {
        if is_word(k, "regclass") {
            Some(k + 1)
        } else if is_word(k, "pg_catalog")
            && is(k + 1, &Token::Period)
            && is_word(k + 2, "regclass")
        {
            Some(k + 3)
        } else {
            None
        }
    };
    // (first solid index, one past the last) of every literal cast.
    let mut spans: Vec<(usize, usize)> = Vec::new();
    for k in 0..solid.len() {
        let literal = |k: usize| {
            matches!(
                solid.get(k).map(|&i| &all[i]),
                Some(Token::SingleQuotedString(_))
            )
        };
        if literal(k) && is(k + 1, &Token::DoubleColon)
            && let Some(end) = regclass_at(k + 2)
            // Not the operand of CAST(… AS …), handled below.
            && !(k >= 2 && is(k - 1, &Token::LParen) && is_word(k - 2, "cast"))
        {
            spans.push((k, end));
        } else if is_word(k, "cast")
            && is(k + 1, &Token::LParen)
            && literal(k + 2)
            && is_word(k + 3, "as")
            && let Some(end) = regclass_at(k + 4)
            && is(end, &Token::RParen)
        {
            spans.push((k, end + 1));
        }
    }
    if spans.is_empty() {
        return Cow::Borrowed(sql);
    }
    let mut out = String::with_capacity(sql.len() + 32 * spans.len());
    for (k, &i) in solid.iter().enumerate() {
        let start = if k == 0 { 0 } else { solid[k - 1] + 1 };
        all[start..i]
            .iter()
            .for_each(|t| out.push_str(&t.to_string()));
        if spans.iter().any(|(s, _)| *s == k) {
            out.push_str("oid_alias(");
        }
        out.push_str(&all[i].to_string());
        if spans.iter().any(|(_, e)| *e == k + 1) {
            out.push_str(", 'regclass')");
        }
    }
    if let Some(&last) = solid.last() {
        all[last + 1..]
            .iter()
            .for_each(|t| out.push_str(&t.to_string()));
    }
    Cow::Owned(out)
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
    fn psqls_queries_over_empty_tables_are_answered_typed() {
        let sql = "SELECT oid, stxrelid::pg_catalog.regclass, \
                   stxnamespace::pg_catalog.regnamespace::pg_catalog.text AS nsp, stxname,\n\
                   pg_catalog.pg_get_statisticsobjdef_columns(oid) AS columns,\n\
                   'd' = any(stxkind) AS ndist_enabled, 'f' = any(stxkind) AS deps_enabled, \
                   'm' = any(stxkind) AS mcv_enabled, stxstattarget \
                   FROM pg_catalog.pg_statistic_ext WHERE stxrelid = '16385' \
                   ORDER BY nsp, stxname;";
        let out = psql_empty_tables(sql);
        assert!(out.starts_with("SELECT NULL::oid AS oid, NULL::regclass AS stxrelid"));
        assert!(
            out.ends_with("NULL::integer AS stxstattarget WHERE false"),
            "{out}"
        );
        // Another table's oid, the same answer; another query, no answer.
        assert_eq!(psql_empty_tables(&sql.replace("16385", "16390")), out);
        let other = sql.replace("ORDER BY nsp, stxname", "ORDER BY stxname");
        assert_eq!(psql_empty_tables(&other), other);
    }
}
