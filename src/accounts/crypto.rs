//! Secrets at rest (XChaCha20-Poly1305 under the master key), password hashing and
//! generation of access-key credentials.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::Rng;
use rand::distributions::Alphanumeric;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

const NONCE_LEN: usize = 24;

/// A crypto failure. The messages never include secret material.
#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    /// The sealed value was altered, or sealed under another master key.
    #[error("cannot open sealed secret (wrong master key or corrupted value)")]
    Open,
    /// Password hashing failed.
    #[error("password hashing failed: {0}")]
    Hash(#[from] bcrypt::BcryptError),
}

/// Seals and opens secrets with a key derived from `GODRIVE_MASTER_KEY`.
#[derive(Clone)]
pub struct SecretBox {
    cipher: XChaCha20Poly1305,
    /// Earlier master keys: they open what they sealed, and seal nothing.
    previous: Vec<XChaCha20Poly1305>,
}

impl std::fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretBox([redacted])")
    }
}

impl SecretBox {
    /// Derives the 256-bit key as SHA-256 of the configured master key.
    pub fn new(master_key: &str) -> Self {
        Self {
            cipher: Self::cipher(master_key),
            previous: Vec::new(),
        }
    }

    /// The current key and earlier ones (comma-separated, blanks ignored), which still open
    /// what they sealed until every secret is re-sealed (`godrive master-key rotate`).
    pub fn with_previous(master_key: &str, previous: &str) -> Self {
        Self {
            cipher: Self::cipher(master_key),
            previous: previous
                .split(',')
                .map(str::trim)
                .filter(|k| !k.is_empty())
                .map(Self::cipher)
                .collect(),
        }
    }

    fn cipher(master_key: &str) -> XChaCha20Poly1305 {
        let key: Zeroizing<[u8; 32]> = Zeroizing::new(Sha256::digest(master_key.as_bytes()).into());
        XChaCha20Poly1305::new_from_slice(key.as_slice()).expect("32-byte key")
    }

    /// Encrypts `plaintext`, binding it to `context` (e.g. the access key id) so a sealed
    /// value cannot be moved to another row. Output is `nonce || ciphertext`.
    pub fn seal(&self, plaintext: &[u8], context: &[u8]) -> Vec<u8> {
        let mut nonce = [0u8; NONCE_LEN];
        rand::thread_rng().fill(&mut nonce);
        let ct = self
            .cipher
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad: context,
                },
            )
            .expect("XChaCha20-Poly1305 encryption cannot fail for in-memory input");
        let mut out = nonce.to_vec();
        out.extend_from_slice(&ct);
        out
    }

    /// Decrypts a value made by [`SecretBox::seal`] with the same `context`, under the
    /// current key or an earlier one.
    pub fn open(&self, sealed: &[u8], context: &[u8]) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        self.open_keyed(sealed, context).map(|(plain, _)| plain)
    }

    /// Like [`SecretBox::open`], and whether the current key sealed it (`false`: an earlier
    /// one did, and it should be re-sealed).
    pub fn open_keyed(&self, sealed: &[u8], context: &[u8]) -> Result<(Zeroizing<Vec<u8>>, bool), CryptoError> {
        if sealed.len() < NONCE_LEN {
            return Err(CryptoError::Open);
        }
        let (nonce, ct) = sealed.split_at(NONCE_LEN);
        let open = |c: &XChaCha20Poly1305| {
            c.decrypt(XNonce::from_slice(nonce), Payload { msg: ct, aad: context })
                .ok()
                .map(Zeroizing::new)
        };
        if let Some(p) = open(&self.cipher) {
            return Ok((p, true));
        }
        self.previous
            .iter()
            .find_map(open)
            .map(|p| (p, false))
            .ok_or(CryptoError::Open)
    }
}

/// A new access key id: `GD` and 18 upper-case letters or digits, like AWS's 20 characters.
pub fn new_access_key_id() -> String {
    let mut rng = rand::thread_rng();
    let tail: String = (0..18)
        .map(|_| {
            let c = rng.sample(Alphanumeric) as char;
            c.to_ascii_uppercase()
        })
        .collect();
    format!("GD{tail}")
}

/// A new secret access key: 40 random alphanumeric characters (about 238 bits).
pub fn new_secret_access_key() -> Zeroizing<String> {
    Zeroizing::new(
        rand::thread_rng()
            .sample_iter(&Alphanumeric)
            .take(40)
            .map(char::from)
            .collect(),
    )
}

/// Hashes a password with bcrypt at `cost`.
pub fn hash_password(password: &str, cost: u32) -> Result<String, CryptoError> {
    Ok(bcrypt::hash(password, cost)?)
}

/// Checks a password against a bcrypt hash (bcrypt compares in constant time).
pub fn verify_password(password: &str, hash: &str) -> bool {
    bcrypt::verify(password, hash).unwrap_or(false)
}

#[cfg(test)]
mod tests {
    #[test]
    fn earlier_master_keys_open_but_never_seal() {
        let old = SecretBox::new("an-old-master-key-of-32-characters!!");
        let sealed = old.seal(b"secret", b"GDKEY");
        let both = SecretBox::with_previous(
            "a-new-master-key-of-32-characters!!!",
            " , an-old-master-key-of-32-characters!!",
        );
        let (plain, current) = both.open_keyed(&sealed, b"GDKEY").unwrap();
        assert_eq!((plain.as_slice(), current), (&b"secret"[..], false));
        let fresh = both.seal(b"secret", b"GDKEY");
        assert!(both.open_keyed(&fresh, b"GDKEY").unwrap().1);
        assert!(old.open(&fresh, b"GDKEY").is_err(), "sealed under the current key only");
        assert!(
            both.open(&sealed, b"OTHER").is_err(),
            "bound to its context under every key"
        );
        assert!(
            SecretBox::new("a-new-master-key-of-32-characters!!!")
                .open(&sealed, b"GDKEY")
                .is_err()
        );
    }

    use super::*;

    #[test]
    fn seal_round_trips_and_binds_context() {
        let b = SecretBox::new("a master key that is long enough!!");
        let sealed = b.seal(b"secret", b"GDKEY");
        assert_eq!(b.open(&sealed, b"GDKEY").unwrap().as_slice(), b"secret");
        assert!(b.open(&sealed, b"OTHER").is_err());
        let other = SecretBox::new("another master key, also long enough");
        assert!(other.open(&sealed, b"GDKEY").is_err());
        let mut tampered = sealed.clone();
        *tampered.last_mut().unwrap() ^= 1;
        assert!(b.open(&tampered, b"GDKEY").is_err());
    }

    #[test]
    fn credentials_have_the_aws_shape() {
        let id = new_access_key_id();
        assert_eq!(id.len(), 20);
        assert!(id.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit()));
        assert_eq!(new_secret_access_key().len(), 40);
        assert_ne!(new_access_key_id(), id);
    }

    #[test]
    fn passwords_verify() {
        let h = hash_password("correct horse", 4).unwrap();
        assert!(verify_password("correct horse", &h));
        assert!(!verify_password("wrong horse", &h));
    }
}
