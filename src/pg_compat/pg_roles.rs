//! OKO's users as PostgreSQL roles: `pg_roles`, `pg_user` and
//! `pg_auth_members`, so psql's `\du` and tools' role pickers list who may
//! log in and with which OKO role.
//!
//! Every configured user is a login role and a member of one group role
//! without login: `oko_viewer`, `oko_moderator` or `oko_admin`. Nothing of
//! a verifier is shown (`rolpassword` is `********`, as PostgreSQL shows it
//! to non-superusers). A tenant's catalog lists the users of that tenant
//! and the users bound to none — never another tenant's users.
//!
//! datafusion-pg-catalog's own `pg_roles` asks a context provider for the
//! roles; given an `Arc<AuthManager>` that provider calls itself until the
//! stack overflows. These tables replace it, and the provider handed to
//! datafusion-pg-catalog ([`NoRoles`]) answers nothing.

use std::sync::Arc;

use datafusion::arrow::array::{
    ArrayRef, BooleanArray, Int32Array, ListBuilder, RecordBatch, StringArray, StringBuilder,
    TimestampMicrosecondArray,
};
use datafusion::arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use datafusion::catalog::{MemTable, TableProvider};
use datafusion::common::Result;
use datafusion_postgres::datafusion_pg_catalog::pg_catalog::context::PgCatalogContextProvider;

use crate::auth::Role;

/// The context provider handed to datafusion-pg-catalog: no roles (ours
/// are the tables below).
#[derive(Debug, Clone)]
pub struct NoRoles;

impl PgCatalogContextProvider for NoRoles {}

/// One configured user, as the catalog shows it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct RoleEntry {
    pub name: String,
    pub role: Role,
    pub tenant: Option<String>,
}

/// The group roles, in `Role` order.
const GROUPS: [(Role, &str); 4] = [
    (Role::Viewer, "oko_viewer"),
    (Role::Supervisor, "oko_supervisor"),
    (Role::Moderator, "oko_moderator"),
    (Role::Admin, "oko_admin"),
];

/// A role's name: `name`, as in PostgreSQL (psql's `\du` and drivers read
/// the column's type).
fn name_field(column: &str) -> Field {
    super::text_types::marked(Field::new(column, DataType::Utf8, false), "name")
}

/// The first role oid (PostgreSQL's first user object id).
const FIRST_OID: i32 = 16_384;

