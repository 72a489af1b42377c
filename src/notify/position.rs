//! Where each subscription is: `ratings/_oko/notify/<name>.json` in the
//! store, moved only after the webhook answered.

use std::sync::Arc;

use anyhow::{Context, Result};
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt};

use serde::{Deserialize, Serialize};

pub(super) fn position_path(name: &str) -> Path {
    Path::from(format!("_oko/notify/{name}.json"))
}

#[derive(Serialize, Deserialize)]
pub(super) struct Position {
    version: u64,
}

pub(super) async fn load_position(store: &Arc<dyn ObjectStore>, name: &str) -> Result<Option<u64>> {
    match store.get(&position_path(name)).await {
        Ok(got) => {
            let bytes = got.bytes().await?;
            let p: Position = serde_json::from_slice(&bytes).with_context(|| {
                format!("the stored position of notifications {name:?} is damaged")
            })?;
            Ok(Some(p.version))
        }
        Err(object_store::Error::NotFound { .. }) => Ok(None),
        Err(e) => {
            Err(e).with_context(|| format!("cannot read the position of notifications {name:?}"))
        }
    }
}

pub(super) async fn save_position(
    store: &Arc<dyn ObjectStore>,
    name: &str,
    version: u64,
) -> Result<()> {
    let body = serde_json::to_vec(&Position { version })?;
    store
        .put(&position_path(name), body.into())
        .await
        .with_context(|| format!("cannot store the position of notifications {name:?}"))?;
    Ok(())
}
