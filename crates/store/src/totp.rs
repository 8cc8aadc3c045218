//! Time-based one-time passwords (RFC 6238 over RFC 4226 HOTP), for the second sign-in factor.
//!
//! Rampart issues 20-byte secrets, 6 digits, 30-second steps, HMAC-SHA1 (what authenticator apps
//! support). A code is accepted for the current step and one step either side (clock drift), and
//! only for a step later than the last one accepted for the same user, so a code works once.

use hmac::{Hmac, Mac};

/// Length of a time step in seconds.
pub const TOTP_STEP_SECS: i64 = 30;
/// Digits per code.
pub const TOTP_DIGITS: u32 = 6;
/// Steps accepted either side of the current one.
pub const TOTP_SKEW_STEPS: i64 = 1;

/// The HMAC behind a TOTP (RFC 6238 allows SHA-1, SHA-256 and SHA-512).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TotpAlgorithm {
    Sha1,
    Sha256,
    Sha512,
}

fn hmac(alg: TotpAlgorithm, key: &[u8], msg: &[u8]) -> Vec<u8> {
    macro_rules! mac {
        ($d:ty) => {{
            match <Hmac<$d> as Mac>::new_from_slice(key) {
                Ok(mut m) => {
                    m.update(msg);
                    m.finalize().into_bytes().to_vec()
                }
                // HMAC takes keys of any length; this arm is unreachable in practice.
                Err(_) => Vec::new(),
            }
        }};
    }
    match alg {
        TotpAlgorithm::Sha1 => mac!(sha1::Sha1),
        TotpAlgorithm::Sha256 => mac!(sha2::Sha256),
        TotpAlgorithm::Sha512 => mac!(sha2::Sha512),
    }
}

/// The HOTP value (RFC 4226 section 5.3, dynamic truncation) for `counter`.
pub fn hotp(alg: TotpAlgorithm, key: &[u8], counter: u64, digits: u32) -> String {
    let mac = hmac(alg, key, &counter.to_be_bytes());
    let Some(&last) = mac.last() else {
        return String::new();
    };
    let offset = usize::from(last & 0x0f);
    let Some(window) = mac.get(offset..offset + 4) else {
        return String::new();
    };
    let binary = (u32::from(window[0] & 0x7f) << 24)
        | (u32::from(window[1]) << 16)
        | (u32::from(window[2]) << 8)
        | u32::from(window[3]);
    let modulus = 10u32.pow(digits.min(9));
    format!("{:0width$}", binary % modulus, width = digits as usize)
}

/// The time step containing `unix_secs`.
pub fn step_at(unix_secs: i64) -> i64 {
    unix_secs.div_euclid(TOTP_STEP_SECS)
}

/// The code for `unix_secs` with `digits` digits.
pub fn totp_at(alg: TotpAlgorithm, key: &[u8], unix_secs: i64, digits: u32) -> String {
    hotp(
        alg,
        key,
        u64::try_from(step_at(unix_secs)).unwrap_or(0),
        digits,
    )
}

/// Checks a 6-digit SHA-1 code at `unix_secs`: answers the matching step when the code matches
/// the current step or one either side **and** that step is later than `last_step` (the last
/// one accepted); `None` otherwise. Comparison is constant-time.
pub fn verify(key: &[u8], code: &str, unix_secs: i64, last_step: Option<i64>) -> Option<i64> {
    let code = code.trim().replace(' ', "");
    if code.len() != TOTP_DIGITS as usize || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let now = step_at(unix_secs);
    let mut matched = None;
    for step in now - TOTP_SKEW_STEPS..=now + TOTP_SKEW_STEPS {
        let Ok(counter) = u64::try_from(step) else {
            continue;
        };
        let expected = hotp(TotpAlgorithm::Sha1, key, counter, TOTP_DIGITS);
        let equal = expected
            .bytes()
            .zip(code.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0;
        if equal && last_step.is_none_or(|l| step > l) && matched.is_none() {
            matched = Some(step);
        }
    }
    matched
}

/// A fresh 20-byte secret from the OS.
pub fn generate_secret() -> Vec<u8> {
    use rand::RngCore as _;
    let mut s = vec![0u8; 20];
    rand::rngs::OsRng.fill_bytes(&mut s);
    s
}

const B32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// RFC 4648 base32 without padding (the form authenticator apps take).
pub fn base32_encode(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(5) * 8);
    let mut buffer: u64 = 0;
    let mut bits = 0u32;
    for &b in data {
        buffer = (buffer << 8) | u64::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(B32[((buffer >> bits) & 31) as usize]));
        }
    }
    if bits > 0 {
        out.push(char::from(B32[((buffer << (5 - bits)) & 31) as usize]));
    }
    out
}

