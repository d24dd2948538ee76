//! Accounts, shared by every way a user is made, logs in or gets a key (the JSON API, the
//! CLI, the first admin from the configuration): what an email and a password may be, and
//! minting an access key.

pub mod cache;
pub mod crypto;
pub mod tokens;

use unicode_normalization::UnicodeNormalization;
use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};

/// bcrypt reads at most this many bytes of a password and ignores the rest.
pub const PASSWORD_MAX_BYTES: usize = 72;
/// The shortest password accepted, in characters.
pub const PASSWORD_MIN_CHARS: usize = 8;

/// Why an email or a password is refused (JSON `validation_error`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuleError {
    /// The email contains control, format or invisible characters.
    #[error("email must not contain control, invisible or formatting characters")]
    EmailCharacters,
    /// The email is not of the shape `local@domain.tld`.
    #[error("email is not a valid address")]
    EmailShape,
    /// The password is shorter than 8 characters or longer than bcrypt reads.
    #[error("password must have at least 8 characters and at most 72 bytes (UTF-8)")]
    PasswordLength,
    /// The password contains NUL (bcrypt would stop reading there).
    #[error("password must not contain NUL characters")]
    PasswordNul,
}

/// The one form of an email that is stored, compared and looked up: Unicode NFKC, trimmed,
/// lower-cased. So `ａdmin@example.com` (fullwidth a) is `admin@example.com`, and cannot
/// be registered beside it. Control, format (zero-width space, joiners, direction marks)
/// and other invisible characters are refused outright rather than removed.
pub fn normalize_email(raw: &str) -> Result<String, RuleError> {
    let email = canonical_email(raw)?;
    if !valid_email_shape(&email) {
        return Err(RuleError::EmailShape);
    }
    Ok(email)
}

/// The normalized form without the shape check: what a login looks up, so an account made
/// before the shape rules tightened still logs in.
pub fn canonical_email(raw: &str) -> Result<String, RuleError> {
    if raw.chars().any(is_invisible) {
        return Err(RuleError::EmailCharacters);
    }
    let email: String = raw.nfkc().collect::<String>().trim().to_lowercase();
    if email.chars().any(is_invisible) {
        return Err(RuleError::EmailCharacters);
    }
    Ok(email)
}

/// Characters that make two emails look alike or hide in one: controls, format characters,
/// unassigned and private-use code points, separators other than the plain space (spaces
/// are refused by the shape check), Hangul fillers and variation selectors.
fn is_invisible(c: char) -> bool {
    matches!(
        c.general_category(),
        GeneralCategory::Control
            | GeneralCategory::Format
            | GeneralCategory::Surrogate
            | GeneralCategory::PrivateUse
            | GeneralCategory::Unassigned
            | GeneralCategory::LineSeparator
            | GeneralCategory::ParagraphSeparator
    ) || (c.general_category() == GeneralCategory::SpaceSeparator && c != ' ')
        || matches!(c, '\u{115F}' | '\u{1160}' | '\u{3164}' | '\u{FFA0}' | '\u{034F}')
        || ('\u{FE00}'..='\u{FE0F}').contains(&c)
        || ('\u{E0100}'..='\u{E01EF}').contains(&c)
}

/// One `@`, a non-empty local part, a dotted domain, no whitespace, at most 254 bytes.
fn valid_email_shape(email: &str) -> bool {
    let Some((local, domain)) = email.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && email.len() <= 254
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !email.contains(char::is_whitespace)
        && !domain.contains('@')
}

/// A password is 8 characters or more and at most 72 bytes: bcrypt would silently ignore
/// anything past 72 bytes, so two passwords sharing their first 72 bytes would be one.
/// Refusing is honest; hashes made before this rule keep working.
pub fn check_password(password: &str) -> Result<(), RuleError> {
    if password.chars().count() < PASSWORD_MIN_CHARS || password.len() > PASSWORD_MAX_BYTES {
        return Err(RuleError::PasswordLength);
    }
    if password.contains('\0') {
        return Err(RuleError::PasswordNul);
    }
    Ok(())
}

/// A new access key: its id and its secret, shown once and stored only sealed.
pub struct NewKey {
    /// The stored key's row id.
    pub id: uuid::Uuid,
    /// The access key id clients sign with.
    pub access_key_id: String,
    /// The secret, wiped from memory when dropped.
    pub secret: zeroize::Zeroizing<String>,
}

