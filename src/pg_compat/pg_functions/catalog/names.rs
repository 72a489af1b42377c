//! Types and functions named as PostgreSQL names them: `format_type`,
//! the text of an oid alias, `pg_get_function_arguments` and `_result`.

use super::super::quote_ident;
use crate::pg_compat::pg_catalog::CatalogIndex;

/// `format_type(oid, typmod)` as PostgreSQL's `format_type_extended`
/// writes it: SQL's names for the built-in types, with their modifiers
/// (`character varying(10)`, `numeric(10,2)`, `timestamp(3) with time
/// zone`), an array as its element's type and `[]`, a relation's row type
/// as the relation's name, qualified when its schema is not on the path;
/// `???` for an oid that names no type.
pub(super) fn format_type(
    index: Option<&CatalogIndex>,
    oid: i32,
    modifier: Option<i32>,
    path: &[String],
) -> String {
    // (name, element type, schema, namespace on the path)
    let (name, element, schema) = match (oid, index) {
        (_, Some(index)) => match index.static_type(oid) {
            Some(t) => (t.name.clone(), t.element, index.namespace(t.namespace)),
            None => match index.row_type(oid) {
                Some((r, false)) => (r.name, 0, Some(r.schema)),
                Some((r, true)) => (format!("_{}", r.name), r.row_type, Some(r.schema)),
                None => return "???".to_string(),
            },
        },
        // Without OKO's catalog: the built-in types only.
        (_, None) => (String::new(), 0, None),
    };
    if element != 0 {
        let base = format_type(index, element, modifier, path);
        return format!("{base}[]");
    }
    let given = modifier.is_some();
    let typmod = modifier.unwrap_or(-1);
    let with = given && typmod >= 0;
    let precision = |sql: &str, zone: &str| match with {
        true => format!("{sql}({typmod}){zone}"),
        false => format!("{sql}{zone}"),
    };
    let sql = match oid {
        16 => Some("boolean".to_string()),
        20 => Some("bigint".to_string()),
        21 => Some("smallint".to_string()),
        23 => Some("integer".to_string()),
        700 => Some("real".to_string()),
        701 => Some("double precision".to_string()),
        1042 if with => Some(format!("character({})", typmod - 4)),
        1042 if !given => Some("character".to_string()),
        1043 if with => Some(format!("character varying({})", typmod - 4)),
        1043 => Some("character varying".to_string()),
        1700 if with => Some(format!(
            "numeric({},{})",
            ((typmod - 4) >> 16) & 0xffff,
            (typmod - 4) & 0xffff
        )),
        1700 => Some("numeric".to_string()),
        1083 => Some(precision("time", " without time zone")),
        1266 => Some(precision("time", " with time zone")),
        1114 => Some(precision("timestamp", " without time zone")),
        1184 => Some(precision("timestamp", " with time zone")),
        1186 if !with => Some("interval".to_string()),
        1560 if with => Some(format!("bit({typmod})")),
        1560 if !given => Some("bit".to_string()),
        1562 => Some(precision("bit varying", "")),
        _ => None,
    };
    if let Some(sql) = sql {
        return sql;
    }
    if name.is_empty() {
        return match super::super::type_name(u32::try_from(oid).unwrap_or(0)) {
            Some(known) => known.to_string(),
            None => "???".to_string(),
        };
    }
    let quoted = match name.as_str() {
        // Keywords PostgreSQL quotes.
        "any" | "char" | "bit" => format!("\"{name}\""),
        _ => quote_ident(&name),
    };
    let qualified = match schema {
        Some(schema) if !path.contains(&schema) => format!("{}.{quoted}", quote_ident(&schema)),
        _ => quoted,
    };
    if with {
        format!("{qualified}({typmod})")
    } else {
        qualified
    }
}

