//! The file store: uploaded documents live outside the database, encrypted at rest.
//!
//! Everything goes through [`FileStore`], so an S3-compatible store can replace the local
//! directory without touching callers.

use std::fs;
use std::io::Write;
use std::path::PathBuf;

use crate::crypto::FieldCipher;

pub trait FileStore: Send + Sync {
    /// Stores `bytes` under a new random key and returns the key.
    fn put(&self, bytes: &[u8]) -> std::io::Result<String>;
    fn get(&self, key: &str) -> std::io::Result<Vec<u8>>;
    fn delete(&self, key: &str) -> std::io::Result<()>;
}

/// Files under a local directory, each encrypted with AES-256-GCM.
pub struct LocalFileStore {
    root: PathBuf,
    cipher: FieldCipher,
}

impl LocalFileStore {
    pub fn new(root: PathBuf, cipher: FieldCipher) -> std::io::Result<Self> {
        fs::create_dir_all(&root)?;
        Ok(Self { root, cipher })
    }

    fn path(&self, key: &str) -> std::io::Result<PathBuf> {
        // Keys are ours (uuid hex); refuse anything else so a key can never escape the root.
        if key.len() != 32 || !key.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(std::io::Error::new(std::io::ErrorKind::InvalidInput, "bad file key"));
        }
        Ok(self.root.join(&key[..2]).join(key))
    }
}

impl FileStore for LocalFileStore {
    fn put(&self, bytes: &[u8]) -> std::io::Result<String> {
        let key = uuid::Uuid::new_v4().simple().to_string();
        let path = self.path(&key)?;
        fs::create_dir_all(path.parent().expect("file path has a parent"))?;
        // Write to a temporary name and rename, so a crash never leaves a half file.
        let tmp = path.with_extension("part");
        let mut file = fs::File::create(&tmp)?;
        file.write_all(&self.cipher.encrypt_bytes(bytes))?;
        file.sync_all()?;
        fs::rename(&tmp, &path)?;
        Ok(key)
    }

    fn get(&self, key: &str) -> std::io::Result<Vec<u8>> {
        let sealed = fs::read(self.path(key)?)?;
        self.cipher.decrypt_bytes(&sealed).map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))
    }

    fn delete(&self, key: &str) -> std::io::Result<()> {
        match fs::remove_file(self.path(key)?) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stores_encrypted_and_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalFileStore::new(dir.path().to_path_buf(), FieldCipher::new(&[1u8; 32])).unwrap();
        let key = store.put(b"%PDF-1.7 secret passport number").unwrap();
        let on_disk = fs::read(store.path(&key).unwrap()).unwrap();
        assert!(!on_disk.windows(6).any(|w| w == b"secret"));
        assert_eq!(store.get(&key).unwrap(), b"%PDF-1.7 secret passport number");
        store.delete(&key).unwrap();
        assert!(store.get(&key).is_err());
        assert!(store.get("../../etc/passwd").is_err());
    }
}