/// Mints an access key for `user_id`: a random id and secret, the secret sealed under the
/// master key (with the key id as associated data) and stored.
pub async fn mint_key(
    db: impl sqlx::PgExecutor<'_>,
    secrets: &crate::accounts::crypto::SecretBox,
    user_id: uuid::Uuid,
    name: &str,
) -> Result<NewKey, crate::db::DbError> {
    let access_key_id = crate::accounts::crypto::new_access_key_id();
    let secret = crate::accounts::crypto::new_secret_access_key();
    let sealed = secrets.seal(secret.as_bytes(), access_key_id.as_bytes());
    let id = crate::db::access_keys::create(db, user_id, name, &access_key_id, &sealed).await?;
    Ok(NewKey {
        id,
        access_key_id,
        secret,
    })
}

/// Why the first admin could not be created.
#[derive(Debug, thiserror::Error)]
pub enum BootstrapError {
    /// The database failed.
    #[error(transparent)]
    Db(#[from] crate::db::DbError),
    /// Hashing the password failed.
    #[error("hashing the admin password: {0}")]
    Hash(String),
}

/// Creates the first admin from `GODRIVE_ADMIN_EMAIL` / `GODRIVE_ADMIN_PASSWORD` (both
/// checked by the account rules when the configuration loads) when no user has that email
/// yet. Several instances starting at once are fine: the unique email lets one insert win.
pub async fn bootstrap_admin(state: &crate::app::AppState) -> Result<(), BootstrapError> {
    use crate::db::users::{self, CreateUserError};
    let auth = &state.config.auth;
    let Some(email) = auth.admin_email.as_deref() else {
        return Ok(());
    };
    if users::by_email(&state.db, email).await?.is_some() {
        return Ok(());
    }
    let password = auth.admin_password.expose().to_owned();
    let cost = state.config.bcrypt_cost;
    // bcrypt is slow on purpose: off the async workers.
    let hash = tokio::task::spawn_blocking(move || crate::accounts::crypto::hash_password(&password, cost))
        .await
        .map_err(|e| BootstrapError::Hash(e.to_string()))?
        .map_err(|e| BootstrapError::Hash(e.to_string()))?;
    match users::create(&state.db, email, &hash, true, state.config.default_quota()).await {
        Ok(u) => {
            tracing::info!(user.id = %u.id, "created the first admin from GODRIVE_ADMIN_EMAIL");
            Ok(())
        }
        Err(CreateUserError::EmailTaken) => Ok(()),
        Err(CreateUserError::Db(e)) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_have_one_form() {
        assert_eq!(normalize_email("  Admin@Example.COM ").unwrap(), "admin@example.com");
        // Fullwidth letters fold into ASCII.
        assert_eq!(normalize_email("ａdmin@example.com").unwrap(), "admin@example.com");
        assert_eq!(
            normalize_email("first.last+tag@sub.example.org").unwrap(),
            "first.last+tag@sub.example.org"
        );
        for hidden in [
            "ad\u{200B}min@example.com",
            "admin\u{200D}@example.com",
            "\u{FEFF}admin@example.com",
            "admin@exa\u{00AD}mple.com",
            "admin@example.com\u{202E}",
            "ad\u{0000}min@example.com",
            "ad\u{0007}min@example.com",
            "admin\n@example.com",
            "ad\u{3164}min@example.com",
            "admin\u{FE0F}@example.com",
            "admin@example.com\u{E000}",
        ] {
            assert_eq!(normalize_email(hidden), Err(RuleError::EmailCharacters), "{hidden:?}");
        }
        for bad in [
            "",
            "a",
            "a@",
            "@example.com",
            "a@example",
            "a b@example.com",
            "a@@example.com",
            "a@.com",
            "a@example.",
        ] {
            assert_eq!(normalize_email(bad), Err(RuleError::EmailShape), "{bad}");
        }
    }

    #[test]
    fn passwords_are_never_truncated() {
        assert!(check_password("correct horse").is_ok());
        assert!(check_password(&"a".repeat(72)).is_ok());
        assert_eq!(check_password(&"a".repeat(73)), Err(RuleError::PasswordLength));
        // 24 three-byte characters are 72 bytes; 25 are 75.
        assert!(check_password(&"€".repeat(24)).is_ok());
        assert_eq!(check_password(&"€".repeat(25)), Err(RuleError::PasswordLength));
        assert_eq!(check_password("short"), Err(RuleError::PasswordLength));
        assert_eq!(check_password("pass\0word123"), Err(RuleError::PasswordNul));
    }
}
