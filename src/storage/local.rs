//! Objects as files under a local directory: the embedded default.

use std::fs;
use std::io::Write;
use std::path::PathBuf;

use super::{Blobs, StoreError};

pub struct LocalDir {
    root: PathBuf,
}

impl LocalDir {
    pub fn new(root: PathBuf) -> std::io::Result<Self> {
        fs::create_dir_all(&root)?;
        Ok(Self { root })
    }

    /// `root/<first two characters>/<key>`; keys were checked by the caller.
    fn path(&self, key: &str) -> PathBuf {
        self.root.join(&key[..2]).join(key)
    }
}

fn io(e: std::io::Error) -> StoreError {
    match e.kind() {
        std::io::ErrorKind::NotFound => StoreError::NotFound,
        _ => StoreError::Other(e.to_string()),
    }
}

impl Blobs for LocalDir {
    fn put(&self, key: &str, bytes: Vec<u8>) -> Result<(), StoreError> {
        let path = self.path(key);
        fs::create_dir_all(path.parent().expect("file path has a parent")).map_err(io)?;
        // Write to a temporary name and rename, so a crash never leaves a half file.
        let tmp = path.with_extension("part");
        let mut file = fs::File::create(&tmp).map_err(io)?;
        file.write_all(&bytes).map_err(io)?;
        file.sync_all().map_err(io)?;
        fs::rename(&tmp, &path).map_err(io)
    }

    fn get(&self, key: &str) -> Result<Vec<u8>, StoreError> {
        fs::read(self.path(key)).map_err(io)
    }

    fn delete(&self, key: &str) -> Result<(), StoreError> {
        match fs::remove_file(self.path(key)) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            other => other.map_err(io),
        }
    }
}
