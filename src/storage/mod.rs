//! The file store: uploaded documents live outside the database, encrypted at rest.
//!
//! Everything goes through [`FileStore`]. [`EncryptedStore`] encrypts with the key ring
//! ([`FieldCipher`]) and keeps the sealed bytes in a [`Blobs`] backend: a local directory
//! (the embedded default) or an S3-compatible bucket. A storage key names the key version
//! that sealed the object (`<32 hex>.k<N>`; the suffix-less keys written before the ring
//! existed are version 1), so key rotation can find what still uses an old key.

pub mod local;
pub mod s3;

use std::sync::Arc;
use std::time::Duration;

use crate::config::ConfigError;
use crate::crypto::FieldCipher;
use crate::error::AppError;

/// What can go wrong with a stored object, each with its own answer to the client.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The object does not exist (deleted, or lost in a restore).
    #[error("no such object")]
    NotFound,
    /// The store did not answer in time or refused the connection.
    #[error("file store unavailable: {0}")]
    Unavailable(String),
    /// The object exists but does not decrypt: a retired key or corrupted bytes.
    #[error("stored object does not decrypt")]
    Corrupt,
    #[error("invalid storage key")]
    InvalidKey,
    #[error("file store error: {0}")]
    Other(String),
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => {
                tracing::error!("a file row names an object missing from the file store");
                AppError::NotFound
            }
            StoreError::Unavailable(cause) => AppError::Unavailable(cause),
            other => AppError::Internal(other.into()),
        }
    }
}

/// Encrypted files by storage key.
pub trait FileStore: Send + Sync {
    /// Encrypts `bytes` with the current key, stores them under a new key and returns it.
    fn put(&self, bytes: &[u8]) -> Result<String, StoreError>;
    fn get(&self, key: &str) -> Result<Vec<u8>, StoreError>;
    /// Removes an object; removing a missing one succeeds.
    fn delete(&self, key: &str) -> Result<(), StoreError>;
}

/// Raw bytes by storage key: where sealed objects live.
pub trait Blobs: Send + Sync {
    fn put(&self, key: &str, bytes: Vec<u8>) -> Result<(), StoreError>;
    fn get(&self, key: &str) -> Result<Vec<u8>, StoreError>;
    fn delete(&self, key: &str) -> Result<(), StoreError>;
}

/// The key version a storage key names, after checking the key is one of ours (so a key
/// can never escape the store's root or prefix).
pub fn key_version(key: &str) -> Result<u32, StoreError> {
    let (id, version) = match key.split_once(".k") {
        None => (key, 1),
        Some((id, v)) => {
            if v.is_empty() || v.len() > 9 || !v.bytes().all(|b| b.is_ascii_digit()) {
                return Err(StoreError::InvalidKey);
            }
            (id, v.parse().map_err(|_| StoreError::InvalidKey)?)
        }
    };
    if id.len() != 32 || !id.bytes().all(|b| b.is_ascii_hexdigit()) || version == 0 {
        return Err(StoreError::InvalidKey);
    }
    Ok(version)
}

/// Files sealed with the key ring and kept in `blobs`.
pub struct EncryptedStore {
    blobs: Box<dyn Blobs>,
    cipher: FieldCipher,
}

impl EncryptedStore {
    pub fn new(blobs: Box<dyn Blobs>, cipher: FieldCipher) -> Self {
        Self { blobs, cipher }
    }
}

impl FileStore for EncryptedStore {
    fn put(&self, bytes: &[u8]) -> Result<String, StoreError> {
        let (version, sealed) = self.cipher.seal(bytes);
        let key = format!("{}.k{version}", uuid::Uuid::new_v4().simple());
        self.blobs.put(&key, sealed)?;
        Ok(key)
    }

    fn get(&self, key: &str) -> Result<Vec<u8>, StoreError> {
        let version = key_version(key)?;
        let sealed = self.blobs.get(key)?;
        self.cipher.open(version, &sealed).map_err(|_| StoreError::Corrupt)
    }

