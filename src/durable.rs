//! A store in a local folder that keeps what it acknowledges: every object
//! written (a data file, a commit, a checkpoint) is flushed to disk with
//! `fsync`, together with the folders that name it, before the write
//! returns.
//!
//! object_store's `LocalFileSystem` writes through the page cache only: a
//! commit survives a crash of the process, not a power loss or a kernel
//! panic. Delta writes its data files before the commit that references
//! them, so syncing each write as it completes also orders them: once a
//! commit is durable, so are the files it names. Object stores (S3 and the
//! like) are durable on acknowledgement and are used as they are.

use std::fmt;
use std::path::{Path as FsPath, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use futures::stream::BoxStream;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::{
    CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta, ObjectStore,
    PutMultipartOptions, PutOptions, PutPayload, PutResult, RenameOptions, Result, UploadPart,
};

/// The whole local file system (`/` is the root, as deltalake expects of a
/// root store), flushing each write under `root` with the folders that name
/// it: its own, and those the write created up to the nearest that existed.
#[derive(Debug)]
pub struct DurableFs {
    inner: Arc<LocalFileSystem>,
    /// The store's folder: the highest folder flushed after a write.
    root: PathBuf,
    /// Files and folders this store has flushed.
    syncs: Arc<AtomicU64>,
}

impl DurableFs {
    pub fn new(root: PathBuf) -> Self {
        DurableFs {
            inner: Arc::new(LocalFileSystem::new()),
            root,
            syncs: Arc::default(),
        }
    }

    /// How many files and folders this store has flushed so far.
    pub fn syncs(&self) -> u64 {
        self.syncs.load(Ordering::Relaxed)
    }

    /// The folder whose entries a write to `location` will change: the
    /// nearest existing one above it (the write creates any below). Asked
    /// before the write.
    fn anchor(&self, location: &Path) -> Result<PathBuf> {
        let file = self.inner.path_to_filesystem(location)?;
        let mut dir = file.parent();
        while let Some(d) = dir {
            if d.is_dir() || d == self.root || !d.starts_with(&self.root) {
                return Ok(d.to_path_buf());
            }
            dir = d.parent();
        }
        Ok(self.root.clone())
    }

    /// Flushes the object at `location` and every folder from its own up to
    /// `anchor` (a new partition folder must be named durably too).
    async fn flush(&self, location: &Path, anchor: PathBuf) -> Result<()> {
        let file = self.inner.path_to_filesystem(location)?;
        let syncs = self.syncs.clone();
        tokio::task::spawn_blocking(move || sync_upwards(&file, &anchor, &syncs))
            .await
            .map_err(|e| object_store::Error::Generic {
                store: "DurableFs",
                source: Box::new(e),
            })?
            .map_err(|e| object_store::Error::Generic {
                store: "DurableFs",
                source: Box::new(e),
            })
    }
}

fn sync_upwards(file: &FsPath, anchor: &FsPath, syncs: &AtomicU64) -> std::io::Result<()> {
    std::fs::File::open(file)?.sync_all()?;
    syncs.fetch_add(1, Ordering::Relaxed);
    let mut dir = file.parent();
    while let Some(d) = dir {
        // Folders are opened read-only; fsync on the handle flushes their
        // entries.
        std::fs::File::open(d)?.sync_all()?;
        syncs.fetch_add(1, Ordering::Relaxed);
        if d == anchor || !d.starts_with(anchor) {
            break;
        }
        dir = d.parent();
    }
    Ok(())
}

impl fmt::Display for DurableFs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DurableFs({})", self.root.display())
    }
}

#[async_trait]
impl ObjectStore for DurableFs {
    async fn put_opts(
        &self,
        location: &Path,
        payload: PutPayload,
        opts: PutOptions,
    ) -> Result<PutResult> {
        let anchor = self.anchor(location)?;
        let put = self.inner.put_opts(location, payload, opts).await?;
        self.flush(location, anchor).await?;
        Ok(put)
    }