/// Decodes RFC 4648 base32 (case-insensitive, padding and spaces ignored).
pub fn base32_decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let mut buffer: u64 = 0;
    let mut bits = 0u32;
    for c in text.chars().filter(|c| *c != '=' && !c.is_whitespace()) {
        let c = c.to_ascii_uppercase() as u8;
        let v = B32.iter().position(|&x| x == c)? as u64;
        buffer = (buffer << 5) | v;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push(((buffer >> bits) & 0xff) as u8);
        }
    }
    Some(out)
}

/// The `otpauth://` URI an authenticator app scans (as a QR code) to enrol.
pub fn otpauth_uri(issuer: &str, account: &str, secret: &[u8]) -> String {
    use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
    let issuer_e = utf8_percent_encode(issuer, NON_ALPHANUMERIC).to_string();
    let account_e = utf8_percent_encode(account, NON_ALPHANUMERIC).to_string();
    format!(
        "otpauth://totp/{issuer_e}:{account_e}?secret={}&issuer={issuer_e}&algorithm=SHA1&digits={TOTP_DIGITS}&period={TOTP_STEP_SECS}",
        base32_encode(secret)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 Appendix B: the seeds are the ASCII digits "1234567890" repeated to the hash
    /// length (20, 32 and 64 bytes), 8 digits, 30-second steps.
    #[test]
    fn rfc6238_test_vectors() {
        let sha1 = b"12345678901234567890".to_vec();
        let sha256 = b"12345678901234567890123456789012".to_vec();
        let sha512 = b"1234567890123456789012345678901234567890123456789012345678901234".to_vec();
        let vectors: &[(i64, &str, &str, &str)] = &[
            (59, "94287082", "46119246", "90693936"),
            (1111111109, "07081804", "68084774", "25091201"),
            (1111111111, "14050471", "67062674", "99943326"),
            (1234567890, "89005924", "91819424", "93441116"),
            (2000000000, "69279037", "90698825", "38618901"),
            (20000000000, "65353130", "77737706", "47863826"),
        ];
        for &(t, c1, c256, c512) in vectors {
            assert_eq!(totp_at(TotpAlgorithm::Sha1, &sha1, t, 8), c1, "SHA1 T={t}");
            assert_eq!(
                totp_at(TotpAlgorithm::Sha256, &sha256, t, 8),
                c256,
                "SHA256 T={t}"
            );
            assert_eq!(
                totp_at(TotpAlgorithm::Sha512, &sha512, t, 8),
                c512,
                "SHA512 T={t}"
            );
        }
    }

    /// RFC 4226 Appendix D: HOTP values for counters 0..9.
    #[test]
    fn rfc4226_test_vectors() {
        let key = b"12345678901234567890";
        let expected = [
            "755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583",
            "399871", "520489",
        ];
        for (counter, want) in expected.iter().enumerate() {
            assert_eq!(hotp(TotpAlgorithm::Sha1, key, counter as u64, 6), *want);
        }
    }

    #[test]
    fn accepts_one_step_of_skew_and_each_step_once() {
        let key = b"12345678901234567890";
        let t = 1_111_111_111;
        let now = step_at(t);
        let code = totp_at(TotpAlgorithm::Sha1, key, t, 6);
        assert_eq!(verify(key, &code, t, None), Some(now));
        // 30 s later the same code is the previous step: still accepted once…
        assert_eq!(verify(key, &code, t + 30, None), Some(now));
        // …but not after that step was used.
        assert_eq!(verify(key, &code, t, Some(now)), None);
        // Two steps away: refused.
        assert_eq!(verify(key, &code, t + 60, None), None);
        assert_eq!(verify(key, &code, t - 60, None), None);
        // The next step's code, early by one step: accepted.
        let next = totp_at(TotpAlgorithm::Sha1, key, t + 30, 6);
        assert_eq!(verify(key, &next, t, Some(now)), Some(now + 1));
        // Malformed codes.
        assert_eq!(verify(key, "12345", t, None), None);
        assert_eq!(verify(key, "abcdef", t, None), None);
    }

    #[test]
    fn base32_round_trip() {
        // RFC 4648 section 10 vectors (without padding).
        assert_eq!(base32_encode(b"foobar"), "MZXW6YTBOI");
        assert_eq!(base32_encode(b"f"), "MY");
        assert_eq!(
            base32_decode("MZXW6YTBOI======").as_deref(),
            Some(&b"foobar"[..])
        );
        let s = generate_secret();
        assert_eq!(base32_decode(&base32_encode(&s)), Some(s));
        assert!(base32_decode("not base32!").is_none());
    }

    #[test]
    fn otpauth_uri_shape() {
        let uri = otpauth_uri("Rampart", "a@b.example", b"12345678901234567890");
        assert!(uri.starts_with("otpauth://totp/Rampart:a%40b%2Eexample?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Rampart"), "{uri}");
    }
}
