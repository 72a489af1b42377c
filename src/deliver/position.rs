//! Where each delivery is: `_oko/deliver/<name>.json` at the store's root,
//! the last period the target accepted, moved only after it did.

use std::sync::Arc;

use anyhow::{Context, Result};
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt};
use serde::{Deserialize, Serialize};

pub(super) fn position_path(name: &str) -> Path {
    Path::from(format!("_oko/deliver/{name}.json"))
}

/// A stored position. The tenant and schedule it was made under come
/// along: a position of another schedule (the entry was edited) is not
/// this one's, and the entry starts afresh.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Position {
    pub tenant: String,
    pub schedule: String,
    /// The last delivered period, on the tenant's wall clock
    /// (`2025-03-03T13:00:00`).
    pub period_start: String,
    pub period_end: String,
    /// When its target accepted it (RFC 3339, UTC).
    pub delivered_at: String,
}

pub(super) async fn load_position(
    store: &Arc<dyn ObjectStore>,
    name: &str,
) -> Result<Option<Position>> {
    match store.get(&position_path(name)).await {
        Ok(got) => {
            let bytes = got.bytes().await?;
            let p = serde_json::from_slice(&bytes)
                .with_context(|| format!("the stored position of delivery {name:?} is damaged"))?;
            Ok(Some(p))
        }
        Err(object_store::Error::NotFound { .. }) => Ok(None),
        Err(e) => Err(e).with_context(|| format!("cannot read the position of delivery {name:?}")),
    }
}

pub(super) async fn save_position(
    store: &Arc<dyn ObjectStore>,
    name: &str,
    position: &Position,
) -> Result<()> {
    let body = serde_json::to_vec(position)?;
    store
        .put(&position_path(name), body.into())
        .await
        .with_context(|| format!("cannot store the position of delivery {name:?}"))?;
    Ok(())
}