    async fn put_multipart_opts(
        &self,
        location: &Path,
        opts: PutMultipartOptions,
    ) -> Result<Box<dyn MultipartUpload>> {
        let anchor = self.anchor(location)?;
        let upload = self.inner.put_multipart_opts(location, opts).await?;
        Ok(Box::new(DurableUpload {
            upload,
            location: location.clone(),
            anchor,
            store: DurableFs {
                inner: self.inner.clone(),
                root: self.root.clone(),
                syncs: self.syncs.clone(),
            },
        }))
    }

    async fn get_opts(&self, location: &Path, options: GetOptions) -> Result<GetResult> {
        self.inner.get_opts(location, options).await
    }

    async fn get_ranges(
        &self,
        location: &Path,
        ranges: &[std::ops::Range<u64>],
    ) -> Result<Vec<bytes::Bytes>> {
        self.inner.get_ranges(location, ranges).await
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, Result<Path>>,
    ) -> BoxStream<'static, Result<Path>> {
        self.inner.delete_stream(locations)
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, Result<ObjectMeta>> {
        self.inner.list(prefix)
    }

    fn list_with_offset(
        &self,
        prefix: Option<&Path>,
        offset: &Path,
    ) -> BoxStream<'static, Result<ObjectMeta>> {
        self.inner.list_with_offset(prefix, offset)
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> Result<ListResult> {
        self.inner.list_with_delimiter(prefix).await
    }

    async fn copy_opts(&self, from: &Path, to: &Path, options: CopyOptions) -> Result<()> {
        let anchor = self.anchor(to)?;
        self.inner.copy_opts(from, to, options).await?;
        self.flush(to, anchor).await
    }

    async fn rename_opts(&self, from: &Path, to: &Path, options: RenameOptions) -> Result<()> {
        let anchor = self.anchor(to)?;
        self.inner.rename_opts(from, to, options).await?;
        self.flush(to, anchor).await
    }
}

/// A streamed write (large data files): flushed when it completes.
#[derive(Debug)]
struct DurableUpload {
    upload: Box<dyn MultipartUpload>,
    location: Path,
    /// The nearest folder that existed before the upload began.
    anchor: PathBuf,
    store: DurableFs,
}

#[async_trait]
impl MultipartUpload for DurableUpload {
    fn put_part(&mut self, data: PutPayload) -> UploadPart {
        self.upload.put_part(data)
    }

    async fn complete(&mut self) -> Result<PutResult> {
        let put = self.upload.complete().await?;
        self.store
            .flush(&self.location, self.anchor.clone())
            .await?;
        Ok(put)
    }

    async fn abort(&mut self) -> Result<()> {
        self.upload.abort().await
    }
}

#[cfg(test)]
mod tests {
    use object_store::ObjectStoreExt;
    use object_store::path::Path;

    use super::DurableFs;
    use crate::config::StoreConfig;
    use crate::model::Table;
    use crate::store::Store;

    #[tokio::test]
    async fn a_write_is_flushed_with_the_folders_it_created() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_path_buf();
        let fs = DurableFs::new(root.clone());
        let at = |p: &str| Path::from(root.join(p).display().to_string().trim_start_matches('/'));
        let file = at("a/b/part.parquet");
        fs.put(&file, b"rows".to_vec().into()).await.unwrap();
        // The file, `b`, `a` and the store's folder.
        assert_eq!(fs.syncs(), 4);
        // Into an existing folder: the file and its folder.
        let next = at("a/b/next.parquet");
        fs.put(&next, b"rows".to_vec().into()).await.unwrap();
        assert_eq!(fs.syncs(), 6);
    }

    #[tokio::test]
    async fn a_local_commit_survives_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&StoreConfig {
            url: dir.path().display().to_string(),
            ..StoreConfig::default()
        })
        .unwrap();
        let table = store.table_or_create(Table::ManualStats).await.unwrap();
        assert_eq!(table.version(), Some(0));
        let reopened = store.table(Table::ManualStats).await.unwrap().unwrap();
        assert_eq!(reopened.version(), Some(0));
    }
}
