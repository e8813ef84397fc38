//! The emulator's optional access-token check, one function for both front
//! ends, and the fingerprints under which credentials are written to logs.

use std::sync::Arc;

use crate::error::{Detail, Error};
use crate::proto::rpc::{Code, ErrorInfo};

/// The domain of the `ErrorInfo` attached to a refusal.
const DOMAIN: &str = "googleapis.com";

/// The service named in the `ErrorInfo` metadata.
const SERVICE: &str = "earthengine.googleapis.com";

/// Reason when no credential was sent.
pub(crate) const REASON_MISSING: &str = "CREDENTIALS_MISSING";
/// Reason when the credential is not a well-formed Bearer value.
pub(crate) const REASON_MALFORMED: &str = "CREDENTIALS_MALFORMED";
/// Reason when a Bearer token was sent but is not the expected one.
pub(crate) const REASON_INVALID: &str = "ACCESS_TOKEN_INVALID";

/// The token every Operations call must carry. Its `Debug` form shows a
/// fingerprint, never the token.
#[derive(Clone)]
pub(crate) struct RequiredToken(Arc<str>);

impl RequiredToken {
    pub(crate) fn new(token: String) -> Self {
        Self(token.into())
    }

    /// Why no request could ever present this token, if that is so.
    pub(crate) fn problem(&self) -> Option<&'static str> {
        if self.0.is_empty() {
            Some("the required token is empty")
        } else if !self.0.bytes().all(|b| b.is_ascii_graphic()) {
            Some("the required token must be visible ASCII without spaces")
        } else {
            None
        }
    }
}

impl std::fmt::Debug for RequiredToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "RequiredToken(sha256:{})",
            fingerprint(self.0.as_bytes())
        )
    }
}

/// Checks the `authorization` values of one call against the required
/// token, if there is one. The refusal is UNAUTHENTICATED with an
/// `ErrorInfo`, and never quotes what was presented.
pub(crate) fn check<'a>(
    required: Option<&RequiredToken>,
    authorization: impl IntoIterator<Item = &'a [u8]>,
) -> Result<(), Error> {
    let Some(required) = required else {
        return Ok(());
    };
    let mut values = authorization.into_iter();
    let Some(value) = values.next() else {
        return Err(refusal(
            REASON_MISSING,
            "The request is missing the access token this emulator requires: send the \
             header `authorization: Bearer <token>`."
                .to_owned(),
        ));
    };
    if values.next().is_some() {
        return Err(malformed("more than one authorization header was sent"));
    }
    let token = bearer_token(value).map_err(malformed)?;
    if constant_time_eq(token, required.0.as_bytes()) {
        Ok(())
    } else {
        Err(refusal(
            REASON_INVALID,
            "The access token is not the one this emulator requires.".to_owned(),
        ))
    }
}

fn malformed(why: &str) -> Error {
    refusal(
        REASON_MALFORMED,
        format!("The authorization credential is malformed: {why}; expected `Bearer <token>`."),
    )
}

fn refusal(reason: &str, message: String) -> Error {
    Error::new(Code::Unauthenticated, message).with_detail(Detail::ErrorInfo(ErrorInfo {
        reason: reason.to_owned(),
        domain: DOMAIN.to_owned(),
        metadata: [("service".to_owned(), SERVICE.to_owned())].into(),
    }))
}

/// The token of a `Bearer <token>` value: the scheme in any case, exactly
/// one space, then a token without white space.
pub(crate) fn bearer_token(value: &[u8]) -> Result<&[u8], &'static str> {
    let Some(space) = value.iter().position(|&b| b == b' ') else {
        return Err("the value is not a scheme and a token separated by a space");
    };
    let (scheme, rest) = value.split_at(space);
    let token = rest.get(1..).unwrap_or_default();
    if !scheme.eq_ignore_ascii_case(b"bearer") {
        return Err("the scheme is not Bearer");
    }
    if token.is_empty() {
        return Err("the Bearer token is empty");
    }
    if token.iter().any(|b| !b.is_ascii_graphic()) {
        return Err("Bearer must be followed by exactly one space and a token without spaces");
    }
    Ok(token)
}

