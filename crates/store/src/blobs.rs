use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use redress_domain::ObjectId;

const TMP_DIR: &str = "tmp";
const PART_SUFFIX: &str = ".part";
const BLOB_SUFFIX: &str = ".age";

/// A folder of age files named by object id: `<root>/<2 hex>/<id>.age`. Writes go to
/// `<root>/tmp/` first and are renamed into place only when complete and on disk, so a
/// reader never sees half a file. What was left by a crash is removed by
/// [`crate::sweep_orphans`].
#[derive(Clone, Debug)]
pub struct BlobStore {
    root: PathBuf,
}

impl BlobStore {
    /// Opens (and creates, mode 0700) the blob folder.
    pub fn open(root: impl Into<PathBuf>) -> io::Result<Self> {
        let root = root.into();
        for dir in [root.clone(), root.join(TMP_DIR)] {
            fs::DirBuilder::new().recursive(true).mode(0o700).create(&dir)?;
        }
        Ok(Self { root })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Starts a new blob. Nothing is visible under its final name until
    /// [`PendingBlob::commit`]; dropping it removes the temporary file.
    pub fn begin(&self) -> io::Result<PendingBlob> {
        let id = ObjectId::random();
        let tmp_path = self.root.join(TMP_DIR).join(format!("{id}{PART_SUFFIX}"));
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp_path)?;
        Ok(PendingBlob {
            id,
            file: Some(file),
            tmp_path,
            final_path: self.path_of(id),
        })
    }

    pub fn path_of(&self, id: ObjectId) -> PathBuf {
        let name = id.to_string();
        self.root.join(&name[..2]).join(format!("{name}{BLOB_SUFFIX}"))
    }

    pub fn open_blob(&self, id: ObjectId) -> io::Result<File> {
        File::open(self.path_of(id))
    }

    /// Removes a blob; a blob that is already gone is not an error.
    pub fn remove(&self, id: ObjectId) -> io::Result<()> {
        match fs::remove_file(self.path_of(id)) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }

    /// Free bytes on the file system that holds the blobs.
    pub fn available_bytes(&self) -> io::Result<u64> {
        fs4::available_space(&self.root)
    }

    /// Committed blobs (id, path) and stray temporary files, for the sweep.
    pub(crate) fn list(&self) -> io::Result<(Vec<(ObjectId, PathBuf)>, Vec<PathBuf>)> {
        let mut blobs = Vec::new();
        let mut temps = Vec::new();
        for entry in fs::read_dir(&self.root)? {
            let entry = entry?;
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            if !entry.file_type()?.is_dir() {
                continue;
            }
            for file in fs::read_dir(entry.path())? {
                let file = file?;
                let path = file.path();
                let fname = file.file_name();
                let Some(fname) = fname.to_str() else { continue };
                if name == TMP_DIR {
                    if fname.ends_with(PART_SUFFIX) {
                        temps.push(path);
                    }
                } else if let Some(id) = fname.strip_suffix(BLOB_SUFFIX).and_then(ObjectId::parse) {
                    blobs.push((id, path));
                }
            }
        }
        Ok((blobs, temps))
    }
}

/// A blob being written. Implements [`Write`]; the bytes written must already be
/// ciphertext.
#[derive(Debug)]
pub struct PendingBlob {
    id: ObjectId,
    file: Option<File>,
    tmp_path: PathBuf,
    final_path: PathBuf,
}

impl PendingBlob {
    pub fn id(&self) -> ObjectId {
        self.id
    }

    /// Flushes the file to disk, renames it into place and syncs the folder, so the blob
    /// survives a power cut once this returns. Returns its size.
    pub fn commit(mut self) -> io::Result<u64> {
        let file = self
            .file
            .take()
            .ok_or_else(|| io::Error::other("blob already committed"))?;
        file.sync_all()?;
        let size = file.metadata()?.len();
        drop(file);
        let dir = self
            .final_path
            .parent()
            .ok_or_else(|| io::Error::other("blob path has no folder"))?;
        fs::DirBuilder::new().recursive(true).mode(0o700).create(dir)?;
        fs::rename(&self.tmp_path, &self.final_path)?;
        File::open(dir)?.sync_all()?;
        Ok(size)
    }
}

impl Write for PendingBlob {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.file
            .as_mut()
            .ok_or_else(|| io::Error::other("blob already committed"))?
            .write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.as_mut().map_or(Ok(()), Write::flush)
    }
}

impl Drop for PendingBlob {
    fn drop(&mut self) {
        if self.file.take().is_some() {
            // Best effort: whatever is left is removed by the sweep.
            let _ = fs::remove_file(&self.tmp_path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commit_makes_the_blob_visible_and_drop_removes_the_temp() {
        let dir = tempfile::tempdir().unwrap();
        let store = BlobStore::open(dir.path().join("blobs")).unwrap();
        let mut b = store.begin().unwrap();
        let id = b.id();
        b.write_all(b"ciphertext").unwrap();
        assert!(!store.path_of(id).exists());
        assert_eq!(b.commit().unwrap(), 10);
        assert_eq!(fs::read(store.path_of(id)).unwrap(), b"ciphertext");

        let mut aborted = store.begin().unwrap();
        aborted.write_all(b"half").unwrap();
        let aborted_id = aborted.id();
        drop(aborted);
        let (blobs, temps) = store.list().unwrap();
        assert_eq!(blobs.iter().map(|(i, _)| *i).collect::<Vec<_>>(), [id]);
        assert!(temps.is_empty());
        assert!(!store.path_of(aborted_id).exists());

        store.remove(id).unwrap();
        store.remove(id).unwrap();
        assert!(!store.path_of(id).exists());
    }
}