    fn delete(&self, key: &str) -> Result<(), StoreError> {
        key_version(key)?;
        self.blobs.delete(key)
    }
}

/// Where files are kept (`GATEHOUSE_FILE_STORE`), documented in docs/deploy.md.
#[derive(Clone, Debug)]
pub enum StoreConfig {
    /// `$GATEHOUSE_DATA_DIR/files`, the embedded default (one instance only).
    Local(std::path::PathBuf),
    S3(s3::S3Config),
}

impl StoreConfig {
    /// Reads the `GATEHOUSE_FILE_STORE` and `GATEHOUSE_S3_*` variables.
    pub fn from_lookup(get: &impl Fn(&str) -> Option<String>, data_dir: &std::path::Path) -> Result<Self, ConfigError> {
        match get("GATEHOUSE_FILE_STORE").as_deref() {
            None | Some("local") => Ok(Self::Local(data_dir.join("files"))),
            Some("s3") => Ok(Self::S3(s3::S3Config::from_lookup(get)?)),
            Some(other) => Err(ConfigError(format!("GATEHOUSE_FILE_STORE: {other:?} is not local or s3"))),
        }
    }

    /// Opens the store; files are sealed with `cipher`.
    pub fn open(&self, cipher: FieldCipher) -> anyhow::Result<Arc<dyn FileStore>> {
        Ok(Arc::new(EncryptedStore::new(self.blobs()?, cipher)))
    }

    /// The sealed objects themselves (backups copy them as they are).
    pub fn blobs(&self) -> anyhow::Result<Box<dyn Blobs>> {
        Ok(match self {
            Self::Local(root) => Box::new(local::LocalDir::new(root.clone())?),
            Self::S3(config) => Box::new(s3::S3Blobs::new(config)?),
        })
    }
}

/// The default time an S3 operation may take, retries included.
pub const DEFAULT_S3_TIMEOUT: Duration = Duration::from_secs(30);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn storage_keys_are_checked_and_name_their_key_version() {
        let id = "0123456789abcdef0123456789abcdef";
        assert_eq!(key_version(id).unwrap(), 1);
        assert_eq!(key_version(&format!("{id}.k1")).unwrap(), 1);
        assert_eq!(key_version(&format!("{id}.k27")).unwrap(), 27);
        for bad in [
            "../../etc/passwd".to_string(),
            format!("{id}.k"),
            format!("{id}.k0"),
            format!("{id}.kx"),
            format!("{id}/.k1"),
            format!("{}.k2", &id[1..]),
            format!("{id}.k2.k3"),
            String::new(),
        ] {
            assert!(key_version(&bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn stores_encrypted_and_reads_back_across_a_rotation() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = || Box::new(local::LocalDir::new(dir.path().to_path_buf()).unwrap());
        let old = EncryptedStore::new(blobs(), FieldCipher::new(&[1u8; 32]));
        let key = old.put(b"%PDF-1.7 secret passport number").unwrap();
        assert!(key.ends_with(".k1"), "{key}");
        let on_disk = std::fs::read(dir.path().join(&key[..2]).join(&key)).unwrap();
        assert!(!on_disk.windows(6).any(|w| w == b"secret"));
        assert_eq!(old.get(&key).unwrap(), b"%PDF-1.7 secret passport number");

        let ring = EncryptedStore::new(blobs(), FieldCipher::ring(&[(2, [2u8; 32]), (1, [1u8; 32])]));
        let fresh = ring.put(b"new").unwrap();
        assert!(fresh.ends_with(".k2"), "{fresh}");
        assert_eq!(ring.get(&key).unwrap(), b"%PDF-1.7 secret passport number");
        assert!(matches!(old.get(&fresh), Err(StoreError::Corrupt)));

        ring.delete(&key).unwrap();
        assert!(matches!(ring.get(&key), Err(StoreError::NotFound)));
        ring.delete(&key).unwrap();
        assert!(matches!(ring.get("../../etc/passwd"), Err(StoreError::InvalidKey)));
    }
}
