//! Hex, both ways, and the hex constants tests share.

/// The RFC 3526 1536-bit modulus (OTR's D-H group), big-endian hex.
pub const MODULUS_HEX: &str = "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A08798E3404DDEF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7EDEE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3DC2007CB8A163BF0598DA48361C55D39A69163FA8FD24CF5F83655D23DCA3AD961C62F356208552BB9ED529077096966D670C354E4ABC9804F1746C08CA237327FFFFFFFFFFFFFFFF";

/// `bytes` as lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The bytes `s` spells in hex (either case); `None` for an odd length or a non-hex digit.
pub fn try_unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).ok())
        .collect()
}

/// The bytes `s` spells in hex (either case).
///
/// # Panics
/// On an odd length or a non-hex digit: test data is wrong.
pub fn unhex(s: &str) -> Vec<u8> {
    try_unhex(s).unwrap_or_else(|| panic!("not hex: {s:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trips() {
        assert_eq!(hex(&[0x00, 0xab, 0xff]), "00abff");
        assert_eq!(unhex("00ABff"), [0x00, 0xab, 0xff]);
        assert_eq!(try_unhex("abc"), None);
        assert_eq!(try_unhex("zz"), None);
        assert_eq!(try_unhex("+1"), None);
    }
}