/// `pg_roles`, `pg_user` and `pg_auth_members` for the users a catalog
/// shows (already chosen for the tenant).
pub fn tables(users: &[RoleEntry]) -> Result<Vec<(&'static str, Arc<dyn TableProvider>)>> {
    let mut users = users.to_vec();
    users.sort();
    let group_oid =
        |role: Role| FIRST_OID + GROUPS.iter().position(|(r, _)| *r == role).unwrap_or(0) as i32;
    let user_oid = |i: usize| FIRST_OID + GROUPS.len() as i32 + i as i32;

    // pg_roles: the groups, then the users.
    let names: Vec<String> = GROUPS
        .iter()
        .map(|(_, n)| n.to_string())
        .chain(users.iter().map(|u| u.name.clone()))
        .collect();
    let oids: Vec<i32> = GROUPS
        .iter()
        .map(|(r, _)| group_oid(*r))
        .chain((0..users.len()).map(user_oid))
        .collect();
    let can_login: Vec<bool> = GROUPS
        .iter()
        .map(|_| false)
        .chain(users.iter().map(|_| true))
        .collect();
    let n = names.len();
    let no = || Arc::new(BooleanArray::from(vec![false; n])) as ArrayRef;
    let text_list = || DataType::List(Arc::new(Field::new("item", DataType::Utf8, true)));
    let stamp = DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()));
    let configs = |rows: usize| {
        let mut b = ListBuilder::new(StringBuilder::new());
        for _ in 0..rows {
            b.append_null();
        }
        Arc::new(b.finish()) as ArrayRef
    };
    let roles_schema = Arc::new(Schema::new(vec![
        name_field("rolname"),
        Field::new("rolsuper", DataType::Boolean, true),
        Field::new("rolinherit", DataType::Boolean, true),
        Field::new("rolcreaterole", DataType::Boolean, true),
        Field::new("rolcreatedb", DataType::Boolean, true),
        Field::new("rolcanlogin", DataType::Boolean, true),
        Field::new("rolreplication", DataType::Boolean, true),
        Field::new("rolconnlimit", DataType::Int32, true),
        Field::new("rolpassword", DataType::Utf8, true),
        Field::new("rolvaliduntil", stamp.clone(), true),
        Field::new("rolbypassrls", DataType::Boolean, true),
        Field::new("rolconfig", text_list(), true),
        Field::new("oid", DataType::Int32, false),
    ]));
    let roles = RecordBatch::try_new(
        roles_schema.clone(),
        vec![
            Arc::new(StringArray::from(names.clone())),
            no(),
            Arc::new(BooleanArray::from(vec![true; n])),
            no(),
            no(),
            Arc::new(BooleanArray::from(can_login.clone())),
            no(),
            Arc::new(Int32Array::from(vec![-1; n])),
            Arc::new(StringArray::from(vec![Some("********"); n])),
            Arc::new(TimestampMicrosecondArray::from(vec![None::<i64>; n]).with_timezone("UTC")),
            no(),
            configs(n),
            Arc::new(Int32Array::from(oids.clone())),
        ],
    )?;

    // pg_user: the login roles.
    let m = users.len();
    let user_schema = Arc::new(Schema::new(vec![
        name_field("usename"),
        Field::new("usesysid", DataType::Int32, false),
        Field::new("usecreatedb", DataType::Boolean, true),
        Field::new("usesuper", DataType::Boolean, true),
        Field::new("userepl", DataType::Boolean, true),
        Field::new("usebypassrls", DataType::Boolean, true),
        Field::new("passwd", DataType::Utf8, true),
        Field::new("valuntil", stamp, true),
        Field::new("useconfig", text_list(), true),
    ]));
    let no_m = || Arc::new(BooleanArray::from(vec![false; m])) as ArrayRef;
    let pg_user = RecordBatch::try_new(
        user_schema.clone(),
        vec![
            Arc::new(StringArray::from(
                users.iter().map(|u| u.name.clone()).collect::<Vec<_>>(),
            )),
            Arc::new(Int32Array::from((0..m).map(user_oid).collect::<Vec<_>>())),
            no_m(),
            no_m(),
            no_m(),
            no_m(),
            Arc::new(StringArray::from(vec![Some("********"); m])),
            Arc::new(TimestampMicrosecondArray::from(vec![None::<i64>; m]).with_timezone("UTC")),
            configs(m),
        ],
    )?;

    // pg_auth_members: each user in its group.
    let members_schema = Arc::new(Schema::new(vec![
        Field::new("roleid", DataType::Int32, false),
        Field::new("member", DataType::Int32, false),
        Field::new("grantor", DataType::Int32, false),
        Field::new("admin_option", DataType::Boolean, false),
    ]));
    let members = RecordBatch::try_new(
        members_schema.clone(),
        vec![
            Arc::new(Int32Array::from(
                users.iter().map(|u| group_oid(u.role)).collect::<Vec<_>>(),
            )),
            Arc::new(Int32Array::from((0..m).map(user_oid).collect::<Vec<_>>())),
            Arc::new(Int32Array::from(vec![10; m])),
            no_m(),
        ],
    )?;

    let table = |schema, batch| -> Result<Arc<dyn TableProvider>> {
        Ok(Arc::new(MemTable::try_new(schema, vec![vec![batch]])?))
    };
    Ok(vec![
        ("pg_roles", table(roles_schema, roles)?),
        ("pg_user", table(user_schema, pg_user)?),
        ("pg_auth_members", table(members_schema, members)?),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::prelude::SessionContext;

    #[tokio::test]
    async fn users_are_login_roles_in_their_group() {
        let users = vec![
            RoleEntry {
                name: "grafana".into(),
                role: Role::Viewer,
                tenant: Some("okna".into()),
            },
            RoleEntry {
                name: "boss".into(),
                role: Role::Admin,
                tenant: None,
            },
        ];
        let ctx = SessionContext::new();
        for (name, t) in tables(&users).unwrap() {
            ctx.register_table(name, t).unwrap();
        }
        let batches = ctx
            .sql(
                "SELECT r.rolname, g.rolname AS grp, r.rolpassword FROM pg_roles r \
                 JOIN pg_auth_members m ON m.member = r.oid \
                 JOIN pg_roles g ON g.oid = m.roleid WHERE r.rolcanlogin ORDER BY 1",
            )
            .await
            .unwrap()
            .collect()
            .await
            .unwrap();
        let text = datafusion::arrow::util::pretty::pretty_format_batches(&batches)
            .unwrap()
            .to_string();
        assert!(
            text.contains("| boss    | oko_admin  | ********    |"),
            "{text}"
        );
        assert!(
            text.contains("| grafana | oko_viewer | ********    |"),
            "{text}"
        );
    }
}