/// Whether `presented` equals `expected`, in a time that depends only on
/// the length of `expected`.
fn constant_time_eq(presented: &[u8], expected: &[u8]) -> bool {
    let mut difference = u8::from(presented.len() != expected.len());
    for (i, byte) in expected.iter().enumerate() {
        difference |= byte ^ presented.get(i).copied().unwrap_or(!byte);
    }
    std::hint::black_box(difference) == 0
}

/// The first 16 hexadecimal digits of the SHA-256 of `bytes`: enough to
/// tell credentials apart in a log without revealing them.
pub(crate) fn fingerprint(bytes: &[u8]) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, bytes);
    digest
        .as_ref()
        .iter()
        .take(8)
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason(error: &Error) -> &str {
        error.error_info().map(|i| i.reason.as_str()).unwrap_or("")
    }

    #[test]
    fn the_right_token_passes_in_any_scheme_case() {
        let token = RequiredToken::new("s3cret".into());
        for value in ["Bearer s3cret", "bearer s3cret", "BEARER s3cret"] {
            assert!(check(Some(&token), [value.as_bytes()]).is_ok(), "{value}");
        }
        assert!(check(None, []).is_ok());
    }

    #[test]
    fn refusals_say_why_without_quoting_the_credential() {
        let token = RequiredToken::new("s3cret".into());
        let missing = check(Some(&token), []).expect_err("no header");
        assert_eq!(missing.code(), Code::Unauthenticated);
        assert_eq!(reason(&missing), REASON_MISSING);
        for value in [
            "Bearer  s3cret",
            "Bearer",
            "Bearer ",
            "Basic czNjcmV0",
            "s3cret",
            "Bearer s3cret x",
        ] {
            let error = check(Some(&token), [value.as_bytes()]).expect_err(value);
            assert_eq!(reason(&error), REASON_MALFORMED, "{value}");
        }
        let twice = check(Some(&token), [&b"Bearer s3cret"[..], b"Bearer s3cret"]);
        assert_eq!(reason(&twice.expect_err("two headers")), REASON_MALFORMED);
        for value in ["Bearer wrong-guess", "Bearer s3cre", "Bearer s3cretX"] {
            let error = check(Some(&token), [value.as_bytes()]).expect_err(value);
            assert_eq!(reason(&error), REASON_INVALID, "{value}");
            assert!(!error.message().contains("wrong-guess"), "{value}");
            let info = error.error_info().expect("an ErrorInfo");
            assert_eq!(info.domain, DOMAIN);
        }
    }

    #[test]
    fn constant_time_comparison_is_plain_equality() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(constant_time_eq(b"", b""));
        assert!(!constant_time_eq(b"abd", b"abc"));
        assert!(!constant_time_eq(b"ab", b"abc"));
        assert!(!constant_time_eq(b"abcd", b"abc"));
        assert!(!constant_time_eq(b"", b"a"));
        assert!(!constant_time_eq(b"a", b""));
    }

    #[test]
    fn fingerprints_are_sixteen_hex_digits_of_sha256() {
        // SHA-256("abc") = ba7816bf8f01cfea414140de5dae2223...
        assert_eq!(fingerprint(b"abc"), "ba7816bf8f01cfea");
        assert_eq!(
            format!("{:?}", RequiredToken::new("abc".into())),
            "RequiredToken(sha256:ba7816bf8f01cfea)"
        );
    }

    #[test]
    fn unusable_tokens_are_reported() {
        assert!(RequiredToken::new(String::new()).problem().is_some());
        assert!(RequiredToken::new("a b".into()).problem().is_some());
        assert!(RequiredToken::new("é".into()).problem().is_some());
        assert_eq!(RequiredToken::new("ya29.x-y_z".into()).problem(), None);
    }
}