/// `x::regclass::text` (and `regtype`, `regnamespace`, `regproc`): the
/// object's name as the alias type writes it (qualified when its schema is
/// not on the path), the number for an oid that names none (as PostgreSQL).
pub(super) fn oid_text(
    index: Option<&CatalogIndex>,
    oid: i32,
    kind: &str,
    path: &[String],
) -> String {
    let qualified = |schema: Option<String>, name: &str| match schema {
        Some(schema) if !path.contains(&schema) => {
            format!("{}.{}", quote_ident(&schema), quote_ident(name))
        }
        _ => quote_ident(name),
    };
    let named = index.and_then(|index| match kind {
        "regclass" => index
            .relation(oid)
            .map(|r| qualified(Some(r.schema), &r.name)),
        "regtype" => Some(format_type(Some(index), oid, None, path)).filter(|t| t != "???"),
        "regnamespace" => index.namespace(oid).map(|n| quote_ident(&n)),
        "regproc" => index
            .function(oid)
            .map(|f| qualified(index.namespace(f.namespace), &f.name)),
        _ => None,
    });
    named.unwrap_or_else(|| oid.to_string())
}

/// `format_type(oid, NULL)`.
fn type_name(index: &CatalogIndex, oid: i32, path: &[String]) -> String {
    format_type(Some(index), oid, None, path)
}

/// `pg_get_function_arguments` and `…_identity_arguments`, as
/// PostgreSQL's `print_function_arguments` writes them: modes, names and
/// types, `ORDER BY` before an ordered-set aggregate's aggregated
/// arguments; not the `TABLE` columns (those are the result). Defaults are
/// not written: the exported catalog has them only as parse trees.
pub(super) fn arguments(index: &CatalogIndex, oid: i32, path: &[String]) -> Option<String> {
    let f = index.function(oid)?;
    let (types, modes) = match (&f.all_arguments, &f.modes) {
        (Some(all), Some(modes)) if all.len() == modes.len() => (all.clone(), Some(modes)),
        _ => (f.arguments.clone(), None),
    };
    let mut out = String::new();
    let mut printed = 0;
    let mut i = 0;
    while i < types.len() {
        let mode = modes
            .and_then(|m| m.get(i))
            .map(String::as_str)
            .unwrap_or("i");
        let prefix = match mode {
            "t" => {
                i += 1;
                continue;
            }
            // A procedure's modes are all written (`DROP PROCEDURE` reads them).
            "i" if f.kind == "p" => "IN ",
            "b" => "INOUT ",
            "o" => "OUT ",
            "v" => "VARIADIC ",
            _ => "",
        };
        if Some(printed) == f.ordered_at {
            if printed > 0 {
                out.push(' ');
            }
            out.push_str("ORDER BY ");
        } else if printed > 0 {
            out.push_str(", ");
        }
        let name = f
            .names
            .as_ref()
            .and_then(|n| n.get(i))
            .filter(|n| !n.is_empty())
            .map(|n| format!("{} ", quote_ident(n)))
            .unwrap_or_default();
        out.push_str(&format!(
            "{prefix}{name}{}",
            type_name(index, types[i], path)
        ));
        printed += 1;
        // A variadic ordered-set aggregate's last argument is both direct
        // and aggregated: written twice (`VARIADIC "any" ORDER BY VARIADIC "any"`).
        if Some(printed) == f.ordered_at && i + 1 == types.len() {
            continue;
        }
        i += 1;
    }
    Some(out)
}

/// `pg_get_function_result`: `SETOF t`, `TABLE(…)` or the type; NULL for a
/// procedure.
pub(super) fn result(index: &CatalogIndex, oid: i32, path: &[String]) -> Option<String> {
    let f = index.function(oid)?;
    if f.kind == "p" {
        return None;
    }
    if let (Some(modes), Some(all)) = (&f.modes, &f.all_arguments)
        && modes.iter().any(|m| m == "t")
    {
        let columns: Vec<String> = modes
            .iter()
            .zip(all)
            .enumerate()
            .filter(|(_, (m, _))| *m == "t")
            .map(|(i, (_, t))| {
                let name = f
                    .names
                    .as_ref()
                    .and_then(|n| n.get(i))
                    .map(|n| format!("{} ", quote_ident(n)))
                    .unwrap_or_default();
                format!("{name}{}", type_name(index, *t, path))
            })
            .collect();
        return Some(format!("TABLE({})", columns.join(", ")));
    }
    let set = if f.returns_set { "SETOF " } else { "" };
    Some(format!("{set}{}", type_name(index, f.result, path)))
}
