//! Field encryption (AES-256-GCM), opaque token generation and hashing.

use aes_gcm::aead::{Aead, KeyInit};
use std::collections::BTreeMap;
use std::sync::Arc;

use aes_gcm::{Aes256Gcm, Nonce};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};

/// Encrypts sensitive fields (TIN, bank account, document numbers, dates of birth) and
/// files at rest with a key ring: every key has a version, new writes use the current
/// one, reads use the version the ciphertext names. Field layout: `v<N>:` +
/// base64(nonce ‖ ciphertext+tag), N the key version (1 for the first key ever used);
/// files carry their version in their storage key (src/storage).
#[derive(Clone)]
pub struct FieldCipher {
    current: u32,
    keys: Arc<BTreeMap<u32, Aes256Gcm>>,
}

#[derive(Debug, thiserror::Error)]
#[error("decryption failed: wrong key or corrupted data")]
pub struct DecryptError;

impl FieldCipher {
    /// A ring of one key, version 1.
    pub fn new(key: &[u8; 32]) -> Self {
        Self::ring(&[(1, *key)])
    }

    /// A ring of versioned keys; the first one encrypts new writes.
    pub fn ring(entries: &[(u32, [u8; 32])]) -> Self {
        let current = entries.first().expect("a key ring has at least one key").0;
        let keys = entries.iter().map(|(v, k)| (*v, Aes256Gcm::new(k.into()))).collect();
        Self { current, keys: Arc::new(keys) }
    }

    /// The version new writes are encrypted with.
    pub fn current_version(&self) -> u32 {
        self.current
    }

    /// Every version this ring can decrypt, ascending.
    pub fn versions(&self) -> Vec<u32> {
        self.keys.keys().copied().collect()
    }

    /// Encrypts with the current key; returns its version and nonce ‖ ciphertext+tag.
    pub fn seal(&self, plain: &[u8]) -> (u32, Vec<u8>) {
        let mut nonce = [0u8; 12];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let sealed = self.keys[&self.current]
            .encrypt(Nonce::from_slice(&nonce), plain)
            .expect("AES-GCM encryption cannot fail for in-memory buffers");
        let mut out = Vec::with_capacity(12 + sealed.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        (self.current, out)
    }

    /// Decrypts what key `version` sealed; an unknown version is a decryption failure.
    pub fn open(&self, version: u32, sealed: &[u8]) -> Result<Vec<u8>, DecryptError> {
        let key = self.keys.get(&version).ok_or(DecryptError)?;
        if sealed.len() < 12 + 16 {
            return Err(DecryptError);
        }
        let (nonce, body) = sealed.split_at(12);
        key.decrypt(Nonce::from_slice(nonce), body).map_err(|_| DecryptError)
    }

    pub fn encrypt_str(&self, plain: &str) -> String {
        let (version, sealed) = self.seal(plain.as_bytes());
        format!("v{version}:{}", STANDARD.encode(sealed))
    }

    pub fn decrypt_str(&self, stored: &str) -> Result<String, DecryptError> {
        let version = Self::version_of(stored).ok_or(DecryptError)?;
        let (_, b64) = stored.split_once(':').ok_or(DecryptError)?;
        let sealed = STANDARD.decode(b64).map_err(|_| DecryptError)?;
        String::from_utf8(self.open(version, &sealed)?).map_err(|_| DecryptError)
    }

    /// The key version an encrypted field names (`v2:…` is 2).
    pub fn version_of(stored: &str) -> Option<u32> {
        let (tag, _) = stored.split_once(':')?;
        let digits = tag.strip_prefix('v')?;
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        digits.parse().ok().filter(|v| *v >= 1)
    }
}

/// A random URL-safe token with 256 bits of entropy (email links, refresh tokens).
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Tokens are stored only as their SHA-256, so a database leak yields no usable token.
pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_tamper_detection() {
        let c = FieldCipher::new(&[7u8; 32]);
        let sealed = c.encrypt_str("123-45-6789");
        assert!(!sealed.contains("6789"));
        assert_eq!(c.decrypt_str(&sealed).unwrap(), "123-45-6789");
        // Same plaintext encrypts differently each time (random nonce).
        assert_ne!(sealed, c.encrypt_str("123-45-6789"));
        assert!(sealed.starts_with("v1:"));
        let (version, mut raw) = c.seal(b"abc");
        let last = raw.len() - 1;
        raw[last] ^= 1;
        assert!(c.open(version, &raw).is_err());
        let other = FieldCipher::new(&[8u8; 32]);
        assert!(other.decrypt_str(&sealed).is_err());
    }

    #[test]
    fn ring_writes_with_the_current_key_and_reads_every_version() {
        let old = FieldCipher::new(&[1u8; 32]);
        let legacy = old.encrypt_str("111-22-3333");
        let ring = FieldCipher::ring(&[(2, [2u8; 32]), (1, [1u8; 32])]);
        assert_eq!(ring.current_version(), 2);
        assert_eq!(ring.versions(), vec![1, 2]);
        let fresh = ring.encrypt_str("444-55-6666");
        assert!(fresh.starts_with("v2:"), "{fresh}");
        assert_eq!(ring.decrypt_str(&legacy).unwrap(), "111-22-3333");
        assert_eq!(ring.decrypt_str(&fresh).unwrap(), "444-55-6666");
        // The old ring cannot read the new key's writes, and a retired key reads nothing.
        assert!(old.decrypt_str(&fresh).is_err());
        let retired = FieldCipher::ring(&[(2, [2u8; 32])]);
        assert!(retired.decrypt_str(&legacy).is_err());
        // A tag naming a version with another key's ciphertext fails authentication.
        let forged = fresh.replacen("v2:", "v1:", 1);
        assert!(ring.decrypt_str(&forged).is_err());
    }

    #[test]
    fn version_tags_parse_strictly() {
        assert_eq!(FieldCipher::version_of("v1:abc"), Some(1));
        assert_eq!(FieldCipher::version_of("v12:abc"), Some(12));
        for bad in ["1:abc", "v:abc", "v0:abc", "vx:abc", "v1abc", "", "v-1:a"] {
            assert_eq!(FieldCipher::version_of(bad), None, "{bad}");
        }
    }

    #[test]
    fn tokens_are_unique_and_hash_stably() {
        let a = random_token();
        assert_ne!(a, random_token());
        assert_eq!(hash_token(&a), hash_token(&a));
        assert_eq!(hash_token(&a).len(), 64);
    }
}
